//! The table the Connections and Listening screens share: rows from the
//! connection store ([`crate::console::net`]), sorted by any column (keys
//! or a header click, like the process table), filtered with the network
//! filter (`port:` `dir:` `proto:` ...), searched with `/` (the process
//! search's fuzzy membership test), and Enter shows the owning process on
//! the processes screen.
mod columns;
mod keys;
mod widget;

pub(super) use columns::NetCol;
pub(super) use keys::KEYS;
pub(super) use widget::{NetTableView, footer_keys, hit, prompt_line, status_line};

use std::cmp::Ordering;

use crate::console::{
    app::Data,
    editor::{Edit, LineEditor},
    filter::FilterError,
    input::Msg,
    list::ScrollList,
    model::{HostId, ProcessKey},
    net::{Conn, Listen, filter::NetFilter},
    screens::Cx,
    search::is_subsequence,
};

/// Which rows a table shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Kind {
    #[default]
    Connections,
    Listening,
}

/// One row: a connection or a listening socket.
#[derive(Clone, Copy, Debug)]
pub(super) enum Row<'a> {
    C(&'a Conn),
    L(&'a Listen),
}

impl Row<'_> {
    pub(super) fn host(self) -> HostId {
        match self {
            Row::C(c) => c.host,
            Row::L(l) => l.host,
        }
    }

    pub(super) fn owner(self) -> Option<ProcessKey> {
        match self {
            Row::C(c) => c.owner,
            Row::L(l) => l.owner,
        }
    }

    pub(super) fn closed(self) -> bool {
        match self {
            Row::C(c) => c.is_closed(),
            Row::L(l) => l.is_closed(),
        }
    }
}

/// Which prompt takes the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    Filter,
    Search,
}

#[derive(Debug, Default)]
pub(super) struct NetTable {
    pub(super) kind: Kind,
    /// The rows shown, in order: (host, id).
    shown: Vec<(HostId, u64)>,
    pub(super) list: ScrollList,
    /// The sort column's position in the kind's columns, and its direction.
    pub(super) sort: usize,
    pub(super) descending: bool,
    pub(super) filter_text: LineEditor,
    filter: Option<NetFilter>,
    pub(super) filter_error: Option<FilterError>,
    pub(super) query: LineEditor,
    prompt: Option<Prompt>,
    built: Option<u64>,
    dirty: bool,
    under_cursor: Option<(HostId, u64)>,
}

impl NetTable {
    /// Newest first: by DURATION, shortest first.
    pub(super) fn new(kind: Kind) -> NetTable {
        let sort = NetCol::of(kind)
            .iter()
            .position(|c| *c == NetCol::Duration)
            .unwrap_or(0);
        NetTable {
            kind,
            sort,
            ..NetTable::default()
        }
    }

    pub(super) fn columns(&self) -> &'static [NetCol] {
        NetCol::of(self.kind)
    }

    pub(super) fn row<'a>(&self, data: &'a Data, at: (HostId, u64)) -> Option<Row<'a>> {
        match self.kind {
            Kind::Connections => data.net().conn(at.0, at.1).map(Row::C),
            Kind::Listening => data.net().listen(at.0, at.1).map(Row::L),
        }
    }

    /// The shown rows, in order.
    pub(super) fn shown<'a>(&'a self, data: &'a Data) -> impl Iterator<Item = Row<'a>> + 'a {
        self.shown.iter().filter_map(move |&at| self.row(data, at))
    }

    pub(super) fn shown_len(&self) -> usize {
        self.shown.len()
    }

    pub(super) fn total(&self, data: &Data) -> usize {
        match self.kind {
            Kind::Connections => data.net().conns().count(),
            Kind::Listening => data.net().listening().count(),
        }
    }

    pub(super) fn selected<'a>(&self, data: &'a Data) -> Option<Row<'a>> {
        self.row(data, *self.shown.get(self.list.cursor())?)
    }

    pub(super) fn typing(&self) -> bool {
        self.prompt.is_some()
    }

    pub(super) fn typing_search(&self) -> bool {
        self.prompt == Some(Prompt::Search)
    }

    pub(super) fn typing_filter(&self) -> bool {
        self.prompt == Some(Prompt::Filter)
    }

    /// Re-applies filter and sort, keeping the cursor on the same row.
    pub(super) fn rebuild(&mut self, data: &Data) {
        let names = data.host_names();
        let name = |h: HostId| names.get(usize::from(h.0)).map_or("", String::as_str);
        let keep = |f: &crate::console::net::filter::Fields<'_>| {
            self.filter.as_ref().is_none_or(|flt| flt.matches(f))
        };
        let mut rows: Vec<Row<'_>> = match self.kind {
            Kind::Connections => data
                .net()
                .conns()
                .filter(|c| keep(&c.fields(name(c.host))))
                .map(Row::C)
                .collect(),
            Kind::Listening => data
                .net()
                .listening()
                .filter(|l| keep(&l.fields(name(l.host))))
                .map(Row::L)
                .collect(),
        };
        let col = self
            .columns()
            .get(self.sort)
            .copied()
            .unwrap_or(NetCol::Duration);
        let now = |h: HostId| data.host_now_ns(h).unwrap_or(0);
        rows.sort_by(|a, b| {
            let o = col.compare(*a, *b, now(a.host()), now(b.host()));
            let o = if self.descending { o.reverse() } else { o };
            o.then_with(|| id(*a).cmp(&id(*b)))
        });
        self.shown = rows.iter().map(|r| (r.host(), id(*r).1)).collect();
        self.list.set_len(self.shown.len());
        if let Some(at) = self.under_cursor
            && let Some(pos) = self.shown.iter().position(|s| *s == at)
        {
            self.list.select(pos);
        }
        self.under_cursor = self.shown.get(self.list.cursor()).copied();
        self.built = Some(data.net().generation());
    }

    /// See [`super::ScreenState::data_replaced`].
    pub(super) fn data_replaced(&mut self) {
        self.dirty = true;
    }

    pub(super) fn refresh(&mut self, data: &Data) {
        if self.dirty || self.built != Some(data.net().generation()) {
            self.dirty = false;
            self.rebuild(data);
        }
    }

    fn apply_filter(&mut self) {
        match NetFilter::parse(self.filter_text.text()) {
            Ok(f) => {
                self.filter_error = None;
                self.filter = (!f.is_empty()).then_some(f);
                self.dirty = true;
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// The next row from the cursor (`step` 0: this one) whose text holds
    /// the query's chars in order, like the process search.
    fn find(&mut self, data: &Data, step: isize) {
        let needle = self.query.text().to_lowercase();
        let n = self.shown.len();
        if needle.is_empty() || n == 0 {
            return;
        }
        let at = self.list.cursor();
        for i in 0..n {
            let d = i.saturating_add(usize::from(step != 0));
            let pos = if step < 0 {
                (at + n * 2 - d % n) % n
            } else {
                (at + d) % n
            };
            let hit = self
                .shown
                .get(pos)
                .and_then(|&s| self.row(data, s))
                .is_some_and(|r| {
                    is_subsequence(&columns::haystack(r, data).to_lowercase(), &needle)
                });
            if hit {
                self.list.select(pos);
                self.under_cursor = self.shown.get(pos).copied();
                return;
            }
        }
    }

    fn typing_keys(&mut self, msg: Msg, data: &Data) {
        let search = self.prompt == Some(Prompt::Search);
        match msg {
            m if m.edits() => {
                let editor = if search {
                    &mut self.query
                } else {
                    &mut self.filter_text
                };
                if editor.apply(msg) == Edit::Changed {
                    if search {
                        self.find(data, 0);
                    } else {
                        self.apply_filter();
                    }
                }
            }
            Msg::Confirm => self.prompt = None,
            Msg::Cancel => {
                if search {
                    self.query.clear();
                } else {
                    self.filter_text.clear();
                    self.apply_filter();
                }
                self.prompt = None;
            }
            _ => {}
        }
    }

    pub(super) fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        if self.prompt.is_some() {
            self.typing_keys(msg, cx.data);
            return;
        }
        if self.list.apply(msg, cx.page) {
            self.under_cursor = self.shown.get(self.list.cursor()).copied();
            return;
        }
        let ncols = self.columns().len();
        match msg {
            Msg::Confirm => match self.selected(cx.data).and_then(Row::owner) {
                Some(key) => *cx.jump = Some(key),
                None => *cx.flash = Some("its process is not known".to_owned()),
            },
            Msg::SelectRow(pos) => {
                self.list.select(pos);
                self.under_cursor = self.shown.get(self.list.cursor()).copied();
            }
            Msg::SortAt(i) => self.sort_by(usize::from(i)),
            Msg::SortNext => self.sort_by((self.sort + 1) % ncols),
            Msg::SortPrev => self.sort_by((self.sort + ncols - 1) % ncols),
            Msg::InvertSort => {
                self.descending = !self.descending;
                self.dirty = true;
            }
            Msg::Filter => self.prompt = Some(Prompt::Filter),
            Msg::Search => {
                self.query.clear();
                self.prompt = Some(Prompt::Search);
            }
            Msg::NextMatch => self.find(cx.data, 1),
            Msg::PrevMatch => self.find(cx.data, -1),
            Msg::Cancel => {
                self.query.clear();
                self.filter_text.clear();
                self.apply_filter();
            }
            _ => {}
        }
    }

    /// Sorts by column `i`, or inverts when it already does; a new column
    /// starts in its usual direction (numbers and durations largest first).
    fn sort_by(&mut self, i: usize) {
        let Some(col) = self.columns().get(i) else {
            return;
        };
        if i == self.sort {
            self.descending = !self.descending;
        } else {
            self.sort = i;
            self.descending = col.descending_first();
        }
        self.dirty = true;
    }
}

/// A row's identity in the store.
fn id(r: Row<'_>) -> (HostId, u64) {
    match r {
        Row::C(c) => (c.host, c.c.id),
        Row::L(l) => (l.host, l.l.id),
    }
}

/// Orders two optional numbers, unknown last.
pub(super) fn by_num(a: Option<u64>, b: Option<u64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
