//! What the widgets and the loop read from the [`App`]: hosts, rows, the
//! view, modes and prompts, clocks, links; plus the two bits of state
//! drawing records (scroll offset, table geometry) and click hit-testing.
use std::collections::HashSet;

use crossterm::event::KeyEvent;

use super::{App, Config, Host, Links, Overlay, Prompt, Screen};
use crate::console::{
    columns::{self, Column, Optional, Sort},
    filter::FilterError,
    input::{Action, InputMode, TableGeometry},
    model::{HostId, Proc, ProcessKey, Store},
    search::Search,
    view::View,
};

impl App {
    // ------------------------------------------------------------ queries

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[must_use]
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The action for a key press, with the configured keys in the current
    /// mode.
    #[must_use]
    pub fn action_for(&self, key: KeyEvent) -> Option<Action> {
        self.config.keys.action_for(key, self.input_mode())
    }

    /// Where keys go now (see [`App::action_for`]).
    #[must_use]
    pub fn input_mode(&self) -> InputMode {
        match (self.prompt, self.overlay) {
            (Prompt::Search, _) => InputMode::Search,
            (Prompt::Filter, _) => InputMode::Filter,
            (_, Overlay::Dialog) => InputMode::Dialog,
            // A result on screen takes the next key (to go away).
            _ if self.toast().is_some() => InputMode::Toast,
            (_, Overlay::Help { .. }) => InputMode::Help,
            (_, Overlay::SortMenu { .. }) => InputMode::SortMenu,
            (_, Overlay::Detail { .. }) => InputMode::Detail,
            (_, Overlay::ActMenu) => InputMode::ActMenu,
            (_, Overlay::Columns { .. }) => InputMode::Columns,
            (_, Overlay::Record { .. }) => InputMode::Record,
            (_, Overlay::None) => match self.screen {
                Screen::Processes => InputMode::Normal,
                Screen::ActionLog => InputMode::ActionLog,
            },
        }
    }

    #[must_use]
    pub fn overlay(&self) -> Overlay {
        self.overlay
    }

    /// Search matches among the rows the list shows; a filter or a
    /// collapsed subtree hides the others (`search().match_count()`).
    #[must_use]
    pub fn shown_match_count(&self) -> usize {
        self.view
            .rows
            .iter()
            .filter(|r| self.search.is_match(r.id))
            .count()
    }

    #[must_use]
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    #[must_use]
    pub fn host(&self, id: HostId) -> Option<&Host> {
        self.hosts.get(usize::from(id.0))
    }

    /// The host the header describes: the selected row's, else the first.
    #[must_use]
    pub fn focus_host(&self) -> HostId {
        self.selected.map_or(HostId(0), |k| k.host)
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    #[must_use]
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The selected process, if any row is shown.
    #[must_use]
    pub fn selected(&self) -> Option<&Proc> {
        self.store.by_key(&self.selected?)
    }

    /// Position of the selection in [`App::view`].
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    #[must_use]
    pub fn is_tree(&self) -> bool {
        self.tree
    }

    #[must_use]
    pub fn sort(&self) -> Sort {
        if self.tree {
            self.tree_sort
        } else {
            self.table_sort
        }
    }

    #[must_use]
    pub fn hides_kernel_threads(&self) -> bool {
        self.hide_kernel
    }

    #[must_use]
    pub fn follows(&self) -> bool {
        self.follow
    }

    #[must_use]
    pub fn search(&self) -> &Search {
        &self.search
    }

    /// Filter text as typed, and its parse error if it has one (of the
    /// action log's filter while that shows).
    #[must_use]
    pub fn filter(&self) -> (&str, Option<&FilterError>) {
        match self.screen {
            Screen::Processes => (&self.filter_text, self.filter_error.as_ref()),
            Screen::ActionLog => (&self.log.filter_text, self.log.filter_error.as_ref()),
        }
    }

    #[must_use]
    pub fn filter_active(&self) -> bool {
        self.filter.as_ref().is_some_and(|f| !f.is_empty())
    }

    /// True while typing in the search prompt.
    #[must_use]
    pub fn typing_search(&self) -> bool {
        self.prompt == Prompt::Search
    }

    /// True while typing in the filter prompt.
    #[must_use]
    pub fn typing_filter(&self) -> bool {
        self.prompt == Prompt::Filter
    }

    /// The optional columns that have something to show.
    #[must_use]
    pub fn optional_columns(&self) -> Optional {
        Optional {
            container: self
                .store
                .iter()
                .any(|(_, p)| !p.container_id.is_empty() || !p.pod_name.is_empty()),
            host: self.hosts.len() > 1,
        }
    }

    /// The columns shown at the last drawn width (all when never drawn).
    #[must_use]
    pub fn columns(&self) -> Vec<(Column, u16)> {
        let width = match self.geometry.get().width {
            0 => u16::MAX,
            w => w,
        };
        columns::fit(width, self.optional_columns(), self.config.columns)
    }

    /// The host's boot-clock time now, extrapolated from the newest event.
    #[must_use]
    pub fn host_now_ns(&self, id: HostId) -> Option<u64> {
        let (ns, at) = self.host(id)?.clock?;
        let since = self.now.saturating_duration_since(at);
        Some(ns.saturating_add(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)))
    }

    /// Unix time of a host boot-clock stamp, if the host's boot time is known.
    #[must_use]
    pub fn unix_secs(&self, id: HostId, boot_ns: u64) -> Option<i64> {
        let boot = self.host(id)?.info.as_ref()?.boot_time_unix_ns;
        if boot == 0 {
            return None;
        }
        i64::try_from(boot.saturating_add(boot_ns) / perch_proto::NS_PER_SEC).ok()
    }

    #[must_use]
    pub fn host_name(&self, id: HostId) -> &str {
        self.host(id).map_or("", |h| h.name.as_str())
    }

    /// Parents and children of the selected process.
    #[must_use]
    pub fn links(&self) -> Links {
        let Some(sel) = self.selected() else {
            return Links::default();
        };
        let live = self.store.live_by_pid();
        let mut parents = Vec::new();
        let mut seen = HashSet::from([sel.key]);
        let mut cur = sel;
        while let Some(pid) = self.store.parent_of(cur, &live)
            && let Some(p) = self.store.get(pid)
            && seen.insert(p.key)
        {
            parents.push(p.key);
            cur = p;
        }
        let sel_id = self.store.id_of(&sel.key);
        let mut children: Vec<ProcessKey> = self
            .store
            .iter()
            .filter(|(id, p)| Some(*id) != sel_id && self.store.parent_of(p, &live) == sel_id)
            .map(|(_, p)| p.key)
            .collect();
        children.sort_unstable_by_key(|k| (k.pid, k.start_tick));
        Links { parents, children }
    }

    // ------------------------------------------------------------ drawing support

    /// Records where the table was drawn (the widget calls this).
    pub fn set_geometry(&self, g: TableGeometry) {
        self.geometry.set(g);
    }

    #[must_use]
    pub fn geometry(&self) -> TableGeometry {
        self.geometry.get()
    }

    /// The first row to draw in a body of `height` rows, moved just enough
    /// to show the selection (centred while following).
    #[must_use]
    pub fn scroll_offset(&self, height: usize) -> usize {
        let len = self.view.len();
        let max = len.saturating_sub(height.max(1));
        let mut off = self.offset.get();
        if self.follow {
            off = self.cursor.saturating_sub(height / 2);
        } else if self.cursor < off {
            off = self.cursor;
        } else if height > 0 && self.cursor >= off + height {
            off = self.cursor + 1 - height;
        }
        let off = off.min(max);
        self.offset.set(off);
        off
    }

    /// The action for a click at a screen position (see [`super::mouse_action`]).
    #[must_use]
    pub fn hit(&self, x: u16, y: u16) -> Option<Action> {
        if self.input_mode() != InputMode::Normal {
            return None;
        }
        let g = self.geometry.get();
        if x < g.x || x >= g.x.saturating_add(g.width) {
            return None;
        }
        if y == g.header_y {
            return columns::at(&self.columns(), x - g.x).map(Action::SortBy);
        }
        if y >= g.body_y && y < g.body_y.saturating_add(g.height) {
            let pos = self.offset.get() + usize::from(y - g.body_y);
            let row = self.view.rows.get(pos)?;
            return self.store.get(row.id).map(|p| Action::Select(p.key));
        }
        None
    }
}
