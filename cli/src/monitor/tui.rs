//! The full-screen bedside-monitor view. [`draw`] is a pure function of a [`MonitorState`], so
//! tests render it into ratatui's `TestBackend` and read the buffer.
//!
//! Traces are drawn at fixed, stated scales like a bedside monitor's, never auto-scaled behind
//! the user's back: the ECG at a gain in mm/mV (one text row counts as 5 mm, one large square
//! of ECG paper), with a 1 mV calibration pulse at the left and the gain in the panel title;
//! the pleth and the respiration over a fixed span of their units, also in the title. A flat
//! line therefore looks flat: asystole is a line, not a band of magnified noise.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Painter, Shape};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use vitalring_core::source::ConnectionState;
use vitalring_core::vitals::Channel;

use super::bigfont;
use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::history::{utc_time_of_day, ReviewKey, View};
use super::state::{trace_index, Alarm, MonitorState, Priority, Trace};
use crate::args::{EcgGainArg, MonitorOutput};

const ECG: Color = Color::Green;
const PLETH: Color = Color::Cyan;
const RESP: Color = Color::Yellow;
const NIBP: Color = Color::White;
const TEMP: Color = Color::Magenta;
const STALE: Color = Color::DarkGray;
/// Everything that shows past (reviewed) data is drawn in this colour, never in a live one.
const REVIEW: Color = Color::LightBlue;
/// The review banner: white on blue.
const REVIEW_BANNER: Style = Style::new()
    .fg(Color::White)
    .bg(Color::Blue)
    .add_modifier(Modifier::BOLD);

/// Millimetres of trace per terminal text row (one large square of ECG paper).
pub const MM_PER_ROW: f64 = 5.0;
/// Braille dots per text row.
const DOTS_PER_ROW: f64 = 4.0;
/// Pleth panel span, pleth units (a normal pulse is ≈ 1000).
pub const PLETH_SPAN: f64 = 1500.0;
/// Respiration panel span, mΩ (a tidal breath is ≈ 1000).
pub const RESP_SPAN_MOHM: f64 = 2000.0;
/// Braille columns (dots) reserved at the left of the ECG for the calibration pulse.
const CAL_DOTS: usize = 8;

/// How the traces are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceScale {
    /// ECG gain.
    pub ecg_gain: EcgGainArg,
}

impl From<&MonitorOutput> for TraceScale {
    fn from(out: &MonitorOutput) -> Self {
        Self {
            ecg_gain: out.ecg_gain,
        }
    }
}

/// Draws the whole screen at the default scale (ECG 10 mm/mV).
#[cfg(test)]
pub fn draw(f: &mut Frame<'_>, s: &MonitorState) {
    draw_scaled(f, s, &TraceScale::default());
}

/// Draws the whole screen. Below 30 rows or 100 columns the numerics and the footer take their
/// compact form, so an 80×24 terminal still shows the title, the quit hint, every numeric with
/// its alarm limits, and the traces.
pub fn draw_scaled(f: &mut Frame<'_>, s: &MonitorState, scale: &TraceScale) {
    let area = f.area();
    let compact = area.height < 30 || area.width < 100;
    let review = s.view.review_at();
    let [top, alarm, banner, main, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        // A review banner row, only while reviewing.
        Constraint::Length(u16::from(review.is_some())),
        Constraint::Min(8),
        Constraint::Length(if compact { 2 } else { 4 }),
    ])
    .areas(area);
    let [title, quit] = Layout::horizontal([Constraint::Min(1), Constraint::Length(10)]).areas(top);
    f.render_widget(title_bar(s), title);
    f.render_widget(
        Paragraph::new(Span::styled(" q: quit ", Style::new().fg(Color::Gray)))
            .alignment(Alignment::Right),
        quit,
    );
    f.render_widget(alarm_bar(&s.alarms(), s.now_ns), alarm);
    if let Some(at) = review {
        f.render_widget(review_banner(s, at), banner);
    }
    let numerics_width = if compact { 30 } else { 36 };
    let [traces, numerics] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(numerics_width)]).areas(main);
    draw_traces(f, s, traces, scale);
    draw_numerics(f, s, numerics, compact);
    f.render_widget(footer(s, compact), foot);
}

/// What a key press asks the monitor to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// `q`, Esc or Ctrl-C (raw mode turns Ctrl-C into a key, not a signal).
    Quit,
    /// Handled (a scroll-back key) or ignored.
    Continue,
}

/// Takes one terminal key: quit, or a scroll-back key (Space pauses and resumes, ←/→ move
/// 1 s, PgUp/PgDn 10 s, Home the oldest data held, End live).
pub fn on_key(s: &mut MonitorState, k: &KeyEvent) -> KeyAction {
    if k.kind != KeyEventKind::Press {
        return KeyAction::Continue;
    }
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c || matches!(k.code, KeyCode::Char('q' | 'Q') | KeyCode::Esc) {
        return KeyAction::Quit;
    }
    let review = match k.code {
        KeyCode::Char(' ') => ReviewKey::Toggle,
        KeyCode::Left => ReviewKey::Back,
        KeyCode::Right => ReviewKey::Forward,
        KeyCode::PageUp => ReviewKey::PageBack,
        KeyCode::PageDown => ReviewKey::PageForward,
        KeyCode::Home => ReviewKey::Oldest,
        KeyCode::End => ReviewKey::Live,
        _ => return KeyAction::Continue,
    };
    s.review_key(review);
    KeyAction::Continue
}

fn state_style(state: ConnectionState) -> Style {
    let c = match state {
        ConnectionState::Connected => Color::Green,
        ConnectionState::Connecting => Color::Yellow,
        ConnectionState::Stalled | ConnectionState::Disconnected | ConnectionState::Stopped => {
            Color::Red
        }
        ConnectionState::Reconnecting => Color::Yellow,
    };
    Style::new().fg(c).add_modifier(Modifier::BOLD)
}

/// How far `at` lies behind the newest data, as `42.0 s` or `3 min 05 s`.
fn behind(s: &MonitorState, at: u64) -> String {
    let d = s.history.newest_ns().unwrap_or(at).saturating_sub(at);
    let secs = d / 1_000_000_000;
    if secs < 60 {
        format!("{:.1} s", d as f64 / 1e9)
    } else {
        format!("{} min {:02} s", secs / 60, secs % 60)
    }
}

/// The view indicator of the title bar: `LIVE` (black on green) or `REVIEW` (white on blue).
fn view_indicator(view: View) -> Span<'static> {
    match view {
        View::Live => Span::styled(
            " LIVE ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD),
        ),
        View::Review { .. } => Span::styled(" REVIEW ", REVIEW_BANNER),
    }
}

/// While reviewing: what is shown, from when, and how to get back to live.
fn review_banner(s: &MonitorState, at: u64) -> Paragraph<'static> {
    let shown = s.history.vitals_at(at).map_or_else(
        || "no vitals at this time".to_string(),
        |v| format!("vitals of {}", utc_time_of_day(v.t_ns)),
    );
    Paragraph::new(Line::from(vec![
        Span::styled(
            format!(
                " REVIEW {}  {} behind live  PAST DATA, NOT LIVE ",
                utc_time_of_day(at),
                behind(s, at)
            ),
            REVIEW_BANNER,
        ),
        Span::styled(format!(" {shown} "), Style::new().fg(REVIEW)),
        Span::styled(
            " ←/→ 1 s  PgUp/PgDn 10 s  Home oldest  End/Space live",
            Style::new().fg(Color::Gray),
        ),
    ]))
    .style(Style::new().bg(Color::Black))
}

fn title_bar(s: &MonitorState) -> Paragraph<'static> {
    let mut spans = vec![
        Span::styled(
            " vitalring monitor ",
            Style::new().add_modifier(Modifier::BOLD),
        ),
        view_indicator(s.view),
        Span::raw(" "),
        Span::styled(
            format!(" {} ", s.state.name().to_uppercase()),
            state_style(s.state),
        ),
        Span::raw(format!(" {} ", s.source)),
    ];
    if let Some(e) = s.epoch {
        spans.push(Span::styled(
            format!(" epoch {e:016x}"),
            Style::new().fg(Color::Gray),
        ));
    }
    Paragraph::new(Line::from(spans))
}

fn alarm_style(a: &Alarm, now_ns: u64) -> Style {
    let (fg, bg) = match a.priority {
        Priority::High => (Color::White, Color::Red),
        Priority::Medium => (Color::Black, Color::Yellow),
        Priority::Low => (Color::Black, Color::Cyan),
    };
    let style = Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD);
    if a.priority.lit(now_ns) {
        style
    } else {
        style.add_modifier(Modifier::REVERSED)
    }
}

/// Physiological alarms first, then the technical ones after a `tech:` label; each with its
/// priority marker (`!!!` high, `!!` medium, `!` low) and colour, flashing as IEC 60601-1-8
/// asks (see [`Priority::lit`]).
fn alarm_bar(alarms: &[Alarm], now_ns: u64) -> Paragraph<'static> {
    if alarms.is_empty() {
        return Paragraph::new(Line::from(Span::styled(
            " no active alarms",
            Style::new().fg(Color::DarkGray),
        )));
    }
    let mut spans = Vec::new();
    for technical in [false, true] {
        let group: Vec<&Alarm> = alarms.iter().filter(|a| a.technical == technical).collect();
        if group.is_empty() {
            continue;
        }
        if technical {
            spans.push(Span::styled(" tech:", Style::new().fg(Color::Gray)));
        }
        for a in group {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                format!(" {} {} ", a.priority.marker(), a.text),
                alarm_style(a, now_ns),
            ));
        }
    }
    Paragraph::new(Line::from(spans))
}

/// The samples one trace panel shows: the live trace, or a window of the history ending at
/// the review cursor (the same number of samples as the live panel).
#[derive(Debug, Clone, Copy)]
struct TraceView<'a> {
    values: &'a VecDeque<Option<i32>>,
    start: usize,
    len: usize,
    capacity: usize,
    fs_hz: u16,
}

impl<'a> TraceView<'a> {
    fn live(t: &'a Trace) -> Self {
        Self {
            values: &t.samples,
            start: 0,
            len: t.samples.len(),
            capacity: t.capacity,
            fs_hz: t.fs_hz,
        }
    }

    fn of(s: &'a MonitorState, channel: Channel) -> Self {
        let live = &s.traces[trace_index(channel)];
        let Some(at) = s.view.review_at() else {
            return Self::live(live);
        };
        let h = s.history.channel(channel);
        let end = h.count_until(at);
        let start = end.saturating_sub(live.capacity);
        Self {
            values: &h.values,
            start,
            len: end - start,
            capacity: live.capacity,
            fs_hz: h.fs_hz,
        }
    }

    /// Samples `a..b` of the window (clamped to it).
    fn range(&self, a: usize, b: usize) -> impl Iterator<Item = &'a Option<i32>> + 'a {
        let (a, b) = (a.min(self.len), b.min(self.len));
        self.values.range(self.start + a..self.start + b.max(a))
    }

    fn iter(&self) -> impl Iterator<Item = &'a Option<i32>> + 'a {
        self.range(0, self.len)
    }

    fn is_empty(&self) -> bool {
        self.iter().all(Option::is_none)
    }
}

/// Vertical placement of one trace: the signal value at the top and bottom edges of the panel.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TraceWindow {
    lo: f64,
    hi: f64,
}

/// The `q`-quantile of the visible samples (`None` without samples).
fn quantile(trace: &TraceView<'_>, q: f64) -> Option<f64> {
    let mut v: Vec<i32> = trace.iter().flatten().copied().collect();
    if v.is_empty() {
        return None;
    }
    let k = ((v.len() - 1) as f64 * q).round() as usize;
    let (_, x, _) = v.select_nth_unstable(k);
    Some(f64::from(*x))
}

/// ECG placement at `gain_mm_per_mv` in a panel `dots` braille dots high: the median of the
/// visible samples (the isoelectric line, robust to QRS spikes) in the middle.
fn ecg_span(trace: &TraceView<'_>, gain_mm_per_mv: f64, dots: usize) -> TraceWindow {
    let mid = quantile(trace, 0.5).unwrap_or(0.0);
    let uv_per_dot = 1000.0 * MM_PER_ROW / (gain_mm_per_mv * DOTS_PER_ROW);
    let half = dots as f64 / 2.0 * uv_per_dot;
    TraceWindow {
        lo: mid - half,
        hi: mid + half,
    }
}

/// The gain that fits the visible ECG (1st to 99th percentile, plus 15 %) into `dots`, mm/mV,
/// between 2.5 and 40.
fn auto_gain(trace: &TraceView<'_>, dots: usize) -> f64 {
    let (Some(lo), Some(hi)) = (quantile(trace, 0.01), quantile(trace, 0.99)) else {
        return 10.0;
    };
    let mid = quantile(trace, 0.5).unwrap_or(0.0);
    // Centred on the median, so fit the larger half.
    let half_uv = (hi - mid).max(mid - lo).max(50.0) * 1.15;
    let rows = dots as f64 / DOTS_PER_ROW;
    (rows / 2.0 * MM_PER_ROW / (half_uv / 1000.0)).clamp(2.5, 40.0)
}

/// Pleth / respiration placement: a fixed `span`, its bottom a little under the 5th percentile
/// of the visible samples (the diastolic floor, the end-expiratory level).
fn floor_span(trace: &TraceView<'_>, span: f64) -> TraceWindow {
    let lo = quantile(trace, 0.05).unwrap_or(0.0) - 0.08 * span;
    TraceWindow { lo, hi: lo + span }
}

/// One channel's samples drawn as a min/max envelope per canvas column (so QRS spikes survive
/// any decimation), newest at the right edge; `None` samples break the line; values outside
/// the panel are clipped to its edge. With `cal`, a 1 mV calibration pulse (`cal` signal units
/// high, from the panel's middle) is drawn in the first [`CAL_DOTS`] columns.
struct TraceShape<'a> {
    trace: TraceView<'a>,
    color: Color,
    place: Option<TraceWindow>,
    /// ECG: place from the gain (mm/mV) once the canvas size is known.
    gain: Option<f64>,
    cal: bool,
}

impl Shape for TraceShape<'_> {
    fn draw(&self, painter: &mut Painter<'_, '_>) {
        let Some((max_x, max_y)) = painter.get_point(1.0, 0.0) else {
            return;
        };
        let (w, h) = (max_x + 1, max_y + 1);
        let place = match (self.place, self.gain) {
            (Some(p), _) => p,
            (None, Some(g)) => ecg_span(&self.trace, g, h),
            (None, None) => return,
        };
        let span = (place.hi - place.lo).max(1e-9);
        let to_y = |v: f64| -> usize {
            let frac = ((place.hi - v) / span).clamp(0.0, 1.0);
            (frac * (h - 1) as f64).round() as usize
        };
        let x0 = if self.cal && w > 3 * CAL_DOTS {
            // A 1 mV pulse, 1/4 of the reserved width from each side.
            let (base, top) = (to_y((place.lo + place.hi) / 2.0), {
                let mid = (place.lo + place.hi) / 2.0;
                to_y(mid + 1000.0)
            });
            let (a, b) = (CAL_DOTS / 4, CAL_DOTS * 3 / 4);
            for x in 0..CAL_DOTS - 1 {
                let y = if (a..=b).contains(&x) { top } else { base };
                painter.paint(x, y, Color::White);
            }
            for y in top.min(base)..=top.max(base) {
                painter.paint(a, y, Color::White);
                painter.paint(b, y, Color::White);
            }
            CAL_DOTS
        } else {
            0
        };
        let cols = w - x0;
        let cap = self.trace.capacity;
        let len = self.trace.len;
        let offset = cap - len.min(cap);
        let mut prev: Option<usize> = None;
        for col in 0..cols {
            let a = col * cap / cols;
            let b = ((col + 1) * cap / cols).max(a + 1);
            let (a, b) = (a.saturating_sub(offset), b.saturating_sub(offset).min(len));
            let mut lo_y: Option<usize> = None;
            let mut hi_y: Option<usize> = None;
            let mut last: Option<usize> = None;
            for v in self.trace.range(a, b.max(a)).flatten() {
                let y = to_y(f64::from(*v));
                lo_y = Some(lo_y.map_or(y, |m| m.max(y)));
                hi_y = Some(hi_y.map_or(y, |m| m.min(y)));
                last = Some(y);
            }
            let (Some(mut y0), Some(mut y1)) = (hi_y, lo_y) else {
                prev = None;
                continue;
            };
            if let Some(p) = prev {
                y0 = y0.min(p);
                y1 = y1.max(p);
            }
            for y in y0..=y1 {
                painter.paint(x0 + col, y, self.color);
            }
            prev = last;
        }
    }
}

fn draw_traces(f: &mut Frame<'_>, s: &MonitorState, area: Rect, scale: &TraceScale) {
    let rows = Layout::vertical([
        Constraint::Ratio(2, 5),
        Constraint::Ratio(2, 5),
        Constraint::Ratio(1, 5),
    ])
    .split(area);
    for (channel, rect) in [Channel::EcgII, Channel::Pleth, Channel::Resp]
        .into_iter()
        .zip(rows.iter())
    {
        let trace = TraceView::of(s, channel);
        let review = s.view.review_at().is_some();
        // Braille dots of the panel's inside (the border takes a row top and bottom).
        let dots = usize::from(rect.height.saturating_sub(2)) * DOTS_PER_ROW as usize;
        let (name, color, scale_text, place, gain) = match channel {
            Channel::EcgII => {
                let gain = match scale.ecg_gain {
                    EcgGainArg::Mm5 => 5.0,
                    EcgGainArg::Mm10 => 10.0,
                    EcgGainArg::Mm20 => 20.0,
                    EcgGainArg::Auto => auto_gain(&trace, dots.max(1)),
                };
                let text = match scale.ecg_gain {
                    EcgGainArg::Auto => format!("auto {gain:.0} mm/mV"),
                    _ => format!("{gain:.0} mm/mV"),
                };
                ("ECG II", ECG, text, None, Some(gain))
            }
            Channel::Pleth => (
                "PLETH",
                PLETH,
                format!("{PLETH_SPAN:.0} u full scale"),
                Some(floor_span(&trace, PLETH_SPAN)),
                None,
            ),
            Channel::Resp => (
                "RESP",
                RESP,
                format!("{:.0} Ω full scale", RESP_SPAN_MOHM / 1000.0),
                Some(floor_span(&trace, RESP_SPAN_MOHM)),
                None,
            ),
        };
        let color = if review {
            REVIEW
        } else if s.live() {
            color
        } else {
            STALE
        };
        let fs = if trace.fs_hz > 0 {
            format!(" {} Hz", trace.fs_hz)
        } else {
            String::new()
        };
        let mut title = Vec::new();
        if review {
            title.push(Span::styled(" REVIEW ", REVIEW_BANNER));
        }
        title.extend([
            Span::styled(
                format!(" {name} "),
                Style::new().fg(color).add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("{scale_text} "), Style::new().fg(Color::Gray)),
            Span::styled(format!("{fs} "), Style::new().fg(Color::DarkGray)),
        ]);
        let block = Block::bordered()
            .title(Line::from(title))
            .border_style(Style::new().fg(if review { REVIEW } else { Color::DarkGray }));
        let shape = TraceShape {
            trace,
            color,
            place,
            gain,
            cal: channel == Channel::EcgII,
        };
        let empty = trace.is_empty();
        let canvas = Canvas::default()
            .block(block)
            .marker(Marker::Braille)
            .x_bounds([0.0, 1.0])
            .y_bounds([0.0, 1.0])
            .paint(move |ctx| {
                if empty {
                    ctx.print(0.4, 0.5, Span::styled("no signal", Style::new().fg(STALE)));
                } else {
                    ctx.draw(&shape);
                }
            });
        f.render_widget(canvas, *rect);
    }
}

/// A numeric tile: label on the border, the value large (or bold in compact form), unit,
/// alarm limits and extras beside it.
struct Tile<'a> {
    label: &'a str,
    value: Option<String>,
    unit: &'a str,
    /// (low, high) alarm limits as text.
    limits: (String, String),
    extra: Option<String>,
    color: Color,
    alarm: bool,
}

fn numeric_tile(f: &mut Frame<'_>, area: Rect, t: Tile<'_>, compact: bool) {
    let border = if t.alarm {
        Color::Red
    } else if t.color == REVIEW {
        REVIEW
    } else {
        Color::DarkGray
    };
    let block = Block::bordered()
        .title(Line::from(Span::styled(
            format!(" {} ", t.label),
            Style::new().fg(t.color).add_modifier(Modifier::BOLD),
        )))
        .border_style(Style::new().fg(border));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let text = t.value.unwrap_or_else(|| "---".to_string());
    let style = if t.alarm {
        Style::new().fg(Color::White).bg(Color::Red)
    } else {
        Style::new().fg(t.color)
    };
    let dim = Style::new().fg(Color::Gray);
    let (lo, hi) = t.limits;
    if compact {
        let mut l1 = vec![
            Span::styled(format!("{text:>4}"), style.add_modifier(Modifier::BOLD)),
            Span::styled(format!(" {}", t.unit), dim),
        ];
        if let Some(x) = t.extra {
            l1.push(Span::styled(format!("  {x}"), dim));
        }
        let l2 = Line::from(Span::styled(format!("lo {lo}  hi {hi}"), dim));
        f.render_widget(Paragraph::new(vec![Line::from(l1), l2]), inner);
        return;
    }
    let mut extra = vec![
        Line::from(Span::styled(format!(" {}", t.unit), dim)),
        Line::from(Span::styled(format!(" hi {hi}"), dim)),
        Line::from(Span::styled(format!(" lo {lo}"), dim)),
    ];
    if let Some(x) = t.extra {
        extra.push(Line::from(Span::styled(format!(" {x}"), dim)));
    }
    let big_fits = inner.height >= 5 && inner.width as usize > bigfont::width(&text);
    let [num, side] = Layout::horizontal([Constraint::Min(1), Constraint::Length(12)]).areas(inner);
    let lines: Vec<Line<'static>> = if big_fits && num.width as usize >= bigfont::width(&text) {
        bigfont::render(&text)
            .into_iter()
            .map(|r| Line::from(Span::styled(r, style)))
            .collect()
    } else {
        vec![Line::from(Span::styled(
            text,
            style.add_modifier(Modifier::BOLD),
        ))]
    };
    f.render_widget(Paragraph::new(lines).alignment(Alignment::Right), num);
    f.render_widget(Paragraph::new(extra), side);
}

fn draw_numerics(f: &mut Frame<'_>, s: &MonitorState, area: Rect, compact: bool) {
    let tile_h = if compact { 4 } else { 7 };
    let [hr, spo2, rr, nibp, temp] = Layout::vertical([
        Constraint::Length(tile_h),
        Constraint::Length(tile_h),
        Constraint::Length(tile_h),
        Constraint::Length(4),
        Constraint::Length(3),
    ])
    .areas(area);
    let review = s.view.review_at();
    let live = s.live() && review.is_none();
    let alarms = s.alarms();
    // A tile is highlighted by a live alarm only while it shows the live value.
    let on = |texts: &[&str]| live && alarms.iter().any(|a| texts.contains(&a.text));
    let c = |color| match (review, live) {
        (Some(_), _) => REVIEW,
        (None, true) => color,
        (None, false) => STALE,
    };
    let v = match review {
        Some(at) => s.history.vitals_at(at).map(|v| v.record),
        None => s.vitals.map(|v| v.record),
    };
    let label = |name: &'static str| -> String {
        if review.is_some() {
            format!("{name} REVIEW")
        } else {
            name.to_string()
        }
    };
    let dim = Style::new().fg(Color::Gray);
    let l = s.limits;

    numeric_tile(
        f,
        hr,
        Tile {
            label: &label("HR"),
            value: v.map(|v| v.hr_bpm.to_string()),
            unit: "bpm",
            limits: (l.hr_low.to_string(), l.hr_high.to_string()),
            extra: v
                .and_then(|v| v.pulse_rate_bpm)
                .map(|pr| format!("PR {pr}")),
            color: c(ECG),
            alarm: on(&["HR HIGH", "HR LOW", "ASYSTOLE"]),
        },
        compact,
    );
    numeric_tile(
        f,
        spo2,
        Tile {
            label: &label("SpO2"),
            // 0 is "no reading": shown as dashes, the technical alarm says why.
            value: v.map(|v| match v.spo2_pct {
                0 => "---".to_string(),
                x => x.to_string(),
            }),
            unit: "%",
            limits: (l.spo2_low.to_string(), "-".into()),
            extra: None,
            color: c(PLETH),
            alarm: on(&["SPO2 LOW"]),
        },
        compact,
    );
    numeric_tile(
        f,
        rr,
        Tile {
            label: &label("RR"),
            value: v.map(|v| v.rr_rpm.to_string()),
            unit: "/min",
            limits: (l.rr_low.to_string(), l.rr_high.to_string()),
            extra: None,
            color: c(RESP),
            alarm: on(&["RR HIGH", "RR LOW", "APNEA"]),
        },
        compact,
    );

    let nibp_text = v.and_then(|v| v.nibp).map_or_else(
        || "---/--- (---)".to_string(),
        |n| format!("{}/{} ({})", n.systolic_mmhg, n.diastolic_mmhg, n.mean_mmhg),
    );
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {} ", label("NIBP mmHg")),
            Style::new().fg(c(NIBP)).add_modifier(Modifier::BOLD),
        ))
        .border_style(Style::new().fg(Color::DarkGray));
    f.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(
                nibp_text,
                Style::new().fg(c(NIBP)).add_modifier(Modifier::BOLD),
            )),
            Line::from(Span::styled("sys/dia (mean)", dim)),
        ])
        .alignment(Alignment::Center)
        .block(block),
        nibp,
    );

    let temp_text = v
        .and_then(|v| v.temp_c)
        .map_or_else(|| "--.- °C".to_string(), |t| format!("{t:.1} °C"));
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {} ", label("TEMP")),
            Style::new().fg(c(TEMP)).add_modifier(Modifier::BOLD),
        ))
        .border_style(Style::new().fg(Color::DarkGray));
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            temp_text,
            Style::new().fg(c(TEMP)).add_modifier(Modifier::BOLD),
        )))
        .alignment(Alignment::Center)
        .block(block),
        temp,
    );
}

fn footer(s: &MonitorState, compact: bool) -> Paragraph<'static> {
    let c = &s.counts;
    let dim = Style::new().fg(Color::Gray);
    let warn = |n: u64| {
        if n > 0 {
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            dim
        }
    };
    let lat = match s.latency.last {
        Some(l) => format!(
            "latency p50 {:.0} µs  p99 {:.0} µs  max {:.0} µs",
            l.p50_us, l.p99_us, l.max_us
        ),
        None => "latency --".to_string(),
    };
    let mut line1 = vec![
        Span::styled(format!(" frames {}", c.frames()), dim),
        Span::styled(format!("  dropped {}", c.dropped), warn(c.dropped)),
        Span::styled(format!("  rejected {}", c.rejected()), warn(c.rejected())),
    ];
    if !compact {
        line1.push(Span::styled(
            format!(
                " (crc {} range {} payload {} frame {})",
                c.rejected_crc,
                c.rejected_invalid_value,
                c.rejected_malformed,
                c.rejected_invalid_frame
            ),
            dim,
        ));
    }
    line1.push(Span::styled(
        format!("  stalls {}", c.stalls),
        warn(c.stalls),
    ));
    if let Some(age) = s.heartbeat_age_ms() {
        line1.push(Span::styled(
            format!("  heartbeat age {age} ms"),
            Style::new().fg(Color::Red),
        ));
    }
    let mut line2 = vec![Span::styled(format!(" {lat}"), dim)];
    if let Some(e) = &s.last_error {
        line2.push(Span::styled(
            format!("  last error: {e}"),
            Style::new().fg(Color::DarkGray),
        ));
    }
    let p = Paragraph::new(vec![Line::from(line1), Line::from(line2)]);
    if compact {
        p
    } else {
        p.block(
            Block::bordered()
                .title(" transport ")
                .border_style(Style::new().fg(Color::DarkGray)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::tests::connected;
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::Terminal;
    use vitalring_core::source::{SensorError, SensorEvent};

    fn render(s: &MonitorState, w: u16, h: u16) -> Buffer {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, s)).unwrap();
        t.backend().buffer().clone()
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

    /// Non-blank braille cells inside rows `y0..y1`, columns `x0..x1`.
    fn braille(b: &Buffer, x0: u16, x1: u16, y0: u16, y1: u16) -> usize {
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                let sym = b[(x, y)].symbol();
                if sym.chars().any(|c| ('\u{2801}'..='\u{28FF}').contains(&c)) {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn normal_vitals_show_numerics_traces_and_no_alarm() {
        let s = connected(72, 98, 16);
        let b = render(&s, 120, 36);
        let t = text(&b);
        assert!(t.contains("CONNECTED"), "{t}");
        assert!(t.contains("no active alarms"), "{t}");
        assert!(t.contains(" HR "), "{t}");
        assert!(t.contains("SpO2"), "{t}");
        assert!(t.contains("120/80 (93)"), "{t}");
        assert!(t.contains("36.9 °C"), "{t}");
        assert!(t.contains("PR 72"), "{t}");
        // The big "72": the top row of 7 then 2 is "███ ███".
        assert!(t.contains("███ ███"), "{t}");
        assert!(t.contains("frames 301"), "{t}");
        assert!(t.contains("latency"), "{t}");
        // Every trace region has drawn braille dots (traces take columns 0..84).
        assert!(braille(&b, 0, 84, 2, 14) > 50, "ecg\n{t}");
        assert!(braille(&b, 0, 84, 14, 26) > 50, "pleth\n{t}");
        assert!(braille(&b, 0, 84, 26, 33) > 20, "resp\n{t}");
        // The ECG is green while live.
        let green = (2..14)
            .flat_map(|y| (1..83).map(move |x| (x, y)))
            .any(|p| b[p].fg == Color::Green && b[p].symbol() != " ");
        assert!(green);
    }

    #[test]
    fn physiological_alarms_are_shown() {
        let t = text(&render(&connected(130, 85, 16), 120, 36));
        assert!(t.contains("HR HIGH"), "{t}");
        assert!(t.contains("SPO2 LOW"), "{t}");
        assert!(t.contains("█"), "{t}");
    }

    #[test]
    fn stall_and_drop_are_technical_alarms() {
        let mut s = connected(72, 98, 16);
        s.apply(
            &SensorEvent::Error(SensorError::Dropped {
                first: 0,
                count: 40,
                cause: vitalring_core::slot::DropCause::Lapped,
            }),
            0,
        );
        s.apply(
            &SensorEvent::Error(SensorError::Stalled {
                heartbeat_age: vitalring_core::time::Nanos(280_000_000),
            }),
            0,
        );
        let b = render(&s, 120, 36);
        let t = text(&b);
        assert!(t.contains("SENSOR STALLED"), "{t}");
        assert!(t.contains("DATA DROPPED"), "{t}");
        assert!(t.contains("STALLED"), "{t}");
        assert!(t.contains("dropped 40"), "{t}");
        assert!(t.contains("heartbeat age 280 ms"), "{t}");
        // Stale traces are still drawn, but grey.
        assert!(braille(&b, 0, 84, 2, 14) > 50);
        let red_alarm = (0..120).any(|x| b[(x, 1)].bg == Color::Red);
        assert!(red_alarm);
    }

    fn render_at(s: &MonitorState, w: u16, h: u16, gain: EcgGainArg) -> Buffer {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw_scaled(f, s, &TraceScale { ecg_gain: gain }))
            .unwrap();
        t.backend().buffer().clone()
    }

    /// Text rows of the ECG panel (rows 3..=14 at 120×36, columns 5..83: right of the
    /// calibration pulse) that hold trace dots.
    fn ecg_rows(b: &Buffer) -> Vec<u16> {
        (3..15)
            .filter(|&y| braille(b, 5, 83, y, y + 1) > 0)
            .collect()
    }

    /// Asystole as the simulator draws it: the isoelectric line with ±40 µV of noise, wander
    /// and hum.
    fn asystole() -> MonitorState {
        let mut s = connected(0, 0, 16);
        let ecg = &mut s.traces[trace_index(Channel::EcgII)];
        for (i, v) in ecg.samples.iter_mut().enumerate() {
            let x = i as f64;
            *v = Some((25.0 * (x * 0.37).sin() + 15.0 * (x * 2.1).cos()) as i32);
        }
        s
    }

    #[test]
    fn asystole_is_a_flat_line_at_10_mm_per_mv() {
        let s = asystole();
        let b = render(&s, 120, 36);
        let t = text(&b);
        assert!(t.contains("10 mm/mV"), "{t}");
        // ±40 µV is ±0.4 mm: one or two dots high, in one text row or straddling two.
        let rows = ecg_rows(&b);
        assert!(
            rows.len() <= 2 && rows.windows(2).all(|w| w[1] == w[0] + 1),
            "not a flat line: rows {rows:?}\n{t}"
        );
        // A line all across the samples, not dots here and there.
        let cells: usize = rows.iter().map(|&y| braille(&b, 5, 83, y, y + 1)).sum();
        assert!(cells > 50, "{t}");
        // Auto gain stops at 40 mm/mV, so even it cannot blow the noise up into a band.
        let auto = render_at(&s, 120, 36, EcgGainArg::Auto);
        assert!(text(&auto).contains("auto 40 mm/mV"), "{}", text(&auto));
        assert!(ecg_rows(&auto).len() <= 3, "{}", text(&auto));
    }

    #[test]
    fn ecg_gain_is_fixed_and_shown_with_a_calibration_pulse() {
        // connected() carries a ±1 mV sine on the ECG: 2 mV peak to peak is 20 mm = 4 rows at
        // 10 mm/mV, 2 rows at 5 mm/mV, 8 rows at 20 mm/mV.
        let s = connected(72, 98, 16);
        for (gain, text_gain, rows) in [
            (EcgGainArg::Mm5, "5 mm/mV", 2..=3),
            (EcgGainArg::Mm10, "10 mm/mV", 4..=5),
            (EcgGainArg::Mm20, "20 mm/mV", 8..=9),
        ] {
            let b = render_at(&s, 120, 36, gain);
            let t = text(&b);
            assert!(t.contains(text_gain), "{t}");
            let n = ecg_rows(&b).len();
            assert!(rows.contains(&n), "{text_gain}: {n} rows\n{t}");
            // The calibration pulse: white dots left of the trace.
            let cal = (3..15)
                .flat_map(|y| (1..5).map(move |x| (x, y)))
                .filter(|&p| b[p].fg == Color::White && b[p].symbol() != " ")
                .count();
            assert!(cal >= 2, "no calibration pulse\n{t}");
        }
        let t = text(&render(&s, 120, 36));
        assert!(t.contains("1500 u full scale"), "{t}");
        assert!(t.contains("2 Ω full scale"), "{t}");
    }

    #[test]
    fn an_80x24_terminal_keeps_title_quit_hint_and_limits() {
        let s = connected(72, 98, 16);
        let t = text(&render(&s, 80, 24));
        for want in [
            "vitalring monitor",
            "CONNECTED",
            "q: quit",
            "10 mm/mV",
            "lo 50  hi 120",
            "lo 90",
            "lo 8  hi 30",
            "120/80 (93)",
            "frames 301",
        ] {
            assert!(t.contains(want), "{want:?} missing\n{t}");
        }
        // A long socket path is cut, the quit hint stays.
        let mut s = s;
        s.source = "/run/user/1000/a/very/long/path/to/the/vitalring/control.sock".into();
        let t = text(&render(&s, 80, 24));
        assert!(t.lines().next().unwrap().ends_with("q: quit "), "{t}");
    }

    #[test]
    fn no_spo2_reading_is_a_technical_alarm_not_a_desaturation() {
        let t = text(&render(&connected(72, 0, 16), 120, 36));
        assert!(t.contains("tech:"), "{t}");
        assert!(t.contains("SPO2 NO SIGNAL"), "{t}");
        assert!(!t.contains("SPO2 LOW"), "{t}");
    }

    #[test]
    fn empty_state_and_tiny_terminals_do_not_panic() {
        let s = MonitorState::new("x", Default::default(), 100);
        let t = text(&render(&s, 120, 36));
        assert!(t.contains("CONNECTING"), "{t}");
        assert!(t.contains("no signal"), "{t}");
        assert!(t.contains("---"), "{t}");
        let s = connected(72, 98, 16);
        for (w, h) in [(1, 1), (20, 5), (40, 12), (80, 24), (300, 90)] {
            for gain in [EcgGainArg::Mm10, EcgGainArg::Auto] {
                render_at(&s, w, h, gain);
                render_at(&MonitorState::new("x", Default::default(), 100), w, h, gain);
            }
        }
    }

    const T0: u64 = 1_700_000_000_000_000_000;

    /// 60 s of data: HR 72 for the first 30 s, then 130 (an HR HIGH alarm); every channel at
    /// 250 Hz, vitals at 60 Hz, acquisition times from `T0`.
    fn a_minute_then_tachycardia() -> MonitorState {
        use super::super::state::tests::{chunk, record};
        use vitalring_core::time::UnixNs;
        let mut s = MonitorState::new("/tmp/test.sock", Default::default(), 1500);
        s.apply(
            &SensorEvent::Connection {
                state: ConnectionState::Connected,
                epoch: Some(7),
            },
            0,
        );
        for k in 0..60 * 25u64 {
            let t = T0 + k * 40_000_000;
            for c in Channel::ALL {
                s.apply(
                    &SensorEvent::Waveform {
                        timestamp: UnixNs(t),
                        index: k,
                        chunk: chunk(c, k * 10, 10),
                    },
                    t + 1000,
                );
            }
        }
        for k in 0..60 * 60u64 {
            let t = T0 + k * 1_000_000_000 / 60;
            let hr = if k < 30 * 60 { 72 } else { 130 };
            s.apply(
                &SensorEvent::Vitals {
                    timestamp: UnixNs(t),
                    index: k,
                    record: record(hr, 98, 16),
                },
                t + 1000,
            );
        }
        s
    }

    fn press(s: &mut MonitorState, code: KeyCode) -> KeyAction {
        on_key(s, &KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn scroll_back_shows_past_values_marked_as_review_while_alarms_stay_live() {
        let mut s = a_minute_then_tachycardia();
        let t = text(&render(&s, 120, 36));
        assert!(t.contains(" LIVE "), "{t}");
        assert!(!t.contains("REVIEW"), "{t}");
        assert!(t.contains("PR 130"), "{t}");
        assert!(t.contains("HR HIGH"), "{t}");

        // Space freezes the view at the newest data.
        assert_eq!(press(&mut s, KeyCode::Char(' ')), KeyAction::Continue);
        // The newest sample: the last chunk's tenth, 59.996 s after the first.
        let newest = T0 + 59_996_000_000;
        assert_eq!(s.history.newest_ns(), Some(newest));
        assert_eq!(s.view, View::Review { at_ns: newest });
        let t = text(&render(&s, 120, 36));
        assert!(t.contains(" REVIEW "), "{t}");
        assert!(t.contains("PAST DATA, NOT LIVE"), "{t}");
        assert!(t.contains("0.0 s behind live"), "{t}");
        let title = t.lines().next().unwrap();
        assert!(
            title.contains(" REVIEW ") && !title.contains(" LIVE "),
            "{t}"
        );

        // Three pages and a step back: 31 s before the newest data, HR was still 72.
        for _ in 0..3 {
            press(&mut s, KeyCode::PageUp);
        }
        press(&mut s, KeyCode::Left);
        let b = render(&s, 120, 36);
        let t = text(&b);
        assert!(t.contains("31.0 s behind live"), "{t}");
        let at = newest - 31_000_000_000;
        assert!(
            t.contains(&format!("REVIEW {}", utc_time_of_day(at))),
            "{t}"
        );
        // The numerics are the past ones, labelled as review, with their own time.
        assert!(t.contains("PR 72"), "{t}");
        assert!(!t.contains("PR 130"), "{t}");
        assert!(t.contains("HR REVIEW"), "{t}");
        let shown = s.history.vitals_at(at).unwrap();
        assert!(
            t.contains(&format!("vitals of {}", utc_time_of_day(shown.t_ns))),
            "{t}"
        );
        // The live alarm keeps running, and no tile is highlighted for it.
        assert!(t.contains("HR HIGH"), "{t}");
        assert!(
            (2..36).all(|y| (84..120).all(|x| b[(x, y)].bg != Color::Red)),
            "a reviewed tile is highlighted by a live alarm\n{t}"
        );
        // Traces are drawn from history, in the review colour only.
        assert!(braille(&b, 0, 84, 3, 15) > 50, "{t}");
        let live_green = (3..15)
            .flat_map(|y| (1..83).map(move |x| (x, y)))
            .any(|p| b[p].fg == ECG && b[p].symbol() != " ");
        assert!(!live_green, "a reviewed trace in a live colour\n{t}");

        // → and PgDn move forward; never past the newest data.
        press(&mut s, KeyCode::Right);
        assert_eq!(s.view.review_at(), Some(newest - 30_000_000_000));
        for _ in 0..5 {
            press(&mut s, KeyCode::PageDown);
        }
        assert_eq!(s.view.review_at(), Some(newest));
        // Home: the oldest data held (a minute here); End: live again.
        press(&mut s, KeyCode::Home);
        assert_eq!(s.view.review_at(), Some(T0));
        let t = text(&render(&s, 120, 36));
        assert!(t.contains("60.0 s behind live"), "{t}");
        press(&mut s, KeyCode::End);
        assert_eq!(s.view, View::Live);
        let t = text(&render(&s, 120, 36));
        assert!(t.contains(" LIVE ") && t.contains("PR 130"), "{t}");
        // Space toggles back to live too; q still quits while reviewing.
        press(&mut s, KeyCode::Char(' '));
        press(&mut s, KeyCode::Char(' '));
        assert_eq!(s.view, View::Live);
        press(&mut s, KeyCode::Left);
        assert_eq!(press(&mut s, KeyCode::Char('q')), KeyAction::Quit);
    }

    #[test]
    fn a_review_cursor_stays_put_while_live_data_arrives() {
        use super::super::state::tests::record;
        use vitalring_core::time::UnixNs;
        let mut s = a_minute_then_tachycardia();
        press(&mut s, KeyCode::PageUp);
        let at = s.view.review_at().unwrap();
        for k in 0..600u64 {
            let t = T0 + 60_000_000_000 + k * 1_000_000_000 / 60;
            s.apply(
                &SensorEvent::Vitals {
                    timestamp: UnixNs(t),
                    index: 10_000 + k,
                    record: record(40, 98, 16),
                },
                t,
            );
        }
        assert_eq!(s.view.review_at(), Some(at));
        let t = text(&render(&s, 80, 24));
        assert!(t.contains("REVIEW"), "{t}");
        assert!(t.contains("PR 130"), "{t}");
        // Live: the new value, and its alarm, while the reviewed screen showed the old one.
        assert!(t.contains("HR LOW"), "{t}");
        press(&mut s, KeyCode::End);
        assert!(text(&render(&s, 80, 24)).contains("PR 40"));
    }

    #[test]
    fn review_keys_without_history_stay_live() {
        let mut s = MonitorState::new("x", Default::default(), 100);
        for code in [
            KeyCode::Char(' '),
            KeyCode::Left,
            KeyCode::PageUp,
            KeyCode::Home,
        ] {
            press(&mut s, code);
            assert_eq!(s.view, View::Live);
        }
        let t = text(&render(&s, 80, 24));
        assert!(t.contains(" LIVE "), "{t}");
    }
}
