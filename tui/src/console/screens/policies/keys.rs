//! The Policies screen's keys, in the order the help lists them.
use crossterm::event::KeyCode;

use crate::console::input::{Binding, Msg, bind, code, ctrl, k};

pub(super) static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down), ctrl('n')],
        "j Down ^N",
        Msg::Down,
        "next policy (or deviation)",
    ),
    bind(
        &[k('k'), code(KeyCode::Up), ctrl('p')],
        "k Up ^P",
        Msg::Up,
        "previous policy (or deviation)",
    ),
    bind(
        &[k('g'), code(KeyCode::Home)],
        "g Home",
        Msg::Home,
        "first",
    ),
    bind(
        &[k('G'), code(KeyCode::End)],
        "G End",
        Msg::End,
        "last",
    ),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "the policy's deviations (Esc: back); on a deviation, its process",
    ),
    bind(
        &[k('m')],
        "m",
        Msg::AddToPolicy,
        "on a deviation: add it to its policy (shows the change, Enter applies)",
    ),
    bind(
        &[k('r'), code(KeyCode::F(5))],
        "r F5",
        Msg::Refresh,
        "list the policies again",
    ),
];
