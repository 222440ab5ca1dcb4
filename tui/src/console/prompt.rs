//! The prompt a screen types into (the process search and filter, the
//! action log's filter): its keys.  The text itself is a
//! [`super::editor::LineEditor`] the screen owns; characters that no key
//! takes are typed.
use crossterm::event::KeyCode;

use super::input::{Binding, Msg, PlaceInfo, bind, code, ctrl};

pub static INFO: PlaceInfo = PlaceInfo {
    global: false,
    text: true,
    ..PlaceInfo::new(
        "the search and filter prompts",
        "Search and filter prompts",
        Some("prompt"),
        KEYS,
    )
};

static KEYS: &[Binding] = &[
    bind(&[ctrl('c')], "^C", Msg::Quit, "quit"),
    bind(
        &[code(KeyCode::Esc)],
        "Esc",
        Msg::Cancel,
        "cancel and clear",
    ),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "keep it and go back to the list",
    ),
    bind(
        &[code(KeyCode::Backspace)],
        "Backspace",
        Msg::Backspace,
        "delete a character",
    ),
    bind(
        &[code(KeyCode::Down), code(KeyCode::F(3))],
        "Down F3",
        Msg::NextMatch,
        "next match (search)",
    ),
    bind(
        &[code(KeyCode::Up), code(KeyCode::BackTab)],
        "Up S-Tab",
        Msg::PrevMatch,
        "previous match (search)",
    ),
];
