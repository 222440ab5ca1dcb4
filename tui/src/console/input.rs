//! Keys and mouse to [`Action`]s.  One table ([`BINDINGS`]) drives both
//! the mapping and the help overlay, so the help cannot drift from what the
//! keys do.  htop's F-keys and vim's motions both work.
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::{columns::Column, model::ProcessKey};

/// What the user asked for; [`super::App::update`] carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Tree: collapse the selected node, or go to its parent.
    Collapse,
    /// Tree: expand the selected node.
    Expand,
    /// Tree: collapse everything, or expand everything when all is collapsed.
    ToggleAll,
    ToggleTree,
    SortMenu,
    SortPrev,
    SortNext,
    InvertSort,
    SortBy(Column),
    ToggleKernelThreads,
    ToggleFollow,
    Search,
    Filter,
    NextMatch,
    PrevMatch,
    /// A character typed into the search or filter prompt.
    Input(char),
    Backspace,
    /// Enter: open the detail view, confirm a prompt, pick in a menu, jump.
    Confirm,
    /// Esc: close the overlay or prompt, else clear search and filter.
    Cancel,
    Help,
    /// Mouse: select this process.
    Select(ProcessKey),
    /// Mouse wheel: move the selection by this many rows.
    Scroll(i32),
}

/// Where keystrokes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputMode {
    Normal,
    /// Typing a search query.
    Search,
    /// Typing a filter.
    Filter,
    Help,
    SortMenu,
    Detail,
}

/// Which group of bindings applies in a mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every mode except typing in a prompt.
    Global,
    /// The process list.
    Processes,
    /// Typing a search or filter.
    Prompt,
    SortMenu,
    Detail,
    Help,
}

impl Scope {
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Processes => "Process list",
            Scope::Prompt => "Search and filter prompts",
            Scope::SortMenu => "Sort menu (F6)",
            Scope::Detail => "Detail view (Enter)",
            Scope::Help => "This help",
        }
    }

    fn applies(self, mode: InputMode) -> bool {
        match (self, mode) {
            (Scope::Global, m) => !matches!(m, InputMode::Search | InputMode::Filter),
            (Scope::Processes, m) => m == InputMode::Normal,
            (Scope::Prompt, m) => matches!(m, InputMode::Search | InputMode::Filter),
            (Scope::SortMenu, m) => m == InputMode::SortMenu,
            (Scope::Detail, m) => m == InputMode::Detail,
            (Scope::Help, m) => m == InputMode::Help,
        }
    }
}

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
        &[k('j'), code(KeyCode::Down)],
        "j Down",
        Action::Down,
        "next process",
    ),
    bind(
        Processes,
        &[k('k'), code(KeyCode::Up)],
        "k Up",
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

fn key_of(ev: &KeyEvent) -> Key {
    Key {
        code: ev.code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
    }
}

/// The action for a key press in `mode`, if any.  Releases and repeats of
/// the kitty protocol are ignored; in a prompt, unbound characters are text.
#[must_use]
pub fn action_for(key: KeyEvent, mode: &InputMode) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let pressed = key_of(&key);
    let bound = BINDINGS
        .iter()
        .filter(|b| b.scope.applies(*mode))
        .find(|b| b.keys.contains(&pressed))
        .map(|b| b.action);
    if bound.is_some() {
        return bound;
    }
    match (mode, pressed) {
        (
            InputMode::Search | InputMode::Filter,
            Key {
                code: KeyCode::Char(c),
                ctrl: false,
            },
        ) => Some(Action::Input(c)),
        // Any other key closes the help, like htop.
        (InputMode::Help, _) => Some(Action::Cancel),
        _ => None,
    }
}

/// Where the table was last drawn, so clicks can be mapped to rows and
/// columns; recorded by the table widget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableGeometry {
    pub x: u16,
    /// Screen row of the column titles.
    pub header_y: u16,
    /// Screen row of the first process row.
    pub body_y: u16,
    pub width: u16,
    /// Process rows that fit.
    pub height: u16,
}

/// The action for a mouse event: wheel scrolls, a click on a row selects
/// it, on a title sorts by that column (again: inverts), and a double
/// click is not needed (Enter opens details).
#[must_use]
pub fn mouse_action(ev: MouseEvent, app: &super::App) -> Option<Action> {
    match ev.kind {
        MouseEventKind::ScrollDown => Some(Action::Scroll(3)),
        MouseEventKind::ScrollUp => Some(Action::Scroll(-3)),
        MouseEventKind::Down(MouseButton::Left) => app.hit(ev.column, ev.row),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
