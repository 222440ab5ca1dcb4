//! The detail view (Enter on a process): every field the collector knows,
//! ten-minute sparklines, the actions taken on it, its connections and
//! listening sockets, and its parent chain and children, which the cursor
//! moves over (Enter jumps to one).  It covers the body; the list behind
//! keeps its place.
mod detect;
mod identity;
mod links;
mod net;
mod widget;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;

use super::{Areas, Next, OverlayState};
use crate::console::{
    App,
    input::{Binding, Msg, PlaceInfo, bind, code, k},
    list::ScrollList,
    theme::Theme,
    ui::Part as _,
};

static INFO: PlaceInfo = PlaceInfo::new(
    "the detail view",
    "Detail view (Enter)",
    Some("detail"),
    KEYS,
);

static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down)],
        "j Down",
        Msg::Down,
        "next parent or child",
    ),
    bind(
        &[k('k'), code(KeyCode::Up)],
        "k Up",
        Msg::Up,
        "previous parent or child",
    ),
    bind(&[code(KeyCode::Enter)], "Enter", Msg::Confirm, "jump to it"),
    bind(
        &[k('g'), code(KeyCode::Home)],
        "g Home",
        Msg::Home,
        "first entry",
    ),
    bind(
        &[k('G'), code(KeyCode::End)],
        "G End",
        Msg::End,
        "last entry",
    ),
];

/// The cursor over the selected process's parents, then its children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detail {
    pub list: ScrollList,
}

impl OverlayState for Detail {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        let store = app.past.as_ref().unwrap_or(&app.data).store();
        let processes = &mut app.view.screens.processes;
        let links = processes.links(store);
        self.list.set_len(links.len());
        match msg {
            Msg::Up | Msg::Down | Msg::Home | Msg::End => {
                self.list.apply(msg, 1);
            }
            Msg::Confirm => {
                if let Some(key) = links.get(self.list.cursor()) {
                    processes.jump_to(key, store);
                    self.list = ScrollList::default();
                }
            }
            Msg::Cancel => return Next::Close,
            _ => {}
        }
        Next::Stay
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        widget::DetailView::new(app, theme, self.list.cursor()).render_into(areas.body, buf);
    }
}
