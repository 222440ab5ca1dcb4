//! The processes screen's keys: moving, the tree, sorting, search, filter,
//! and opening the detail view, the sort menu and the action overlays.
//! Every message is valid in every state (at worst it does nothing), so no
//! key can panic the console.
use perch_proto::v1::{ActRequest, ActionKind, ActionMode};

use super::{Processes, Prompt};
use crate::act;
use crate::console::{
    actions::Request,
    app::Data,
    columns::{Column, Sort},
    editor::Edit,
    filter::Filter,
    input::Msg,
    list::ScrollList,
    model::Store,
    overlays::{
        Overlay, act_menu::Menu, column_setup::ColumnSetup, detail::Detail, dialog::Dialog,
        sort_menu::SortMenu,
    },
    screens::Cx,
};

impl Processes {
    /// Keys on the list itself.
    pub(super) fn list_keys(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        let store = cx.data.store();
        if self.list.apply(msg, cx.page) {
            if !self.rows.is_empty() {
                self.take_cursor(store);
            }
            return;
        }
        match msg {
            Msg::Select(key) => {
                if let Some(pos) = store.id_of(&key).and_then(|id| self.rows.position(id)) {
                    self.select_pos(pos, store);
                }
            }
            Msg::Confirm if self.selected(store).is_some() => {
                *cx.overlay = Some(Overlay::Detail(Detail::default()));
            }
            Msg::ToggleTree => {
                self.tree = !self.tree;
                self.dirty = true;
            }
            Msg::Collapse => self.collapse(store),
            Msg::Expand => {
                if let Some(k) = self.selected
                    && self.collapsed.remove(&k)
                {
                    self.dirty = true;
                }
            }
            Msg::ToggleAll => self.toggle_all(store),
            Msg::SortMenu => {
                let at = Column::ALL.iter().position(|c| *c == self.sort().column);
                let list = ScrollList::at(Column::ALL.len(), at.unwrap_or(0));
                *cx.overlay = Some(Overlay::SortMenu(SortMenu { list }));
            }
            Msg::SortPrev | Msg::SortNext => {
                let cols: Vec<Column> = self
                    .fitted(cx.data, cx.width)
                    .into_iter()
                    .map(|c| c.0)
                    .collect();
                let cur = cols.iter().position(|c| *c == self.sort().column);
                let next = match (cur, msg == Msg::SortNext) {
                    (Some(i), true) => cols.get(i + 1).or(cols.last()),
                    (Some(i), false) => cols.get(i.saturating_sub(1)),
                    (None, _) => cols.first(),
                };
                if let Some(&c) = next {
                    self.set_sort(Sort {
                        column: c,
                        descending: c.descending_by_default(),
                    });
                }
            }
            Msg::InvertSort => self.invert_sort(),
            Msg::SortBy(c) => self.sort_by(c),
            Msg::SortOn(c) => self.set_sort(Sort {
                column: c,
                descending: c.descending_by_default(),
            }),
            Msg::ToggleKernelThreads => {
                self.hide_kernel = !self.hide_kernel;
                self.dirty = true;
            }
            Msg::ToggleThreads => {
                self.threads = !self.threads;
                if !self.threads {
                    self.selected_thread = None;
                    cx.data.clear_threads();
                }
                self.dirty = true;
            }
            Msg::ToggleExited => {
                self.hide_exited = !self.hide_exited;
                self.dirty = true;
            }
            Msg::ToggleFollow => {
                self.follow = !self.follow && self.selected.is_some();
                self.dirty = true;
            }
            Msg::Search => {
                self.clear_search();
                self.typing = Some(Prompt::Search);
            }
            Msg::Filter => self.typing = Some(Prompt::Filter),
            Msg::NextMatch => self.jump_to_match(true, false, store),
            Msg::PrevMatch => self.jump_to_match(false, false, store),
            // Esc clears what the footer shows: the search, else the filter.
            Msg::Cancel if self.search.is_active() => self.clear_search(),
            Msg::Cancel => self.clear_filter(),
            Msg::ActMenu => self.open_menu(cx),
            Msg::ColumnSetup => {
                *cx.overlay = Some(Overlay::ColumnSetup(ColumnSetup::new()));
            }
            Msg::Renice(delta) => self.open_renice(delta, cx),
            _ => {}
        }
    }

    fn toggle_all(&mut self, store: &Store) {
        if self.collapsed.is_empty() {
            let parents: Vec<_> = self
                .rows
                .rows
                .iter()
                .filter(|r| r.has_children)
                .filter_map(|r| store.get(r.id).map(|p| p.key))
                .collect();
            self.collapsed.extend(parents);
            // The selection moves to its top-level ancestor.
            if let Some(root) = self.links(store).parents.last() {
                self.selected = Some(*root);
                self.selected_thread = None;
            }
        } else {
            self.collapsed.clear();
        }
        self.dirty = true;
    }

    fn collapse(&mut self, store: &Store) {
        let Some(row) = self.rows.rows.get(self.list.cursor()) else {
            return;
        };
        if !self.tree {
            return;
        }
        if row.has_children && !row.collapsed {
            if let Some(k) = self.selected {
                self.collapsed.insert(k);
                self.dirty = true;
            }
        } else if let Some(parent) = row.parent {
            self.select_pos(parent as usize, store);
        }
    }

    fn set_sort(&mut self, sort: Sort) {
        if self.tree {
            self.tree_sort = sort;
        } else {
            self.table_sort = sort;
        }
        self.dirty = true;
        self.to_top = true;
    }

    pub fn invert_sort(&mut self) {
        let mut s = self.sort();
        s.descending = !s.descending;
        self.set_sort(s);
    }

    /// Sorts by a column, or inverts when it already is the sort column.
    pub fn sort_by(&mut self, column: Column) {
        if self.sort().column == column {
            self.invert_sort();
        } else {
            self.set_sort(Sort {
                column,
                descending: column.descending_by_default(),
            });
        }
    }

    fn clear_search(&mut self) {
        self.search.clear();
        self.query.clear();
    }

    fn clear_filter(&mut self) {
        self.filter_text.clear();
        self.filter_error = None;
        if self.filter.take().is_some() {
            self.dirty = true;
        }
    }

    /// Moves to the next (or previous) matching row, wrapping around;
    /// `inclusive` accepts the current row (a new query keeps a good
    /// selection).
    fn jump_to_match(&mut self, forward: bool, inclusive: bool, store: &Store) {
        let n = self.rows.len();
        if n == 0 || !self.search.is_active() {
            return;
        }
        let start = self.list.cursor().min(n - 1);
        let first = usize::from(!inclusive);
        for step in first..n + first {
            let pos = if forward {
                (start + step) % n
            } else {
                (start + n - step % n) % n
            };
            if self
                .rows
                .rows
                .get(pos)
                .is_some_and(|r| self.search.is_match(r.id))
            {
                self.select_pos(pos, store);
                return;
            }
        }
    }

    /// After the query changed: the first row from the cursor holding the
    /// query contiguously, else the first fuzzy match.
    fn jump_to_query(&mut self, store: &Store) {
        let n = self.rows.len();
        if n == 0 || !self.search.is_active() {
            return;
        }
        let start = self.list.cursor().min(n - 1);
        let exact = (0..n).map(|step| (start + step) % n).find(|&pos| {
            self.rows
                .rows
                .get(pos)
                .filter(|r| self.search.is_match(r.id))
                .and_then(|r| store.get(r.id))
                .is_some_and(|p| self.search.is_exact(p.haystack()))
        });
        match exact {
            Some(pos) => self.select_pos(pos, store),
            None => self.jump_to_match(true, true, store),
        }
    }

    pub(super) fn search_prompt(&mut self, msg: Msg, data: &Data) {
        let store = data.store();
        match msg {
            m if m.edits() => self.type_query(msg, data),
            Msg::NextMatch => self.jump_to_match(true, false, store),
            Msg::PrevMatch => self.jump_to_match(false, false, store),
            Msg::Confirm => self.typing = None,
            Msg::Cancel => {
                self.clear_search();
                self.typing = None;
            }
            _ => {}
        }
    }

    /// A key typed into the search: the matches follow at once.
    fn type_query(&mut self, msg: Msg, data: &Data) {
        if self.query.apply(msg) == Edit::Changed {
            let store = data.store();
            self.search
                .set_query(self.query.text(), store, data.generation());
            self.jump_to_query(store);
        }
    }

    pub(super) fn filter_prompt(&mut self, msg: Msg) {
        match msg {
            m if m.edits() => self.type_filter(msg),
            Msg::Confirm => self.typing = None,
            Msg::Cancel => {
                self.clear_filter();
                self.typing = None;
            }
            _ => {}
        }
    }

    fn type_filter(&mut self, msg: Msg) {
        if self.filter_text.apply(msg) == Edit::Changed {
            self.apply_filter_text();
        }
    }

    /// Parses the filter text; a valid filter applies at once, an invalid
    /// one leaves the last valid filter in place and shows the error.
    fn apply_filter_text(&mut self) {
        match Filter::parse(self.filter_text.text()) {
            Ok(f) => {
                self.filter_error = None;
                self.filter = (!f.is_empty()).then_some(f);
                self.dirty = true;
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// `k` / F9 on the selected process.
    fn open_menu(&self, cx: &mut Cx<'_>) {
        let Some(p) = self.selected(cx.data.store()) else {
            return;
        };
        if cx.data.read_only_on(cx.config, p.key.host) {
            return;
        }
        if p.is_exited() {
            *cx.flash = Some(format!("{} has exited: nothing to act on", p.key.pid));
            return;
        }
        *cx.overlay = Some(Overlay::ActMenu(Menu::new(cx.data.store(), p)));
    }

    /// F7 / F8: quick renice, htop's habit: nice -1 / +1 at once,
    /// recorded as "quick renice" with the last reason given in this
    /// console; the first time (no reason yet) the dialog asks for one.
    fn open_renice(&self, delta: i8, cx: &mut Cx<'_>) {
        let Some(p) = self.selected(cx.data.store()) else {
            return;
        };
        if p.is_exited() || cx.data.read_only_on(cx.config, p.key.host) {
            return;
        }
        let (lo, hi) = (*act::PRIORITY_RANGE.start(), *act::PRIORITY_RANGE.end());
        let priority = p.nice.saturating_add(i32::from(delta)).clamp(lo, hi);
        let Some(last) = cx.data.last_reason.clone() else {
            if let Some(d) =
                Dialog::open(ActionKind::Renice, p.key, Some(priority), cx.data, cx.config)
            {
                *cx.overlay = Some(Overlay::Dialog(d));
            }
            return;
        };
        if priority == p.nice {
            *cx.flash = Some(format!("{} is already at nice {priority}", p.key.pid));
            return;
        }
        let mut reason = format!("quick renice: {last}");
        while reason.len() > act::REASON_MAX_BYTES {
            reason.pop();
        }
        let req = ActRequest {
            action: ActionKind::Renice.into(),
            target: Some(perch_proto::v1::ProcessKey {
                pid: p.key.pid,
                start_time_ns: p.start_time_ns,
            }),
            reason,
            mode: ActionMode::Live.into(),
            priority: Some(priority),
            client_origin: cx.config.client.origin.clone(),
            client_process: cx.config.client.key(),
            ..ActRequest::default()
        };
        let (host, pid, name) = (p.key.host, p.key.pid, p.comm.to_string());
        let title = format!("{} {pid} ({name}) to nice {priority}", act::kind_title(ActionKind::Renice));
        let id = cx.data.queue(host, Request::Act(req.clone()));
        *cx.flash = Some(format!("{title}: sent (quick renice)"));
        cx.data.await_answer(id, host, title, Some(req));
    }
}
