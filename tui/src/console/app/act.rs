//! Response actions in the state: the read-only rules, what is queued, and
//! what comes back (the toast, the record in the action log, notes for the
//! detail view, signalled rows).  The menu and the dialog are overlays
//! ([`crate::console::overlays`]).
use perch_proto::v1::{ActRequest, ActResponse, ActionResult, AuditRecord, Signal};

use super::App;
use crate::{
    act,
    console::{
        actions::{Note, Outgoing, outcome},
        editor::{Limit, LineEditor},
        input::Msg,
        model::{HostId, ProcessKey},
        overlays::{
            Overlay,
            dialog::{Dialog, Field},
            toast::{ESCALATE_FOR, TOAST_FOR, Toast},
        },
    },
    text::clean,
};

impl App {
    /// True when no action may be offered anywhere: `--read-only`, every
    /// collector said this caller is a viewer, or the screens show the
    /// past (time travel).
    #[must_use]
    pub fn read_only(&self) -> bool {
        !self.is_live() || self.data.read_only(&self.config)
    }

    /// True when actions on `host`'s processes are hidden.
    #[must_use]
    pub fn read_only_on(&self, host: HostId) -> bool {
        !self.is_live() || self.data.read_only_on(&self.config, host)
    }

    /// Actions recorded on this process, oldest first.
    #[must_use]
    pub fn notes(&self, key: &ProcessKey) -> &[Note] {
        self.shown().acts.notes.get(key).map_or(&[], Vec::as_slice)
    }

    /// The signal a response action sent this process, if it was one
    /// that ends processes (see [`crate::act::ends_processes`]).
    #[must_use]
    pub fn signalled(&self, key: &ProcessKey) -> Option<i32> {
        self.shown().acts.signalled.get(key).copied()
    }

    /// Requests for the loop to send, oldest first.
    pub fn take_outbox(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.data.acts.outbox)
    }

    /// The collector's answer to request `id` (from [`App::take_outbox`]):
    /// a result toast, and its record noted on its processes and in the
    /// action log.
    pub fn ingest_act_result(&mut self, id: u64, result: Result<ActResponse, tonic::Status>) {
        let Some(p) = self.data.acts.pending.remove(&id) else {
            return;
        };
        self.data.acts.last_host = Some(p.host);
        let until = self.data.now + TOAST_FOR;
        let (toast, record) = match result {
            Ok(resp) => {
                let told = outcome::describe(&resp);
                // KILL for what a softer signal left running.
                let escalate = p
                    .request
                    .filter(|r| told.still_running && r.signal != i32::from(Signal::Kill))
                    .map(|r| ActRequest {
                        signal: Signal::Kill.into(),
                        ..r
                    });
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
                    detail: told.detail,
                    list: told.list,
                    until: if escalate.is_some() {
                        self.data.now + ESCALATE_FOR
                    } else {
                        until
                    },
                    escalate,
                };
                (toast, resp.record)
            }
            Err(status) => {
                let toast = Toast {
                    title: p.title,
                    result: ActionResult::NotSuccessful,
                    code: perch_proto::names::status_code_name(status.code()),
                    detail: clean(status.message()).into_owned(),
                    list: Vec::new(),
                    escalate: None,
                    until,
                };
                (toast, None)
            }
        };
        self.view.toast = Some(toast);
        self.view.flash = None;
        if let Some(r) = record {
            self.data.note_record(p.host, &r);
            self.data.audit.insert(p.host, r);
            self.refresh_log();
        }
        self.data.touch();
    }

    /// A key while a result shows: `k` on one that offers KILL opens the
    /// dialog pre-filled (KILL, the same target and reason, the button
    /// focused: Enter confirms); any other key dismisses it.
    pub(super) fn on_toast(&mut self, msg: Msg) {
        let Some(toast) = self.view.toast.take() else {
            return;
        };
        let (Msg::Escalate, Some(req)) = (msg, toast.escalate) else {
            return;
        };
        let Some(target) = req.target else { return };
        let host = self.data.acts.last_host.unwrap_or_default();
        let key = ProcessKey::new(host, target.pid, target.start_time_ns);
        match Dialog::open(req.action(), key, None, &self.data, &self.config) {
            Some(mut d) => {
                d.signal = Signal::Kill;
                d.reason = LineEditor::with_text(req.reason, Limit::Bytes(act::REASON_MAX_BYTES));
                d.focus = Field::Confirm;
                self.view.overlay = Some(Overlay::Dialog(d));
            }
            None => {
                self.view.flash = Some(format!(
                    "{} has exited or is gone: nothing to KILL",
                    target.pid
                ));
            }
        }
    }

    /// The loop wrote the column setup's choice (to this file), or could not.
    pub fn saved(&mut self, result: Result<String, String>) {
        self.view.flash = Some(match result {
            Ok(path) => format!("columns saved to {path}"),
            Err(e) => format!("columns not saved: {e}"),
        });
    }

    /// Time passes: the toast expires; what the store forgot, so do we.
    pub(super) fn act_tick(&mut self, rows_removed: bool) {
        if self
            .view
            .toast
            .as_ref()
            .is_some_and(|t| self.data.now >= t.until)
        {
            self.view.toast = None;
        }
        if self
            .view
            .notice
            .as_ref()
            .is_some_and(|n| self.data.now >= n.until)
        {
            self.view.notice = None;
        }
        if rows_removed {
            let acts = &mut self.data.acts;
            let store = &self.data.store;
            acts.notes.retain(|k, _| store.id_of(k).is_some());
            acts.signalled.retain(|k, _| store.id_of(k).is_some());
        }
    }
}

#[cfg(test)]
mod tests;
