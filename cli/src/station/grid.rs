//! The station's grid: one tile per bed. [`draw`] is a pure function of the [`Station`] and a
//! few view settings, so tests render it into ratatui's `TestBackend` and read the buffer.
//!
//! A tile shows the bed's name and connection state on its border, HR / SpO2 / RR and NIBP,
//! a short ECG II strip at a fixed, stated gain, and the highest-priority alarm (with how many
//! more are active). The border takes the colour of the highest alarm priority (red, yellow,
//! cyan as in the single-bed monitor), green when live without alarms, grey when not live.
//! Values that are not live are grey and the tile says `STALE` with their age: a stalled or
//! stopped bed never looks live.

use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Painter, Shape};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;
use vitalring_core::source::ConnectionState;
use vitalring_core::vitals::Channel;

use super::{Bed, Presence, Station};
use crate::monitor::bigfont;
use crate::monitor::state::{trace_index, Alarm, Priority, Trace};

/// Smallest tile, cells (border included): the name and state, numerics, NIBP, one row of
/// ECG strip and the alarm line.
pub const TILE_MIN_W: u16 = 34;
/// See [`TILE_MIN_W`].
pub const TILE_MIN_H: u16 = 7;
/// Seconds of ECG in a tile's strip.
pub const STRIP_SECONDS: f64 = 4.0;
/// Rows above the grid (title, notices).
const HEADER_ROWS: u16 = 2;
/// Preferred tile shape, columns per row (a terminal cell is about twice as high as wide).
const TILE_ASPECT: f64 = 3.5;

const STALE: Color = Color::DarkGray;

/// What the grid shows.
pub struct Grid<'a> {
    /// The beds and what the scans found.
    pub station: &'a Station,
    /// Index of the selected bed.
    pub selected: usize,
    /// The last station notices (beds added, gone, unreachable), oldest first.
    pub notices: &'a [String],
    /// Wall clock now, ns since the Unix epoch (for the age of stale values).
    pub wall_ns: u64,
    /// First grid row shown (when the beds do not all fit).
    pub scroll_row: usize,
}

/// How the tiles were placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Tiles per row.
    pub cols: usize,
    /// Grid rows on screen.
    pub rows_shown: usize,
    /// Grid rows in all.
    pub rows: usize,
    /// First grid row on screen.
    pub first_row: usize,
}

/// Chooses the columns for `n` tiles in `area`: every tile at least [`TILE_MIN_W`] ×
/// [`TILE_MIN_H`], shaped as close to [`TILE_ASPECT`] as the count allows; when they cannot
/// all be that large, as many rows as fit are shown and the grid scrolls.
pub fn place(area: Rect, n: usize, selected: usize, scroll_row: usize) -> Placement {
    let max_cols = usize::from((area.width / TILE_MIN_W).max(1));
    let max_rows = usize::from((area.height / TILE_MIN_H).max(1));
    let n = n.max(1);
    let mut best: Option<(f64, usize)> = None;
    for cols in 1..=max_cols.min(n) {
        let rows = n.div_ceil(cols);
        if rows > max_rows {
            continue;
        }
        let w = f64::from(area.width) / cols as f64;
        let h = f64::from(area.height) / rows as f64;
        let score = ((w / h) / TILE_ASPECT).ln().abs();
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, cols));
        }
    }
    let cols = best.map_or(max_cols.min(n), |(_, c)| c);
    let rows = n.div_ceil(cols);
    let rows_shown = rows.min(max_rows);
    // Keep the selected tile on screen.
    let sel_row = selected.min(n - 1) / cols;
    let mut first_row = scroll_row.min(rows - rows_shown);
    if sel_row < first_row {
        first_row = sel_row;
    } else if sel_row >= first_row + rows_shown {
        first_row = sel_row + 1 - rows_shown;
    }
    Placement {
        cols,
        rows_shown,
        rows,
        first_row,
    }
}

/// Draws the station; returns where the tiles went (the caller keeps `first_row` as the next
/// `scroll_row` and uses `cols` for the Up/Down keys).
pub fn draw(f: &mut Frame<'_>, g: &Grid<'_>) -> Placement {
    let area = f.area();
    let [head, notice, body] = stack(area, [1, HEADER_ROWS - 1, u16::MAX]);
    let beds = &g.station.beds;
    let p = place(body, beds.len(), g.selected, g.scroll_row);
    f.render_widget(header(g, &p), head);
    f.render_widget(notice_line(g), notice);
    if beds.is_empty() {
        let text = vec![
            Line::from(Span::styled(
                format!("no live channels in {}", g.station.dir.display()),
                Style::new().add_modifier(Modifier::BOLD),
            )),
            Line::from(Span::styled(
                "start a producer, e.g. `vitalring sim --channel bed1`; the directory is scanned every second",
                Style::new().fg(Color::Gray),
            )),
        ];
        f.render_widget(
            Paragraph::new(text).alignment(Alignment::Center),
            Rect {
                y: body.y + body.height / 3,
                height: 2.min(body.height),
                ..body
            },
        );
        return p;
    }
    for r in 0..p.rows_shown {
        let (y, h) = share(body.y, body.height, p.rows_shown, r);
        for c in 0..p.cols {
            let (x, w) = share(body.x, body.width, p.cols, c);
            let i = (p.first_row + r) * p.cols + c;
            if let Some(bed) = beds.get(i) {
                let cell = Rect::new(x, y, w, h).intersection(area);
                tile(f, cell, bed, i == g.selected, g.wall_ns);
            }
        }
    }
    p
}

/// Part `i` of `n` equal parts of the span `start..start + len`: (start, length). Plain
/// arithmetic rather than ratatui's constraint solver, which is slow without its cache and
/// would run for every tile of every frame.
fn share(start: u16, len: u16, n: usize, i: usize) -> (u16, u16) {
    let n = n.max(1);
    let at = |k: usize| u16::try_from(usize::from(len) * k / n).unwrap_or(len);
    (start + at(i), at(i + 1) - at(i))
}

/// `area` cut into rows of the given heights, top down; each row is cut to what is left
/// (`u16::MAX`: the rest).
fn stack<const N: usize>(area: Rect, heights: [u16; N]) -> [Rect; N] {
    let mut y = area.y;
    let bottom = area.y + area.height;
    heights.map(|h| {
        let h = h.min(bottom - y);
        let r = Rect::new(area.x, y, area.width, h);
        y += h;
        r
    })
}

fn header(g: &Grid<'_>, p: &Placement) -> Paragraph<'static> {
    let beds = &g.station.beds;
    let live = beds.iter().filter(|b| b.values_live()).count();
    let alarming = beds
        .iter()
        .filter(|b| {
            b.alarms()
                .first()
                .is_some_and(|a| a.priority == Priority::High)
        })
        .count();
    let mut spans = vec![
        Span::styled(
            " vitalring station ",
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" {} ", g.station.dir.display())),
        Span::styled(
            format!(" beds {}  live {live} ", beds.len()),
            Style::new().fg(Color::Gray),
        ),
    ];
    if alarming > 0 {
        spans.push(Span::styled(
            format!(
                " {alarming} high alarm{} ",
                if alarming == 1 { "" } else { "s" }
            ),
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        ));
    }
    if p.rows_shown < p.rows {
        spans.push(Span::styled(
            format!(
                " rows {}-{} of {} ",
                p.first_row + 1,
                p.first_row + p.rows_shown,
                p.rows
            ),
            Style::new().fg(Color::Yellow),
        ));
    }
    spans.push(Span::styled(
        "  arrows: select  Enter: open  q: quit",
        Style::new().fg(Color::Gray),
    ));
    Paragraph::new(Line::from(spans))
}

fn notice_line(g: &Grid<'_>) -> Paragraph<'static> {
    let mut parts: Vec<String> = Vec::new();
    for (bed, reason) in g.station.unreachable() {
        parts.push(format!("{bed}: unreachable: {reason}"));
    }
    if !g.station.stale_sockets.is_empty() {
        parts.push(format!(
            "stale sockets (no producer): {}",
            g.station.stale_sockets.join(", ")
        ));
    }
    if let Some(last) = g.notices.last() {
        parts.push(last.clone());
    }
    Paragraph::new(Line::from(Span::styled(
        format!(" {}", parts.join("  |  ")),
        Style::new().fg(Color::Gray),
    )))
}

/// The colours of an alarm of `priority`, as the single-bed monitor shows them.
fn priority_colors(priority: Priority) -> (Color, Color) {
    match priority {
        Priority::High => (Color::White, Color::Red),
        Priority::Medium => (Color::Black, Color::Yellow),
        Priority::Low => (Color::Black, Color::Cyan),
    }
}

fn alarm_span(a: &Alarm, now_ns: u64) -> Span<'static> {
    let (fg, bg) = priority_colors(a.priority);
    let mut style = Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD);
    if !a.priority.lit(now_ns) {
        style = style.add_modifier(Modifier::REVERSED);
    }
    Span::styled(format!(" {} {} ", a.priority.marker(), a.text), style)
}

fn state_color(bed: &Bed) -> Color {
    if matches!(bed.presence, Presence::Gone { .. }) {
        return Color::Red;
    }
    match bed.state.state {
        ConnectionState::Connected if bed.presence == Presence::Stale => Color::Red,
        ConnectionState::Connected => Color::Green,
        ConnectionState::Connecting | ConnectionState::Reconnecting => Color::Yellow,
        ConnectionState::Stalled | ConnectionState::Disconnected | ConnectionState::Stopped => {
            Color::Red
        }
    }
}

fn tile(f: &mut Frame<'_>, area: Rect, bed: &Bed, selected: bool, wall_ns: u64) {
    let alarms = bed.alarms();
    let live = bed.values_live();
    let border = match alarms.first() {
        Some(a) => priority_colors(a.priority).1,
        None if live => Color::Green,
        None => STALE,
    };
    let mut name_style = Style::new().add_modifier(Modifier::BOLD);
    if selected {
        name_style = name_style.add_modifier(Modifier::REVERSED);
    }
    let mut state_text = format!(" {} ", bed.label());
    if bed.presence == Presence::Stale && !matches!(bed.state.state, ConnectionState::Stopped) {
        state_text = format!(" {} · NO PRODUCER ", bed.label());
    }
    let block = Block::bordered()
        .border_type(if selected {
            BorderType::Double
        } else {
            BorderType::Rounded
        })
        .border_style(Style::new().fg(border))
        .title(Line::from(Span::styled(
            format!(" {} ", bed.name),
            name_style,
        )))
        .title(
            Line::from(Span::styled(
                state_text,
                Style::new()
                    .fg(state_color(bed))
                    .add_modifier(Modifier::BOLD),
            ))
            .right_aligned(),
        );
    let inner = block.inner(area);
    f.render_widget(Clear, area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let c = |color| if live { color } else { STALE };
    let v = bed.state.vitals.map(|v| v.record);
    let num = |x: Option<String>| x.unwrap_or_else(|| "--".into());
    let bold = Modifier::BOLD;
    let numerics = Line::from(vec![
        Span::styled("HR ", Style::new().fg(Color::Gray)),
        Span::styled(
            format!("{:<4}", num(v.map(|v| v.hr_bpm.to_string()))),
            Style::new().fg(c(Color::Green)).add_modifier(bold),
        ),
        Span::styled("SpO2 ", Style::new().fg(Color::Gray)),
        Span::styled(
            format!(
                "{:<4}",
                num(v.map(|v| match v.spo2_pct {
                    0 => "---".to_string(),
                    x => x.to_string(),
                }))
            ),
            Style::new().fg(c(Color::Cyan)).add_modifier(bold),
        ),
        Span::styled("RR ", Style::new().fg(Color::Gray)),
        Span::styled(
            num(v.map(|v| v.rr_rpm.to_string())),
            Style::new().fg(c(Color::Yellow)).add_modifier(bold),
        ),
    ]);
    let nibp = v.and_then(|v| v.nibp).map_or_else(
        || "---/--- (---)".to_string(),
        |n| format!("{}/{} ({})", n.systolic_mmhg, n.diastolic_mmhg, n.mean_mmhg),
    );
    // Tall tiles show the numerics large (the monitor's block font) and cap the strip.
    let big = inner.height >= 12 && inner.width >= 40;
    let numerics_rows: u16 = if big { 6 } else { 1 };
    let strip_rows = inner
        .height
        .saturating_sub(numerics_rows + 2)
        .min(if big { 8 } else { 6 });
    let gain = if strip_rows >= 6 { 10.0 } else { 5.0 };
    let right = if live || v.is_none() {
        Span::styled(format!("ECG {gain:.0} mm/mV"), Style::new().fg(Color::Gray))
    } else {
        let age = bed.vitals_age_ms(wall_ns).unwrap_or(0);
        Span::styled(
            format!("STALE {}", age_text(age)),
            Style::new().fg(Color::Red).add_modifier(bold),
        )
    };
    let nibp_line = Line::from(vec![
        Span::styled("NIBP ", Style::new().fg(Color::Gray)),
        Span::styled(nibp, Style::new().fg(c(Color::White)).add_modifier(bold)),
    ]);
    let alarm_line = match alarms.first() {
        Some(a) => {
            let mut spans = vec![alarm_span(a, bed.state.now_ns)];
            if alarms.len() > 1 {
                spans.push(Span::styled(
                    format!(" +{}", alarms.len() - 1),
                    Style::new().fg(Color::Gray),
                ));
            }
            Line::from(spans)
        }
        None => Line::from(Span::styled("no alarms", Style::new().fg(STALE))),
    };
    let [l1, l2, strip, l3] = stack(inner, [numerics_rows, 1, strip_rows, 1]);
    if big {
        big_numerics(f, l1, v, live);
    } else {
        f.render_widget(Paragraph::new(numerics), l1);
    }
    let rw = u16::try_from(right.width()).unwrap_or(u16::MAX);
    let rw = rw.min(l2.width);
    let l2a = Rect {
        width: l2.width - rw,
        ..l2
    };
    let l2b = Rect {
        x: l2.x + l2.width - rw,
        width: rw,
        ..l2
    };
    f.render_widget(Paragraph::new(nibp_line), l2a);
    f.render_widget(Paragraph::new(Line::from(right)), l2b);
    if strip_rows > 0 {
        let trace = &bed.state.traces[trace_index(Channel::EcgII)];
        let shape = Strip {
            trace,
            color: c(Color::Green),
            gain,
        };
        let empty = trace.samples.is_empty();
        let canvas = Canvas::default()
            .marker(Marker::Braille)
            .x_bounds([0.0, 1.0])
            .y_bounds([0.0, 1.0])
            .paint(move |ctx| {
                if empty {
                    ctx.print(0.35, 0.5, Span::styled("no ECG", Style::new().fg(STALE)));
                } else {
                    ctx.draw(&shape);
                }
            });
        f.render_widget(canvas, strip);
    }
    f.render_widget(Paragraph::new(alarm_line), l3);
}

/// HR, SpO2 and RR in three columns: the label, then the value in the block font.
fn big_numerics(
    f: &mut Frame<'_>,
    area: Rect,
    v: Option<vitalring_core::vitals::VitalsRecord>,
    live: bool,
) {
    let cols: Vec<Rect> = (0..3)
        .map(|i| {
            let (x, w) = share(area.x, area.width, 3, i);
            Rect {
                x,
                width: w,
                ..area
            }
        })
        .collect();
    let values = [
        ("HR", v.map(|v| v.hr_bpm.to_string()), Color::Green),
        (
            "SpO2",
            v.map(|v| match v.spo2_pct {
                0 => "---".to_string(),
                x => x.to_string(),
            }),
            Color::Cyan,
        ),
        ("RR", v.map(|v| v.rr_rpm.to_string()), Color::Yellow),
    ];
    for ((label, value, color), col) in values.into_iter().zip(cols.iter()) {
        let color = if live { color } else { STALE };
        let value = value.unwrap_or_else(|| "--".into());
        let mut lines = vec![Line::from(vec![
            Span::styled(format!("{label} "), Style::new().fg(Color::Gray)),
            Span::styled(
                value.clone(),
                Style::new().fg(color).add_modifier(Modifier::BOLD),
            ),
        ])];
        if usize::from(col.width) > bigfont::width(&value) {
            lines.extend(
                bigfont::render(&value)
                    .into_iter()
                    .map(|r| Line::from(Span::styled(r, Style::new().fg(color)))),
            );
        }
        f.render_widget(Paragraph::new(lines), *col);
    }
}

/// `850 ms`, `12 s`, `3 min`.
fn age_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

/// The newest [`STRIP_SECONDS`] of the ECG as a min/max envelope per braille column (QRS
/// spikes survive), newest at the right, at `gain` mm/mV (one text row = 5 mm) centred on the
/// median; lost samples leave a gap; values beyond the strip are clipped to its edge.
struct Strip<'a> {
    trace: &'a Trace,
    color: Color,
    gain: f64,
}

impl Shape for Strip<'_> {
    fn draw(&self, painter: &mut Painter<'_, '_>) {
        let Some((max_x, max_y)) = painter.get_point(1.0, 0.0) else {
            return;
        };
        let (w, h) = (max_x + 1, max_y + 1);
        let fs = if self.trace.fs_hz > 0 {
            f64::from(self.trace.fs_hz)
        } else {
            250.0
        };
        let want = ((STRIP_SECONDS * fs) as usize).clamp(1, self.trace.capacity.max(1));
        let len = self.trace.samples.len();
        let skip = len.saturating_sub(want);
        let samples: Vec<Option<i32>> = self.trace.samples.iter().skip(skip).copied().collect();
        let mut sorted: Vec<i32> = samples.iter().flatten().copied().collect();
        if sorted.is_empty() {
            return;
        }
        let k = sorted.len() / 2;
        let (_, mid, _) = sorted.select_nth_unstable(k);
        let mid = f64::from(*mid);
        // µV per braille dot: 4 dots per row, one row = 5 mm, `gain` mm per 1000 µV.
        let uv_per_dot = 1000.0 * 5.0 / (self.gain * 4.0);
        let to_y = |v: i32| -> usize {
            let dots = (f64::from(v) - mid) / uv_per_dot;
            let y = (h as f64 - 1.0) / 2.0 - dots;
            y.round().clamp(0.0, (h - 1) as f64) as usize
        };
        // Newest at the right: the strip's `want` samples map onto the width, so a trace still
        // filling up starts part way across.
        let offset = want - samples.len().min(want);
        let mut prev: Option<usize> = None;
        for col in 0..w {
            let a = (col * want / w).saturating_sub(offset);
            let b = (((col + 1) * want / w).max(col * want / w + 1))
                .saturating_sub(offset)
                .min(samples.len());
            let mut lo: Option<usize> = None;
            let mut hi: Option<usize> = None;
            let mut last = None;
            for v in samples[a.min(b)..b].iter().flatten() {
                let y = to_y(*v);
                lo = Some(lo.map_or(y, |m: usize| m.max(y)));
                hi = Some(hi.map_or(y, |m: usize| m.min(y)));
                last = Some(y);
            }
            let (Some(mut y0), Some(mut y1)) = (hi, lo) else {
                prev = None;
                continue;
            };
            if let Some(p) = prev {
                y0 = y0.min(p);
                y1 = y1.max(p);
            }
            for y in y0..=y1 {
                painter.paint(col, y, self.color);
            }
            prev = last;
        }
    }
}

/// The last row of the single-bed view inside the station: how to go back, and the other
/// beds' alarms (a central station never hides another bed's alarm).
pub fn draw_bed_footer(f: &mut Frame<'_>, station: &Station, shown: &str) {
    let area = f.area();
    if area.height < 2 {
        return;
    }
    let row = Rect {
        y: area.y + area.height - 1,
        height: 1,
        ..area
    };
    let mut spans = vec![Span::styled(
        format!(" {shown}  Esc: all beds  ←/→: other bed "),
        Style::new().fg(Color::Black).bg(Color::Gray),
    )];
    let mut others: Vec<(&Bed, Alarm)> = station
        .beds
        .iter()
        .filter(|b| b.name != shown)
        .filter_map(|b| b.alarms().first().map(|a| (b, *a)))
        .collect();
    others.sort_by_key(|(_, a)| a.priority);
    if others.is_empty() {
        spans.push(Span::styled(
            "  other beds: no alarms",
            Style::new().fg(Color::Gray),
        ));
    } else {
        spans.push(Span::styled("  other beds:", Style::new().fg(Color::Gray)));
        for (b, a) in others {
            spans.push(Span::raw(format!(" {} ", b.name)));
            spans.push(alarm_span(&a, b.state.now_ns));
        }
    }
    f.render_widget(Clear, row);
    f.render_widget(Paragraph::new(Line::from(spans)), row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::state::Limits;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::Terminal;
    use std::path::Path;
    use vitalring_core::source::{SensorError, SensorEvent};
    use vitalring_core::time::{Nanos, UnixNs};
    use vitalring_core::vitals::{Nibp, VitalsRecord, WaveformChunk};

    const T0: u64 = 1_800_000_000_000_000_000;

    fn record(hr: u16, spo2: u8, rr: u8, sys: u16) -> VitalsRecord {
        VitalsRecord {
            hr_bpm: hr,
            spo2_pct: spo2,
            rr_rpm: rr,
            nibp: Some(Nibp {
                systolic_mmhg: sys,
                diastolic_mmhg: 70,
                mean_mmhg: 88,
            }),
            temp_c: Some(36.8),
            pulse_rate_bpm: Some(hr),
        }
    }

    /// A connected bed with vitals at wall time `T0` and 4 s of ECG (a spike every second).
    fn bed(name: &str, hr: u16, spo2: u8, rr: u8, sys: u16) -> Bed {
        let mut b = Bed::new(
            name,
            Path::new(&format!("/tmp/x/{name}.sock")),
            Limits::default(),
            1500,
        );
        b.state.apply(
            &SensorEvent::Connection {
                state: ConnectionState::Connected,
                epoch: Some(1),
            },
            T0,
        );
        b.state.apply(
            &SensorEvent::Vitals {
                timestamp: UnixNs(T0),
                index: 1,
                record: record(hr, spo2, rr, sys),
            },
            T0,
        );
        for k in 0..100u64 {
            let mut samples = heapless::Vec::new();
            for i in 0..10u64 {
                let s = k * 10 + i;
                let v = if s % 250 < 3 { 1200 } else { 0 };
                samples.push(v).unwrap();
            }
            b.state.apply(
                &SensorEvent::Waveform {
                    timestamp: UnixNs(T0),
                    index: 2 + k,
                    chunk: WaveformChunk {
                        channel: Channel::EcgII,
                        fs_hz: 250,
                        first: k * 10,
                        samples,
                    },
                },
                T0,
            );
        }
        b
    }

    fn stall(b: &mut Bed) {
        b.state.apply(
            &SensorEvent::Error(SensorError::Stalled {
                heartbeat_age: Nanos(300_000_000),
            }),
            T0,
        );
    }

    fn station(beds: Vec<Bed>) -> Station {
        let cli =
            crate::args::Cli::parse_checked(["vitalring", "station", "--dir", "/tmp/x"]).unwrap();
        let crate::args::Command::Station(args) = cli.command else {
            unreachable!()
        };
        let mut s = Station::new(&args);
        s.beds = beds;
        s
    }

    fn render(s: &Station, selected: usize, w: u16, h: u16) -> (Buffer, Placement) {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut placed = None;
        t.draw(|f| {
            placed = Some(draw(
                f,
                &Grid {
                    station: s,
                    selected,
                    notices: &[],
                    wall_ns: T0 + 7_000_000_000,
                    scroll_row: 0,
                },
            ));
        })
        .unwrap();
        (t.backend().buffer().clone(), placed.unwrap())
    }

    fn text(b: &Buffer) -> String {
        let a = b.area;
        let mut out = String::new();
        for y in 0..a.height {
            for x in 0..a.width {
                out.push_str(b[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    /// The cells of the tile whose top border carries ` name `: (x, y, width, height).
    fn tile_rect(b: &Buffer, name: &str) -> Option<(u16, u16, u16, u16)> {
        let t = text(b);
        let needle = format!(" {name} ");
        for (y, line) in t.lines().enumerate() {
            let chars: Vec<char> = line.chars().collect();
            let s: String = chars.iter().collect();
            if let Some(byte) = s.find(&needle) {
                let col = s[..byte].chars().count();
                // Walk left to the corner.
                let mut x = col;
                while x > 0 && !"╭╔".contains(chars[x]) {
                    x -= 1;
                }
                if !"╭╔".contains(chars[x]) {
                    continue;
                }
                let mut x1 = x + 1;
                while x1 < chars.len() && !"╮╗".contains(chars[x1]) {
                    x1 += 1;
                }
                let rows: Vec<Vec<char>> = t.lines().map(|l| l.chars().collect()).collect();
                let mut y1 = y + 1;
                while y1 < rows.len() && !"╰╚".contains(rows[y1][x]) {
                    y1 += 1;
                }
                if x1 >= chars.len() || y1 >= rows.len() {
                    return None;
                }
                return Some((x as u16, y as u16, (x1 - x + 1) as u16, (y1 - y + 1) as u16));
            }
        }
        None
    }

    fn braille_in(b: &Buffer, (x, y, w, h): (u16, u16, u16, u16)) -> usize {
        let mut n = 0;
        for yy in y + 1..y + h - 1 {
            for xx in x + 1..x + w - 1 {
                if b[(xx, yy)]
                    .symbol()
                    .chars()
                    .any(|c| ('\u{2801}'..='\u{28FF}').contains(&c))
                {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn one_bed_fills_the_screen_with_its_values() {
        let s = station(vec![bed("bed1", 72, 98, 16, 121)]);
        let (b, p) = render(&s, 0, 120, 36);
        let t = text(&b);
        assert_eq!((p.cols, p.rows_shown), (1, 1));
        for want in [
            "vitalring station",
            "bed1",
            "CONNECTED",
            "HR 72",
            "SpO2 98",
            "RR 16",
            "NIBP 121/70 (88)",
            "ECG 10 mm/mV",
            "no alarms",
        ] {
            assert!(t.contains(want), "{want:?} missing\n{t}");
        }
        let r = tile_rect(&b, "bed1").expect("tile");
        assert!(r.2 >= 100 && r.3 >= 30, "{r:?}\n{t}");
        assert!(braille_in(&b, r) > 50, "no ECG strip\n{t}");
        // Live, no alarm: a green border.
        assert_eq!(b[(r.0, r.1 + 2)].fg, Color::Green);
    }

    #[test]
    fn four_beds_each_show_their_own_values_and_alarm() {
        let mut beds = vec![
            bed("bed1", 72, 98, 16, 121),
            bed("bed2", 140, 97, 18, 132),
            bed("bed3", 0, 95, 14, 143),
            bed("bed4", 80, 96, 12, 154),
        ];
        stall(&mut beds[3]);
        let s = station(beds);
        let (b, p) = render(&s, 1, 120, 36);
        let t = text(&b);
        assert_eq!((p.cols, p.rows), (2, 2), "{t}");
        let expect = [
            (
                "bed1",
                "HR 72",
                "NIBP 121/70 (88)",
                "no alarms",
                Color::Green,
            ),
            (
                "bed2",
                "HR 140",
                "NIBP 132/70 (88)",
                "!! HR HIGH",
                Color::Yellow,
            ),
            (
                "bed3",
                "HR 0",
                "NIBP 143/70 (88)",
                "!!! ASYSTOLE",
                Color::Red,
            ),
            (
                "bed4",
                "HR 80",
                "NIBP 154/70 (88)",
                "!!! SENSOR STALLED",
                Color::Red,
            ),
        ];
        for (name, hr, nibp, alarm, border) in expect {
            let r = tile_rect(&b, name).unwrap_or_else(|| panic!("no tile {name}\n{t}"));
            let inside: String = (r.1..r.1 + r.3)
                .map(|y| {
                    (r.0..r.0 + r.2)
                        .map(|x| b[(x, y)].symbol().to_string())
                        .collect::<String>()
                        + "\n"
                })
                .collect();
            for want in [hr, nibp, alarm] {
                assert!(inside.contains(want), "{name}: {want:?} missing\n{inside}");
            }
            assert_eq!(b[(r.0, r.1 + 2)].fg, border, "{name} border\n{t}");
            assert!(r.2 >= TILE_MIN_W && r.3 >= TILE_MIN_H, "{name} {r:?}");
        }
        // The stalled bed: its numbers are grey and it says STALE with their age (7 s).
        let r4 = tile_rect(&b, "bed4").unwrap();
        let row4: String = (r4.1..r4.1 + r4.3)
            .flat_map(|y| (r4.0..r4.0 + r4.2).map(move |x| (x, y)))
            .map(|p| b[p].symbol().to_string())
            .collect();
        assert!(row4.contains("STALE 7 s"), "{row4}\n{t}");
        assert!(t.contains("STALLED"), "{t}");
        let hr_cell = (r4.0..r4.0 + r4.2)
            .map(|x| (x, r4.1 + 1))
            .find(|&p| b[p].symbol() == "8")
            .unwrap();
        assert_eq!(b[hr_cell].fg, STALE, "stale HR must be grey\n{t}");
        // A live bed's HR is not grey.
        let r1 = tile_rect(&b, "bed1").unwrap();
        let hr1 = (r1.0..r1.0 + r1.2)
            .map(|x| (x, r1.1 + 1))
            .find(|&p| b[p].symbol() == "7")
            .unwrap();
        assert_eq!(b[hr1].fg, Color::Green);
        // The selected tile (bed2) has a double border.
        let r2 = tile_rect(&b, "bed2").unwrap();
        assert_eq!(b[(r2.0, r2.1)].symbol(), "╔", "{t}");
        // The header counts the high alarms.
        assert!(t.contains("2 high alarms"), "{t}");
    }

    #[test]
    fn twelve_beds_fit_on_a_160x50_terminal() {
        let mut beds: Vec<Bed> = (1..=12)
            .map(|i| bed(&format!("bed{i}"), 60 + i as u16, 98, 16, 100 + i as u16))
            .collect();
        stall(&mut beds[4]);
        let s = station(beds);
        let (b, p) = render(&s, 11, 160, 50);
        let t = text(&b);
        assert_eq!(p.rows_shown, p.rows, "all rows on screen\n{t}");
        assert_eq!(p.cols * p.rows, 12, "{p:?}");
        let mut rects = Vec::new();
        for i in 1..=12 {
            let name = format!("bed{i}");
            let r = tile_rect(&b, &name).unwrap_or_else(|| panic!("no tile {name}\n{t}"));
            assert!(r.2 >= TILE_MIN_W && r.3 >= TILE_MIN_H, "{name} {r:?}\n{t}");
            assert!(r.0 + r.2 <= 160 && r.1 + r.3 <= 50, "{name} {r:?}");
            let inside: String = (r.1..r.1 + r.3)
                .flat_map(|y| (r.0..r.0 + r.2).map(move |x| (x, y)))
                .map(|p| b[p].symbol().to_string())
                .collect();
            assert!(inside.contains(&format!("HR {}", 60 + i)), "{name}\n{t}");
            assert!(
                inside.contains(&format!("NIBP {}/70 (88)", 100 + i)),
                "{name}\n{t}"
            );
            assert!(braille_in(&b, r) > 10, "{name}: no ECG strip\n{t}");
            rects.push(r);
        }
        // No two tiles overlap.
        for (i, a) in rects.iter().enumerate() {
            for c in &rects[i + 1..] {
                let apart =
                    a.0 + a.2 <= c.0 || c.0 + c.2 <= a.0 || a.1 + a.3 <= c.1 || c.1 + c.3 <= a.1;
                assert!(apart, "{a:?} overlaps {c:?}");
            }
        }
        // Small tiles too: the stalled bed5's numbers are grey and it says STALE; a live bed's
        // are in colour.
        let hr_color = |name: &str, digit: &str| {
            let r = tile_rect(&b, name).unwrap();
            let y = r.1 + 1;
            let x = (r.0..r.0 + r.2)
                .find(|&x| b[(x, y)].symbol() == digit)
                .unwrap_or_else(|| panic!("{name}: no {digit}\n{t}"));
            b[(x, y)].fg
        };
        assert_eq!(hr_color("bed5", "6"), STALE, "{t}");
        assert_eq!(hr_color("bed4", "6"), Color::Green, "{t}");
        let r5 = tile_rect(&b, "bed5").unwrap();
        let inside5: String = (r5.1..r5.1 + r5.3)
            .flat_map(|y| (r5.0..r5.0 + r5.2).map(move |x| (x, y)))
            .map(|p| b[p].symbol().to_string())
            .collect();
        assert!(inside5.contains("STALE 7 s"), "{t}");
        assert!(inside5.contains("SENSOR STALLED"), "{t}");
        // In natural order: bed2 before bed10.
        let (r2, r10) = (
            tile_rect(&b, "bed2").unwrap(),
            tile_rect(&b, "bed10").unwrap(),
        );
        assert!((r2.1, r2.0) < (r10.1, r10.0));
    }

    #[test]
    fn twelve_beds_on_80x24_scroll_to_the_selection() {
        let beds: Vec<Bed> = (1..=12)
            .map(|i| bed(&format!("bed{i}"), 70, 98, 16, 120))
            .collect();
        let s = station(beds);
        let (b, p) = render(&s, 11, 80, 24);
        let t = text(&b);
        assert!(p.rows_shown < p.rows, "{p:?}");
        assert!(
            tile_rect(&b, "bed12").is_some(),
            "selected bed on screen\n{t}"
        );
        assert!(t.contains(&format!("of {}", p.rows)), "{t}");
    }

    #[test]
    fn gone_and_stale_beds_say_so() {
        let mut a = bed("bed1", 72, 98, 16, 120);
        a.presence = Presence::Gone { since_ns: 0 };
        a.state.apply(
            &SensorEvent::Connection {
                state: ConnectionState::Stopped,
                epoch: Some(1),
            },
            T0,
        );
        let mut c = bed("bed2", 72, 98, 16, 120);
        c.presence = Presence::Stale;
        let s = station(vec![a, c]);
        let t = text(&render(&s, 0, 120, 36).0);
        assert!(t.contains("GONE"), "{t}");
        assert!(t.contains("PRODUCER STOPPED"), "{t}");
        assert!(t.contains("NO PRODUCER"), "{t}");
        assert_eq!(t.matches("STALE 7 s").count(), 2, "{t}");
    }

    #[test]
    fn no_beds_and_tiny_terminals_do_not_panic() {
        let s = station(vec![]);
        let t = text(&render(&s, 0, 120, 36).0);
        assert!(t.contains("no live channels in /tmp/x"), "{t}");
        let s = station(
            (1..=12)
                .map(|i| bed(&format!("b{i}"), 70, 98, 16, 120))
                .collect(),
        );
        for (w, h) in [(1, 1), (10, 3), (33, 6), (40, 12), (300, 90)] {
            render(&s, 5, w, h);
            render(&station(vec![]), 0, w, h);
        }
    }

    #[test]
    fn the_single_view_footer_shows_the_other_beds_alarms() {
        let s = station(vec![
            bed("bed1", 72, 98, 16, 120),
            bed("bed2", 0, 98, 16, 120),
        ]);
        let mut t = Terminal::new(TestBackend::new(120, 36)).unwrap();
        t.draw(|f| {
            crate::monitor::tui::draw_scaled(f, &s.beds[0].state, &Default::default());
            draw_bed_footer(f, &s, "bed1");
        })
        .unwrap();
        let txt = text(t.backend().buffer());
        let last = txt.lines().last().unwrap();
        assert!(last.contains("Esc: all beds"), "{txt}");
        assert!(last.contains("bed2") && last.contains("ASYSTOLE"), "{txt}");
        assert!(txt.contains("vitalring monitor"), "{txt}");
    }
}
