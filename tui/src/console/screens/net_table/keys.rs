//! The network screens' keys, in the order the help lists them; the
//! process table's keys where they do the same thing.
use crossterm::event::KeyCode;

use crate::console::input::{Binding, Msg, bind, code, ctrl, k};

pub(in crate::console::screens) static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down), ctrl('n')],
        "j Down ^N",
        Msg::Down,
        "next row",
    ),
    bind(
        &[k('k'), code(KeyCode::Up), ctrl('p')],
        "k Up ^P",
        Msg::Up,
        "previous row",
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
        "first row",
    ),
    bind(&[k('G'), code(KeyCode::End)], "G End", Msg::End, "last row"),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "show its process on the processes screen",
    ),
    bind(
        &[k('<'), k(',')],
        "< ,",
        Msg::SortPrev,
        "sort by the column to the left",
    ),
    bind(
        &[k('>'), k('.')],
        "> .",
        Msg::SortNext,
        "sort by the column to the right",
    ),
    bind(&[k('I')], "I", Msg::InvertSort, "invert the sort order"),
    bind(
        &[k('/'), code(KeyCode::F(3))],
        "/ F3",
        Msg::Search,
        "fuzzy search",
    ),
    bind(&[k('n')], "n", Msg::NextMatch, "next search match"),
    bind(&[k('N')], "N", Msg::PrevMatch, "previous search match"),
    bind(
        &[k('\\'), code(KeyCode::F(4))],
        "\\ F4",
        Msg::Filter,
        "filter (port:9000 dir:out proto:tcp pid: is:open)",
    ),
];
