//! The Flags screen: every collector's flags (TIME, AGE, SEV, EXCEPTED,
//! MITRE, the process, the description), from `ListFlags` and the
//! `FlagRaised` events; sortable, searchable and filterable like the
//! process list, Enter shows the flagged process, `k` acts on it with the
//! reason pre-filled.  The table is [`super::detect_table`]'s.
use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{
    Cx, ScreenInfo, ScreenState,
    detect_table::{self, DetTable, DetTableView, Kind, Row},
};
use crate::console::{
    App,
    app::Data,
    filter::FilterError,
    input::{Key, Msg, PlaceInfo, k},
    overlays::Overlay,
    theme::Theme,
    ui::Part as _,
};

static INFO: ScreenInfo = ScreenInfo {
    place: PlaceInfo::new("the flags screen", "Flags", None, detect_table::FLAG_KEYS),
    title: "Flags",
    short: "Flags",
    show: "show-flags",
    key: k('f'),
};

#[derive(Debug)]
pub struct Flags(DetTable);

impl Default for Flags {
    fn default() -> Self {
        Flags(DetTable::new(Kind::Flags))
    }
}

impl ScreenState for Flags {
    fn info() -> &'static ScreenInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        if msg == Msg::Confirm && !self.0.typing() {
            match self.0.selected(cx.data) {
                Some(Row::F(f)) if f.key.is_some() => *cx.jump = f.key,
                _ => *cx.flash = Some("its process is not known".to_owned()),
            }
            return;
        }
        self.0.update(msg, cx);
    }

    fn typing(&self) -> bool {
        self.0.typing()
    }

    fn data_replaced(&mut self) {
        self.0.data_replaced();
    }

    fn refresh(&mut self, data: &Data, _front: Option<&Overlay>) {
        self.0.refresh(data);
    }

    fn fit(&mut self, rows: usize) {
        self.0.list.fit(rows, false);
    }

    fn filter(&self) -> Option<(&str, Option<&FilterError>)> {
        Some((self.0.filter_text.text(), self.0.filter_error.as_ref()))
    }

    fn draw(&self, app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
        DetTableView::new(app, &self.0, theme).render_into(area, buf);
    }

    fn prompt_line(&self, _app: &App, theme: &Theme) -> Option<Line<'static>> {
        detect_table::prompt_line(&self.0, theme)
    }

    fn status_line(&self, app: &App, theme: &Theme) -> Line<'static> {
        detect_table::status_line(&self.0, app, theme)
    }

    fn footer_keys(&self, _app: &App) -> Vec<(Msg, Key, &'static str)> {
        detect_table::footer_keys(Kind::Flags)
    }

    fn hit(&self, app: &App, area: Rect, x: u16, y: u16) -> Option<Msg> {
        detect_table::hit(&self.0, app, area, x, y)
    }
}
