//! What the widgets, the loop and the tests read from the [`App`]: the
//! data, the screens' state, the overlay, the toast, and shortcuts to what
//! the processes screen and the action log show.
use crossterm::event::KeyEvent;

use super::{App, Config, Data, Host};
use crate::console::{
    columns::{Optional, Sort},
    filter::FilterError,
    input::Msg,
    model::{HostId, Proc, Store},
    overlays::{Overlay, act_menu::Menu, dialog::Dialog, toast::Toast},
    rows::RowList,
    screens::{
        Screen, Screens,
        log::LogRows,
        processes::{Links, Processes},
    },
    search::Search,
};

impl App {
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[must_use]
    pub fn data(&self) -> &Data {
        self.shown()
    }

    #[must_use]
    pub fn should_quit(&self) -> bool {
        self.view.quit
    }

    /// `#`: the header's meters are hidden.
    #[must_use]
    pub fn meters_hidden(&self) -> bool {
        self.view.meters_hidden
    }

    /// The message for a key press, with the configured keys, where keys
    /// go now ([`App::focus`]).
    #[must_use]
    pub fn msg_for(&self, key: KeyEvent) -> Option<Msg> {
        self.config.keys.msg_for(key, self.focus())
    }

    #[must_use]
    pub fn screen(&self) -> Screen {
        self.view.screen
    }

    #[must_use]
    pub fn screens(&self) -> &Screens {
        &self.view.screens
    }

    #[must_use]
    pub fn overlay(&self) -> Option<&Overlay> {
        self.view.overlay.as_ref()
    }

    /// The action menu, when it is open.
    #[must_use]
    pub fn menu(&self) -> Option<&Menu> {
        match self.overlay()? {
            Overlay::ActMenu(m) => Some(m),
            _ => None,
        }
    }

    /// The confirmation dialog, when it is open.
    #[must_use]
    pub fn dialog(&self) -> Option<&Dialog> {
        match self.overlay()? {
            Overlay::Dialog(d) => Some(d),
            _ => None,
        }
    }

    #[must_use]
    pub fn toast(&self) -> Option<&Toast> {
        self.view.toast.as_ref()
    }

    /// The notable-trace notice, while it shows.
    #[must_use]
    pub fn notice(&self) -> Option<&crate::console::overlays::notice::Notice> {
        self.view.notice.as_ref()
    }

    /// The footer's one-off message, if any.
    #[must_use]
    pub fn flash(&self) -> Option<&str> {
        self.view.flash.as_deref()
    }

    #[must_use]
    pub fn hosts(&self) -> &[Host] {
        self.shown().hosts()
    }

    #[must_use]
    pub fn host(&self, id: HostId) -> Option<&Host> {
        self.shown().host(id)
    }

    #[must_use]
    pub fn host_name(&self, id: HostId) -> &str {
        self.shown().host_name(id)
    }

    /// The host the header describes: the selected row's, else the first.
    #[must_use]
    pub fn focus_host(&self) -> HostId {
        self.processes()
            .selected_key()
            .map_or(HostId(0), |k| k.host)
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        self.shown().store()
    }

    /// The host's boot-clock time now, extrapolated from the newest event.
    #[must_use]
    pub fn host_now_ns(&self, id: HostId) -> Option<u64> {
        self.shown().host_now_ns(id)
    }

    /// Unix time of a host boot-clock stamp, if the host's boot time is known.
    #[must_use]
    pub fn unix_secs(&self, id: HostId, boot_ns: u64) -> Option<i64> {
        self.shown().unix_secs(id, boot_ns)
    }

    /// The optional columns that have something to show.
    #[must_use]
    pub fn optional_columns(&self) -> Optional {
        self.shown().optional_columns()
    }

    /// Filter text as typed, and its parse error, of the screen showing.
    #[must_use]
    pub fn filter(&self) -> (&str, Option<&FilterError>) {
        self.view
            .screens
            .get(self.view.screen)
            .filter()
            .unwrap_or(("", None))
    }

    // ------------------------------------------------------- the processes

    #[must_use]
    pub fn processes(&self) -> &Processes {
        &self.view.screens.processes
    }

    /// The process list's rows.
    #[must_use]
    pub fn rows(&self) -> &RowList {
        self.processes().rows()
    }

    /// The selected process, if any row is shown.
    #[must_use]
    pub fn selected(&self) -> Option<&Proc> {
        self.processes().selected(self.shown().store())
    }

    /// Position of the selection in [`App::rows`].
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.processes().cursor()
    }

    #[must_use]
    pub fn is_tree(&self) -> bool {
        self.processes().is_tree()
    }

    #[must_use]
    pub fn sort(&self) -> Sort {
        self.processes().sort()
    }

    #[must_use]
    pub fn hides_kernel_threads(&self) -> bool {
        self.processes().hides_kernel_threads()
    }

    /// Thread rows are shown: the collectors should send thread samples.
    #[must_use]
    pub fn wants_threads(&self) -> bool {
        self.processes().shows_threads()
    }

    #[must_use]
    pub fn follows(&self) -> bool {
        self.processes().follows()
    }

    #[must_use]
    pub fn search(&self) -> &Search {
        self.processes().search()
    }

    #[must_use]
    pub fn filter_active(&self) -> bool {
        self.processes().filter_active()
    }

    /// Search matches among the rows the list shows.
    #[must_use]
    pub fn shown_match_count(&self) -> usize {
        self.processes().shown_match_count()
    }

    /// Parents and children of the selected process.
    #[must_use]
    pub fn links(&self) -> Links {
        self.processes().links(self.shown().store())
    }

    // ------------------------------------------------------- the action log

    /// What the action log shows.
    #[must_use]
    pub fn action_log(&self) -> LogRows<'_> {
        self.view.screens.log.rows(self.shown().audit())
    }
}
