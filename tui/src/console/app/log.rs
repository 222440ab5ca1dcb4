//! The action log view in the reducer: switching to it (which fetches every
//! collector's audit log), moving, filtering, choosing columns, and taking
//! in what `ListAudit` returned.
use perch_proto::v1::ListAuditRequest;

use super::{App, Overlay, Prompt, Screen};
use crate::console::{
    actions::Request,
    audit::{ActionLog, AuditPage, Clock, FETCH_LIMIT, LogColumn, LogFilter},
    input::Action,
    model::HostId,
};

impl App {
    #[must_use]
    pub fn screen(&self) -> Screen {
        self.screen
    }

    #[must_use]
    pub fn action_log(&self) -> &ActionLog {
        &self.log
    }

    /// What `15:04` means in a filter: local time, on the hosts' clock
    /// (else the newest record's time).
    #[must_use]
    pub fn log_clock(&self) -> Clock {
        let host = self.focus_host();
        let now = self
            .host_now_ns(host)
            .and_then(|ns| self.unix_secs(host, ns))
            .or_else(|| {
                self.log
                    .shown()
                    .map(|(_, r)| {
                        i64::try_from(r.time_unix_ns / perch_proto::NS_PER_SEC).unwrap_or(0)
                    })
                    .max()
            })
            .unwrap_or(0);
        Clock {
            utc_offset_secs: self.config.utc_offset_secs,
            now_unix_secs: now,
        }
    }

    /// Asks `host`'s collector for its audit log.
    pub(super) fn fetch_audit(&mut self, host: HostId) {
        self.log.set_loading(host);
        self.queue(
            host,
            Request::ListAudit(ListAuditRequest { limit: FETCH_LIMIT }),
        );
    }

    fn fetch_all(&mut self) {
        for i in 0..self.hosts.len() {
            self.fetch_audit(HostId(u16::try_from(i).unwrap_or(u16::MAX)));
        }
    }

    /// `host`'s answer to `ListAudit`, or why there is none.
    pub fn ingest_audit(&mut self, host: HostId, page: Result<AuditPage, String>) {
        self.log.ingest(host, page);
        self.rebuild_log();
    }

    fn rebuild_log(&mut self) {
        let names: Vec<String> = self.hosts.iter().map(|h| h.name.clone()).collect();
        self.log.rebuild(&names);
    }

    /// Tab: processes <-> action log (entering fetches the log).
    pub(super) fn switch_screen(&mut self) {
        self.screen = match self.screen {
            Screen::Processes => {
                self.fetch_all();
                Screen::ActionLog
            }
            Screen::ActionLog => Screen::Processes,
        };
    }

    pub(super) fn action_log_input(&mut self, action: Action) {
        let page = isize::try_from(self.page()).unwrap_or(1);
        match action {
            Action::Up => self.log.move_by(-1),
            Action::Down => self.log.move_by(1),
            Action::PageUp => self.log.move_by(-page),
            Action::PageDown => self.log.move_by(page),
            Action::Scroll(n) => self.log.move_by(isize::try_from(n).unwrap_or(0)),
            Action::Home => self.log.cursor = 0,
            Action::End => self.log.move_by(isize::MAX),
            Action::Confirm if self.log.selected().is_some() => {
                self.overlay = Overlay::Record { scroll: 0 };
            }
            Action::Filter => self.prompt = Prompt::Filter,
            Action::Columns => self.overlay = Overlay::Columns { cursor: 0 },
            Action::Refresh => self.fetch_all(),
            Action::SwitchView => self.switch_screen(),
            Action::Cancel => {
                self.log.filter_text.clear();
                self.apply_log_filter();
            }
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            _ => {}
        }
    }

    /// The filter prompt while the action log shows.
    pub(super) fn log_filter_prompt(&mut self, action: Action) {
        match action {
            Action::Input(c) => {
                self.log.filter_text.push(c);
                self.apply_log_filter();
            }
            Action::Backspace => {
                self.log.filter_text.pop();
                self.apply_log_filter();
            }
            Action::Confirm => self.prompt = Prompt::None,
            Action::Cancel => {
                self.log.filter_text.clear();
                self.apply_log_filter();
                self.prompt = Prompt::None;
            }
            _ => {}
        }
    }

    /// Like the process filter: a valid filter applies at once, an invalid
    /// one keeps the last valid one and shows why.
    fn apply_log_filter(&mut self) {
        match LogFilter::parse(&self.log.filter_text, self.log_clock()) {
            Ok(f) => {
                self.log.filter_error = None;
                self.log.filter = (!f.is_empty()).then_some(f);
                self.rebuild_log();
            }
            Err(e) => self.log.filter_error = Some(e),
        }
    }

    pub(super) fn column_chooser(&mut self, action: Action) {
        let Overlay::Columns { cursor } = self.overlay else {
            return;
        };
        let last = LogColumn::ALL.len() - 1;
        match action {
            Action::Up => {
                self.overlay = Overlay::Columns {
                    cursor: cursor.saturating_sub(1),
                }
            }
            Action::Down => {
                self.overlay = Overlay::Columns {
                    cursor: (cursor + 1).min(last),
                }
            }
            Action::Confirm => self.log.toggle_column(cursor),
            Action::Cancel | Action::Columns => self.overlay = Overlay::None,
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            _ => {}
        }
    }

    pub(super) fn record_view(&mut self, action: Action) {
        let Overlay::Record { scroll } = self.overlay else {
            return;
        };
        self.overlay = match action {
            Action::Up => Overlay::Record {
                scroll: scroll.saturating_sub(1),
            },
            Action::Down => Overlay::Record {
                scroll: (scroll + 1).min(500),
            },
            Action::Help => Overlay::Help { scroll: 0 },
            _ => Overlay::None,
        };
    }
}

#[cfg(test)]
mod tests;
