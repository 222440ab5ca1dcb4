//! The F6 sort menu: every column, the sort column marked; Enter sorts the
//! process list by the one under the cursor (again: inverts).
use crossterm::event::KeyCode;
use ratatui::{buffer::Buffer, text::Line};

use super::{Areas, Next, OverlayState};
use crate::console::{
    App,
    columns::Column,
    input::{Binding, Msg, PlaceInfo, bind, code, k},
    list::ScrollList,
    theme::Theme,
    ui::{Part, centred, ellipsize, frame, put_line, widget_for_ref},
};

static INFO: PlaceInfo = PlaceInfo::new("the sort menu", "Sort menu (F6)", Some("sort-menu"), KEYS);

static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down)],
        "j Down",
        Msg::Down,
        "next column",
    ),
    bind(
        &[k('k'), code(KeyCode::Up)],
        "k Up",
        Msg::Up,
        "previous column",
    ),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "sort by it (again: invert)",
    ),
    bind(&[k('I')], "I", Msg::InvertSort, "invert the sort order"),
];

/// The cursor over [`Column::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortMenu {
    pub list: ScrollList,
}

impl OverlayState for SortMenu {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        let processes = &mut app.view.screens.processes;
        match msg {
            Msg::Up | Msg::Down | Msg::Home | Msg::End => {
                self.list.apply(msg, 1);
            }
            Msg::Confirm => {
                if let Some(&c) = Column::ALL.get(self.list.cursor()) {
                    processes.sort_by(c);
                }
                return Next::Close;
            }
            Msg::InvertSort => processes.invert_sort(),
            Msg::Cancel | Msg::SortMenu => return Next::Close,
            _ => {}
        }
        Next::Stay
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        SortMenuView {
            app,
            theme,
            list: self.list,
        }
        .render_into(areas.body, buf);
    }
}

pub struct SortMenuView<'a> {
    app: &'a App,
    theme: &'a Theme,
    list: ScrollList,
}

widget_for_ref!(SortMenuView);

impl Part for SortMenuView<'_> {
    fn draw(&self, area: ratatui::layout::Rect, buf: &mut Buffer) {
        let t = self.theme;
        let want_h = u16::try_from(Column::ALL.len() + 2).unwrap_or(u16::MAX);
        let rect = centred(area, 46, want_h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let inner = frame(buf, rect, "Sort by (Enter; again inverts)", t);
        let sort = self.app.sort();
        let h = usize::from(inner.height);
        let skip = self.list.offset_for(h);
        let cursor = self.list.cursor();
        for (i, col) in Column::ALL.iter().enumerate().skip(skip).take(h) {
            let mark = if *col == sort.column {
                if sort.descending { "▼" } else { "▲" }
            } else {
                " "
            };
            let text = format!("{mark} {:<9} {}", col.title(), col.describe());
            let style = if i == cursor { t.menu_cursor } else { t.text };
            let text = format!(
                "{:<w$}",
                ellipsize(&text, usize::from(inner.width)),
                w = usize::from(inner.width)
            );
            put_line(
                buf,
                inner,
                0,
                u16::try_from(i - skip).unwrap_or(u16::MAX),
                &Line::styled(text, style),
            );
        }
    }
}
