//! The action log's column chooser (C / F2): every column, shown or not;
//! Space or Enter toggles the one under the cursor (the last shown one
//! stays).
use crossterm::event::KeyCode;
use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{Areas, Next, OverlayState};
use crate::console::{
    App,
    audit::LogColumn,
    input::{Binding, Msg, PlaceInfo, bind, code, ctrl, k},
    list::ScrollList,
    theme::Theme,
    ui::{Part, centred, ellipsize, frame, put_line, widget_for_ref},
};

static INFO: PlaceInfo = PlaceInfo::new(
    "the column chooser",
    "Action log columns (C F2)",
    None,
    KEYS,
);

static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down), ctrl('n')],
        "j Down ^N",
        Msg::Down,
        "next column",
    ),
    bind(
        &[k('k'), code(KeyCode::Up), ctrl('p')],
        "k Up ^P",
        Msg::Up,
        "previous column",
    ),
    bind(
        &[k(' '), code(KeyCode::Enter)],
        "Spc Enter",
        Msg::Confirm,
        "show or hide it",
    ),
];

/// The cursor over [`LogColumn::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chooser {
    pub list: ScrollList,
}

impl Default for Chooser {
    fn default() -> Self {
        Chooser {
            list: ScrollList::new(LogColumn::ALL.len()),
        }
    }
}

impl OverlayState for Chooser {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        match msg {
            Msg::Up | Msg::Down => {
                self.list.apply(msg, 1);
            }
            Msg::Confirm => app.view.screens.log.toggle_column(self.list.cursor()),
            Msg::Cancel | Msg::Columns => return Next::Close,
            _ => {}
        }
        Next::Stay
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        ColumnChooser {
            app,
            theme,
            cursor: self.list.cursor(),
        }
        .render_into(areas.body, buf);
    }
}

pub struct ColumnChooser<'a> {
    app: &'a App,
    theme: &'a Theme,
    cursor: usize,
}

widget_for_ref!(ColumnChooser);

impl Part for ColumnChooser<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let shown = &self.app.screens().log.columns;
        let h = u16::try_from(LogColumn::ALL.len() + 3).unwrap_or(u16::MAX);
        let rect = centred(area, 52, h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let inner = frame(buf, rect, "Columns (Space shows or hides)", t);
        let w = usize::from(inner.width);
        for (i, col) in LogColumn::ALL.iter().enumerate() {
            let mark = if shown[i] { "[x]" } else { "[ ]" };
            let cur = if i == self.cursor { "▸" } else { " " };
            let text = format!("{cur}{mark} {:<8} {}", col.title(), col.describe());
            let style = if i == self.cursor {
                t.menu_cursor
            } else {
                t.text
            };
            let line = Line::styled(format!("{:<w$}", ellipsize(&text, w)), style);
            put_line(buf, inner, 0, u16::try_from(i).unwrap_or(u16::MAX), &line);
        }
        let dy = inner.height.saturating_sub(1);
        put_line(buf, inner, 0, dy, &Line::styled("Esc closes", t.label));
    }
}
