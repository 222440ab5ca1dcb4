//! One trace opened (Enter on the Traces screen): a summary line, its
//! process tree from the root down to each flagged process with the flags
//! on their processes, severity-coloured ([`crate::text::trace`], the same
//! rows `perch trace ID` prints), then its flags in time order
//! (description, severity, MITRE).  One cursor moves over both; `k` acts
//! on the selected process of the tree (or a flag's process, or the root)
//! with the trace's reason pre-filled; Esc goes back.
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::super::{
    Cx,
    detect_table::{flag_reason, open_menu, trace_reason},
};
use crate::{
    console::{
        App,
        app::Data,
        detect::{HeldFlag, HeldTrace},
        input::Msg,
        list::ScrollList,
        model::{HostId, ProcessKey},
        theme::Theme,
        ui::{Part, ellipsize, put_line, widget_for_ref},
    },
    text::trace::{TreeRow, indent, rows, sev},
};

/// The open trace: which, and the cursor over its lines.
#[derive(Debug)]
pub(super) struct TraceView {
    pub(super) host: HostId,
    pub(super) id: String,
    pub(super) list: ScrollList,
}

/// What a line of the view is.
enum Item<'a> {
    Tree(&'a TreeRow),
    Gap,
    Heading,
    Flag(&'a HeldFlag),
}

/// The view's lines, from the data.
struct Lines<'a> {
    trace: &'a HeldTrace,
    tree: Vec<TreeRow>,
    flags: Vec<&'a HeldFlag>,
}

impl<'a> Lines<'a> {
    fn of(data: &'a Data, host: HostId, id: &str) -> Option<Lines<'a>> {
        let det = data.detect();
        let trace = det.trace(host, id)?;
        let flags = det.flags_of(trace);
        let tree = rows(&trace.t, flags.iter().map(|f| &f.f));
        Some(Lines { trace, tree, flags })
    }

    fn len(&self) -> usize {
        self.tree.len() + 2 + self.flags.len()
    }

    fn get(&self, i: usize) -> Option<Item<'_>> {
        let n = self.tree.len();
        if i < n {
            return self.tree.get(i).map(Item::Tree);
        }
        match i - n {
            0 => Some(Item::Gap),
            1 => Some(Item::Heading),
            j => self.flags.get(j - 2).map(|f| Item::Flag(f)),
        }
    }
}

impl TraceView {
    pub(super) fn new(host: HostId, id: String) -> TraceView {
        TraceView {
            host,
            id,
            list: ScrollList::default(),
        }
    }

    pub(super) fn refresh(&mut self, data: &Data) {
        let n = Lines::of(data, self.host, &self.id).map_or(0, |l| l.len());
        self.list.set_len(n);
    }

    /// A key; false when the view closes (Esc).
    pub(super) fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) -> bool {
        if self.list.apply(msg, cx.page) {
            return true;
        }
        match msg {
            Msg::Cancel => return false,
            Msg::ActMenu => {
                let Some(lines) = Lines::of(cx.data, self.host, &self.id) else {
                    return false;
                };
                let (key, _, reason) = self.target(&lines);
                open_menu(cx, key, reason);
            }
            _ => {}
        }
        true
    }

    /// What `k` acts on from the cursor: the selected process of the
    /// tree, a flag's process, else the root; its name; the reason.
    fn target(&self, lines: &Lines<'_>) -> (Option<ProcessKey>, String, String) {
        let tr = lines.trace;
        let root = (tr.root, tr.t.root_proc_name.clone(), trace_reason(tr));
        match lines.get(self.list.cursor()) {
            Some(Item::Tree(r)) => match r.key {
                Some(k) => (
                    Some(ProcessKey::new(self.host, k.pid, k.start_time_ns)),
                    r.name.clone(),
                    trace_reason(tr),
                ),
                None => root,
            },
            Some(Item::Flag(f)) => (f.key, f.f.name.clone(), flag_reason(f)),
            _ => root,
        }
    }

    pub(super) fn status_line(&self, app: &App, t: &Theme) -> Line<'static> {
        let text = match Lines::of(app.data(), self.host, &self.id) {
            None => format!("{} is no longer held · Esc back", self.id),
            Some(lines) => {
                let (key, name, _) = self.target(&lines);
                format!(
                    "{} · k acts on {} {name} · Esc back",
                    self.id,
                    key.map_or(0, |k| k.pid)
                )
            }
        };
        Line::styled(text, t.label)
    }
}

pub(super) struct TraceViewWidget<'a> {
    app: &'a App,
    view: &'a TraceView,
    theme: &'a Theme,
}

widget_for_ref!(TraceViewWidget);

impl<'a> TraceViewWidget<'a> {
    pub(super) fn new(app: &'a App, view: &'a TraceView, theme: &'a Theme) -> Self {
        TraceViewWidget { app, view, theme }
    }
}

/// The summary line: id, name, score, status, interactive, users, tactics.
fn summary(tr: &HeldTrace, notable: u32) -> String {
    let t = &tr.t;
    let status = if tr.is_active() { "active" } else { "closed" };
    let mark = if t.notable || t.score >= notable {
        " (notable)"
    } else {
        ""
    };
    format!(
        " {} {} · score {}{mark} · {status} · {} · users {} · {} processes · {}",
        t.id,
        t.name,
        t.score,
        if t.interactive {
            "interactive"
        } else {
            "not interactive"
        },
        if t.users.is_empty() {
            "-".to_owned()
        } else {
            t.users.join(",")
        },
        t.process_count,
        t.mitre_mapping.join(" ")
    )
}

impl Part for TraceViewWidget<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (t, v) = (self.theme, self.view);
        let data = self.app.data();
        let w = usize::from(area.width);
        let Some(lines) = Lines::of(data, v.host, &v.id) else {
            let msg = format!(" {} is no longer held (Esc back)", v.id);
            put_line(buf, area, 0, 0, &Line::styled(ellipsize(&msg, w), t.label));
            return;
        };
        let notable = data.detect().notable_score(v.host);
        let head = ellipsize(&summary(lines.trace, notable), w);
        put_line(buf, area, 0, 0, &Line::styled(format!("{head:<w$}"), t.table_title));
        let body_h = usize::from(area.height.saturating_sub(1));
        let off = v.list.offset_for(body_h);
        let now = data.host_now_ns(v.host).unwrap_or(0);
        let utc = self.app.config().utc_offset_secs;
        for i in 0..body_h {
            let at = off + i;
            let Some(item) = lines.get(at) else { break };
            let dy = u16::try_from(i + 1).unwrap_or(u16::MAX);
            let line = match item {
                Item::Tree(r) => {
                    let mut spans = vec![
                        Span::styled(format!(" {}", indent(r.depth)), t.tree),
                        Span::styled(format!("{} ({})", r.name, r.pid), t.text),
                    ];
                    for l in &r.labels {
                        spans.push(Span::raw(" "));
                        spans.push(Span::styled(l.text.clone(), t.severity(l.severity)));
                    }
                    Line::from(spans)
                }
                Item::Gap => Line::raw(""),
                Item::Heading => Line::styled(
                    format!(" Flags, oldest first ({})", lines.flags.len()),
                    t.overlay_title,
                ),
                Item::Flag(f) => flag_line(f, data, now, utc, t),
            };
            put_line(buf, area, 0, dy, &line);
            if at == v.list.cursor() && dy < area.height {
                buf.set_style(
                    Rect {
                        y: area.y + dy,
                        height: 1,
                        ..area
                    },
                    t.selected,
                );
            }
        }
    }
}

/// ` 12:03 high T1059.004 reverse_shell 4242 bash: <description>`.
fn flag_line(f: &HeldFlag, data: &Data, now: u64, utc: i32, t: &Theme) -> Line<'static> {
    let time = match (data.unix_secs(f.host, f.f.time_ns), data.unix_secs(f.host, now)) {
        (Some(at), Some(now)) => crate::console::format::start_time(at, now, utc),
        _ => "-".to_owned(),
    };
    let mitre: Vec<&str> = f
        .f
        .mitre_mapping
        .iter()
        .map(|m| m.technique.as_str())
        .collect();
    let repeats = if f.f.repeat_count > 1 {
        format!(" (x{})", f.f.repeat_count)
    } else {
        String::new()
    };
    let style = if f.f.excepted {
        t.exited
    } else {
        t.severity(f.severity())
    };
    Line::from(vec![
        Span::styled(format!(" {time:<5} "), t.text),
        Span::styled(format!("{:<8} ", sev(f.f.severity)), style),
        Span::styled(format!("{:<10} ", mitre.join(",")), t.label),
        Span::styled(
            format!(
                "{} {} {}: {}{repeats}",
                f.f.short_name,
                f.key.map_or(0, |k| k.pid),
                f.f.name,
                f.f.description
            ),
            t.text,
        ),
    ])
}
