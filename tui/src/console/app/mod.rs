//! The console's state: hosts, processes, what the list shows, selection,
//! prompts and overlays.  No terminal types live here: the loop feeds it
//! perch.v1 messages (`ingest_*`), actions (`update`) and time (`tick`), and
//! [`crate::console::draw`] renders it.
mod ingest;
mod update;

use std::{
    cell::Cell,
    collections::HashSet,
    time::{Duration, Instant},
};

use perch_proto::v1::{GetInfoResponse, HostSample};

use super::{
    columns::{self, Column, Optional, Sort},
    filter::{Filter, FilterError},
    input::{Action, InputMode, TableGeometry},
    model::{FxBuild, HostId, Proc, ProcessKey, RowId, Store},
    search::Search,
    view::{self, View},
};

/// Settings the loop chooses (the config file will feed these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long exited processes stay on screen, dimmed.
    pub exited_retention: Duration,
    /// Local time's offset from UTC, for START and the detail view's dates
    /// (the console has no time zone database; the loop asks libc).
    pub utc_offset_secs: i32,
    /// False under `NO_COLOR`: bold, reverse and dim only.
    pub color: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            exited_retention: Duration::from_secs(30),
            utc_offset_secs: 0,
            color: true,
        }
    }
}

impl Config {
    /// Defaults, with colour off when `NO_COLOR` is set to anything non-empty
    /// (<https://no-color.org>).
    #[must_use]
    pub fn from_env() -> Config {
        Config {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            ..Config::default()
        }
    }
}

/// How the console reaches a host's collector, for the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConnectionState {
    #[default]
    Connecting,
    Connected,
    Reconnecting {
        attempt: u32,
        reason: String,
    },
    /// The collector runs inside this console (no perchd was reachable).
    Embedded,
    Disconnected {
        reason: String,
    },
}

/// One collector as the header shows it.
#[derive(Clone, Debug, Default)]
pub struct Host {
    pub name: String,
    pub info: Option<GetInfoResponse>,
    pub sample: Option<HostSample>,
    pub connection: ConnectionState,
    /// Kernel events lost, the highest count any message reported.
    pub lost_events: u64,
    /// Process events per second (exec, fork, exit, update).
    pub events_per_sec: f64,
    /// The last stream notice (lagged, resync), for the footer.
    pub notice: Option<String>,
    /// Newest host boot-clock time seen, and when it was ingested.
    clock: Option<(u64, Instant)>,
    events_since: u64,
    rate_since: Option<Instant>,
}

/// Which overlay is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help { scroll: usize },
    SortMenu { cursor: usize },
    Detail { cursor: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    None,
    Search,
    Filter,
}

/// The parent chain and children of the process in the detail view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    /// Nearest first, up to the root (pid 1 on a normal host).
    pub parents: Vec<ProcessKey>,
    /// By pid.
    pub children: Vec<ProcessKey>,
}

impl Links {
    /// Parents then children: what the detail cursor moves over.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<ProcessKey> {
        self.parents
            .get(i)
            .or_else(|| self.children.get(i.checked_sub(self.parents.len())?))
            .copied()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.parents.len() + self.children.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent view toggles (tree, kernel threads, follow) and flags"
)]
pub struct App {
    config: Config,
    hosts: Vec<Host>,
    store: Store,
    /// Bumped on every change to the rows (the search rescans when it moves).
    generation: u64,
    view: View,
    dirty: bool,
    selected: Option<ProcessKey>,
    /// Position of the selection in the view.
    cursor: usize,
    /// First row on screen; adjusted while drawing to keep the selection
    /// visible (the only state drawing changes).
    offset: Cell<usize>,
    geometry: Cell<TableGeometry>,
    tree: bool,
    tree_sort: Sort,
    table_sort: Sort,
    hide_kernel: bool,
    follow: bool,
    collapsed: HashSet<ProcessKey, FxBuild>,
    search: Search,
    filter_text: String,
    filter: Option<Filter>,
    filter_error: Option<FilterError>,
    prompt: Prompt,
    overlay: Overlay,
    now: Instant,
    quit: bool,
}

impl App {
    /// An empty console; `now` starts its clock.
    #[must_use]
    pub fn new(config: Config, now: Instant) -> App {
        App {
            config,
            hosts: Vec::new(),
            store: Store::default(),
            generation: 0,
            view: View::default(),
            dirty: false,
            selected: None,
            cursor: 0,
            offset: Cell::new(0),
            geometry: Cell::new(TableGeometry::default()),
            tree: true,
            tree_sort: Sort {
                column: Column::Pid,
                descending: false,
            },
            table_sort: Sort::default(),
            hide_kernel: false,
            follow: false,
            collapsed: HashSet::default(),
            search: Search::default(),
            filter_text: String::new(),
            filter: None,
            filter_error: None,
            prompt: Prompt::None,
            overlay: Overlay::None,
            now,
            quit: false,
        }
    }

    // ------------------------------------------------------------ queries

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[must_use]
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Where keys go now: pass it to [`super::action_for`].
    #[must_use]
    pub fn input_mode(&self) -> InputMode {
        match (self.prompt, self.overlay) {
            (Prompt::Search, _) => InputMode::Search,
            (Prompt::Filter, _) => InputMode::Filter,
            (_, Overlay::Help { .. }) => InputMode::Help,
            (_, Overlay::SortMenu { .. }) => InputMode::SortMenu,
            (_, Overlay::Detail { .. }) => InputMode::Detail,
            (_, Overlay::None) => InputMode::Normal,
        }
    }

    #[must_use]
    pub fn overlay(&self) -> Overlay {
        self.overlay
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

    /// Filter text as typed, and its parse error if it has one.
    #[must_use]
    pub fn filter(&self) -> (&str, Option<&FilterError>) {
        (&self.filter_text, self.filter_error.as_ref())
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
        columns::fit(width, self.optional_columns())
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
        i64::try_from(boot.saturating_add(boot_ns) / 1_000_000_000).ok()
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

    // ------------------------------------------------------------ rebuilding

    fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.dirty = true;
    }

    /// Rebuilds the list if anything changed; `tick` and `update` do this
    /// themselves, a loop that only ingests calls it before drawing.
    pub fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let force = if self.follow {
            self.unfold_to_selection();
            self.selected.and_then(|k| self.store.id_of(&k))
        } else {
            None
        };
        let names: Vec<String> = self.hosts.iter().map(|h| h.name.clone()).collect();
        self.view = View::build(
            &self.store,
            &view::Options {
                tree: self.tree,
                sort: self.sort(),
                hide_kernel: self.hide_kernel,
                collapsed: &self.collapsed,
                filter: self.filter.as_ref(),
                host_names: &names,
                force,
            },
        );
        self.search.refresh(&self.store, self.generation);
        self.place_cursor();
    }

    /// Expands the ancestors of the selection (following keeps it in sight).
    fn unfold_to_selection(&mut self) {
        if self.collapsed.is_empty() {
            return;
        }
        for k in self.links().parents {
            self.collapsed.remove(&k);
        }
    }

    /// Puts the cursor on the selected process; when it is gone, keeps the
    /// cursor's position and selects what is there now.
    fn place_cursor(&mut self) {
        if let Some(id) = self.selected.and_then(|k| self.store.id_of(&k))
            && let Some(pos) = self.view.position(id)
        {
            self.cursor = pos;
            return;
        }
        let in_store = self
            .selected
            .is_some_and(|k| self.store.id_of(&k).is_some());
        if self.follow && !in_store {
            self.follow = false;
        }
        // The detail view may show a process the list filters out: keep it.
        if in_store && matches!(self.overlay, Overlay::Detail { .. }) {
            return;
        }
        self.cursor = self.cursor.min(self.view.len().saturating_sub(1));
        self.selected = self
            .view
            .rows
            .get(self.cursor)
            .and_then(|r| self.store.get(r.id))
            .map(|p| p.key);
    }

    fn select_pos(&mut self, pos: usize) {
        if self.view.is_empty() {
            return;
        }
        self.cursor = pos.min(self.view.len() - 1);
        self.selected = self
            .view
            .rows
            .get(self.cursor)
            .and_then(|r| self.store.get(r.id))
            .map(|p| p.key);
    }

    fn row_id_at(&self, pos: usize) -> Option<RowId> {
        self.view.rows.get(pos).map(|r| r.id)
    }
}

#[cfg(test)]
mod tests;
