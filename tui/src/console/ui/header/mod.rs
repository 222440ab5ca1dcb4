//! The header: per-core CPU bars (labelled: 100% is one core), memory and
//! swap bars on the left; host, mode, connection, tasks, load, uptime,
//! disk and network rates, events/s and lost events on the right.
use perch_proto::v1::HostSample;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::Style,
    text::{Line, Span},
};

mod info;

use super::{Part, put, put_line, widget_for_ref};
use crate::console::{
    App,
    app::{ConnectionState, Host},
    format,
    model::HostId,
    theme::Theme,
};

pub struct Header<'a> {
    app: &'a App,
    theme: &'a Theme,
}

widget_for_ref!(Header);

/// How the CPU bars are arranged.
struct CpuGrid {
    /// Bar rows (0 when one average bar replaces them).
    rows: u16,
    cols: u16,
}

fn cpu_grid(cpus: usize, left_width: u16, total_height: u16) -> CpuGrid {
    let cpus = u16::try_from(cpus).unwrap_or(u16::MAX);
    if cpus == 0 {
        return CpuGrid { rows: 0, cols: 0 };
    }
    let max_rows: u16 = if total_height >= 40 { 8 } else { 4 };
    let cols = cpus.div_ceil(max_rows);
    // A bar needs about 14 columns to say anything.
    if cols == 0 || left_width / cols < 14 {
        return CpuGrid { rows: 0, cols: 0 };
    }
    CpuGrid {
        rows: cpus.div_ceil(cols),
        cols,
    }
}

impl<'a> Header<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme) -> Header<'a> {
        Header { app, theme }
    }

    fn host(&self) -> Option<(HostId, &'a Host)> {
        let id = self.app.focus_host();
        self.app
            .host(id)
            .map(|h| (id, h))
            .or_else(|| self.app.hosts().first().map(|h| (HostId(0), h)))
    }

    fn left_width(width: u16) -> u16 {
        if width < 60 { width } else { width / 2 }
    }

    /// Rows the header wants at this terminal size.
    #[must_use]
    pub fn height(app: &App, width: u16, height: u16) -> u16 {
        let h = Header {
            app,
            theme: &Theme::new(false),
        };
        let cpus = h
            .host()
            .and_then(|(_, h)| h.sample.as_ref())
            .map_or(0, |s| s.cpus.len());
        let grid = cpu_grid(cpus, Self::left_width(width), height);
        // Title, CPU rows (or one average bar), Mem, Swp.
        let left = 1 + grid.rows.max(1) + 2;
        let right = u16::try_from(h.info_lines().len()).unwrap_or(u16::MAX);
        if width < 60 {
            left + right
        } else {
            left.max(right)
        }
    }

    /// A bar: `label[|||||     text]` in `width` columns, filled parts in
    /// their styles and the text right-aligned over the fill.
    fn bar(&self, label: &str, parts: &[(f64, Style)], text: &str, width: u16) -> Line<'static> {
        let t = self.theme;
        let label_w = u16::try_from(label.chars().count()).unwrap_or(u16::MAX);
        let inner = usize::from(width.saturating_sub(label_w.saturating_add(2)));
        let mut cells: Vec<(char, Style)> = vec![(' ', t.text); inner];
        let mut used = 0usize;
        for &(frac, style) in parts {
            let frac = if frac.is_finite() {
                frac.clamp(0.0, 1.0)
            } else {
                0.0
            };
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a bar length in cells"
            )]
            let n = ((frac * inner as f64).round() as usize).min(inner - used);
            for c in cells.iter_mut().skip(used).take(n) {
                *c = ('|', style);
            }
            used += n;
        }
        let text: Vec<char> = text.chars().collect();
        let shown = text.len().min(inner);
        for (cell, ch) in cells[inner - shown..]
            .iter_mut()
            .zip(&text[text.len() - shown..])
        {
            *cell = (*ch, t.value);
        }
        let mut spans = vec![
            Span::styled(label.to_owned(), t.label),
            Span::styled("[", t.bar_brackets),
        ];
        let mut run = String::new();
        let mut run_style = t.text;
        for (ch, style) in cells {
            if style != run_style && !run.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut run), run_style));
            }
            run_style = style;
            run.push(ch);
        }
        if !run.is_empty() {
            spans.push(Span::styled(run, run_style));
        }
        spans.push(Span::styled("]", t.bar_brackets));
        Line::from(spans)
    }

    fn cpu_bar(&self, label: &str, c: &perch_proto::v1::CpuSample, width: u16) -> Line<'static> {
        let t = self.theme;
        let parts = [
            (c.user_percent / 100.0, t.cpu_user),
            (c.system_percent / 100.0, t.cpu_system),
            (c.iowait_percent / 100.0, t.cpu_iowait),
        ];
        self.bar(
            label,
            &parts,
            &format!("{}%", format::percent(c.busy_percent)),
            width,
        )
    }

    fn draw_left(&self, s: Option<&HostSample>, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let title = if s.is_some() {
            "CPU% per core (100% = one core)"
        } else {
            "CPU% per core: waiting for the first sample"
        };
        put(buf, area, 0, 0, title, area.width, t.label);
        let cpus = s.map_or(&[][..], |s| s.cpus.as_slice());
        let grid = cpu_grid(cpus.len(), area.width, area.height);
        let digits = cpus.len().saturating_sub(1).to_string().len();
        let mut y = 1;
        if grid.rows == 0 {
            let avg = perch_proto::v1::CpuSample {
                busy_percent: cpus.iter().map(|c| c.busy_percent).sum::<f64>()
                    / cpus.len().max(1) as f64,
                user_percent: cpus.iter().map(|c| c.user_percent).sum::<f64>()
                    / cpus.len().max(1) as f64,
                system_percent: cpus.iter().map(|c| c.system_percent).sum::<f64>()
                    / cpus.len().max(1) as f64,
                iowait_percent: cpus.iter().map(|c| c.iowait_percent).sum::<f64>()
                    / cpus.len().max(1) as f64,
            };
            put_line(
                buf,
                area,
                0,
                y,
                &self.cpu_bar(&format!("avg×{}", cpus.len()), &avg, area.width),
            );
            y += 1;
        } else {
            let col_w = area.width / grid.cols;
            for (i, c) in cpus.iter().enumerate() {
                let i = u16::try_from(i).unwrap_or(u16::MAX);
                let (col, row) = (
                    i.checked_div(grid.rows).unwrap_or(0),
                    i.checked_rem(grid.rows).unwrap_or(0),
                );
                let label = format!("{i:>digits$}");
                let line = self.cpu_bar(&label, c, col_w.saturating_sub(1));
                put_line(buf, area, col * col_w, 1 + row, &line);
            }
            y += grid.rows;
        }
        let (mem, swap) = s.map_or(((0, 0, 0), (0, 0)), |s| {
            (
                (
                    s.memory_total_bytes,
                    s.memory_used_bytes,
                    s.memory_cached_bytes,
                ),
                (s.swap_total_bytes, s.swap_used_bytes),
            )
        });
        let frac = |part: u64, total: u64| {
            if total == 0 {
                0.0
            } else {
                part as f64 / total as f64
            }
        };
        // Before the first sample: what GetInfo knows, the rest pending
        // (not 0/0, which reads as an empty machine).
        let (mem_text, swap_text) = if s.is_some() {
            (
                format!("{}/{}", format::memory(mem.1), format::memory(mem.0)),
                format!("{}/{}", format::memory(swap.1), format::memory(swap.0)),
            )
        } else {
            let total = self
                .host()
                .and_then(|(_, h)| h.info.as_ref())
                .map_or(0, |i| i.memory_total_bytes);
            let total = if total == 0 {
                "?".to_owned()
            } else {
                format::memory(total)
            };
            (format!("pending/{total}"), "pending".to_owned())
        };
        let mem_line = self.bar(
            "Mem",
            &[
                (frac(mem.1, mem.0), t.mem_used),
                (frac(mem.2, mem.0), t.mem_cache),
            ],
            &mem_text,
            area.width.saturating_sub(1),
        );
        put_line(buf, area, 0, y, &mem_line);
        let swap_line = self.bar(
            "Swp",
            &[(frac(swap.1, swap.0), t.swap_used)],
            &swap_text,
            area.width.saturating_sub(1),
        );
        put_line(buf, area, 0, y + 1, &swap_line);
    }
}

impl Part for Header<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let sample = self.host().and_then(|(_, h)| h.sample.as_ref());
        let up = self.host().is_some_and(|(_, h)| {
            matches!(
                h.connection,
                ConnectionState::Connected | ConnectionState::Embedded | ConnectionState::History
            )
        });
        let lines = self.info_lines();
        let (left, right) = if area.width < 60 {
            let left_h = area
                .height
                .saturating_sub(u16::try_from(lines.len()).unwrap_or(0));
            (
                Rect {
                    height: left_h,
                    ..area
                },
                Rect {
                    y: area.y + left_h,
                    height: area.height - left_h,
                    ..area
                },
            )
        } else {
            let lw = Header::left_width(area.width);
            (
                Rect { width: lw, ..area },
                Rect {
                    x: area.x + lw + 1,
                    width: area.width - lw - 1,
                    ..area
                },
            )
        };
        if !left.is_empty() {
            self.draw_left(sample, left, buf);
            // Greyed while the collector is away: old figures, not news.
            if !up && sample.is_some() {
                buf.set_style(left, self.theme.exited);
            }
        }
        for (i, line) in lines.iter().enumerate() {
            let Ok(dy) = u16::try_from(i) else { break };
            put_line(buf, right, 0, dy, line);
        }
    }
}
