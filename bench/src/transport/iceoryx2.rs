//! iceoryx2 publish-subscribe (crate `iceoryx2` 0.10, `ipc::Service`), behind the cargo
//! feature `iceoryx2`.
//!
//! Payload type `[u8]` (the slice API) with `initial_max_slice_len = size`, so each sample
//! carries exactly `size` bytes, like the other transports. The service is created by the
//! writer with one publisher, one subscriber, no history, a subscriber buffer of
//! `ctx.capacity` samples and *safe overflow* (the publisher recycles the oldest unread
//! sample instead of blocking): the same no-back-pressure model as the vitalring ring, so the
//! throughput run counts lost frames the same way. The writer loans an uninitialised slice,
//! copies the frame into it and sends it; the reader copies the received payload out (the
//! vitalring reader copies its slot too) before the frame counts as delivered. Busy mode polls
//! `receive()`; backoff mode wraps it in [`super::Backoff`] like the ring.

use iceoryx2::node::Node;
use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::publish_subscribe::PortFactory;

use super::{BenchTransport, FrameSink, FrameSource, PeerContext, Recv};
use crate::BenchError;

/// The iceoryx2 transport.
#[derive(Debug)]
pub struct Iceoryx2;

/// Writer half. Field order matters: ports are dropped before the service and the node.
pub struct IceSink {
    publisher: Publisher<ipc::Service, [u8], ()>,
    _service: PortFactory<ipc::Service, [u8], ()>,
    _node: Node<ipc::Service>,
    len: usize,
}

/// Reader half.
pub struct IceSource {
    subscriber: Subscriber<ipc::Service, [u8], ()>,
    _service: PortFactory<ipc::Service, [u8], ()>,
    _node: Node<ipc::Service>,
    len: usize,
}

fn err<E: core::fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> BenchError {
    move |e| BenchError::Transport(format!("iceoryx2 {what}: {e:?}"))
}

fn node() -> Result<Node<ipc::Service>, BenchError> {
    set_log_level(LogLevel::Error);
    NodeBuilder::new()
        // The peers are ended by the harness; do not install signal handlers.
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .map_err(err("node"))
}

fn service_name(ctx: &PeerContext) -> Result<ServiceName, BenchError> {
    ServiceName::new(&format!("vitalring-bench/{}", ctx.name)).map_err(err("service name"))
}

impl BenchTransport for Iceoryx2 {
    type Sink = IceSink;
    type Source = IceSource;

    fn open_writer(ctx: &PeerContext) -> Result<IceSink, BenchError> {
        let node = node()?;
        let service = node
            .service_builder(&service_name(ctx)?)
            .publish_subscribe::<[u8]>()
            .max_publishers(1)
            .max_subscribers(1)
            .history_size(0)
            .subscriber_max_buffer_size(ctx.capacity)
            .enable_safe_overflow(true)
            .create()
            .map_err(err("create service"))?;
        let publisher = service
            .publisher_builder()
            .initial_max_slice_len(ctx.size)
            .create()
            .map_err(err("publisher"))?;
        Ok(IceSink {
            publisher,
            _service: service,
            _node: node,
            len: ctx.payload.payload_len(ctx.size),
        })
    }

    fn open_reader(ctx: &PeerContext) -> Result<IceSource, BenchError> {
        let node = node()?;
        let service = node
            .service_builder(&service_name(ctx)?)
            .publish_subscribe::<[u8]>()
            .max_publishers(1)
            .max_subscribers(1)
            .history_size(0)
            .subscriber_max_buffer_size(ctx.capacity)
            .enable_safe_overflow(true)
            .open()
            .map_err(err("open service"))?;
        let subscriber = service
            .subscriber_builder()
            .buffer_size(ctx.capacity)
            .create()
            .map_err(err("subscriber"))?;
        Ok(IceSource {
            subscriber,
            _service: service,
            _node: node,
            len: ctx.payload.payload_len(ctx.size),
        })
    }
}

impl FrameSink for IceSink {
    fn payload_len(&self) -> usize {
        self.len
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), BenchError> {
        let sample = self
            .publisher
            .loan_slice_uninit(payload.len())
            .map_err(err("loan"))?;
        sample
            .write_from_slice(payload)
            .send()
            .map_err(err("send"))?;
        Ok(())
    }
}

impl FrameSource for IceSource {
    fn payload_len(&self) -> usize {
        self.len
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> Result<Recv, BenchError> {
        match self.subscriber.receive().map_err(err("receive"))? {
            Some(sample) => {
                let p = sample.payload();
                let n = p.len().min(buf.len());
                buf[..n].copy_from_slice(&p[..n]);
                Ok(Recv::Frame(n))
            }
            None => Ok(Recv::Empty),
        }
    }
}
