//! The confirmation dialog: what will be hit, the signal or priority, a
//! required reason, a dry-run toggle and a button that names the action.
//! Nothing leaves the dialog until its values pass the same checks as
//! `perch kill …`; then it is queued for the loop to send, and its answer
//! comes back as a result toast.
mod edit;
mod keys;
mod widget;

use std::fmt::Write as _;

use perch_proto::v1::{ActRequest, ActionKind, ActionMode, ProcessKey as WireKey, Signal};
use ratatui::buffer::Buffer;

use super::{Areas, Next, OverlayState};
use crate::{
    act::{self, ClientIdentity, InputError, REASON_MAX_BYTES},
    console::{
        App, Config,
        actions::{Hits, Request},
        app::Data,
        editor::{LineEditor, Limit},
        list::ScrollList,
        input::{Msg, PlaceInfo},
        model::{Proc, ProcessKey},
        theme::Theme,
        ui::Part as _,
    },
};

static INFO: PlaceInfo = PlaceInfo {
    global: false,
    text: true,
    acts: true,
    ..PlaceInfo::new("the action dialog", "Action dialog", None, keys::KEYS)
};

/// The priority field's length: `-20` fits, and room to type a mistake.
const PRIORITY_CHARS: usize = 8;

/// Where the dialog's keys go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Signal,
    Priority,
    Reason,
    DryRun,
    Confirm,
}

/// One process the action will hit, as the console knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub pid: u32,
    pub user: Box<str>,
    pub command: Box<str>,
    /// Runs as root (uid or euid 0).
    pub root: bool,
}

impl Member {
    #[must_use]
    pub fn of(p: &Proc) -> Member {
        Member {
            pid: p.key.pid,
            user: p.user.clone(),
            command: p.command.clone(),
            root: p.uid == 0 || p.euid == 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    pub kind: ActionKind,
    pub target: ProcessKey,
    /// The target's start time at full precision, as perchd wants it.
    pub start_time_ns: u64,
    /// The target as it was when the dialog opened (it may exit meanwhile).
    pub command: Box<str>,
    pub exe: Box<str>,
    pub user: Box<str>,
    /// `namespace/name`, empty when not in a pod.
    pub pod: String,
    pub nice_now: i32,
    /// Processes hit, by the console's model (target included).
    pub count: usize,
    /// Who they are: pid, user, command (target first), and the list's
    /// cursor (PgUp/PgDn scroll it when it is long).
    pub members: Vec<Member>,
    pub members_list: ScrollList,
    /// A named signal (Left/Right go through them)...
    pub signal: Signal,
    /// ...or the number typed in the signal field (1..64), which wins.
    pub number: LineEditor,
    /// The new nice value as typed (renice only).
    pub priority: LineEditor,
    pub reason: LineEditor,
    pub dry_run: bool,
    pub focus: Field,
    /// The reason's problem, shown once the user tried to confirm (or
    /// typed past the limit).
    pub reason_error: Option<InputError>,
}

const KILL_FIELDS: &[Field] = &[Field::Signal, Field::Reason, Field::DryRun, Field::Confirm];
const RENICE_FIELDS: &[Field] = &[
    Field::Priority,
    Field::Reason,
    Field::DryRun,
    Field::Confirm,
];
const PLAIN_FIELDS: &[Field] = &[Field::Reason, Field::DryRun, Field::Confirm];

impl Dialog {
    /// The dialog for `kind` on `key` (renice starts at `priority`, else
    /// at the current nice), unless the process is gone or exited, or
    /// actions on its host are not this console's to take.
    #[must_use]
    pub fn open(
        kind: ActionKind,
        key: ProcessKey,
        priority: Option<i32>,
        data: &Data,
        config: &Config,
    ) -> Option<Dialog> {
        let store = data.store();
        let p = store.by_key(&key)?;
        if data.read_only_on(config, key.host) || p.is_exited() {
            return None;
        }
        let hits = Hits::of(store, &key);
        let mut d = Dialog::new(kind, p, hits.count(kind), priority.unwrap_or(p.nice));
        if act::acts_on_many(kind) {
            d.members = hits
                .members(kind)
                .iter()
                .filter_map(|id| store.get(*id))
                .map(Member::of)
                .collect();
            d.members_list = ScrollList::new(d.members.len());
        }
        Some(d)
    }

    /// A dialog for `kind` on `p`, hitting `count` processes; renice starts
    /// at `priority`.
    #[must_use]
    pub fn new(kind: ActionKind, p: &Proc, count: usize, priority: i32) -> Dialog {
        let pod = if p.pod_name.is_empty() && p.pod_uid.is_empty() {
            String::new()
        } else if p.pod_name.is_empty() {
            p.pod_uid.to_string()
        } else {
            format!("{}/{}", p.pod_namespace, p.pod_name)
        };
        Dialog {
            kind,
            target: p.key,
            start_time_ns: p.start_time_ns,
            command: p.command.clone(),
            exe: p.exe.clone(),
            user: p.user.clone(),
            pod,
            nice_now: p.nice,
            count: count.max(1),
            members: Vec::new(),
            members_list: ScrollList::default(),
            // The polite request first; KILL is one Right away.
            signal: Signal::Term,
            number: LineEditor::new(Limit::Chars(2)),
            priority: LineEditor::with_text(
                priority
                    .clamp(*act::PRIORITY_RANGE.start(), *act::PRIORITY_RANGE.end())
                    .to_string(),
                Limit::Chars(PRIORITY_CHARS),
            ),
            reason: LineEditor::new(Limit::Bytes(REASON_MAX_BYTES)),
            dry_run: false,
            focus: Field::Reason,
            reason_error: None,
        }
    }

    /// The fields in Tab order.
    #[must_use]
    pub fn fields(&self) -> &'static [Field] {
        if act::takes_signal(self.kind) {
            KILL_FIELDS
        } else if self.kind == ActionKind::Renice {
            RENICE_FIELDS
        } else {
            PLAIN_FIELDS
        }
    }

    /// What is wrong with the priority as typed (renice only).
    #[must_use]
    pub fn priority_error(&self) -> Option<InputError> {
        if self.kind != ActionKind::Renice {
            return None;
        }
        act::parse_priority(self.priority.text()).err()
    }

    /// `YES, KILL TREE (7 PROCESSES)`, `DRY RUN: KILL POD (12 PROCESSES)`.
    #[must_use]
    pub fn confirm_label(&self) -> String {
        let mut what = act::kind_title(self.kind).to_ascii_uppercase();
        if self.kind == ActionKind::Renice
            && let Ok(p) = act::parse_priority(self.priority.text())
        {
            let _ = write!(what, " TO {p}");
        }
        if act::acts_on_many(self.kind) {
            let n = self.count;
            let unit = if n == 1 { "PROCESS" } else { "PROCESSES" };
            let _ = write!(what, " ({n} {unit})");
        }
        if self.dry_run {
            format!("DRY RUN: {what}")
        } else {
            format!("YES, {what}")
        }
    }

    /// The request, or the field to fix and why.
    pub fn request(&self, me: &ClientIdentity) -> Result<ActRequest, (Field, InputError)> {
        let reason = act::check_reason(self.reason.text()).map_err(|e| (Field::Reason, e))?;
        let priority = if self.kind == ActionKind::Renice {
            Some(act::parse_priority(self.priority.text()).map_err(|e| (Field::Priority, e))?)
        } else {
            None
        };
        let signal = if act::takes_signal(self.kind) {
            self.signal_number().map_err(|e| (Field::Signal, e))?
        } else {
            Signal::Unspecified.into()
        };
        Ok(ActRequest {
            action: self.kind.into(),
            target: Some(WireKey {
                pid: self.target.pid,
                start_time_ns: self.start_time_ns,
            }),
            reason,
            mode: if self.dry_run {
                ActionMode::DryRun
            } else {
                ActionMode::Live
            }
            .into(),
            signal,
            priority,
            client_origin: me.origin.clone(),
            client_process: me.key(),
        })
    }
}

impl OverlayState for Dialog {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        match msg {
            Msg::Cancel => return Next::Close,
            Msg::NextField => self.move_focus(1),
            Msg::PrevField => self.move_focus(-1),
            Msg::Decrease => self.step(-1),
            Msg::Increase => self.step(1),
            m if m.edits() => self.edit(msg),
            Msg::Confirm if self.focus == Field::Confirm => return self.send(app),
            Msg::Confirm => self.focus = Field::Confirm,
            Msg::PageUp | Msg::PageDown => {
                self.members_list.apply(msg, 5);
            }
            _ => {}
        }
        Next::Stay
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        widget::ActionDialog::new(app, self, theme).render_into(areas.body, buf);
    }
}

impl Dialog {
    /// The button: queue the request if the values pass, else put the
    /// focus on the field to fix.
    fn send(&mut self, app: &mut App) -> Next {
        match self.request(&app.config.client) {
            Err((field, e)) => {
                self.focus = field;
                if field == Field::Reason {
                    self.reason_error = Some(e);
                }
                Next::Stay
            }
            Ok(req) => {
                let dry = if self.dry_run { " (dry run)" } else { "" };
                let title = format!(
                    "{} {} ({}){dry}",
                    act::kind_title(self.kind),
                    self.target.pid,
                    program(&self.exe, &self.command)
                );
                let host = self.target.host;
                app.data.last_reason = Some(req.reason.clone());
                let id = app.data.queue(host, Request::Act(req.clone()));
                app.view.flash = Some(format!("{title}: sent, waiting for the collector"));
                app.data.await_answer(id, host, title, Some(req));
                Next::Close
            }
        }
    }
}

/// The program's name for titles: the executable's, else the command's
/// first word (argv may be anything a process chose).
fn program<'a>(exe: &'a str, command: &'a str) -> &'a str {
    let path = if exe.is_empty() {
        command.split_whitespace().next().unwrap_or("")
    } else {
        exe
    };
    path.rsplit('/').next().unwrap_or(path)
}
