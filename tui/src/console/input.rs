//! Keys and mouse to [`Action`]s.  One table ([`bindings`], with the
//! configuration's overrides: [`Keymap`]) drives both the mapping and the
//! help overlay, so the help cannot drift from what the keys do.  htop's
//! F-keys and vim's motions both work.
use crossterm::event::{KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

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
    /// `k` / F9: the action menu on the selected process.
    ActMenu,
    /// F7 / F8: the renice dialog at the current nice value plus this.
    Renice(i8),
    /// Tab: processes <-> action log.
    SwitchView,
    /// Dialog: the next or previous field.
    NextField,
    PrevField,
    /// Dialog: the previous / next signal, priority -1 / +1.
    Decrease,
    Increase,
    /// Action log: the column chooser.
    Columns,
    /// Action log: fetch it again.
    Refresh,
}

impl Action {
    /// True for the keys that start a response action (hidden read-only).
    #[must_use]
    pub fn acts(self) -> bool {
        matches!(self, Action::ActMenu | Action::Renice(_))
    }
}

mod bindings;
mod keymap;
mod keyname;

pub use bindings::{ACT_BINDINGS, BINDINGS, Binding, Key, bindings};
pub use keymap::{Clash, Entry, Keymap, RebindError, Section, mode_name};
pub use keyname::KEY_SYNTAX;

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
    /// The action log instead of the process list.
    ActionLog,
    /// The action menu (`k`).
    ActMenu,
    /// The confirmation dialog: typing goes into its fields.
    Dialog,
    /// An action's result is showing: any key dismisses it.
    Toast,
    /// The action log's column chooser.
    Columns,
    /// One audit record in full.
    Record,
}

impl InputMode {
    /// Every mode, for checks that go through all of them.
    pub const ALL: [InputMode; 12] = [
        InputMode::Normal,
        InputMode::Search,
        InputMode::Filter,
        InputMode::Help,
        InputMode::SortMenu,
        InputMode::Detail,
        InputMode::ActionLog,
        InputMode::ActMenu,
        InputMode::Dialog,
        InputMode::Toast,
        InputMode::Columns,
        InputMode::Record,
    ];
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
    ActionLog,
    ActMenu,
    Dialog,
    Toast,
    Columns,
    Record,
}

impl Scope {
    /// Every scope, in the order the help lists them.
    pub const ALL: [Scope; 12] = [
        Scope::Global,
        Scope::Processes,
        Scope::Prompt,
        Scope::SortMenu,
        Scope::Detail,
        Scope::ActMenu,
        Scope::Dialog,
        Scope::Toast,
        Scope::ActionLog,
        Scope::Columns,
        Scope::Record,
        Scope::Help,
    ];

    /// The scopes that exist only to act (hidden read-only).
    #[must_use]
    pub fn acts(self) -> bool {
        matches!(self, Scope::ActMenu | Scope::Dialog | Scope::Toast)
    }

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Processes => "Process list",
            Scope::Prompt => "Search and filter prompts",
            Scope::SortMenu => "Sort menu (F6)",
            Scope::Detail => "Detail view (Enter)",
            Scope::Help => "This help",
            Scope::ActionLog => "Action log (Tab)",
            Scope::ActMenu => "Action menu (k F9)",
            Scope::Dialog => "Action dialog",
            Scope::Toast => "Action result",
            Scope::Columns => "Action log columns (C F2)",
            Scope::Record => "Audit record (Enter in the action log)",
        }
    }

    fn applies(self, mode: InputMode) -> bool {
        match (self, mode) {
            (Scope::Global, m) => !matches!(
                m,
                InputMode::Search | InputMode::Filter | InputMode::Dialog | InputMode::Toast
            ),
            (Scope::Processes, m) => m == InputMode::Normal,
            (Scope::Prompt, m) => matches!(m, InputMode::Search | InputMode::Filter),
            (Scope::SortMenu, m) => m == InputMode::SortMenu,
            (Scope::Detail, m) => m == InputMode::Detail,
            (Scope::Help, m) => m == InputMode::Help,
            (Scope::ActionLog, m) => m == InputMode::ActionLog,
            (Scope::ActMenu, m) => m == InputMode::ActMenu,
            (Scope::Dialog, m) => m == InputMode::Dialog,
            (Scope::Toast, m) => m == InputMode::Toast,
            (Scope::Columns, m) => m == InputMode::Columns,
            (Scope::Record, m) => m == InputMode::Record,
        }
    }
}

fn key_of(ev: &KeyEvent) -> Key {
    Key {
        code: ev.code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
    }
}

/// The action for a key press in `mode` with the default keys (the
/// console uses its configured [`Keymap`]: [`super::App::action_for`]).
#[must_use]
pub fn action_for(key: KeyEvent, mode: &InputMode) -> Option<Action> {
    Keymap::defaults().action_for(key, *mode)
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
