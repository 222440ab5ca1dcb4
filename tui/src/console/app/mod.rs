//! The console's state: hosts, processes, what the list shows, selection,
//! prompts and overlays.  No terminal types live here: the loop feeds it
//! perch.v1 messages (`ingest_*`), actions (`update`) and time (`tick`), and
//! [`crate::console::draw`] renders it.  Requests the console wants sent
//! (actions, the audit log) wait in an outbox the loop empties
//! ([`App::take_outbox`]).
mod act;
mod ingest;
mod log;
mod query;
mod update;

use std::{
    cell::Cell,
    collections::HashSet,
    time::{Duration, Instant},
};

use perch_proto::v1::{GetInfoResponse, HostSample};

use crate::act::ClientIdentity;

use super::{
    audit::ActionLog,
    columns::{Column, ColumnSet, Sort},
    filter::{Filter, FilterError},
    input::{Keymap, TableGeometry},
    model::{FxBuild, ProcessKey, RowId, Store},
    search::Search,
    view::{self, View},
};

/// Settings the loop chooses (from the configuration file, `crate::config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long exited processes stay on screen, dimmed.
    pub exited_retention: Duration,
    /// Bytes the process rows may hold before exited ones go early.
    pub process_memory_bytes: usize,
    /// Local time's offset from UTC, for START and the detail view's dates
    /// (the console has no time zone database; the loop asks libc).
    pub utc_offset_secs: i32,
    /// False under `NO_COLOR`: bold, reverse and dim only.
    pub color: bool,
    /// `perch --read-only`: no action key does anything, none is shown.
    pub read_only: bool,
    /// This console, as action requests name it.
    pub client: ClientIdentity,
    /// The table's columns (COMMAND is always shown).
    pub columns: ColumnSet,
    /// The keys in effect.
    pub keys: Keymap,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            exited_retention: Duration::from_secs(30),
            process_memory_bytes: 32 << 20,
            utc_offset_secs: 0,
            color: true,
            read_only: false,
            client: ClientIdentity::default(),
            columns: ColumnSet::ALL,
            keys: Keymap::default(),
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
    /// What the HOST column, the host filter and the header call it.
    pub name: String,
    /// How the console reaches it (socket path or address).
    pub label: String,
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
    Help {
        scroll: usize,
    },
    SortMenu {
        cursor: usize,
    },
    Detail {
        cursor: usize,
    },
    /// The action menu ([`App::menu`]).
    ActMenu,
    /// The confirmation dialog ([`App::dialog`]).
    Dialog,
    /// The action log's column chooser.
    Columns {
        cursor: usize,
    },
    /// The selected audit record in full.
    Record {
        scroll: usize,
    },
}

/// What the body of the screen shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Screen {
    #[default]
    Processes,
    ActionLog,
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
#[expect(
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
    screen: Screen,
    act: act::ActState,
    log: ActionLog,
    /// A one-off line for the footer, until the next key.
    flash: Option<String>,
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
            screen: Screen::Processes,
            act: act::ActState::default(),
            log: ActionLog::default(),
            flash: None,
            now,
            quit: false,
        }
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
        self.selected = self.key_at_cursor();
    }

    fn select_pos(&mut self, pos: usize) {
        if self.view.is_empty() {
            return;
        }
        self.cursor = pos.min(self.view.len() - 1);
        self.selected = self.key_at_cursor();
    }

    fn key_at_cursor(&self) -> Option<ProcessKey> {
        let row = self.view.rows.get(self.cursor)?;
        self.store.get(row.id).map(|p| p.key)
    }

    fn row_id_at(&self, pos: usize) -> Option<RowId> {
        self.view.rows.get(pos).map(|r| r.id)
    }
}

#[cfg(test)]
mod tests;
