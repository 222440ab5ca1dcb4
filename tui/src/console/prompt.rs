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
        "clear this prompt (only this one) and close it",
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
        &[code(KeyCode::Left), ctrl('b')],
        "Left ^B",
        Msg::CursorLeft,
        "cursor left",
    ),
    bind(
        &[code(KeyCode::Right), ctrl('f')],
        "Right ^F",
        Msg::CursorRight,
        "cursor right",
    ),
    bind(
        &[ctrl('a'), code(KeyCode::Home)],
        "^A Home",
        Msg::LineStart,
        "to the start",
    ),
    bind(
        &[ctrl('e'), code(KeyCode::End)],
        "^E End",
        Msg::LineEnd,
        "to the end",
    ),
    bind(
        &[ctrl('w')],
        "^W",
        Msg::DeleteWord,
        "delete the word before",
    ),
    bind(
        &[ctrl('u')],
        "^U",
        Msg::DeleteLine,
        "delete everything before",
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
