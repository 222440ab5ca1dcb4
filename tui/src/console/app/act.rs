//! Response actions in the reducer: the menu, the dialog, what is sent and
//! what comes back (the toast, defunct rows, notes for the detail view),
//! and the read-only rules that hide all of it.
use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use perch_proto::v1::{
    ActResponse, ActionKind, ActionMode, ActionResult, AuditRecord, ProcessOutcome, Role,
};

use super::{App, Overlay, Screen};
use crate::{
    act,
    console::{
        actions::{
            Dialog, Field, Hits, Menu, MenuItem, Note, Outgoing, Request, Toast, menu_kinds,
        },
        input::Action,
        model::{FxBuild, HostId, ProcessKey},
    },
    text::clean,
};

/// How long a result stays on screen without a key press.
pub const TOAST_FOR: Duration = Duration::from_secs(5);

/// A request sent and not yet answered.
#[derive(Debug)]
struct Pending {
    host: HostId,
    title: String,
}

#[derive(Debug, Default)]
pub(super) struct ActState {
    menu: Option<Menu>,
    dialog: Option<Dialog>,
    toast: Option<Toast>,
    outbox: Vec<Outgoing>,
    pending: HashMap<u64, Pending>,
    next_id: u64,
    notes: HashMap<ProcessKey, Vec<Note>, FxBuild>,
    /// Killed (by us or, via the event stream, anyone) and not yet exited.
    defunct: HashSet<ProcessKey, FxBuild>,
}

impl App {
    // ------------------------------------------------------------ queries

    /// True when no action may be offered anywhere: `--read-only`, or
    /// every collector said this caller is a viewer.
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.config.read_only
            || (!self.hosts.is_empty() && (0..self.hosts.len()).all(|i| self.viewer_on(i)))
    }

    fn viewer_on(&self, i: usize) -> bool {
        self.hosts
            .get(i)
            .and_then(|h| h.info.as_ref())
            .is_some_and(|info| info.caller_role() == Role::Viewer)
    }

    /// True when actions on `host`'s processes are hidden.
    #[must_use]
    pub fn read_only_on(&self, host: HostId) -> bool {
        self.config.read_only || self.viewer_on(usize::from(host.0))
    }

    #[must_use]
    pub fn menu(&self) -> Option<&Menu> {
        self.act.menu.as_ref()
    }

    #[must_use]
    pub fn dialog(&self) -> Option<&Dialog> {
        self.act.dialog.as_ref()
    }

    #[must_use]
    pub fn toast(&self) -> Option<&Toast> {
        self.act.toast.as_ref()
    }

    /// Actions recorded on this process, oldest first.
    #[must_use]
    pub fn notes(&self, key: &ProcessKey) -> &[Note] {
        self.act.notes.get(key).map_or(&[], Vec::as_slice)
    }

    /// Killed and not yet reported exited.
    #[must_use]
    pub fn is_defunct(&self, key: &ProcessKey) -> bool {
        self.act.defunct.contains(key)
    }

    /// The footer's one-off message, if any.
    #[must_use]
    pub fn flash(&self) -> Option<&str> {
        self.flash.as_deref()
    }

    /// Requests for the loop to send, oldest first.
    pub fn take_outbox(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.act.outbox)
    }

    pub(super) fn queue(&mut self, host: HostId, request: Request) -> u64 {
        self.act.next_id += 1;
        let id = self.act.next_id;
        self.act.outbox.push(Outgoing { id, host, request });
        id
    }

    // ------------------------------------------------------------ keys

    /// `k` / F9 on the selected process.
    pub(super) fn open_menu(&mut self) {
        let Some(p) = self.selected() else { return };
        if self.read_only_on(p.key.host) {
            return;
        }
        if p.is_exited() {
            self.flash = Some(format!("{} has exited: nothing to act on", p.key.pid));
            return;
        }
        let hits = Hits::of(&self.store, &p.key);
        let items = menu_kinds(!p.pod_uid.is_empty())
            .into_iter()
            .map(|kind| MenuItem {
                kind,
                count: hits.count(kind),
            })
            .collect();
        self.act.menu = Some(Menu {
            target: p.key,
            items,
            cursor: 0,
        });
        self.overlay = Overlay::ActMenu;
    }

    /// The dialog for `kind` on `key`; renice starts at `priority`.
    fn open_dialog(&mut self, kind: ActionKind, key: ProcessKey, priority: Option<i32>) {
        let Some(p) = self.store.by_key(&key) else {
            return;
        };
        if self.read_only_on(key.host) || p.is_exited() {
            return;
        }
        let count = Hits::of(&self.store, &key).count(kind);
        let priority = priority.unwrap_or(p.nice);
        self.act.dialog = Some(Dialog::new(kind, p, count, priority));
        self.overlay = Overlay::Dialog;
    }

    /// F7 / F8: renice at the current nice value plus `delta`.
    pub(super) fn open_renice(&mut self, delta: i8) {
        let Some(p) = self.selected() else { return };
        if p.is_exited() {
            return;
        }
        let (key, nice) = (p.key, p.nice);
        self.open_dialog(
            ActionKind::Renice,
            key,
            Some(nice.saturating_add(i32::from(delta))),
        );
    }

    pub(super) fn act_menu(&mut self, action: Action) {
        let Some(menu) = self.act.menu.as_mut() else {
            self.overlay = Overlay::None;
            return;
        };
        let last = menu.items.len().saturating_sub(1);
        match action {
            Action::Up => menu.cursor = menu.cursor.saturating_sub(1),
            Action::Down => menu.cursor = (menu.cursor + 1).min(last),
            Action::Home => menu.cursor = 0,
            Action::End => menu.cursor = last,
            Action::Confirm => {
                let (kind, key) = (menu.items.get(menu.cursor).map(|i| i.kind), menu.target);
                self.act.menu = None;
                self.overlay = Overlay::None;
                if let Some(kind) = kind {
                    self.open_dialog(kind, key, None);
                }
            }
            Action::Cancel | Action::ActMenu => {
                self.act.menu = None;
                self.overlay = Overlay::None;
            }
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            _ => {}
        }
    }

    pub(super) fn dialog_input(&mut self, action: Action) {
        let Some(d) = self.act.dialog.as_mut() else {
            self.overlay = Overlay::None;
            return;
        };
        match action {
            Action::Cancel => {
                self.act.dialog = None;
                self.overlay = Overlay::None;
            }
            Action::NextField => d.move_focus(1),
            Action::PrevField => d.move_focus(-1),
            Action::Decrease => d.step(-1),
            Action::Increase => d.step(1),
            Action::Input(c) => d.input(c),
            Action::Backspace => d.backspace(),
            Action::Confirm if d.focus == Field::Confirm => self.send_dialog(),
            Action::Confirm => d.focus = Field::Confirm,
            _ => {}
        }
    }

    /// The button: queue the request if the dialog's values pass, else put
    /// the focus on the field to fix.
    fn send_dialog(&mut self) {
        let Some(d) = self.act.dialog.as_mut() else {
            return;
        };
        match d.request(&self.config.client) {
            Err((field, e)) => {
                d.focus = field;
                if field == Field::Reason {
                    d.reason_error = Some(e);
                }
            }
            Ok(req) => {
                let dry = if d.dry_run { " (dry run)" } else { "" };
                let title = format!(
                    "{} {} ({}){dry}",
                    act::kind_title(d.kind),
                    d.target.pid,
                    program(&d.exe, &d.command)
                );
                let host = d.target.host;
                self.act.dialog = None;
                self.overlay = Overlay::None;
                let id = self.queue(host, Request::Act(req));
                self.flash = Some(format!("{title}: sent, waiting for the collector"));
                self.act.pending.insert(id, Pending { host, title });
            }
        }
    }

    /// Any key while a result shows: it goes.
    pub(super) fn dismiss_toast(&mut self) {
        self.act.toast = None;
    }

    // ------------------------------------------------------------ answers

    /// The collector's answer to request `id` (from [`App::take_outbox`]).
    pub fn ingest_act_result(&mut self, id: u64, result: Result<ActResponse, tonic::Status>) {
        let Some(p) = self.act.pending.remove(&id) else {
            return;
        };
        let until = self.now + TOAST_FOR;
        let (toast, record) = match result {
            Ok(resp) => {
                let toast = Toast {
                    title: p.title,
                    result: resp
                        .record
                        .as_ref()
                        .map_or(ActionResult::NotSuccessful, AuditRecord::result),
                    code: resp
                        .record
                        .as_ref()
                        .map(|r| clean(&r.code).into_owned())
                        .unwrap_or_default(),
                    detail: act::summary(&resp),
                    until,
                };
                (toast, resp.record)
            }
            Err(status) => {
                let toast = Toast {
                    title: p.title,
                    result: ActionResult::NotSuccessful,
                    code: perch_proto::names::status_code_name(status.code()),
                    detail: clean(status.message()).into_owned(),
                    until,
                };
                (toast, None)
            }
        };
        self.act.toast = Some(toast);
        self.flash = None;
        if let Some(r) = &record {
            self.note_record(p.host, r);
        }
        if self.screen == Screen::ActionLog {
            self.fetch_audit(p.host);
        }
        self.touch();
    }

    /// An audit record (our answer, or an action event from the stream):
    /// noted on every process it names; live kills that worked mark their
    /// processes defunct until the exit arrives.
    pub(super) fn note_record(&mut self, host: HostId, r: &AuditRecord) {
        let key = |k: &perch_proto::v1::ProcessKey| ProcessKey::new(host, k.pid, k.start_time_ns);
        let target = r.target.as_ref().and_then(|t| t.key.as_ref()).map(key);
        let mut keys: Vec<ProcessKey> = target.into_iter().collect();
        keys.extend(r.processes.iter().filter_map(|p| p.key.as_ref()).map(key));
        keys.sort_unstable();
        keys.dedup();
        let note = Note::from_record(r);
        for k in keys.into_iter().filter(|k| self.store.id_of(k).is_some()) {
            let notes = self.act.notes.entry(k).or_default();
            if note.id.is_empty() || !notes.iter().any(|n| n.id == note.id) {
                notes.push(note.clone());
            }
        }
        let worked = matches!(r.result(), ActionResult::Success | ActionResult::Partial);
        if r.mode() == ActionMode::Live && worked && act::ends_processes(r.action(), r.signal()) {
            let done: Vec<ProcessKey> = r
                .processes
                .iter()
                .filter(|p| p.outcome() == ProcessOutcome::Done)
                .filter_map(|p| p.key.as_ref())
                .map(key)
                .collect();
            if done.is_empty() {
                self.act.defunct.extend(target);
            } else {
                self.act.defunct.extend(done);
            }
        }
    }

    /// Time passes: the toast expires; what the store forgot, so do we.
    pub(super) fn act_tick(&mut self, rows_removed: bool) {
        if self.act.toast.as_ref().is_some_and(|t| self.now >= t.until) {
            self.act.toast = None;
        }
        if rows_removed {
            let store = &self.store;
            self.act.notes.retain(|k, _| store.id_of(k).is_some());
            self.act.defunct.retain(|k| store.id_of(k).is_some());
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

#[cfg(test)]
mod tests;
