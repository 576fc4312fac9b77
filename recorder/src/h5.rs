//! Everything that touches HDF5: the column tables, creating a recording in SWMR mode,
//! appending and flushing, the clean close, and reading a recording back.
//!
//! # Why SWMR
//! HDF5's single-writer/multiple-reader mode orders every metadata write so that the file on
//! disk is consistent at every moment: a reader (h5py with `swmr=True`) can open it while it is
//! written and sees everything up to the writer's last flush, and a writer killed with
//! `kill -9` leaves a file that opens the same way. SWMR forbids creating objects or
//! attributes once started, so the writer creates every group, dataset and attribute first
//! ([`H5Recording::create`]) and afterwards only extends datasets. Attributes known only at
//! the end (totals, the list of epochs) are written by [`H5Recording::close`], which leaves
//! SWMR mode and re-opens the file once; a file without them was not closed cleanly.
//!
//! Layout names come from [`crate::layout`]; `docs/recording.md` describes each one.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, VarLenUnicode};
use hdf5::{Dataset, File, Group, H5Type};
use vitalring_core::vitals::Channel;

use crate::layout::{self, DETAIL_LEN, KIND_LEN};

/// Why an HDF5 operation failed: what was being done, and HDF5's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H5Error {
    /// What was being done (`create`, `append`, `flush`, `close`, `open`, `read`).
    pub op: &'static str,
    /// The file.
    pub path: PathBuf,
    /// HDF5's message (lower case).
    pub message: String,
}

impl core::fmt::Display for H5Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.op,
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for H5Error {}

fn err<'a>(op: &'static str, path: &'a Path) -> impl Fn(hdf5::Error) -> H5Error + 'a {
    move |e| H5Error {
        op,
        path: path.to_path_buf(),
        message: {
            let s = e.to_string();
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default()
        },
    }
}

/// A `kind` value of the events table.
pub type Kind = FixedAscii<KIND_LEN>;
/// A `detail` value of the events table.
pub type Detail = FixedAscii<DETAIL_LEN>;

/// `s` as a fixed-length ASCII value: non-ASCII bytes become `?`, and it is cut to fit.
pub fn ascii<const N: usize>(s: &str) -> FixedAscii<N> {
    let bytes: Vec<u8> = s
        .bytes()
        .map(|b| if b.is_ascii() && b != 0 { b } else { b'?' })
        .take(N)
        .collect();
    // Every byte is ASCII and at most N of them: cannot fail.
    FixedAscii::from_ascii(&bytes).unwrap_or_default()
}

/// Declares a table of columns: one `Vec` per column in memory, one 1-D extendable dataset per
/// column in the file (all in one group).
macro_rules! table {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Clone, PartialEq)]
        pub struct $name { $($(#[$fm])* pub $field: Vec<$ty>,)* }

        impl $name {
            /// The column (dataset) names, in order.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Complete rows (a table read while it is written may have longer columns).
            pub fn rows(&self) -> usize {
                [$(self.$field.len()),*].into_iter().min().unwrap_or(0)
            }

            /// Empties every column.
            pub fn clear(&mut self) {
                $(self.$field.clear();)*
            }

            fn create(group: &Group) -> hdf5::Result<()> {
                $(create_column::<$ty>(group, stringify!($field))?;)*
                Ok(())
            }

            fn append(&self, group: &str, cache: &mut Columns) -> hdf5::Result<()> {
                $(cache.append(group, stringify!($field), &self.$field)?;)*
                Ok(())
            }

            fn read(group: &Group) -> hdf5::Result<Self> {
                let mut t = Self {
                    $($field: group.dataset(stringify!($field))?.read_raw::<$ty>()?,)*
                };
                let n = t.rows();
                $(t.$field.truncate(n);)*
                Ok(t)
            }
        }
    };
}

table! {
    /// The vitals columns: one row per vitals frame.
    VitalsTable {
        /// Acquisition time (the frame's `timestampNs`), ns since the Unix epoch.
        time_ns: u64,
        /// Ring index of the frame.
        index: u64,
        /// Producer epoch.
        epoch: u64,
        /// Payload encoding (0 JSON, 1 binary).
        encoding: u8,
        /// Heart rate, bpm.
        hr_bpm: u16,
        /// SpO2, %.
        spo2_pct: u8,
        /// Respiration rate, breaths/min.
        rr_rpm: u8,
        /// NIBP systolic, mmHg, or [`layout::FILL_U16`].
        nibp_systolic_mmhg: u16,
        /// NIBP diastolic, mmHg, or [`layout::FILL_U16`].
        nibp_diastolic_mmhg: u16,
        /// NIBP mean, mmHg, or [`layout::FILL_U16`].
        nibp_mean_mmhg: u16,
        /// Temperature, °C, or NaN.
        temp_c: f32,
        /// Pulse rate, bpm, or [`layout::FILL_U16`].
        pulse_rate_bpm: u16,
    }
}

table! {
    /// A waveform channel's frames: one row per waveform chunk.
    ChunkTable {
        /// Acquisition time of the chunk's first sample, ns since the Unix epoch.
        time_ns: u64,
        /// Ring index of the frame.
        index: u64,
        /// Producer epoch.
        epoch: u64,
        /// The producer's index of the chunk's first sample.
        first_sample_index: u64,
        /// Where the chunk's samples start in the channel's `samples` dataset.
        offset: u64,
        /// How many samples the chunk holds.
        count: u16,
        /// Sample rate, Hz.
        sample_rate_hz: u16,
        /// Payload encoding (0 JSON, 1 binary).
        encoding: u8,
    }
}

table! {
    /// A waveform channel's contiguous runs: a new row whenever the samples do not continue
    /// the previous chunk (a sample index gap, a new epoch, a new sample rate). A run ends
    /// where the next begins (or at the end of `samples`).
    SegmentTable {
        /// Where the run starts in `samples`.
        offset: u64,
        /// The producer's index of its first sample.
        first_sample_index: u64,
        /// Acquisition time of its first sample.
        start_time_ns: u64,
        /// Producer epoch.
        epoch: u64,
        /// Sample rate, Hz.
        sample_rate_hz: u16,
    }
}

table! {
    /// The events table (see [`layout::EventKind`]).
    EventTable {
        /// When the recorder saw it (its wall clock), ns since the Unix epoch.
        time_ns: u64,
        /// What it is: [`layout::EventKind::name`].
        kind: Kind,
        /// The producer epoch it concerns (0 when none).
        epoch: u64,
        /// First ring (or sample) index it concerns.
        first: u64,
        /// How many indices.
        count: u64,
        /// Details (ASCII).
        detail: Detail,
    }
}

table! {
    /// The producer epochs (rings) the recording covers, in order.
    EpochTable {
        /// The producer's epoch value.
        epoch: u64,
        /// When the recorder attached, its wall clock, ns since the Unix epoch.
        attached_ns: u64,
        /// The first ring index the recorder read.
        start_index: u64,
        /// The ring's creation time (header), ns since the Unix epoch.
        created_unix_ns: u64,
        /// Slot size, bytes.
        frame_size: u32,
        /// Slot count.
        frame_count: u32,
    }
}

/// One waveform channel: its frames, its runs and its samples.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WaveTable {
    /// One row per frame.
    pub chunks: ChunkTable,
    /// One row per contiguous run.
    pub segments: SegmentTable,
    /// Every sample.
    pub samples: Vec<i32>,
}

impl WaveTable {
    fn clear(&mut self) {
        self.chunks.clear();
        self.segments.clear();
        self.samples.clear();
    }
}

/// Rows not written yet (the recorder's buffer) or read back (a whole recording).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tables {
    /// Vitals.
    pub vitals: VitalsTable,
    /// Waveforms, in [`Channel::ALL`] order.
    pub waves: [WaveTable; 3],
    /// Events.
    pub events: EventTable,
    /// Epochs.
    pub epochs: EpochTable,
}

impl Tables {
    /// Rows and samples held (for the buffer bound).
    pub fn len(&self) -> usize {
        self.vitals.rows()
            + self.events.rows()
            + self.epochs.rows()
            + self
                .waves
                .iter()
                .map(|w| w.chunks.rows() + w.samples.len())
                .sum::<usize>()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties everything (keeps the allocations).
    pub fn clear(&mut self) {
        self.vitals.clear();
        self.events.clear();
        self.epochs.clear();
        for w in &mut self.waves {
            w.clear();
        }
    }
}

/// The open datasets of a file being written, by path (opening a dataset costs more than
/// appending a flush's rows to it).
#[derive(Debug, Default)]
struct Columns {
    open: std::collections::HashMap<String, Dataset>,
    file: Option<File>,
}

impl Columns {
    fn append<T: H5Type>(&mut self, group: &str, name: &str, data: &[T]) -> hdf5::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let path = format!("{group}/{name}");
        if !self.open.contains_key(&path) {
            let file = self
                .file
                .as_ref()
                .ok_or_else(|| hdf5::Error::from("the file is closed"))?;
            let ds = file.dataset(&path)?;
            self.open.insert(path.clone(), ds);
        }
        match self.open.get(&path) {
            Some(ds) => append_column(ds, data),
            None => Err(hdf5::Error::from("dataset vanished")),
        }
    }
}

fn create_column<T: H5Type>(group: &Group, name: &str) -> hdf5::Result<Dataset> {
    group
        .new_dataset::<T>()
        .chunk(layout::CHUNK_ROWS)
        .shape(0..)
        .create(name)
}

fn append_column<T: H5Type>(ds: &Dataset, data: &[T]) -> hdf5::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let n = ds.shape().first().copied().unwrap_or(0);
    ds.resize(n + data.len())?;
    ds.write_slice(data, n..n + data.len())
}

fn attr_str(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value
        .replace('\0', "?")
        .parse()
        .map_err(|e| hdf5::Error::from(format!("{e}")))?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&v)
}

fn attr<T: H5Type>(loc: &hdf5::Location, name: &str, value: T) -> hdf5::Result<()> {
    loc.new_attr::<T>().create(name)?.write_scalar(&value)
}

fn attr_array<T: H5Type>(loc: &hdf5::Location, name: &str, values: &[T]) -> hdf5::Result<()> {
    loc.new_attr::<T>()
        .shape(values.len())
        .create(name)?
        .write(values)
}

/// What the file says about itself (root attributes written at creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The channel name asked for in the handshake.
    pub channel: String,
    /// The control socket.
    pub socket: String,
    /// The first producer epoch.
    pub first_epoch: u64,
    /// The first ring's slot size.
    pub frame_size: u32,
    /// The first ring's slot count.
    pub frame_count: u32,
    /// When the recording started, ns since the Unix epoch.
    pub started_unix_ns: u64,
}

/// How a waveform channel starts (its `samples` attributes), when its first chunk is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelStart {
    /// Sample rate, Hz.
    pub sample_rate_hz: u16,
    /// The producer's index of the first sample recorded.
    pub first_sample_index: u64,
    /// Its acquisition time, ns since the Unix epoch.
    pub start_time_ns: u64,
}

/// Totals written as root attributes by a clean close.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    /// Every producer epoch recorded, in order.
    pub epochs: Vec<u64>,
    /// When the recording stopped, ns since the Unix epoch.
    pub stopped_unix_ns: u64,
    /// Frames delivered by the reader session (heartbeat frames included).
    pub frames_delivered: u64,
    /// Of them, heartbeat frames (not stored).
    pub heartbeat_frames: u64,
    /// Ring indices dropped.
    pub frames_dropped: u64,
    /// Frames rejected.
    pub frames_rejected: u64,
}

/// A recording being written (SWMR mode).
#[derive(Debug)]
pub struct H5Recording {
    file: File,
    path: PathBuf,
    columns: Columns,
}

impl H5Recording {
    /// Creates `path` (which must not exist), every group, dataset and attribute, and starts
    /// SWMR writing.
    ///
    /// # Errors
    /// The file exists or cannot be created; HDF5 failed.
    pub fn create(
        path: &Path,
        facts: &FileFacts,
        starts: &[Option<ChannelStart>; 3],
    ) -> Result<Self, H5Error> {
        let e = err("create", path);
        let file = File::with_options()
            .with_fapl(|p| p.libver_latest())
            .create_excl(path)
            .map_err(&e)?;
        Self::layout(&file, facts, starts).map_err(&e)?;
        file.flush().map_err(&e)?;
        let id = file.id();
        // SAFETY: `id` is the valid, open file identifier owned by `file`, which outlives the
        // call; H5Fstart_swmr_write only changes the file's mode. The library's global lock is
        // held by `sync`, as for every call the hdf5 crate makes.
        let rc = hdf5::sync::sync(|| unsafe { hdf5_sys::h5f::H5Fstart_swmr_write(id) });
        if rc < 0 {
            return Err(H5Error {
                op: "start SWMR writing on",
                path: path.to_path_buf(),
                message: "the HDF5 library refused".into(),
            });
        }
        Ok(Self {
            columns: Columns {
                open: std::collections::HashMap::new(),
                file: Some(file.clone()),
            },
            file,
            path: path.to_path_buf(),
        })
    }

    fn layout(
        file: &File,
        facts: &FileFacts,
        starts: &[Option<ChannelStart>; 3],
    ) -> hdf5::Result<()> {
        attr_str(file, "format", layout::FORMAT)?;
        attr(file, "format_version", layout::FORMAT_VERSION)?;
        attr_str(file, "vitalring_version", env!("CARGO_PKG_VERSION"))?;
        attr(
            file,
            "wire_format_version",
            u32::from(vitalring_core::layout::VERSION),
        )?;
        attr_str(file, "channel", &facts.channel)?;
        attr_str(file, "socket", &facts.socket)?;
        attr(file, "first_epoch", facts.first_epoch)?;
        attr(file, "frame_size", facts.frame_size)?;
        attr(file, "frame_count", facts.frame_count)?;
        attr(file, "started_unix_ns", facts.started_unix_ns)?;
        attr(file, "fill_u16", layout::FILL_U16)?;
        attr(file, "fill_temp_c", layout::FILL_TEMP)?;

        let vitals = file.create_group(layout::VITALS)?;
        VitalsTable::create(&vitals)?;
        for col in [
            "nibp_systolic_mmhg",
            "nibp_diastolic_mmhg",
            "nibp_mean_mmhg",
            "pulse_rate_bpm",
        ] {
            let ds = vitals.dataset(col)?;
            attr(&ds, "fill_value", layout::FILL_U16)?;
        }
        let ds = vitals.dataset("temp_c")?;
        attr(&ds, "fill_value", layout::FILL_TEMP)?;

        file.create_group(layout::WAVEFORMS)?;
        for (channel, start) in Channel::ALL.into_iter().zip(starts) {
            let g = file.create_group(&layout::channel_group(channel))?;
            let samples = create_column::<i32>(&g, layout::SAMPLES)?;
            let (fs, first, t0) = start.map_or((0, -1, 0), |s| {
                (
                    s.sample_rate_hz,
                    i64::try_from(s.first_sample_index).unwrap_or(i64::MAX),
                    s.start_time_ns,
                )
            });
            attr(&samples, "sample_rate_hz", fs)?;
            attr_str(&samples, "units", layout::units(channel))?;
            attr(&samples, "first_sample_index", first)?;
            attr(&samples, "start_time_ns", t0)?;
            ChunkTable::create(&g.create_group(layout::CHUNKS)?)?;
            SegmentTable::create(&g.create_group(layout::SEGMENTS)?)?;
        }
        EventTable::create(&file.create_group(layout::EVENTS)?)?;
        EpochTable::create(&file.create_group(layout::EPOCHS)?)?;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends every row of `tables` and flushes the file: after this returns, a reader (and
    /// the file left by a crash) holds them.
    ///
    /// # Errors
    /// HDF5 failed (disk full, I/O error).
    pub fn append(&mut self, tables: &Tables) -> Result<(), H5Error> {
        let e = err("append to", &self.path);
        let c = &mut self.columns;
        let mut run = || -> hdf5::Result<()> {
            // Samples before the chunk rows that point into them, epochs and segments before
            // the rows that name them: a reader never sees a row whose target is missing.
            for (channel, w) in Channel::ALL.into_iter().zip(&tables.waves) {
                let g = layout::channel_group(channel);
                c.append(&g, layout::SAMPLES, &w.samples)?;
                w.segments.append(&format!("{g}/{}", layout::SEGMENTS), c)?;
                w.chunks.append(&format!("{g}/{}", layout::CHUNKS), c)?;
            }
            tables.epochs.append(layout::EPOCHS, c)?;
            tables.vitals.append(layout::VITALS, c)?;
            tables.events.append(layout::EVENTS, c)?;
            Ok(())
        };
        run().map_err(&e)?;
        self.file.flush().map_err(e)
    }

    /// Closes the file (which leaves SWMR mode), re-opens it once to write `totals` as root
    /// attributes and `closed_cleanly = 1`, and closes it again.
    ///
    /// # Errors
    /// HDF5 failed.
    pub fn close(self, totals: &Totals) -> Result<(), H5Error> {
        let Self {
            file,
            path,
            columns,
        } = self;
        drop(columns);
        let e = err("close", &path);
        file.flush().map_err(&e)?;
        file.close().map_err(&e)?;
        let file = File::open_rw(&path).map_err(&e)?;
        let run = || -> hdf5::Result<()> {
            attr_array(&file, "epochs", &totals.epochs)?;
            attr(&file, "stopped_unix_ns", totals.stopped_unix_ns)?;
            attr(&file, "frames_delivered", totals.frames_delivered)?;
            attr(&file, "heartbeat_frames", totals.heartbeat_frames)?;
            attr(&file, "frames_dropped", totals.frames_dropped)?;
            attr(&file, "frames_rejected", totals.frames_rejected)?;
            attr(&file, "closed_cleanly", 1u8)?;
            file.flush()
        };
        run().map_err(&e)?;
        file.close().map_err(&e)
    }
}

/// A recording read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Every table, complete rows only.
    pub tables: Tables,
    /// `channel` attribute.
    pub channel: String,
    /// `first_epoch` attribute.
    pub first_epoch: u64,
    /// `frame_size` attribute.
    pub frame_size: u32,
    /// `frame_count` attribute.
    pub frame_count: u32,
    /// Whether the file was closed cleanly (`closed_cleanly` present).
    pub closed_cleanly: bool,
}

/// Opens `path` for reading: plainly when it was closed, in SWMR-read mode when it is being
/// written or its writer died.
fn open_read(path: &Path) -> Result<File, H5Error> {
    let e = err("open", path);
    if let Ok(f) = File::open(path) {
        return Ok(f);
    }
    let name = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| H5Error {
        op: "open",
        path: path.to_path_buf(),
        message: "the path contains a NUL byte".into(),
    })?;
    let flags = hdf5_sys::h5f::H5F_ACC_RDONLY | hdf5_sys::h5f::H5F_ACC_SWMR_READ;
    // SAFETY: `name` is a NUL-terminated C string that lives across the call; H5P_DEFAULT is
    // a valid property list id. The library lock is held by `sync`.
    let id = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5f::H5Fopen(name.as_ptr(), flags, hdf5_sys::h5p::H5P_DEFAULT)
    });
    if id < 0 {
        return File::open(path).map_err(&e);
    }
    // SAFETY: `id` is a file identifier H5Fopen just returned and nothing else owns; the
    // `File` takes ownership and closes it on drop.
    unsafe { hdf5::from_id::<File>(id) }.map_err(e)
}

/// Reads a whole recording (complete rows only).
///
/// # Errors
/// Not an HDF5 file, not a vitalring recording, HDF5 failed.
pub fn read(path: &Path) -> Result<Recording, H5Error> {
    let file = open_read(path)?;
    let e = err("read", path);
    let format: String = file
        .attr("format")
        .and_then(|a| a.read_scalar::<VarLenUnicode>())
        .map(|s| s.as_str().to_string())
        .map_err(|_| H5Error {
            op: "read",
            path: path.to_path_buf(),
            message: "not a vitalring recording (no format attribute)".into(),
        })?;
    if format != layout::FORMAT {
        return Err(H5Error {
            op: "read",
            path: path.to_path_buf(),
            message: format!("not a vitalring recording (format {format:?})"),
        });
    }
    let run = || -> hdf5::Result<Recording> {
        let mut tables = Tables {
            vitals: VitalsTable::read(&file.group(layout::VITALS)?)?,
            events: EventTable::read(&file.group(layout::EVENTS)?)?,
            epochs: EpochTable::read(&file.group(layout::EPOCHS)?)?,
            ..Tables::default()
        };
        for (channel, w) in Channel::ALL.into_iter().zip(&mut tables.waves) {
            let g = file.group(&layout::channel_group(channel))?;
            w.samples = g.dataset(layout::SAMPLES)?.read_raw::<i32>()?;
            w.chunks = ChunkTable::read(&g.group(layout::CHUNKS)?)?;
            w.segments = SegmentTable::read(&g.group(layout::SEGMENTS)?)?;
            // A chunk whose samples are not all there yet is not a complete row.
            let have = w.samples.len() as u64;
            let complete = (0..w.chunks.rows())
                .take_while(|&i| {
                    w.chunks.offset[i]
                        .checked_add(u64::from(w.chunks.count[i]))
                        .is_some_and(|end| end <= have)
                })
                .count();
            truncate_chunks(&mut w.chunks, complete);
        }
        Ok(Recording {
            channel: file
                .attr("channel")?
                .read_scalar::<VarLenUnicode>()?
                .as_str()
                .to_string(),
            first_epoch: file.attr("first_epoch")?.read_scalar()?,
            frame_size: file.attr("frame_size")?.read_scalar()?,
            frame_count: file.attr("frame_count")?.read_scalar()?,
            closed_cleanly: file.attr("closed_cleanly").is_ok(),
            tables,
        })
    };
    run().map_err(e)
}

fn truncate_chunks(c: &mut ChunkTable, n: usize) {
    c.time_ns.truncate(n);
    c.index.truncate(n);
    c.epoch.truncate(n);
    c.first_sample_index.truncate(n);
    c.offset.truncate(n);
    c.count.truncate(n);
    c.sample_rate_hz.truncate(n);
    c.encoding.truncate(n);
}
