//! The Traces screen: every collector's Spydertraces (SCORE, NAME/TRIGGER,
//! ROOT, STATUS, AGE, DURATION, FLAGS, PROCS, USERS, I), highest score
//! first; sortable, searchable and filterable like the process list,
//! suppressed traces hidden unless `S` or the filter (`is:suppressed`)
//! shows them.  Enter opens the trace ([`view`]): its process tree with
//! each flag on its process, and its flags in time order; `k` acts on the
//! root (or, in the tree, on the selected process) with the reason
//! pre-filled.  The table is [`super::detect_table`]'s.
mod view;

use crossterm::event::KeyCode;
use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use self::view::{TraceView, TraceViewWidget};
use super::{
    Cx, ScreenInfo, ScreenState,
    detect_table::{self, DetTable, DetTableView, Kind, Row},
};
use crate::console::{
    App,
    app::Data,
    filter::FilterError,
    input::{Key, Msg, PlaceInfo, code, k},
    overlays::Overlay,
    theme::Theme,
    ui::Part as _,
};

static INFO: ScreenInfo = ScreenInfo {
    place: PlaceInfo::new(
        "the traces screen",
        "Traces",
        None,
        detect_table::TRACE_KEYS,
    ),
    title: "Traces",
    short: "Traces",
    show: "show-traces",
    // `t` is the process list's tree (htop's) and `s` a natural rebinding
    // of search (the configuration tests use it): `y`, from SpYdertrace.
    key: k('y'),
};

#[derive(Debug)]
pub struct Traces {
    table: DetTable,
    /// The trace opened with Enter (Esc goes back to the table).
    open: Option<TraceView>,
}

impl Default for Traces {
    fn default() -> Self {
        Traces {
            table: DetTable::new(Kind::Traces),
            open: None,
        }
    }
}

impl Traces {
    /// The trace open in the tree view, if one is.
    #[must_use]
    pub fn open_trace(&self) -> Option<&str> {
        self.open.as_ref().map(|v| v.id.as_str())
    }
}

impl ScreenState for Traces {
    fn info() -> &'static ScreenInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        if let Some(v) = &mut self.open {
            if !v.update(msg, cx) {
                self.open = None;
            }
            return;
        }
        if msg == Msg::Confirm && !self.table.typing() {
            if let Some(Row::T(t)) = self.table.selected(cx.data) {
                let mut v = TraceView::new(t.host, t.t.id.clone());
                v.refresh(cx.data);
                self.open = Some(v);
            }
            return;
        }
        self.table.update(msg, cx);
    }

    fn typing(&self) -> bool {
        self.open.is_none() && self.table.typing()
    }

    fn data_replaced(&mut self) {
        self.table.data_replaced();
    }

    fn refresh(&mut self, data: &Data, _front: Option<&Overlay>) {
        self.table.refresh(data);
        if let Some(v) = &mut self.open {
            v.refresh(data);
        }
    }

    fn fit(&mut self, rows: usize) {
        self.table.list.fit(rows, false);
        if let Some(v) = &mut self.open {
            v.list.fit(rows, false);
        }
    }

    fn filter(&self) -> Option<(&str, Option<&FilterError>)> {
        Some((
            self.table.filter_text.text(),
            self.table.filter_error.as_ref(),
        ))
    }

    fn draw(&self, app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
        match &self.open {
            Some(v) => TraceViewWidget::new(app, v, theme).render_into(area, buf),
            None => DetTableView::new(app, &self.table, theme).render_into(area, buf),
        }
    }

    fn prompt_line(&self, _app: &App, theme: &Theme) -> Option<Line<'static>> {
        if self.open.is_some() {
            return None;
        }
        detect_table::prompt_line(&self.table, theme)
    }

    fn status_line(&self, app: &App, theme: &Theme) -> Line<'static> {
        match &self.open {
            Some(v) => v.status_line(app, theme),
            None => detect_table::status_line(&self.table, app, theme),
        }
    }

    fn footer_keys(&self, _app: &App) -> Vec<(Msg, Key, &'static str)> {
        if self.open.is_some() {
            return vec![
                (Msg::ActMenu, code(KeyCode::F(9)), "Act"),
                (Msg::Cancel, code(KeyCode::Esc), "Back"),
            ];
        }
        detect_table::footer_keys(Kind::Traces)
    }

    fn hit(&self, app: &App, area: Rect, x: u16, y: u16) -> Option<Msg> {
        if self.open.is_some() {
            return None;
        }
        detect_table::hit(&self.table, app, area, x, y)
    }
}
