//! The reducer: one [`Action`] changes the state.  Every action is valid in
//! every state (at worst it does nothing), so no key can panic the console.
use super::{App, Overlay, Prompt, Screen};
use crate::console::{
    columns::{Column, Sort},
    filter::Filter,
    input::{Action, InputMode, bindings},
};

impl App {
    /// Carries out an action, then rebuilds the list if it changed.
    pub fn update(&mut self, action: Action) {
        if action == Action::Quit {
            self.quit = true;
            return;
        }
        self.flash = None;
        match self.input_mode() {
            InputMode::Normal => self.normal(action),
            InputMode::Search => self.search_prompt(action),
            InputMode::Filter if self.screen == Screen::ActionLog => {
                self.log_filter_prompt(action);
            }
            InputMode::Filter => self.filter_prompt(action),
            InputMode::Help => {
                let Overlay::Help { scroll } = self.overlay else {
                    return;
                };
                self.overlay = match action {
                    Action::Up => Overlay::Help {
                        scroll: scroll.saturating_sub(1),
                    },
                    Action::Down => Overlay::Help {
                        scroll: (scroll + 1).min(bindings().count()),
                    },
                    Action::PageUp => Overlay::Help {
                        scroll: scroll.saturating_sub(10),
                    },
                    Action::PageDown => Overlay::Help {
                        scroll: (scroll + 10).min(bindings().count()),
                    },
                    Action::Home => Overlay::Help { scroll: 0 },
                    _ => Overlay::None,
                };
            }
            InputMode::SortMenu => self.sort_menu(action),
            InputMode::Detail => self.detail(action),
            InputMode::ActionLog => self.action_log_input(action),
            InputMode::ActMenu => self.act_menu(action),
            InputMode::Dialog => self.dialog_input(action),
            InputMode::Toast => self.dismiss_toast(),
            InputMode::Columns => self.column_chooser(action),
            InputMode::Record => self.record_view(action),
        }
        self.refresh();
    }

    pub(super) fn page(&self) -> usize {
        usize::from(self.geometry.get().height).max(1)
    }

    fn move_by(&mut self, delta: isize) {
        let pos = self.cursor.saturating_add_signed(delta);
        self.select_pos(pos);
    }

    fn normal(&mut self, action: Action) {
        let page = isize::try_from(self.page()).unwrap_or(1);
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::Home => self.select_pos(0),
            Action::End => self.select_pos(usize::MAX),
            Action::Scroll(n) => self.move_by(isize::try_from(n).unwrap_or(0)),
            Action::Select(key) => {
                if let Some(pos) = self.store.id_of(&key).and_then(|id| self.view.position(id)) {
                    self.select_pos(pos);
                }
            }
            Action::Confirm => {
                if self.selected().is_some() {
                    self.overlay = Overlay::Detail { cursor: 0 };
                }
            }
            Action::ToggleTree => {
                self.tree = !self.tree;
                self.dirty = true;
            }
            Action::Collapse => self.collapse(),
            Action::Expand => {
                if let Some(k) = self.selected
                    && self.collapsed.remove(&k)
                {
                    self.dirty = true;
                }
            }
            Action::ToggleAll => self.toggle_all(),
            Action::SortMenu => {
                let cursor = Column::ALL
                    .iter()
                    .position(|c| *c == self.sort().column)
                    .unwrap_or(0);
                self.overlay = Overlay::SortMenu { cursor };
            }
            Action::SortPrev | Action::SortNext => {
                let cols: Vec<Column> = self.columns().into_iter().map(|c| c.0).collect();
                let cur = cols.iter().position(|c| *c == self.sort().column);
                let next = match (cur, action == Action::SortNext) {
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
            Action::InvertSort => self.invert_sort(),
            Action::SortBy(c) => self.sort_by(c),
            Action::ToggleKernelThreads => {
                self.hide_kernel = !self.hide_kernel;
                self.dirty = true;
            }
            Action::ToggleFollow => {
                self.follow = !self.follow && self.selected.is_some();
                self.dirty = true;
            }
            Action::Search => {
                self.search.clear();
                self.prompt = Prompt::Search;
            }
            Action::Filter => self.prompt = Prompt::Filter,
            Action::NextMatch => self.jump_to_match(true, false),
            Action::PrevMatch => self.jump_to_match(false, false),
            Action::Cancel => {
                self.search.clear();
                self.clear_filter();
            }
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::ActMenu => self.open_menu(),
            Action::Renice(delta) => self.open_renice(delta),
            Action::SwitchView => self.switch_screen(),
            Action::Quit
            | Action::Input(_)
            | Action::Backspace
            | Action::NextField
            | Action::PrevField
            | Action::Decrease
            | Action::Increase
            | Action::Columns
            | Action::Refresh => {}
        }
    }

    fn toggle_all(&mut self) {
        if self.collapsed.is_empty() {
            let parents: Vec<_> = self
                .view
                .rows
                .iter()
                .filter(|r| r.has_children)
                .filter_map(|r| self.store.get(r.id).map(|p| p.key))
                .collect();
            self.collapsed.extend(parents);
            // The selection moves to its top-level ancestor.
            if let Some(root) = self.links().parents.last() {
                self.selected = Some(*root);
            }
        } else {
            self.collapsed.clear();
        }
        self.dirty = true;
    }

    fn collapse(&mut self) {
        let Some(row) = self.view.rows.get(self.cursor) else {
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
            self.select_pos(parent as usize);
        }
    }

    fn set_sort(&mut self, sort: Sort) {
        if self.tree {
            self.tree_sort = sort;
        } else {
            self.table_sort = sort;
        }
        self.dirty = true;
    }

    fn invert_sort(&mut self) {
        let mut s = self.sort();
        s.descending = !s.descending;
        self.set_sort(s);
    }

    /// Sorts by a column, or inverts when it already is the sort column.
    fn sort_by(&mut self, column: Column) {
        if self.sort().column == column {
            self.invert_sort();
        } else {
            self.set_sort(Sort {
                column,
                descending: column.descending_by_default(),
            });
        }
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
    fn jump_to_match(&mut self, forward: bool, inclusive: bool) {
        let n = self.view.len();
        if n == 0 || !self.search.is_active() {
            return;
        }
        let start = self.cursor.min(n - 1);
        let first = usize::from(!inclusive);
        for step in first..n + first {
            let pos = if forward {
                (start + step) % n
            } else {
                (start + n - step % n) % n
            };
            if self
                .row_id_at(pos)
                .is_some_and(|id| self.search.is_match(id))
            {
                self.select_pos(pos);
                return;
            }
        }
    }

    /// After the query changed: the first row from the cursor holding the
    /// query contiguously, else the first fuzzy match.
    fn jump_to_query(&mut self) {
        let n = self.view.len();
        if n == 0 || !self.search.is_active() {
            return;
        }
        let start = self.cursor.min(n - 1);
        let exact = (0..n).map(|step| (start + step) % n).find(|&pos| {
            self.row_id_at(pos)
                .filter(|&id| self.search.is_match(id))
                .and_then(|id| self.store.get(id))
                .is_some_and(|p| self.search.is_exact(&p.haystack))
        });
        match exact {
            Some(pos) => self.select_pos(pos),
            None => self.jump_to_match(true, true),
        }
    }

    fn search_prompt(&mut self, action: Action) {
        match action {
            Action::Input(c) => {
                let mut q = self.search.query.clone();
                q.push(c);
                self.search.set_query(&q, &self.store, self.generation);
                self.jump_to_query();
            }
            Action::Backspace => {
                let mut q = self.search.query.clone();
                q.pop();
                self.search.set_query(&q, &self.store, self.generation);
                self.jump_to_query();
            }
            Action::NextMatch => self.jump_to_match(true, false),
            Action::PrevMatch => self.jump_to_match(false, false),
            Action::Confirm => self.prompt = Prompt::None,
            Action::Cancel => {
                self.search.clear();
                self.prompt = Prompt::None;
            }
            _ => {}
        }
    }

    fn filter_prompt(&mut self, action: Action) {
        match action {
            Action::Input(c) => {
                self.filter_text.push(c);
                self.apply_filter_text();
            }
            Action::Backspace => {
                self.filter_text.pop();
                self.apply_filter_text();
            }
            Action::Confirm => self.prompt = Prompt::None,
            Action::Cancel => {
                self.clear_filter();
                self.prompt = Prompt::None;
            }
            _ => {}
        }
    }

    /// Parses the filter text; a valid filter applies at once, an invalid
    /// one leaves the last valid filter in place and shows the error.
    fn apply_filter_text(&mut self) {
        match Filter::parse(&self.filter_text) {
            Ok(f) => {
                self.filter_error = None;
                self.filter = (!f.is_empty()).then_some(f);
                self.dirty = true;
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    fn sort_menu(&mut self, action: Action) {
        let Overlay::SortMenu { cursor } = self.overlay else {
            return;
        };
        let last = Column::ALL.len() - 1;
        match action {
            Action::Up => {
                self.overlay = Overlay::SortMenu {
                    cursor: cursor.saturating_sub(1),
                }
            }
            Action::Down => {
                self.overlay = Overlay::SortMenu {
                    cursor: (cursor + 1).min(last),
                }
            }
            Action::Home => self.overlay = Overlay::SortMenu { cursor: 0 },
            Action::End => self.overlay = Overlay::SortMenu { cursor: last },
            Action::Confirm => {
                if let Some(&c) = Column::ALL.get(cursor) {
                    self.sort_by(c);
                }
                self.overlay = Overlay::None;
            }
            Action::InvertSort => self.invert_sort(),
            Action::Cancel | Action::SortMenu => self.overlay = Overlay::None,
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            _ => {}
        }
    }

    fn detail(&mut self, action: Action) {
        let Overlay::Detail { cursor } = self.overlay else {
            return;
        };
        let links = self.links();
        let last = links.len().saturating_sub(1);
        match action {
            Action::Up => {
                self.overlay = Overlay::Detail {
                    cursor: cursor.saturating_sub(1),
                }
            }
            Action::Down => {
                self.overlay = Overlay::Detail {
                    cursor: (cursor + 1).min(last),
                }
            }
            Action::Home => self.overlay = Overlay::Detail { cursor: 0 },
            Action::End => self.overlay = Overlay::Detail { cursor: last },
            Action::Confirm => {
                if let Some(key) = links.get(cursor) {
                    self.selected = Some(key);
                    // Make it visible in the list behind: unfold its parents.
                    for k in self.links().parents {
                        self.collapsed.remove(&k);
                    }
                    self.overlay = Overlay::Detail { cursor: 0 };
                    self.dirty = true;
                }
            }
            Action::Cancel => self.overlay = Overlay::None,
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            _ => {}
        }
    }
}
