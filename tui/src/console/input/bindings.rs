//! Key bindings: a key with its modifiers, one line of a key table, the
//! helpers the tables are written with, and the two tables that belong to
//! no single place (the keys that work everywhere, and moving between
//! screens).  Each screen and overlay keeps its own table next to its code
//! ([`super::PlaceInfo::keys`]).
use crossterm::event::KeyCode;

use super::Msg;

/// A key with its modifiers (Shift is ignored for characters: `G` is `G`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

/// A character key.
#[must_use]
pub const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

/// A named key (`Enter`, `F1`).
#[must_use]
pub const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// Ctrl with a character.
#[must_use]
pub const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

/// One line of a key table.
#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the help overlay writes the keys.
    pub label: &'static str,
    pub msg: Msg,
    pub help: &'static str,
}

#[must_use]
pub const fn bind(
    keys: &'static [Key],
    label: &'static str,
    msg: Msg,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        msg,
        help,
    }
}

/// Scrolling a text overlay (a record, a change to confirm), one line at
/// a time: for the overlays' own tables.
pub const SCROLL_DOWN: Binding = bind(
    &[k('j'), code(KeyCode::Down), ctrl('n')],
    "j Down ^N",
    Msg::Down,
    "scroll down",
);
pub const SCROLL_UP: Binding = bind(
    &[k('k'), code(KeyCode::Up), ctrl('p')],
    "k Up ^P",
    Msg::Up,
    "scroll up",
);

/// The keys of every place that takes them ([`super::PlaceInfo::global`]).
pub static GLOBAL_BINDINGS: &[Binding] = &[
    bind(
        &[code(KeyCode::F(1)), k('?')],
        "F1 ?",
        Msg::Help,
        "this help",
    ),
    bind(
        &[code(KeyCode::F(10)), k('q'), ctrl('c')],
        "F10 q ^C",
        Msg::Quit,
        "quit",
    ),
    bind(
        &[code(KeyCode::Esc)],
        "Esc",
        Msg::Cancel,
        "close overlay; clear the search, else the filter",
    ),
];

/// The keys of every screen that move to another; each screen's own
/// letter comes from its registration ([`crate::console::screens`]).
pub static SCREEN_BINDINGS: &[Binding] = &[
    bind(
        &[code(KeyCode::Tab)],
        "Tab",
        Msg::NextScreen,
        "the next screen",
    ),
    bind(
        &[code(KeyCode::BackTab)],
        "S-Tab",
        Msg::PrevScreen,
        "the previous screen",
    ),
    bind(&[k('#')], "#", Msg::ToggleMeters, "hide or show the meters"),
    bind(
        &[k('Z')],
        "Z",
        Msg::TogglePause,
        "pause updates (data is kept, shown on resume)",
    ),
    bind(
        &[k('@')],
        "@",
        Msg::TimeMenu,
        "time menu: jumps, a typed time, LIVE",
    ),
];

/// The time-travel keys: every screen, and the detail view (whose graphs
/// and links show the instant chosen, so stepping there is the point).
pub static TIME_BINDINGS: &[Binding] = &[
    bind(
        &[k('[')],
        "[",
        Msg::TimeStep(-1),
        "time: one second (a sample) back",
    ),
    bind(
        &[k(']')],
        "]",
        Msg::TimeStep(1),
        "time: a second on (the end: LIVE)",
    ),
    bind(&[k('{')], "{", Msg::TimeStep(-60), "time: one minute back"),
    bind(&[k('}')], "}", Msg::TimeStep(60), "time: one minute on"),
    bind(
        &[k(' ')],
        "Space",
        Msg::Play,
        "time: play 1x; again 2x 4x 10x, pause",
    ),
];
