//! The full-screen bedside-monitor view. [`draw`] is a pure function of a [`MonitorState`], so
//! tests render it into ratatui's `TestBackend` and read the buffer.

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
use super::state::{trace_index, Alarm, MonitorState, Priority, Trace};

const ECG: Color = Color::Green;
const PLETH: Color = Color::Cyan;
const RESP: Color = Color::Yellow;
const NIBP: Color = Color::White;
const TEMP: Color = Color::Magenta;
const STALE: Color = Color::DarkGray;

/// Draws the whole screen.
pub fn draw(f: &mut Frame<'_>, s: &MonitorState) {
    let [top, alarm, main, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(4),
    ])
    .areas(f.area());
    f.render_widget(title_bar(s), top);
    f.render_widget(alarm_bar(&s.alarms(), s.now_ns), alarm);
    let [traces, numerics] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(36)]).areas(main);
    draw_traces(f, s, traces);
    draw_numerics(f, s, numerics);
    f.render_widget(footer(s), foot);
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

fn title_bar(s: &MonitorState) -> Paragraph<'static> {
    let mut spans = vec![
        Span::styled(
            " vitalring monitor ",
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" {} ", s.source)),
        Span::styled(
            format!(" {} ", s.state.name().to_uppercase()),
            state_style(s.state),
        ),
    ];
    if let Some(e) = s.epoch {
        spans.push(Span::styled(
            format!(" epoch {e:016x}"),
            Style::new().fg(Color::Gray),
        ));
    }
    spans.push(Span::styled("   q: quit", Style::new().fg(Color::DarkGray)));
    Paragraph::new(Line::from(spans))
}

fn alarm_bar(alarms: &[Alarm], now_ns: u64) -> Paragraph<'static> {
    if alarms.is_empty() {
        return Paragraph::new(Line::from(Span::styled(
            " no active alarms",
            Style::new().fg(Color::DarkGray),
        )));
    }
    // High-priority alarms flash at 1 Hz (inverse video every other half second).
    let flash = (now_ns / 500_000_000) % 2 == 1;
    let mut spans = Vec::new();
    for a in alarms {
        let (fg, bg) = match a.priority {
            Priority::High => (Color::White, Color::Red),
            Priority::Medium => (Color::Black, Color::Yellow),
        };
        let mut style = Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD);
        if flash && a.priority == Priority::High {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let mark = if a.priority == Priority::High {
            "!!!"
        } else {
            "!!"
        };
        spans.push(Span::styled(format!(" {mark} {} ", a.text), style));
        spans.push(Span::raw(" "));
    }
    Paragraph::new(Line::from(spans))
}

/// One channel's samples drawn as a min/max envelope per canvas column (so QRS spikes survive
/// any decimation), newest at the right edge; `None` samples break the line.
struct TraceShape<'a> {
    trace: &'a Trace,
    color: Color,
    lo: f64,
    hi: f64,
}

impl Shape for TraceShape<'_> {
    fn draw(&self, painter: &mut Painter<'_, '_>) {
        let Some((max_x, max_y)) = painter.get_point(1.0, 0.0) else {
            return;
        };
        let (w, h) = (max_x + 1, max_y + 1);
        let cap = self.trace.capacity;
        let len = self.trace.samples.len();
        let offset = cap - len.min(cap);
        let span = (self.hi - self.lo).max(1.0);
        let to_y = |v: i32| -> usize {
            let frac = ((self.hi - f64::from(v)) / span).clamp(0.0, 1.0);
            (frac * (h - 1) as f64).round() as usize
        };
        let mut prev: Option<usize> = None;
        for col in 0..w {
            let a = col * cap / w;
            let b = ((col + 1) * cap / w).max(a + 1);
            let (a, b) = (a.saturating_sub(offset), b.saturating_sub(offset).min(len));
            let mut lo_y: Option<usize> = None;
            let mut hi_y: Option<usize> = None;
            let mut last: Option<usize> = None;
            for v in self.trace.samples.range(a..b.max(a)).flatten() {
                let y = to_y(*v);
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
                painter.paint(col, y, self.color);
            }
            prev = last;
        }
    }
}

fn draw_traces(f: &mut Frame<'_>, s: &MonitorState, area: Rect) {
    let rows = Layout::vertical([
        Constraint::Ratio(2, 5),
        Constraint::Ratio(2, 5),
        Constraint::Ratio(1, 5),
    ])
    .split(area);
    let specs = [
        (Channel::EcgII, "ECG II", "µV", ECG),
        (Channel::Pleth, "PLETH", "", PLETH),
        (Channel::Resp, "RESP", "mΩ", RESP),
    ];
    for ((channel, name, unit, color), rect) in specs.into_iter().zip(rows.iter()) {
        let trace = &s.traces[trace_index(channel)];
        let color = if s.live() { color } else { STALE };
        let (lo, hi) = trace
            .samples
            .iter()
            .flatten()
            .fold(None, |acc: Option<(i32, i32)>, &v| {
                Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
            })
            .map_or((-1.0, 1.0), |(a, b)| {
                let pad = (f64::from(b) - f64::from(a)).max(10.0) * 0.08;
                (f64::from(a) - pad, f64::from(b) + pad)
            });
        let fs = if trace.fs_hz > 0 {
            format!(" {} Hz", trace.fs_hz)
        } else {
            String::new()
        };
        let title = Line::from(vec![
            Span::styled(
                format!(" {name} "),
                Style::new().fg(color).add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("{unit}{fs} "), Style::new().fg(Color::DarkGray)),
        ]);
        let block = Block::bordered()
            .title(title)
            .border_style(Style::new().fg(Color::DarkGray));
        let shape = TraceShape {
            trace,
            color,
            lo,
            hi,
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

/// A large numeric tile: label and unit on the border, the value big, extras on the right.
fn numeric_tile(
    f: &mut Frame<'_>,
    area: Rect,
    label: &str,
    value: Option<String>,
    color: Color,
    alarm: bool,
    extra: Vec<Line<'static>>,
) {
    let border = if alarm { Color::Red } else { Color::DarkGray };
    let block = Block::bordered()
        .title(Line::from(Span::styled(
            format!(" {label} "),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        )))
        .border_style(Style::new().fg(border));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let text = value.unwrap_or_else(|| "---".to_string());
    let style = if alarm {
        Style::new().fg(Color::White).bg(Color::Red)
    } else {
        Style::new().fg(color)
    };
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

fn draw_numerics(f: &mut Frame<'_>, s: &MonitorState, area: Rect) {
    let [hr, spo2, rr, nibp, temp] = Layout::vertical([
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(4),
        Constraint::Length(3),
    ])
    .areas(area);
    let live = s.live();
    let alarms = s.alarms();
    let on = |texts: &[&str]| live && alarms.iter().any(|a| texts.contains(&a.text));
    let c = |color| if live { color } else { STALE };
    let v = s.vitals.map(|v| v.record);
    let dim = Style::new().fg(Color::Gray);
    let l = s.limits;
    let limits = |lo: String, hi: String| {
        vec![
            Line::from(Span::styled(format!(" hi {hi}"), dim)),
            Line::from(Span::styled(format!(" lo {lo}"), dim)),
        ]
    };

    let mut hr_extra = vec![Line::from(Span::styled(" bpm", dim))];
    hr_extra.extend(limits(l.hr_low.to_string(), l.hr_high.to_string()));
    if let Some(pr) = v.and_then(|v| v.pulse_rate_bpm) {
        hr_extra.push(Line::from(Span::styled(format!(" PR {pr}"), dim)));
    }
    numeric_tile(
        f,
        hr,
        "HR",
        v.map(|v| v.hr_bpm.to_string()),
        c(ECG),
        on(&["HR HIGH", "HR LOW", "ASYSTOLE"]),
        hr_extra,
    );

    let mut spo2_extra = vec![Line::from(Span::styled(" %", dim))];
    spo2_extra.extend(limits(l.spo2_low.to_string(), "-".into()));
    numeric_tile(
        f,
        spo2,
        "SpO2",
        v.map(|v| v.spo2_pct.to_string()),
        c(PLETH),
        on(&["SPO2 LOW"]),
        spo2_extra,
    );

    let mut rr_extra = vec![Line::from(Span::styled(" /min", dim))];
    rr_extra.extend(limits(l.rr_low.to_string(), l.rr_high.to_string()));
    numeric_tile(
        f,
        rr,
        "RR",
        v.map(|v| v.rr_rpm.to_string()),
        c(RESP),
        on(&["RR HIGH", "RR LOW", "APNEA"]),
        rr_extra,
    );

    let nibp_text = v.and_then(|v| v.nibp).map_or_else(
        || "---/--- (---)".to_string(),
        |n| format!("{}/{} ({})", n.systolic_mmhg, n.diastolic_mmhg, n.mean_mmhg),
    );
    let block = Block::bordered()
        .title(Span::styled(
            " NIBP mmHg ",
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
            " TEMP ",
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

fn footer(s: &MonitorState) -> Paragraph<'static> {
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
        Span::styled(
            format!(
                " (crc {} range {} payload {} frame {})",
                c.rejected_crc,
                c.rejected_invalid_value,
                c.rejected_malformed,
                c.rejected_invalid_frame
            ),
            dim,
        ),
        Span::styled(format!("  stalls {}", c.stalls), warn(c.stalls)),
    ];
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
    Paragraph::new(vec![Line::from(line1), Line::from(line2)]).block(
        Block::bordered()
            .title(" transport ")
            .border_style(Style::new().fg(Color::DarkGray)),
    )
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

    #[test]
    fn empty_state_and_tiny_terminals_do_not_panic() {
        let s = MonitorState::new("x", Default::default(), 100);
        let t = text(&render(&s, 120, 36));
        assert!(t.contains("CONNECTING"), "{t}");
        assert!(t.contains("no signal"), "{t}");
        assert!(t.contains("---"), "{t}");
        let s = connected(72, 98, 16);
        for (w, h) in [(1, 1), (20, 5), (40, 12), (80, 24), (300, 90)] {
            render(&s, w, h);
        }
    }
}
