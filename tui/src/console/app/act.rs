//! Response actions in the state: the read-only rules, what is queued, and
//! what comes back (the toast, the record in the action log, notes for the
//! detail view, defunct rows).  The menu and the dialog are overlays
//! ([`crate::console::overlays`]).
use perch_proto::v1::{ActResponse, ActionResult, AuditRecord};

use super::App;
use crate::{
    act,
    console::{
        actions::{Note, Outgoing},
        model::{HostId, ProcessKey},
        overlays::toast::{TOAST_FOR, Toast},
    },
    text::clean,
};

impl App {
    /// True when no action may be offered anywhere: `--read-only`, or
    /// every collector said this caller is a viewer.
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.data.read_only(&self.config)
    }

    /// True when actions on `host`'s processes are hidden.
    #[must_use]
    pub fn read_only_on(&self, host: HostId) -> bool {
        self.data.read_only_on(&self.config, host)
    }

    /// Actions recorded on this process, oldest first.
    #[must_use]
    pub fn notes(&self, key: &ProcessKey) -> &[Note] {
        self.data.acts.notes.get(key).map_or(&[], Vec::as_slice)
    }

    /// Killed and not yet reported exited.
    #[must_use]
    pub fn is_defunct(&self, key: &ProcessKey) -> bool {
        self.data.acts.defunct.contains(key)
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
        let until = self.data.now + TOAST_FOR;
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
        self.view.toast = Some(toast);
        self.view.flash = None;
        if let Some(r) = record {
            self.data.note_record(p.host, &r);
            self.data.audit.insert(p.host, r);
            self.refresh_log();
        }
        self.data.touch();
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
        if rows_removed {
            let acts = &mut self.data.acts;
            let store = &self.data.store;
            acts.notes.retain(|k, _| store.id_of(k).is_some());
            acts.defunct.retain(|k| store.id_of(k).is_some());
        }
    }
}

#[cfg(test)]
mod tests;
