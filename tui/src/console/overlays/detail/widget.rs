//! The detail view's drawing: the selected process's fields, ten-minute
//! sparklines of CPU, RSS and I/O, the actions taken on it, and its parent
//! chain and children with the cursor.
use std::fmt::Write as _;

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
    widgets::{Clear, Widget as _},
};

use crate::{
    act,
    console::{
        App, format,
        history::{Point, WINDOW_SECS},
        list::ScrollList,
        model::{Proc, ProcessKey},
        screens::processes::Links,
        theme::Theme,
        ui::{Part, ellipsize, put_line, widget_for_ref},
    },
};

pub struct DetailView<'a> {
    app: &'a App,
    theme: &'a Theme,
    cursor: usize,
}

widget_for_ref!(DetailView);

/// A sparkline's name, value picker, current value and max formatter.
type SparkRow = (&'static str, fn(&Point) -> u64, String, fn(u64) -> String);

const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline as text: one level char per value, scaled to the maximum.
fn spark(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if max == 0 || v == 0 {
                LEVELS[0]
            } else {
                let i = usize::try_from(v.saturating_mul(8).div_ceil(max)).unwrap_or(8);
                LEVELS[i.clamp(1, 8)]
            }
        })
        .collect()
}

/// An argument as a shell would need it: quoted when it has spaces or is empty.
fn shell_word(a: &str) -> String {
    if a.is_empty() || a.contains(char::is_whitespace) || a.contains(['"', '\'']) {
        format!("'{}'", a.replace('\'', r"'\''"))
    } else {
        a.to_owned()
    }
}

impl<'a> DetailView<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme, cursor: usize) -> DetailView<'a> {
        DetailView { app, theme, cursor }
    }

    fn kv(&self, k: &str, v: String) -> Line<'static> {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), self.theme.label),
            Span::styled(v, self.theme.text),
        ])
    }

    fn when(&self, p: &Proc, boot_ns: u64) -> String {
        self.app.unix_secs(p.key.host, boot_ns).map_or_else(
            || format!("{} s after boot", boot_ns / perch_proto::NS_PER_SEC),
            |s| format::date_time(s, self.app.config().utc_offset_secs),
        )
    }

    /// The fields, wrapped to `width`.
    fn fields(&self, p: &Proc, width: usize) -> Vec<Line<'static>> {
        let t = self.theme;
        let mut out = Vec::new();
        let state = match &p.exit {
            Some(x) => format!("{} at {}", format::exit_status(x), self.when(p, x.time_ns)),
            None => "running".to_owned(),
        };
        out.push(Line::from(vec![
            Span::styled(format!("PID {} ", p.key.pid), t.value),
            Span::styled(p.comm.to_string(), t.value),
            Span::raw("  "),
            Span::styled(state, if p.is_exited() { t.warn } else { t.good }),
        ]));
        let mut argv: String = p.argv.iter().map(shell_word).collect::<Vec<_>>().join(" ");
        if p.argv_truncated {
            argv.push_str(" … (truncated by the collector)");
        }
        if argv.is_empty() {
            argv = p.command.to_string();
        }
        // The full command line, wrapped rather than cut.
        let room = width.saturating_sub(10).max(1);
        let chars: Vec<char> = argv.chars().collect();
        for (i, chunk) in chars.chunks(room).take(6).enumerate() {
            let label = if i == 0 { "Command" } else { "" };
            out.push(self.kv(label, chunk.iter().collect()));
        }
        out.push(self.kv("Exe", p.exe.to_string()));
        out.push(self.kv("Cwd", p.cwd.to_string()));
        out.push(self.kv(
            "User",
            format!("{} (uid {}, euid {}, gid {})", p.user, p.uid, p.euid, p.gid),
        ));
        out.push(self.kv("Started", self.when(p, p.start_time_ns)));
        let mut more = format!("ppid {}, {} threads, nice {}", p.ppid, p.threads, p.nice);
        if !p.tty.is_empty() {
            more.push_str(", tty ");
            more.push_str(&p.tty);
        }
        if p.kernel_thread {
            more.push_str(", kernel thread");
        }
        out.push(self.kv("Process", more));
        out.push(self.kv("Cgroup", p.cgroup_path.to_string()));
        if !p.container_id.is_empty() {
            out.push(
                self.kv(
                    "Container",
                    format!("{} {}", p.container_runtime, p.container_id)
                        .trim()
                        .to_owned(),
                ),
            );
        }
        if !p.pod_uid.is_empty() || !p.pod_name.is_empty() {
            out.push(self.kv(
                "Pod",
                format!("{}/{} ({})", p.pod_namespace, p.pod_name, p.pod_uid),
            ));
        }
        if self.app.hosts().len() > 1 {
            out.push(self.kv("Host", self.app.host_name(p.key.host).to_owned()));
        }
        out.extend(self.actions(p));
        out
    }

    /// The actions taken on this process, by anyone: `kill_tree by root:
    /// SUCCESS ok "reason"`.
    fn actions(&self, p: &Proc) -> Vec<Line<'static>> {
        let notes = self.app.notes(&p.key);
        let mut out = Vec::new();
        if self.app.is_defunct(&p.key) && !p.is_exited() {
            out.push(Line::styled(
                "Killed: waiting for its exit".to_owned(),
                self.theme.warn,
            ));
        }
        for (i, n) in notes.iter().enumerate() {
            let mut what = act::kind_name(n.action);
            let sig = act::signal_name(n.signal);
            if act::takes_signal(n.action) && !sig.is_empty() {
                let _ = write!(what, " {sig}");
            }
            if n.dry_run {
                what.push_str(" (dry run)");
            }
            let text = format!(
                "{what} by {}: {} {} \"{}\"",
                n.actor,
                act::result_title(n.result),
                n.code,
                n.reason
            );
            out.push(self.kv(if i == 0 { "Actions" } else { "" }, text));
        }
        out
    }

    fn sparklines(&self, p: &Proc, width: usize) -> Vec<Line<'static>> {
        let t = self.theme;
        let now = self.app.host_now_ns(p.key.host).map_or(0, |ns| {
            u32::try_from(ns / perch_proto::NS_PER_SEC).unwrap_or(u32::MAX)
        });
        let u = &p.usage;
        let rows: [SparkRow; 3] = [
            (
                "CPU",
                |pt| u64::from(pt.cpu_tenths),
                format!("{}%", format::percent(u.cpu_percent)),
                |m| {
                    let pct = m as f64 / 10.0;
                    format!("{}%", format::percent(pct))
                },
            ),
            (
                "RSS",
                |pt| u64::from(pt.rss_kib),
                format::bytes(u.rss_bytes),
                |m| format::bytes(m * 1024),
            ),
            (
                "IO",
                |pt| u64::from(pt.io_bytes_per_sec),
                format::rate(u.read_per_sec + u.write_per_sec),
                |m| {
                    let r = m as f64;
                    format::rate(r)
                },
            ),
        ];
        let mut out = vec![Line::styled(
            format!("Last {} minutes", WINDOW_SECS / 60),
            t.label,
        )];
        for (name, pick, now_text, max_text) in rows {
            let summary_room = 26;
            let n = width.saturating_sub(6 + summary_room).clamp(1, 120);
            let values = p.history.series(now, n, pick);
            let max = values.iter().copied().max().unwrap_or(0);
            out.push(Line::from(vec![
                Span::styled(format!("{name:<5} "), t.label),
                Span::styled(spark(&values), t.spark),
                Span::styled(format!(" now {now_text} max {}", max_text(max)), t.text),
            ]));
        }
        out
    }

    fn link_line(&self, key: ProcessKey, index: usize, width: usize) -> Line<'static> {
        let t = self.theme;
        let text = self.app.store().by_key(&key).map_or_else(
            || format!("{} (gone)", key.pid),
            |p| {
                let status = p
                    .exit
                    .as_ref()
                    .map(|x| format!(" [{}]", format::exit_status(x)))
                    .unwrap_or_default();
                format!("{:>7} {}{status} {}", p.key.pid, p.user, p.command)
            },
        );
        let selected = index == self.cursor;
        let marker = if selected { "▸ " } else { "  " };
        Line::styled(
            ellipsize(&format!("{marker}{text}"), width),
            if selected { t.menu_cursor } else { t.text },
        )
    }

    /// The process's recent security events, newest first; nothing when
    /// it has none.
    fn security(&self, p: &Proc, width: usize) -> Vec<Line<'static>> {
        if p.security.is_empty() {
            return Vec::new();
        }
        let mut out = vec![Line::styled("Security events (latest first)", self.theme.label)];
        out.extend(
            p.security
                .iter()
                .rev()
                .map(|l| Line::raw(ellipsize(&format!("  {l}"), width))),
        );
        out
    }

    /// Parents and children as lines, and the line index of the cursor.
    fn relatives(&self, links: &Links, width: usize) -> (Vec<Line<'static>>, usize) {
        let t = self.theme;
        let mut out = vec![Line::styled("Parents (Enter jumps)", t.label)];
        let mut cursor_line = 0;
        if links.parents.is_empty() {
            out.push(Line::raw("  none"));
        }
        for (i, &k) in links.parents.iter().enumerate() {
            if i == self.cursor {
                cursor_line = out.len();
            }
            out.push(self.link_line(k, i, width));
        }
        out.push(Line::styled(
            format!("Children ({})", links.children.len()),
            t.label,
        ));
        if links.children.is_empty() {
            out.push(Line::raw("  none"));
        }
        for (i, &k) in links.children.iter().enumerate() {
            let index = links.parents.len() + i;
            if index == self.cursor {
                cursor_line = out.len();
            }
            out.push(self.link_line(k, index, width));
        }
        (out, cursor_line)
    }
}

/// Draws `lines` in `area`, scrolled so line `keep` is visible.
fn draw_scrolled(buf: &mut Buffer, area: Rect, lines: &[Line<'_>], keep: usize) {
    let h = usize::from(area.height);
    let skip = ScrollList::at(lines.len(), keep).offset_for(h);
    for (i, line) in lines.iter().skip(skip).take(h).enumerate() {
        put_line(buf, area, 0, u16::try_from(i).unwrap_or(u16::MAX), line);
    }
}

impl Part for DetailView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        // It covers the list behind.
        Clear.render(area, buf);
        let Some(p) = self.app.selected() else {
            put_line(buf, area, 0, 0, &Line::raw("the process is gone (Esc)"));
            return;
        };
        let links = self.app.links();
        if area.width >= 120 {
            let lw = area.width / 2;
            let left = Rect {
                width: lw - 1,
                ..area
            };
            let right = Rect {
                x: area.x + lw,
                width: area.width - lw,
                ..area
            };
            let mut text = self.fields(p, usize::from(left.width));
            text.push(Line::raw(""));
            text.extend(self.sparklines(p, usize::from(left.width)));
            text.extend(self.security(p, usize::from(left.width)));
            draw_scrolled(buf, left, &text, 0);
            let (rel, cursor_line) = self.relatives(&links, usize::from(right.width));
            draw_scrolled(buf, right, &rel, cursor_line);
        } else {
            let width = usize::from(area.width);
            let mut text = self.fields(p, width);
            text.extend(self.sparklines(p, width));
            text.extend(self.security(p, width));
            let base = text.len();
            let (rel, cursor_line) = self.relatives(&links, width);
            text.extend(rel);
            let keep = if links.is_empty() {
                0
            } else {
                base + cursor_line
            };
            draw_scrolled(buf, area, &text, keep);
        }
    }
}
