//! The table the Traces and Flags screens share: rows from the detection
//! store ([`crate::console::detect`]), sorted by any column (keys or a
//! header click, like the process table), filtered with the detection
//! filter (`sev:` `score:` `is:` ...), searched with `/` (the process
//! search's fuzzy membership test); `k` opens the action menu on the
//! flag's process or the trace's root with the reason pre-filled.
mod act;
mod columns;
mod keys;
mod widget;

pub(super) use act::{flag_reason, open_menu, pivot, trace_reason};
pub(super) use columns::DetCol;
pub(super) use keys::{FLAG_KEYS, TRACE_KEYS};
pub(super) use widget::{DetTableView, footer_keys, hit, prompt_line, status_line};

use perch_proto::v1::Severity;

use crate::console::{
    app::Data,
    detect::{HeldFlag, HeldTrace, filter::DetectFilter},
    editor::{Edit, LineEditor},
    filter::FilterError,
    input::Msg,
    list::ScrollList,
    model::HostId,
    screens::Cx,
    search::is_subsequence,
};

/// Which rows a table shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Kind {
    #[default]
    Traces,
    Flags,
}

/// One row: a trace or a flag.
#[derive(Clone, Copy, Debug)]
pub(super) enum Row<'a> {
    T(&'a HeldTrace),
    F(&'a HeldFlag),
}

impl Row<'_> {
    pub(super) fn host(self) -> HostId {
        match self {
            Row::T(t) => t.host,
            Row::F(f) => f.host,
        }
    }

    fn id(self) -> (HostId, String) {
        match self {
            Row::T(t) => (t.host, t.t.id.clone()),
            Row::F(f) => (f.host, f.f.id.clone()),
        }
    }

    pub(super) fn severity(self) -> Severity {
        match self {
            Row::T(t) => t.t.max_severity(),
            Row::F(f) => f.severity(),
        }
    }

    /// When it started (`CLOCK_BOOTTIME` ns).
    pub(super) fn time(self) -> u64 {
        match self {
            Row::T(t) => t.t.start_time_ns,
            Row::F(f) => f.f.time_ns,
        }
    }

    /// Its latest activity.
    pub(super) fn last(self) -> u64 {
        match self {
            Row::T(t) => t.t.last_time_ns,
            Row::F(f) => f.f.last_time_ns,
        }
    }

    /// Dimmed: a closed trace, an excepted flag.
    pub(super) fn quiet(self) -> bool {
        match self {
            Row::T(t) => !t.is_active(),
            Row::F(f) => f.f.excepted,
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
pub(super) struct DetTable {
    pub(super) kind: Kind,
    /// The rows shown, in order: (host, id).
    shown: Vec<(HostId, String)>,
    pub(super) list: ScrollList,
    /// The sort column's position in the kind's columns, and its direction.
    pub(super) sort: usize,
    pub(super) descending: bool,
    pub(super) filter_text: LineEditor,
    filter: Option<DetectFilter>,
    pub(super) filter_error: Option<FilterError>,
    pub(super) query: LineEditor,
    prompt: Option<Prompt>,
    /// `S`: suppressed traces shown (else only when the filter names them).
    pub(super) show_suppressed: bool,
    built: Option<u64>,
    dirty: bool,
    under_cursor: Option<(HostId, String)>,
}

impl DetTable {
    /// Traces by SCORE, highest first; flags by TIME, newest first.
    pub(super) fn new(kind: Kind) -> DetTable {
        let first = match kind {
            Kind::Traces => DetCol::Score,
            Kind::Flags => DetCol::Time,
        };
        let sort = DetCol::of(kind)
            .iter()
            .position(|c| *c == first)
            .unwrap_or(0);
        DetTable {
            kind,
            sort,
            descending: true,
            ..DetTable::default()
        }
    }

    pub(super) fn columns(&self) -> &'static [DetCol] {
        DetCol::of(self.kind)
    }

    fn row<'a>(&self, data: &'a Data, at: &(HostId, String)) -> Option<Row<'a>> {
        match self.kind {
            Kind::Traces => data.detect().trace(at.0, &at.1).map(Row::T),
            Kind::Flags => data.detect().flag(at.0, &at.1).map(Row::F),
        }
    }

    /// The shown rows, in order.
    pub(super) fn shown<'a>(&'a self, data: &'a Data) -> impl Iterator<Item = Row<'a>> + 'a {
        self.shown.iter().filter_map(move |at| self.row(data, at))
    }

    pub(super) fn shown_len(&self) -> usize {
        self.shown.len()
    }

    pub(super) fn total(&self, data: &Data) -> usize {
        match self.kind {
            Kind::Traces => data.detect().traces().count(),
            Kind::Flags => data.detect().flags().count(),
        }
    }

    pub(super) fn selected<'a>(&self, data: &'a Data) -> Option<Row<'a>> {
        self.row(data, self.shown.get(self.list.cursor())?)
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
        let det = data.detect();
        let suppressed_ok = self.show_suppressed
            || self
                .filter
                .as_ref()
                .is_some_and(DetectFilter::names_suppressed);
        let keep = |f: &crate::console::detect::filter::Fields<'_>| {
            self.filter.as_ref().is_none_or(|flt| flt.matches(f))
        };
        let mut rows: Vec<Row<'_>> = match self.kind {
            Kind::Traces => det
                .traces()
                .filter(|t| suppressed_ok || !t.t.suppressed)
                .filter(|t| keep(&t.fields(name(t.host), det.notable_score(t.host))))
                .map(Row::T)
                .collect(),
            Kind::Flags => det
                .flags()
                .filter(|f| keep(&f.fields(name(f.host))))
                .map(Row::F)
                .collect(),
        };
        let col = self
            .columns()
            .get(self.sort)
            .copied()
            .unwrap_or(DetCol::Age);
        rows.sort_by(|a, b| {
            let o = col.compare(*a, *b, data);
            let o = if self.descending { o.reverse() } else { o };
            o.then_with(|| a.id().cmp(&b.id()))
        });
        self.shown = rows.iter().map(|r| r.id()).collect();
        self.list.set_len(self.shown.len());
        if let Some(at) = &self.under_cursor
            && let Some(pos) = self.shown.iter().position(|s| s == at)
        {
            self.list.select(pos);
        }
        self.under_cursor = self.shown.get(self.list.cursor()).cloned();
        self.built = Some(det.generation());
    }

    /// See [`super::ScreenState::data_replaced`].
    pub(super) fn data_replaced(&mut self) {
        self.dirty = true;
    }

    pub(super) fn refresh(&mut self, data: &Data) {
        if self.dirty || self.built != Some(data.detect().generation()) {
            self.dirty = false;
            self.rebuild(data);
        }
    }

    fn apply_filter(&mut self) {
        match DetectFilter::parse(self.filter_text.text()) {
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
                .and_then(|s| self.row(data, s))
                .is_some_and(|r| {
                    is_subsequence(&columns::haystack(r, data).to_lowercase(), &needle)
                });
            if hit {
                self.list.select(pos);
                self.under_cursor = self.shown.get(pos).cloned();
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

    /// The table's keys; Enter is the screen's.
    pub(super) fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        if self.prompt.is_some() {
            self.typing_keys(msg, cx.data);
            return;
        }
        if self.list.apply(msg, cx.page) {
            self.under_cursor = self.shown.get(self.list.cursor()).cloned();
            return;
        }
        let ncols = self.columns().len();
        match msg {
            Msg::ActMenu => {
                if let Some(r) = self.selected(cx.data) {
                    let (key, reason) = pivot(r);
                    open_menu(cx, key, reason);
                }
            }
            Msg::SelectRow(pos) => {
                self.list.select(pos);
                self.under_cursor = self.shown.get(self.list.cursor()).cloned();
            }
            Msg::SortAt(i) => self.sort_by(usize::from(i)),
            Msg::SortNext => self.sort_by((self.sort + 1) % ncols),
            Msg::SortPrev => self.sort_by((self.sort + ncols - 1) % ncols),
            Msg::InvertSort => {
                self.descending = !self.descending;
                self.dirty = true;
            }
            Msg::ToggleSuppressed => {
                self.show_suppressed = !self.show_suppressed;
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
    /// starts in its usual direction (numbers largest first).
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
