//! Receiving a message with file descriptors (`recvmsg` + `SCM_RIGHTS`).
//!
//! This is one of the two modules of the crate allowed to use `unsafe` (the other is
//! [`crate::map`]). It calls `libc::recvmsg` directly instead of `nix::sys::socket::recvmsg`
//! because nix refuses to walk the control messages when the kernel set `MSG_CTRUNC`, and then
//! the descriptors the kernel did install would leak. Here every descriptor that arrives is
//! adopted into an [`OwnedFd`] at once, so whatever the caller decides, none is leaked.

#![allow(unsafe_code)]

use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// Descriptors one `recvmsg` makes room for; more set `MSG_CTRUNC` (the kernel closes extras).
pub const MAX_FDS: usize = 4;

/// What one `recvmsg` delivered.
#[derive(Debug)]
pub struct Received {
    /// Bytes of data read into the buffer (0 means end of stream).
    pub bytes: usize,
    /// Every descriptor that arrived in `SCM_RIGHTS` messages, already owned (closed on drop).
    pub fds: Vec<OwnedFd>,
    /// The kernel truncated the ancillary data (`MSG_CTRUNC`).
    pub ctrunc: bool,
}

/// Aligned space for the control messages of one `recvmsg`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 128]);

const _: () = {
    // SAFETY: `CMSG_SPACE` is pure arithmetic on its argument.
    let need = unsafe { libc::CMSG_SPACE((MAX_FDS * size_of::<libc::c_int>()) as u32) } as usize;
    assert!(need <= 128);
};

/// One `recvmsg(MSG_CMSG_CLOEXEC)` on `sock` into `buf`.
///
/// # Errors
/// The `recvmsg` errno (`EAGAIN`/`EWOULDBLOCK` after a receive timeout, `EINTR`, ...).
pub fn recv_with_fds(sock: BorrowedFd<'_>, buf: &mut [u8]) -> Result<Received, Errno> {
    let mut cmsg = CmsgBuf([0; 128]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut msg = MaybeUninit::<libc::msghdr>::zeroed();
    // SAFETY: an all-zero `msghdr` is valid (null pointers, zero lengths); `as_mut_ptr` of the
    // `MaybeUninit` is a valid, aligned pointer to it.
    let msg = unsafe {
        let m = msg.as_mut_ptr();
        (*m).msg_iov = &mut iov;
        (*m).msg_iovlen = 1;
        (*m).msg_control = cmsg.0.as_mut_ptr().cast();
        (*m).msg_controllen = cmsg.0.len() as _;
        msg.assume_init_mut()
    };
    // SAFETY: `msg` points to one iovec describing `buf` (valid for writes of `buf.len()` bytes)
    // and to `cmsg` (valid for writes of its length, 8-aligned as `cmsghdr` needs); both outlive
    // the call. `sock` is a live descriptor for the duration of the borrow.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), msg, libc::MSG_CMSG_CLOEXEC) };
    let bytes = usize::try_from(n).map_err(|_| Errno::last())?;
    let ctrunc = msg.msg_flags & libc::MSG_CTRUNC != 0;
    let mut fds = Vec::new();
    // SAFETY: `msg` was filled in by a successful `recvmsg`; `msg_controllen` now holds the
    // length of the control data the kernel wrote into `cmsg`, so `CMSG_FIRSTHDR` returns null
    // or a pointer into `cmsg`.
    let mut hdr = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !hdr.is_null() {
        // SAFETY: `hdr` is non-null and was returned by `CMSG_FIRSTHDR`/`CMSG_NXTHDR` for this
        // `msg`, which only return headers that lie wholly inside the control buffer.
        let (level, kind, len) = unsafe { ((*hdr).cmsg_level, (*hdr).cmsg_type, (*hdr).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: arithmetic only.
            let base = unsafe { libc::CMSG_LEN(0) } as usize;
            // `cmsg_len` is `usize` on glibc and `u32` on musl.
            #[allow(clippy::unnecessary_cast)]
            let count = (len as usize).saturating_sub(base) / size_of::<libc::c_int>();
            // SAFETY: `CMSG_DATA` of a header inside the buffer points at its payload.
            let data = unsafe { libc::CMSG_DATA(hdr) };
            for i in 0..count {
                // SAFETY: the kernel set `cmsg_len` to cover exactly `count` ints of payload
                // (after truncation too), all inside the buffer; `read_unaligned` because
                // `CMSG_DATA` need not be int-aligned in general.
                let raw = unsafe {
                    data.add(i * size_of::<libc::c_int>())
                        .cast::<libc::c_int>()
                        .read_unaligned()
                };
                if raw >= 0 {
                    // SAFETY: the kernel just installed `raw` in this process for this message
                    // (SCM_RIGHTS); nothing else in the process knows it, so adopting it as the
                    // sole owner is sound and it is closed exactly once, on drop.
                    fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
        }
        // SAFETY: `hdr` is a header of this `msg` (see above); `CMSG_NXTHDR` returns the next
        // one inside the buffer or null.
        hdr = unsafe { libc::CMSG_NXTHDR(msg, hdr) };
    }
    Ok(Received { bytes, fds, ctrunc })
}
