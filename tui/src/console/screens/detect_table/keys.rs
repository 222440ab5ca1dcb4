//! The detection screens' keys, in the order the help lists them; the
//! process table's keys where they do the same thing (`k` acts, as there,
//! so Up and ^P move up).
use crossterm::event::KeyCode;

use crate::console::input::{Binding, Msg, bind, code, ctrl, k};

/// The keys both tables have, after each screen's own first line.
macro_rules! common_keys {
    ($($first:expr,)*) => {
        &[
            $($first,)*
            bind(&[k('j'), code(KeyCode::Down), ctrl('n')], "j Down ^N", Msg::Down, "next row"),
            bind(&[code(KeyCode::Up), ctrl('p')], "Up ^P", Msg::Up, "previous row"),
            bind(&[code(KeyCode::PageDown), ctrl('f')], "PgDn ^F", Msg::PageDown, "page down"),
            bind(&[code(KeyCode::PageUp), ctrl('b')], "PgUp ^B", Msg::PageUp, "page up"),
            bind(&[k('g'), code(KeyCode::Home)], "g Home", Msg::Home, "first row"),
            bind(&[k('G'), code(KeyCode::End)], "G End", Msg::End, "last row"),
            bind(
                &[k('k'), code(KeyCode::F(9))],
                "k F9",
                Msg::ActMenu,
                "act on its process (the trace's root), the reason pre-filled",
            ),
            bind(&[k('<'), k(',')], "< ,", Msg::SortPrev, "sort by the column to the left"),
            bind(&[k('>'), k('.')], "> .", Msg::SortNext, "sort by the column to the right"),
            bind(&[k('I')], "I", Msg::InvertSort, "invert the sort order"),
            bind(&[k('/'), code(KeyCode::F(3))], "/ F3", Msg::Search, "fuzzy search"),
            bind(&[k('n')], "n", Msg::NextMatch, "next search match"),
            bind(&[k('N')], "N", Msg::PrevMatch, "previous search match"),
            bind(
                &[k('\\'), code(KeyCode::F(4))],
                "\\ F4",
                Msg::Filter,
                "filter (sev:high score:50 pid:42 rule: mitre: user: is:excepted|suppressed|active)",
            ),
        ]
    };
}

pub(in crate::console::screens) static TRACE_KEYS: &[Binding] = common_keys![
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "open the trace: its process tree and its flags (Esc back)",
    ),
    bind(
        &[k('S')],
        "S",
        Msg::ToggleSuppressed,
        "show or hide suppressed traces (is:suppressed shows them too)",
    ),
];

pub(in crate::console::screens) static FLAG_KEYS: &[Binding] = common_keys![bind(
    &[code(KeyCode::Enter)],
    "Enter",
    Msg::Confirm,
    "show its process on the processes screen",
),];
