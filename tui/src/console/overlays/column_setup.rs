//! The process table's column setup (F2, htop's Setup > Columns): every
//! column, the shown ones numbered in their order; Space shows or hides
//! the one under the cursor, `[` and `]` move it left or right.
//! Closing it saves the choice into the configuration file's `columns`
//! (the loop writes it, keeping the file's other settings and comments).
use crossterm::event::KeyCode;
use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{Areas, Next, OverlayState};
use crate::console::{
    App,
    actions::Request,
    columns::Column,
    input::{Binding, Msg, PlaceInfo, bind, code, ctrl, k},
    list::ScrollList,
    model::HostId,
    theme::Theme,
    ui::{Part, centred, ellipsize, frame, put_line, widget_for_ref},
};

static INFO: PlaceInfo = PlaceInfo::new(
    "the column setup",
    "Column setup (F2)",
    Some("column-setup"),
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
    bind(
        &[k('['), k('<')],
        "[ <",
        Msg::MoveColumn(-1),
        "move it left",
    ),
    bind(
        &[k(']'), k('>')],
        "] >",
        Msg::MoveColumn(1),
        "move it right",
    ),
    bind(
        &[code(KeyCode::F(2))],
        "F2",
        Msg::ColumnSetup,
        "close and save (so does Esc)",
    ),
];

/// Every column but COMMAND (always shown, last).
fn choices() -> impl Iterator<Item = Column> {
    Column::ALL.into_iter().filter(|c| *c != Column::Command)
}

/// The cursor over [`choices`], and whether anything changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnSetup {
    pub list: ScrollList,
    pub changed: bool,
}

impl ColumnSetup {
    #[must_use]
    pub fn new() -> ColumnSetup {
        ColumnSetup {
            list: ScrollList::new(choices().count()),
            changed: false,
        }
    }
}

impl OverlayState for ColumnSetup {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        let col = choices().nth(self.list.cursor());
        let columns = &mut app.view.screens.processes.columns;
        match msg {
            Msg::Up | Msg::Down | Msg::Home | Msg::End => {
                self.list.apply(msg, 1);
            }
            Msg::Confirm => {
                if let Some(c) = col {
                    columns.toggle(c);
                    self.changed = true;
                }
            }
            Msg::MoveColumn(d) => {
                if let Some(c) = col {
                    columns.shift(c, isize::from(d));
                    self.changed = true;
                }
            }
            Msg::Cancel | Msg::ColumnSetup => {
                if self.changed {
                    let names = columns.names().iter().map(ToString::to_string).collect();
                    app.data.queue(HostId(0), Request::SaveColumns(names));
                }
                app.view.screens.processes.touch();
                return Next::Close;
            }
            _ => {}
        }
        app.view.screens.processes.touch();
        Next::Stay
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        SetupView {
            app,
            theme,
            list: self.list,
        }
        .render_into(areas.body, buf);
    }
}

pub struct SetupView<'a> {
    app: &'a App,
    theme: &'a Theme,
    list: ScrollList,
}

widget_for_ref!(SetupView);

impl Part for SetupView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let shown = self.app.processes().columns();
        let n = choices().count();
        let rect = centred(area, 64, u16::try_from(n + 3).unwrap_or(u16::MAX));
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let inner = frame(buf, rect, "Columns (Space shows, [ ] move, F2 saves)", t);
        let h = usize::from(inner.height.saturating_sub(1));
        let skip = self.list.offset_for(h);
        let w = usize::from(inner.width);
        for (i, col) in choices().enumerate().skip(skip).take(h) {
            let at = shown.list().iter().position(|c| *c == col);
            let mark = at.map_or_else(|| "[ ]".to_owned(), |p| format!("[{:>1}]", p + 1));
            let cur = if i == self.list.cursor() { "▸" } else { " " };
            let text = format!("{cur}{mark:>4} {:<9} {}", col.title(), col.describe());
            let style = if i == self.list.cursor() {
                t.menu_cursor
            } else {
                t.text
            };
            let line = Line::styled(format!("{:<w$}", ellipsize(&text, w)), style);
            put_line(buf, inner, 0, u16::try_from(i - skip).unwrap_or(u16::MAX), &line);
        }
        let dy = inner.height.saturating_sub(1);
        let hint = "COMMAND is always last · Esc or F2 closes and saves to the config file";
        put_line(buf, inner, 0, dy, &Line::styled(ellipsize(hint, w), t.label));
    }
}
