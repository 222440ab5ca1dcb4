//! The Connections screen: every collector's connections (PTCL,
//! DURATION, bytes, PROCESS, LOCAL, DIR, REMOTE, PEER), from
//! `ListConnections` and the network events; sortable, searchable and
//! filterable like the process list, Enter shows the owning process.  The
//! table is [`super::net_table`]'s.
use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{
    Cx, ScreenInfo, ScreenState,
    net_table::{self, Kind, NetTable, NetTableView},
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
    place: PlaceInfo::new("the connections screen", "Connections", None, net_table::KEYS),
    title: "Connections",
    short: "Conns",
    show: "show-connections",
    key: k('c'),
};

#[derive(Debug)]
pub struct Connections(NetTable);

impl Default for Connections {
    fn default() -> Self {
        Connections(NetTable::new(Kind::Connections))
    }
}

impl ScreenState for Connections {
    fn info() -> &'static ScreenInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
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
        NetTableView::new(app, &self.0, theme).render_into(area, buf);
    }

    fn prompt_line(&self, _app: &App, theme: &Theme) -> Option<Line<'static>> {
        net_table::prompt_line(&self.0, theme)
    }

    fn status_line(&self, app: &App, theme: &Theme) -> Line<'static> {
        net_table::status_line(&self.0, app, theme)
    }

    fn footer_keys(&self, _app: &App) -> Vec<(Msg, Key, &'static str)> {
        net_table::footer_keys()
    }

    fn hit(&self, app: &App, area: Rect, x: u16, y: u16) -> Option<Msg> {
        net_table::hit(&self.0, app, area, x, y)
    }
}
