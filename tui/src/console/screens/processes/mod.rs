//! The processes screen: the tree or table of every host's processes, its
//! selection, sort, collapsed nodes, fuzzy search and filter.  The rows are
//! derived from the store ([`RowList`]) and rebuilt when the data or a
//! setting changes; the selection follows the process, not the row.
mod cells;
mod keys;
mod links;
mod status;
pub(crate) mod table;
mod update;

use std::collections::HashSet;

use ratatui::{buffer::Buffer, layout::Rect, text::Line};

pub use self::links::{Above, Links};
use super::{Cx, ScreenInfo, ScreenState};
use crate::console::{
    App,
    app::Data,
    columns::{self, Column, Columns, Sort},
    editor::LineEditor,
    filter::{Filter, FilterError},
    input::{Key, Msg, PlaceInfo, k},
    list::ScrollList,
    model::{FxBuild, Proc, ProcessKey, Store},
    overlays::Overlay,
    rows::{self, RowList},
    search::Search,
    theme::Theme,
    ui::Part as _,
};

static INFO: ScreenInfo = ScreenInfo {
    place: PlaceInfo::new("the process list", "Process list", Some(""), keys::KEYS),
    title: "Processes",
    short: "Processes",
    show: "show-processes",
    key: k('p'),
};

/// Which prompt takes the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    Search,
    Filter,
}

#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent settings (tree, kernel threads, threads, follow) and a flag"
)]
pub struct Processes {
    rows: RowList,
    /// The data generation the rows were built at.
    built: u64,
    /// A setting changed: rebuild at the next refresh.
    dirty: bool,
    selected: Option<ProcessKey>,
    /// A thread row of the selected process is selected (its tid).
    selected_thread: Option<u32>,
    /// The cursor: the selection's position in the rows.
    list: ScrollList,
    tree: bool,
    tree_sort: Sort,
    table_sort: Sort,
    hide_kernel: bool,
    /// Userland threads shown as rows (htop's `H`; off at start).
    threads: bool,
    /// Exited processes are left out (still shown as ancestors in the tree).
    hide_exited: bool,
    /// The sort changed: show the top of the new order at the next rebuild.
    to_top: bool,
    follow: bool,
    pub(crate) collapsed: HashSet<ProcessKey, FxBuild>,
    search: Search,
    query: LineEditor,
    filter_text: LineEditor,
    filter: Option<Filter>,
    filter_error: Option<FilterError>,
    typing: Option<Prompt>,
    /// The columns shown, in order (see [`crate::console::Config::columns`]).
    pub(crate) columns: Columns,
}

impl Default for Processes {
    fn default() -> Self {
        Processes {
            rows: RowList::default(),
            built: 0,
            dirty: false,
            selected: None,
            selected_thread: None,
            list: ScrollList::default(),
            tree: true,
            tree_sort: Sort {
                column: Column::Pid,
                descending: false,
            },
            table_sort: Sort::default(),
            // htop hides kernel threads until K.
            hide_kernel: true,
            threads: false,
            hide_exited: false,
            to_top: false,
            follow: false,
            collapsed: HashSet::default(),
            search: Search::default(),
            query: LineEditor::default(),
            filter_text: LineEditor::default(),
            filter: None,
            filter_error: None,
            typing: None,
            columns: Columns::default(),
        }
    }
}

impl Processes {
    #[must_use]
    pub fn rows(&self) -> &RowList {
        &self.rows
    }

    /// The selected process, if the store still has it.
    #[must_use]
    pub fn selected<'a>(&self, store: &'a Store) -> Option<&'a Proc> {
        store.by_key(&self.selected?)
    }

    #[must_use]
    pub fn selected_key(&self) -> Option<ProcessKey> {
        self.selected
    }

    /// Position of the selection in [`Processes::rows`].
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.list.cursor()
    }

    /// The first row to draw in a body of `height` rows (centred while
    /// following).
    #[must_use]
    pub fn offset_for(&self, height: usize) -> usize {
        if self.follow {
            self.list.centred_offset(height)
        } else {
            self.list.offset_for(height)
        }
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

    /// Thread rows are on: the console asks its collectors for threads.
    #[must_use]
    pub fn shows_threads(&self) -> bool {
        self.threads
    }

    #[must_use]
    pub fn hides_exited(&self) -> bool {
        self.hide_exited
    }

    #[must_use]
    pub fn follows(&self) -> bool {
        self.follow
    }

    #[must_use]
    pub fn search(&self) -> &Search {
        &self.search
    }

    #[must_use]
    pub fn filter_active(&self) -> bool {
        self.filter.as_ref().is_some_and(|f| !f.is_empty())
    }

    #[must_use]
    pub fn typing_search(&self) -> bool {
        self.typing == Some(Prompt::Search)
    }

    #[must_use]
    pub fn typing_filter(&self) -> bool {
        self.typing == Some(Prompt::Filter)
    }

    /// Search matches among the rows shown; a filter or a collapsed subtree
    /// hides the others (`search().match_count()`).
    #[must_use]
    pub fn shown_match_count(&self) -> usize {
        self.rows
            .rows
            .iter()
            .filter(|r| r.thread.is_none() && self.search.is_match(r.id))
            .count()
    }

    /// The columns shown at `width` (all when never drawn).
    fn fitted(&self, data: &Data, width: u16) -> Vec<(Column, u16)> {
        let width = if width == 0 { u16::MAX } else { width };
        columns::fit(width, data.optional_columns(), &self.columns)
    }

    /// Rebuild at the next refresh (the column setup changed the columns).
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// The columns chosen, in order (the configuration's, or the setup's).
    #[must_use]
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Expands the ancestors of the selection (following keeps it in sight).
    fn unfold_to_selection(&mut self, store: &Store) {
        if self.collapsed.is_empty() {
            return;
        }
        for k in self.links(store).parents {
            self.collapsed.remove(&k);
        }
    }

    /// Puts the cursor on the selected process; when it is gone, keeps the
    /// cursor's position and selects what is there now.  `pinned`: the
    /// detail view shows the selection, which the list may filter out.
    fn place_cursor(&mut self, store: &Store, pinned: bool) {
        self.list.set_len(self.rows.len());
        if let Some(id) = self.selected.and_then(|k| store.id_of(&k)) {
            // The thread row while it is there, else its process's row.
            let pos = self
                .selected_thread
                .and_then(|tid| self.rows.thread_position(id, tid))
                .or_else(|| self.rows.position(id));
            if let Some(pos) = pos {
                self.list.select(pos);
                return;
            }
        }
        let in_store = self.selected.is_some_and(|k| store.id_of(&k).is_some());
        if self.follow && !in_store {
            self.follow = false;
        }
        if in_store && pinned {
            return;
        }
        self.take_cursor(store);
    }

    fn select_pos(&mut self, pos: usize, store: &Store) {
        if self.rows.is_empty() {
            return;
        }
        self.list.select(pos);
        self.take_cursor(store);
    }

    /// Selects what the cursor is on: a process, or a thread of one.
    fn take_cursor(&mut self, store: &Store) {
        self.selected = self.key_at_cursor(store);
        self.selected_thread = self.rows.rows.get(self.list.cursor()).and_then(|r| r.thread);
    }

    fn key_at_cursor(&self, store: &Store) -> Option<ProcessKey> {
        let row = self.rows.rows.get(self.list.cursor())?;
        store.get(row.id).map(|p| p.key)
    }
}

impl ScreenState for Processes {
    fn info() -> &'static ScreenInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        match self.typing {
            Some(Prompt::Search) => self.search_prompt(msg, cx.data),
            Some(Prompt::Filter) => self.filter_prompt(msg),
            None => self.list_keys(msg, cx),
        }
    }

    fn typing(&self) -> bool {
        self.typing.is_some()
    }

    fn data_replaced(&mut self) {
        self.dirty = true;
    }

    fn refresh(&mut self, data: &Data, front: Option<&Overlay>) {
        if !self.dirty && self.built == data.generation() {
            return;
        }
        self.dirty = false;
        self.built = data.generation();
        let store = data.store();
        let force = if self.follow {
            self.unfold_to_selection(store);
            self.selected.and_then(|k| store.id_of(&k))
        } else {
            None
        };
        let names = data.host_names();
        self.rows = RowList::build(
            store,
            &rows::Options {
                tree: self.tree,
                sort: self.sort(),
                hide_kernel: self.hide_kernel,
                hide_exited: self.hide_exited,
                collapsed: &self.collapsed,
                filter: self.filter.as_ref(),
                host_names: &names,
                force,
                threads: self.threads.then(|| data.threads()),
            },
        );
        self.search.refresh(store, data.generation());
        self.place_cursor(store, matches!(front, Some(Overlay::Detail(_))));
        // After a sort, the top of the new order (htop), unless following.
        if std::mem::take(&mut self.to_top) && !self.follow {
            self.select_pos(0, store);
            self.list.fit(usize::MAX, false);
        }
    }

    fn fit(&mut self, rows: usize) {
        self.list.fit(rows, self.follow);
    }

    fn filter(&self) -> Option<(&str, Option<&FilterError>)> {
        Some((self.filter_text.text(), self.filter_error.as_ref()))
    }

    fn draw(&self, app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
        table::ProcessTable::new(app, self, theme).render_into(area, buf);
    }

    fn prompt_line(&self, _app: &App, theme: &Theme) -> Option<Line<'static>> {
        status::prompt_line(self, theme)
    }

    fn status_line(&self, app: &App, theme: &Theme) -> Line<'static> {
        status::status_line(self, app, theme)
    }

    fn footer_keys(&self, app: &App) -> Vec<(Msg, Key, &'static str)> {
        status::footer_keys(self, app)
    }

    fn hit(&self, app: &App, area: Rect, x: u16, y: u16) -> Option<Msg> {
        table::hit(self, app, area, x, y)
    }
}
