//! The action log's keys, in the order the help lists them.  They are
//! not rebindable: they are read from the help, not retrained.
use crossterm::event::KeyCode;

use crate::console::input::{Binding, Msg, bind, code, ctrl, k};

pub(super) static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down), ctrl('n')],
        "j Down ^N",
        Msg::Down,
        "next (older) record",
    ),
    bind(
        &[k('k'), code(KeyCode::Up), ctrl('p')],
        "k Up ^P",
        Msg::Up,
        "previous (newer) record",
    ),
    bind(
        &[code(KeyCode::PageDown), ctrl('f')],
        "PgDn ^F",
        Msg::PageDown,
        "page down",
    ),
    bind(
        &[code(KeyCode::PageUp), ctrl('b')],
        "PgUp ^B",
        Msg::PageUp,
        "page up",
    ),
    bind(
        &[k('g'), code(KeyCode::Home)],
        "g Home",
        Msg::Home,
        "newest record",
    ),
    bind(
        &[k('G'), code(KeyCode::End)],
        "G End",
        Msg::End,
        "oldest record",
    ),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "the whole record (processes, hash)",
    ),
    bind(
        &[k('\\'), code(KeyCode::F(4))],
        "\\ F4",
        Msg::Filter,
        "filter: action: result: who: since: text",
    ),
    bind(
        &[k('C'), code(KeyCode::F(2))],
        "C F2",
        Msg::Columns,
        "choose columns",
    ),
    bind(
        &[k('r'), code(KeyCode::F(5))],
        "r F5",
        Msg::Refresh,
        "fetch the log again",
    ),
];
