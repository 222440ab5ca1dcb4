//! One audit record in full (Enter in the action log): who, from where,
//! what, the target, every process it touched and the hash chain.
use std::fmt::Write as _;

use perch_proto::{
    names,
    v1::{ActionMode, AuditRecord, ProcessOutcome, Role},
};
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{Areas, Next, OverlayState};
use crate::{
    act,
    console::{
        App,
        input::{Binding, Msg, PlaceInfo, SCROLL_DOWN, SCROLL_UP},
        list::ScrollList,
        screens::log::{actor, when},
        theme::Theme,
        ui::{Part, frame, put_line, widget_for_ref},
    },
    text::clean,
};

static INFO: PlaceInfo = PlaceInfo::new(
    "an audit record",
    "Audit record (Enter in the action log)",
    None,
    KEYS,
);

static KEYS: &[Binding] = &[
    SCROLL_DOWN,
    SCROLL_UP,
];

/// Lines the record may scroll by.
const MAX_SCROLL: usize = 500;

/// The first line shown (a pager: the cursor is the top line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub list: ScrollList,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            list: ScrollList::new(MAX_SCROLL + 1),
        }
    }
}

impl OverlayState for Record {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, _app: &mut App) -> Next {
        if matches!(msg, Msg::Up | Msg::Down) {
            self.list.apply(msg, 1);
            Next::Stay
        } else {
            Next::Close
        }
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        RecordView {
            app,
            theme,
            scroll: self.list.cursor(),
            host_id: app
                .action_log()
                .selected()
                .map_or_else(Default::default, |(h, _)| h),
        }
        .render_into(areas.body, buf);
    }
}

/// One process of the record: `#` for root, pid, outcome, user, command
/// line (the exe when perchd did not record one), perchd's detail.
fn process_line(p: &perch_proto::v1::AffectedProcess) -> Line<'static> {
    let outcome = outcome_word(p.outcome());
    let pid = p.key.map_or(0, |k| k.pid);
    let user = if p.user.is_empty() {
        p.uid.map(|u| u.to_string()).unwrap_or_default()
    } else {
        clean(&p.user).into_owned()
    };
    let cmd = if p.argv.is_empty() {
        clean(&p.exe).into_owned()
    } else {
        p.argv.iter().map(|a| clean(a)).collect::<Vec<_>>().join(" ")
    };
    let mark = if p.root { '#' } else { ' ' };
    Line::raw(format!(
        " {mark}{pid:>7} {outcome:<9} {user:<9} {cmd} {}",
        clean(&p.detail)
    ))
}

pub struct RecordView<'a> {
    app: &'a App,
    theme: &'a Theme,
    scroll: usize,
    /// The record's host (its boot clock dates the target's start).
    host_id: crate::console::model::HostId,
}

widget_for_ref!(RecordView);

impl RecordView<'_> {
    /// A start time (host boot clock) as a local date, else seconds after boot.
    fn started(&self, boot_ns: u64) -> String {
        self.app.unix_secs(self.host_id, boot_ns).map_or_else(
            || format!("{} s after boot", boot_ns / perch_proto::NS_PER_SEC),
            |s| crate::console::format::date_time(s, self.app.config().utc_offset_secs),
        )
    }

    fn kv(&self, k: &str, v: String) -> Line<'static> {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), self.theme.label),
            Span::styled(v, self.theme.text),
        ])
    }

    fn lines(&self, host: &str, r: &AuditRecord) -> Vec<Line<'static>> {
        let role = match r.actor_role() {
            Role::Unspecified => "role unknown".to_owned(),
            known => names::short(known),
        };
        let mode = if r.mode() == ActionMode::DryRun {
            "dry run"
        } else {
            "live"
        };
        let mut how = format!("{} ({mode})", act::kind_title(r.action()));
        let sig = act::signal_name(r.signal());
        if !sig.is_empty() {
            let _ = write!(how, ", signal {sig}");
        }
        if let Some(p) = r.priority {
            let _ = write!(how, ", priority {p}");
        }
        let mut result = format!("{} {}", act::status_title(r), clean(&r.code));
        if !r.detail.is_empty() {
            let _ = write!(result, " — {}", clean(&r.detail));
        }
        let tg = r.target.clone().unwrap_or_default();
        let key = tg.key.unwrap_or_default();
        let mut out = vec![
            self.kv("Record", format!("{} (line {})", clean(&r.id), r.line)),
            self.kv("Time", when(self.app, r)),
            self.kv(
                "Host",
                if host.is_empty() {
                    clean(&r.host).into_owned()
                } else {
                    host.to_owned()
                },
            ),
            self.kv(
                "Actor",
                format!("{} (uid {}, {role})", actor(r), r.actor_uid),
            ),
            self.kv("Origin", clean(&r.origin).into_owned()),
            self.kv("Action", how),
            self.kv(
                "Target",
                format!(
                    "{} {} (started {}, {})",
                    key.pid,
                    clean(&tg.exe),
                    self.started(key.start_time_ns),
                    clean(&tg.user)
                ),
            ),
            self.kv(
                "Argv",
                tg.argv
                    .iter()
                    .map(|a| clean(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            self.kv("Cgroup", clean(&tg.cgroup_path).into_owned()),
        ];
        if !tg.pod_uid.is_empty() {
            out.push(self.kv(
                "Pod",
                format!(
                    "{}/{} ({})",
                    clean(&tg.pod_namespace),
                    clean(&tg.pod_name),
                    clean(&tg.pod_uid)
                ),
            ));
        }
        out.extend([
            self.kv("Reason", clean(&r.reason).into_owned()),
            self.kv("Result", result),
            Line::styled(
                format!("Processes ({})", r.processes.len()),
                self.theme.label,
            ),
        ]);
        out.extend(r.processes.iter().map(process_line));
        out.push(self.kv("Prev hash", clean(&r.prev_hash).into_owned()));
        out.push(self.kv("Hash", clean(&r.hash).into_owned()));
        out
    }
}

/// One affected process's outcome, in at most 9 columns.
fn outcome_word(o: ProcessOutcome) -> &'static str {
    match o {
        ProcessOutcome::WouldAct => "would act",
        ProcessOutcome::Done => "done",
        ProcessOutcome::Gone => "gone",
        ProcessOutcome::Failed => "failed",
        ProcessOutcome::Exited => "exited",
        ProcessOutcome::StillRunning => "running",
        ProcessOutcome::Stopped => "stopped",
        ProcessOutcome::Unspecified => "?",
    }
}

impl Part for RecordView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let Some((host, r)) = self.app.action_log().selected() else {
            return;
        };
        let inner = frame(buf, area, "Audit record (Esc closes)", self.theme);
        let lines = self.lines(self.app.host_name(host), r);
        let h = usize::from(inner.height);
        let scroll = self.scroll.min(lines.len().saturating_sub(h));
        for (i, line) in lines.iter().skip(scroll).take(h).enumerate() {
            put_line(buf, inner, 0, u16::try_from(i).unwrap_or(u16::MAX), line);
        }
    }
}
