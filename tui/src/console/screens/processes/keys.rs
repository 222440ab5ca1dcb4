//! The processes screen's keys, in the order the help lists them; the
//! action keys (htop's `k` / F9 menu, F7 / F8 nice) last, since a
//! read-only console hides them (see [`Msg::acts`]).
use crossterm::event::KeyCode;

use crate::console::{
    columns::Column,
    input::{Binding, Msg, bind, code, ctrl, k},
};

pub(super) static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down), ctrl('n')],
        "j Down ^N",
        Msg::Down,
        "next process",
    ),
    // Not `k`: that is htop's kill key (below).
    bind(
        &[code(KeyCode::Up), ctrl('p')],
        "Up ^P",
        Msg::Up,
        "previous process",
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
        "first process",
    ),
    bind(
        &[k('G'), code(KeyCode::End)],
        "G End",
        Msg::End,
        "last process",
    ),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "details of the process",
    ),
    bind(
        &[k('t'), code(KeyCode::F(5))],
        "t F5",
        Msg::ToggleTree,
        "tree or flat table",
    ),
    bind(
        &[k('h'), code(KeyCode::Left), k('-')],
        "h Left -",
        Msg::Collapse,
        "collapse (or go to parent)",
    ),
    bind(
        &[k('l'), code(KeyCode::Right), k('+'), k('=')],
        "l Right +",
        Msg::Expand,
        "expand",
    ),
    bind(&[k('*')], "*", Msg::ToggleAll, "collapse or expand all"),
    bind(&[code(KeyCode::F(6))], "F6", Msg::SortMenu, "sort menu"),
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
    bind(&[k('P')], "P", Msg::SortOn(Column::Cpu), "sort by CPU%"),
    bind(&[k('M')], "M", Msg::SortOn(Column::Mem), "sort by memory"),
    bind(&[k('T')], "T", Msg::SortOn(Column::Time), "sort by CPU time"),
    bind(&[code(KeyCode::F(2))], "F2", Msg::ColumnSetup, "column setup"),
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
        "filter (user:root cpu>5 !is:kernel)",
    ),
    bind(
        &[k('K')],
        "K",
        Msg::ToggleKernelThreads,
        "show or hide kernel threads (hidden at start)",
    ),
    bind(
        &[k('H')],
        "H",
        Msg::ToggleThreads,
        "show or hide userland threads as rows under their process",
    ),
    bind(&[k('E')], "E", Msg::ToggleExited, "hide or show exited processes"),
    bind(
        &[k('F')],
        "F",
        Msg::ToggleFollow,
        "follow the selected process",
    ),
    bind(
        &[k('k'), code(KeyCode::F(9))],
        "k F9",
        Msg::ActMenu,
        "act on it: kill, kill tree/group/pod, renice, freeze",
    ),
    bind(
        &[code(KeyCode::F(7))],
        "F7",
        Msg::Renice(-1),
        "quick renice: nice -1 now (more CPU)",
    ),
    bind(
        &[code(KeyCode::F(8))],
        "F8",
        Msg::Renice(1),
        "quick renice: nice +1 now (less CPU)",
    ),
];
