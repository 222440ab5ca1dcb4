//! The dialog's keys: typing goes into its fields, so only named keys and
//! ctrl-<key> do anything else.  Not rebindable: read from the help.
use crossterm::event::KeyCode;

use crate::console::input::{Binding, Msg, bind, code, ctrl, k};

pub(super) static KEYS: &[Binding] = &[
    bind(&[ctrl('c')], "^C", Msg::Quit, "quit"),
    bind(
        &[code(KeyCode::Esc)],
        "Esc",
        Msg::Cancel,
        "cancel: nothing is sent",
    ),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "send (elsewhere: go to the button)",
    ),
    bind(
        &[code(KeyCode::Tab), code(KeyCode::Down)],
        "Tab Down",
        Msg::NextField,
        "next field (reason, dry run, button)",
    ),
    bind(
        &[code(KeyCode::BackTab), code(KeyCode::Up)],
        "S-Tab Up",
        Msg::PrevField,
        "previous field",
    ),
    bind(
        &[code(KeyCode::Left)],
        "Left",
        Msg::Decrease,
        "previous signal from any field (in a typed reason: cursor left); priority -1",
    ),
    bind(
        &[code(KeyCode::Right)],
        "Right",
        Msg::Increase,
        "next signal: TERM, KILL, ... (in a typed reason: cursor right); priority +1",
    ),
    bind(
        &[ctrl('a'), code(KeyCode::Home)],
        "^A Home",
        Msg::LineStart,
        "reason: to the start",
    ),
    bind(
        &[ctrl('e'), code(KeyCode::End)],
        "^E End",
        Msg::LineEnd,
        "reason: to the end",
    ),
    bind(&[ctrl('w')], "^W", Msg::DeleteWord, "reason: delete the word before"),
    bind(&[ctrl('u')], "^U", Msg::DeleteLine, "reason: delete everything before"),
    bind(
        &[code(KeyCode::PageDown)],
        "PgDn",
        Msg::PageDown,
        "scroll down the processes it hits",
    ),
    bind(
        &[code(KeyCode::PageUp)],
        "PgUp",
        Msg::PageUp,
        "scroll up the processes it hits",
    ),
    bind(
        &[k(' ')],
        "Space",
        Msg::Input(' '),
        "toggle dry run (in the reason: a space)",
    ),
    bind(
        &[code(KeyCode::Backspace)],
        "Backspace",
        Msg::Backspace,
        "delete a character",
    ),
];
