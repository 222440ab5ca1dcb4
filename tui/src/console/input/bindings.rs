//! The key table: every key of every mode, with the words the help shows.
//! The keys of response actions and the action log are in [`act`].
mod act;

use crossterm::event::KeyCode;

pub use self::act::ACT_BINDINGS;
use super::{Action, Scope};

/// A key with its modifiers (Shift is ignored for characters: `G` is `G`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

/// One line of the key table.
#[derive(Debug)]
pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [Key],
    /// How the help overlay writes the keys.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const fn bind(
    scope: Scope,
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        scope,
        keys,
        label,
        action,
        help,
    }
}

use Scope::{Detail, Global, Processes, Prompt};

/// Every binding: [`BINDINGS`] then [`ACT_BINDINGS`].
pub fn bindings() -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().chain(ACT_BINDINGS)
}

/// Every key the console knows, in the order the help lists them.  Earlier
/// entries win when a key appears twice in one mode.
pub static BINDINGS: &[Binding] = &[
    bind(
        Global,
        &[code(KeyCode::F(1)), k('?')],
        "F1 ?",
        Action::Help,
        "this help",
    ),
    bind(
        Global,
        &[code(KeyCode::F(10)), k('q'), ctrl('c')],
        "F10 q ^C",
        Action::Quit,
        "quit",
    ),
    bind(
        Global,
        &[code(KeyCode::Esc)],
        "Esc",
        Action::Cancel,
        "close overlay; clear search and filter",
    ),
    bind(Prompt, &[ctrl('c')], "^C", Action::Quit, "quit"),
    bind(
        Prompt,
        &[code(KeyCode::Esc)],
        "Esc",
        Action::Cancel,
        "cancel and clear",
    ),
    bind(
        Prompt,
        &[code(KeyCode::Enter)],
        "Enter",
        Action::Confirm,
        "keep it and go back to the list",
    ),
    bind(
        Prompt,
        &[code(KeyCode::Backspace)],
        "Backspace",
        Action::Backspace,
        "delete a character",
    ),
    bind(
        Prompt,
        &[code(KeyCode::Down), code(KeyCode::F(3))],
        "Down F3",
        Action::NextMatch,
        "next match (search)",
    ),
    bind(
        Prompt,
        &[code(KeyCode::Up), code(KeyCode::BackTab)],
        "Up S-Tab",
        Action::PrevMatch,
        "previous match (search)",
    ),
    bind(
        Processes,
        &[k('j'), code(KeyCode::Down), ctrl('n')],
        "j Down ^N",
        Action::Down,
        "next process",
    ),
    // Not `k`: that is htop's kill key (see `ACT_BINDINGS`).
    bind(
        Processes,
        &[code(KeyCode::Up), ctrl('p')],
        "Up ^P",
        Action::Up,
        "previous process",
    ),
    bind(
        Processes,
        &[code(KeyCode::PageDown), ctrl('f')],
        "PgDn ^F",
        Action::PageDown,
        "page down",
    ),
    bind(
        Processes,
        &[code(KeyCode::PageUp), ctrl('b')],
        "PgUp ^B",
        Action::PageUp,
        "page up",
    ),
    bind(
        Processes,
        &[k('g'), code(KeyCode::Home)],
        "g Home",
        Action::Home,
        "first process",
    ),
    bind(
        Processes,
        &[k('G'), code(KeyCode::End)],
        "G End",
        Action::End,
        "last process",
    ),
    bind(
        Processes,
        &[code(KeyCode::Enter)],
        "Enter",
        Action::Confirm,
        "details of the process",
    ),
    bind(
        Processes,
        &[k('t'), code(KeyCode::F(5))],
        "t F5",
        Action::ToggleTree,
        "tree or flat table",
    ),
    bind(
        Processes,
        &[k('h'), code(KeyCode::Left), k('-')],
        "h Left -",
        Action::Collapse,
        "collapse (or go to parent)",
    ),
    bind(
        Processes,
        &[k('l'), code(KeyCode::Right), k('+'), k('=')],
        "l Right +",
        Action::Expand,
        "expand",
    ),
    bind(
        Processes,
        &[k('*')],
        "*",
        Action::ToggleAll,
        "collapse or expand all",
    ),
    bind(
        Processes,
        &[code(KeyCode::F(6))],
        "F6",
        Action::SortMenu,
        "sort menu",
    ),
    bind(
        Processes,
        &[k('<'), k(',')],
        "< ,",
        Action::SortPrev,
        "sort by the column to the left",
    ),
    bind(
        Processes,
        &[k('>'), k('.')],
        "> .",
        Action::SortNext,
        "sort by the column to the right",
    ),
    bind(
        Processes,
        &[k('I')],
        "I",
        Action::InvertSort,
        "invert the sort order",
    ),
    bind(
        Processes,
        &[k('/'), code(KeyCode::F(3))],
        "/ F3",
        Action::Search,
        "fuzzy search",
    ),
    bind(
        Processes,
        &[k('n')],
        "n",
        Action::NextMatch,
        "next search match",
    ),
    bind(
        Processes,
        &[k('N')],
        "N",
        Action::PrevMatch,
        "previous search match",
    ),
    bind(
        Processes,
        &[k('\\'), code(KeyCode::F(4))],
        "\\ F4",
        Action::Filter,
        "filter (user:root cpu>5 !is:kernel)",
    ),
    bind(
        Processes,
        &[k('K')],
        "K",
        Action::ToggleKernelThreads,
        "show or hide kernel threads",
    ),
    bind(
        Processes,
        &[k('F')],
        "F",
        Action::ToggleFollow,
        "follow the selected process",
    ),
    bind(
        Scope::SortMenu,
        &[k('j'), code(KeyCode::Down)],
        "j Down",
        Action::Down,
        "next column",
    ),
    bind(
        Scope::SortMenu,
        &[k('k'), code(KeyCode::Up)],
        "k Up",
        Action::Up,
        "previous column",
    ),
    bind(
        Scope::SortMenu,
        &[code(KeyCode::Enter)],
        "Enter",
        Action::Confirm,
        "sort by it (again: invert)",
    ),
    bind(
        Scope::SortMenu,
        &[k('I')],
        "I",
        Action::InvertSort,
        "invert the sort order",
    ),
    bind(
        Detail,
        &[k('j'), code(KeyCode::Down)],
        "j Down",
        Action::Down,
        "next parent or child",
    ),
    bind(
        Detail,
        &[k('k'), code(KeyCode::Up)],
        "k Up",
        Action::Up,
        "previous parent or child",
    ),
    bind(
        Detail,
        &[code(KeyCode::Enter)],
        "Enter",
        Action::Confirm,
        "jump to it",
    ),
    bind(
        Detail,
        &[k('g'), code(KeyCode::Home)],
        "g Home",
        Action::Home,
        "first entry",
    ),
    bind(
        Detail,
        &[k('G'), code(KeyCode::End)],
        "G End",
        Action::End,
        "last entry",
    ),
    bind(
        Scope::Help,
        &[k('j'), code(KeyCode::Down)],
        "j Down",
        Action::Down,
        "scroll down",
    ),
    bind(
        Scope::Help,
        &[k('k'), code(KeyCode::Up)],
        "k Up",
        Action::Up,
        "scroll up",
    ),
    bind(
        Scope::Help,
        &[code(KeyCode::PageDown)],
        "PgDn",
        Action::PageDown,
        "page down",
    ),
    bind(
        Scope::Help,
        &[code(KeyCode::PageUp)],
        "PgUp",
        Action::PageUp,
        "page up; any other key closes",
    ),
];
