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

use super::identity;
use crate::{
    act,
    console::{
        App, format,
        history::{Point, WINDOW_SECS},
        list::ScrollList,
        model::Proc,
        theme::Theme,
        ui::{Part, ellipsize, put_line, widget_for_ref},
    },
};

pub struct DetailView<'a> {
    pub(super) app: &'a App,
    pub(super) theme: &'a Theme,
    pub(super) cursor: usize,
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

/// What a state letter means (proc(5)).
fn state_name(state: u8) -> &'static str {
    match state {
        b'R' => "running (R)",
        b'S' => "sleeping (S)",
        b'D' => "in uninterruptible sleep (D)",
        b'T' => "stopped (T)",
        b't' => "stopped by a tracer (t)",
        b'Z' => "zombie (Z)",
        b'I' => "idle (I)",
        b'X' => "dead (X)",
        0 => "running (state not sampled yet)",
        _ => "running",
    }
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

    pub(super) fn theme(&self) -> &Theme {
        self.theme
    }

    pub(super) fn kv(&self, k: &str, v: String) -> Line<'static> {
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

    /// `Key  value`, the value wrapped (not cut) to `width`: ids and paths
    /// are copied from here.
    pub(super) fn kv_wrapped(&self, k: &str, v: &str, width: usize) -> Vec<Line<'static>> {
        let room = width.saturating_sub(10).max(1);
        let chars: Vec<char> = v.chars().collect();
        if chars.is_empty() {
            return vec![self.kv(k, String::new())];
        }
        chars
            .chunks(room)
            .enumerate()
            .map(|(i, chunk)| self.kv(if i == 0 { k } else { "" }, chunk.iter().collect()))
            .collect()
    }

    /// Running, stopped, frozen, signalled, or how it exited.
    fn state_text(&self, p: &Proc) -> (String, bool) {
        if let Some(x) = &p.exit {
            let how = match self.app.signalled(&p.key) {
                Some(sig) if x.signal == Some(sig) => "killed by the signal sent: ",
                Some(_) => "exited after the signal sent: ",
                None => "",
            };
            let status = format::exit_status(x);
            return (format!("{how}{status} at {}", self.when(p, x.time_ns)), true);
        }
        let mut parts = vec![state_name(p.state).to_owned()];
        if p.frozen {
            parts.push("frozen (its cgroup)".to_owned());
        }
        if let Some(sig) = self.app.signalled(&p.key) {
            parts.push(format!("signalled ({}): still running", format::signal_name(sig)));
        }
        let bad = p.frozen || p.is_stopped() || self.app.signalled(&p.key).is_some();
        (parts.join(", "), bad)
    }

    /// The fields, wrapped to `width`.
    fn fields(&self, p: &Proc, width: usize) -> Vec<Line<'static>> {
        let t = self.theme;
        let mut out = Vec::new();
        let (state, bad) = self.state_text(p);
        out.push(Line::from(vec![
            Span::styled(format!("PID {} ", p.key.pid), t.value),
            Span::styled(p.comm.to_string(), t.value),
            Span::raw("  "),
            Span::styled(state, if bad { t.warn } else { t.good }),
        ]));
        let mut argv: String = p.argv.iter().map(shell_word).collect::<Vec<_>>().join(" ");
        if p.argv_truncated {
            argv.push_str(" … (truncated by the collector)");
        }
        if argv.is_empty() {
            argv = p.command.to_string();
        }
        // The full command line, wrapped rather than cut.
        let mut cmd = self.kv_wrapped("Command", &argv, width);
        cmd.truncate(6);
        out.extend(cmd);
        out.extend(identity::lines(self, p, width));
        out.extend(self.kv_wrapped("Cwd", &p.cwd, width));
        out.push(self.kv(
            "User",
            format!("{} (uid {}, euid {}, gid {})", p.user, p.uid, p.euid, p.gid),
        ));
        if !p.login_user.is_empty() {
            out.push(self.kv("Login", p.login_user.to_string()));
        }
        out.push(self.kv("Started", self.when(p, p.start_time_ns)));
        let mut more = format!(
            "pgrp {}, sid {}, {} thread{}, nice {}",
            p.pgid,
            p.sid,
            p.threads,
            if p.threads == 1 { "" } else { "s" },
            p.nice
        );
        if let (Some(r), false) = (p.reaper, p.parent_unknown) {
            let _ = write!(more, ", reparented to {} (its parent exited)", r.pid);
        }
        if !p.tty.is_empty() {
            more.push_str(", tty ");
            more.push_str(&p.tty);
        }
        if p.kernel_thread {
            more.push_str(", kernel thread");
        }
        out.push(self.kv("Process", more));
        out.extend(self.kv_wrapped("Cgroup", &p.cgroup_path, width));
        if !p.container_id.is_empty() {
            let c = format!("{} {}", p.container_runtime, p.container_id);
            out.extend(self.kv_wrapped("Container", c.trim(), width));
        }
        if !p.pod_uid.is_empty() || !p.pod_name.is_empty() {
            let pod = format!("{}/{} ({})", p.pod_namespace, p.pod_name, p.pod_uid);
            out.extend(self.kv_wrapped("Pod", &pod, width));
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
        for (i, n) in notes.iter().enumerate() {
            let mut what = act::kind_title(n.action).to_owned();
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
            let net = self.network(p, usize::from(left.width));
            if !net.is_empty() {
                text.push(Line::raw(""));
                text.extend(net);
            }
            let det = self.detections(p, usize::from(left.width));
            if !det.is_empty() {
                text.push(Line::raw(""));
                text.extend(det);
            }
            text.extend(self.security(p, usize::from(left.width)));
            draw_scrolled(buf, left, &text, 0);
            let (rel, cursor_line) = self.relatives(&links, usize::from(right.width));
            draw_scrolled(buf, right, &rel, cursor_line);
        } else {
            let width = usize::from(area.width);
            let mut text = self.fields(p, width);
            text.extend(self.sparklines(p, width));
            text.extend(self.network(p, width));
            text.extend(self.detections(p, width));
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
