//! The header's right side: the host, its mode and connection, tasks as
//! htop counts them, load, uptime, disk and network rates, events/s and
//! lost events, and every host when there are several.
use perch_proto::v1::{CollectorMode, HistoryStatus};
use ratatui::text::{Line, Span};

use super::Header;
use crate::console::{app::ConnectionState, format, model::HostId};

pub(super) fn conn_text(c: &ConnectionState) -> (String, bool) {
    match c {
        ConnectionState::Connecting => ("connecting…".to_owned(), true),
        ConnectionState::Connected => ("connected".to_owned(), false),
        ConnectionState::Embedded => ("embedded collector".to_owned(), false),
        ConnectionState::Reconnecting { attempt, reason } if reason.is_empty() => {
            (format!("reconnecting (try {attempt})"), true)
        }
        ConnectionState::Reconnecting { attempt, reason } => {
            (format!("reconnecting (try {attempt}): {reason}"), true)
        }
        ConnectionState::Disconnected { reason } => (format!("disconnected: {reason}"), true),
        ConnectionState::History => ("history".to_owned(), false),
    }
}

impl Header<'_> {
    /// Live kernel threads on `host`, as the model has them.
    fn kernel_threads(&self, host: HostId) -> u32 {
        let n = self
            .app
            .store()
            .iter()
            .filter(|(_, p)| p.key.host == host && p.kernel_thread && !p.is_exited())
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// `Events: 37/s  Lost: 0`, then the active traces when there are any.
    fn events_line(&self, per_sec: f64, lost: u64) -> Line<'static> {
        let t = self.theme;
        let mut events = vec![
            Span::styled("Events: ", t.label),
            Span::styled(format!("{per_sec:.0}/s"), t.value),
            Span::styled("  Lost: ", t.label),
            Span::styled(lost.to_string(), if lost > 0 { t.warn } else { t.value }),
        ];
        events.extend(self.traces_spans());
        Line::from(events)
    }

    /// `  Traces: 1 crit 2 high` (every collector's active, unsuppressed
    /// traces by their highest severity, each severity coloured); nothing
    /// while there are none.
    fn traces_spans(&self) -> Vec<Span<'static>> {
        use perch_proto::v1::Severity;
        let t = self.theme;
        let counts = self.app.data().detect().active_by_severity();
        if counts.iter().all(|n| *n == 0) {
            return Vec::new();
        }
        let mut spans = vec![Span::styled("  Traces:", t.label)];
        let names = [
            (Severity::Critical, "crit"),
            (Severity::High, "high"),
            (Severity::Medium, "med"),
            (Severity::Low, "low"),
        ];
        for (n, (sev, name)) in counts.iter().zip(names) {
            if *n > 0 {
                spans.push(Span::styled(format!(" {n} {name}"), t.severity(sev)));
            }
        }
        spans
    }

    /// `Time: LIVE` or `Time: 14:03:12 — 12m 05s ago`, when the console
    /// can travel in time.
    fn time_line(&self) -> Option<Line<'static>> {
        let t = self.theme;
        let travel = self.app.timeline();
        if !travel.enabled {
            return None;
        }
        let text = travel.header_text(self.app.config().utc_offset_secs);
        let style = if self.app.is_live() { t.good } else { t.warn };
        let mut spans = vec![Span::styled("Time: ", t.label), Span::styled(text, style)];
        // A collector that keeps no history (or cannot) says why here,
        // before a time key fails.
        let history = self
            .app
            .live_data()
            .host(HostId(0))
            .and_then(|h| h.info.as_ref())
            .and_then(|i| i.history.as_ref());
        if let Some(h) = history {
            let why = match HistoryStatus::try_from(h.status) {
                Ok(HistoryStatus::Disabled) => Some("no history (disabled)"),
                Ok(HistoryStatus::Broken) => Some("history broken"),
                _ => None,
            };
            if let Some(why) = why {
                let detail = if h.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::text::clean(&h.detail))
                };
                spans.push(Span::styled(format!("  {why}{detail}"), t.warn));
            }
        }
        Some(Line::from(spans))
    }

    pub(super) fn info_lines(&self) -> Vec<Line<'static>> {
        let t = self.theme;
        let mut lines: Vec<Line<'static>> = self.time_line().into_iter().collect();
        let Some((id, h)) = self.host() else {
            lines.push(Line::styled("waiting for a collector…", t.label));
            return lines;
        };
        let kv = |k: &str, v: String| {
            Line::from(vec![
                Span::styled(format!("{k}: "), t.label),
                Span::styled(v, t.value),
            ])
        };
        let name = if h.name.is_empty() {
            "?"
        } else {
            h.name.as_str()
        };
        let mut first = vec![Span::styled(name.to_owned(), t.value), Span::raw(" ")];
        if let Some(info) = &h.info {
            match CollectorMode::try_from(info.mode) {
                Ok(CollectorMode::Ebpf) => first.push(Span::styled("eBPF", t.good)),
                Ok(CollectorMode::Procfs) => {
                    first.push(Span::styled(
                        "procfs polling: short-lived processes missed",
                        t.warn,
                    ));
                }
                _ => first.push(Span::styled("mode ?", t.label)),
            }
            first.push(Span::raw(" "));
        }
        let (conn, bad) = conn_text(&h.connection);
        first.push(Span::styled(conn, if bad { t.warn } else { t.label }));
        lines.push(Line::from(first));
        if let Some(s) = &h.sample {
            // As htop counts: userland processes, their other threads,
            // kernel threads (every pid is a process, every task a thread).
            let kthr = self.kernel_threads(id);
            lines.push(kv(
                "Tasks",
                format!(
                    "{}, {} thr, {kthr} kthr; {} running",
                    s.tasks_total.saturating_sub(kthr),
                    s.threads_total.saturating_sub(s.tasks_total),
                    s.tasks_running
                ),
            ));
            lines.push(kv(
                "Load average",
                format!("{:.2} {:.2} {:.2}", s.load1, s.load5, s.load15),
            ));
            lines.push(kv(
                "Uptime",
                format::uptime(s.uptime_ns.max(self.app.host_now_ns(id).unwrap_or(0))),
            ));
            lines.push(kv(
                "Disk",
                format!(
                    "read {}  write {}",
                    format::rate(s.disk_read_bytes_per_sec),
                    format::rate(s.disk_write_bytes_per_sec)
                ),
            ));
            lines.push(kv(
                "Net",
                format!(
                    "rx {}  tx {}",
                    format::rate(s.net_rx_bytes_per_sec),
                    format::rate(s.net_tx_bytes_per_sec)
                ),
            ));
        }
        lines.push(self.events_line(h.events_per_sec, h.lost_events));
        if self.app.hosts().len() > 1 {
            let mut spans = vec![Span::styled("Hosts: ", t.label)];
            for (i, other) in self.app.hosts().iter().enumerate() {
                let (conn, bad) = conn_text(&other.connection);
                let name = if other.name.is_empty() {
                    format!("#{i}")
                } else {
                    other.name.clone()
                };
                if i > 0 {
                    spans.push(Span::raw(", "));
                }
                spans.push(Span::styled(name, t.value));
                if !other.label.is_empty() && other.label != other.name {
                    spans.push(Span::styled(format!(" ({})", other.label), t.label));
                }
                spans.push(Span::raw(" "));
                spans.push(Span::styled(conn, if bad { t.warn } else { t.label }));
            }
            lines.push(Line::from(spans));
        }
        lines
    }
}
