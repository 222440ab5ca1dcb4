//! Keys and mouse to messages ([`Msg`]) for the reducer
//! ([`super::App::update`]).  One table per place keys can go ([`Focus`]:
//! each screen and overlay brings its own), with the configuration's
//! overrides ([`Keymap`]), drives both the mapping and the help overlay, so
//! the help cannot drift from what the keys do.  htop's F-keys and vim's
//! motions both work.
use crossterm::event::{KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::{columns::Column, model::ProcessKey, screens::Screen};

/// What the user asked for: the reducer's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
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
    /// A header click: sort by this column, or invert when it already is.
    SortBy(Column),
    /// htop's P, M, T: sort by this column in its usual direction (again:
    /// no change; `I` inverts).
    SortOn(Column),
    ToggleKernelThreads,
    /// Userland threads as rows under their process (htop's `H`).
    ToggleThreads,
    ToggleFollow,
    Search,
    Filter,
    NextMatch,
    PrevMatch,
    /// A character typed into a prompt or a dialog field.
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
    /// Tab / Shift-Tab: the next or previous screen.
    NextScreen,
    PrevScreen,
    /// A screen's letter, or a click on its tab.
    Show(Screen),
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
    /// Show or hide exited processes.
    ToggleExited,
    /// `#`: show or hide the header's meters.
    ToggleMeters,
    /// `Z`: stop applying collector data to the screen (kept, applied on resume).
    TogglePause,
    /// F2: the process table's column setup.
    ColumnSetup,
    /// Column setup: move the column left (-1) or right (+1).
    MoveColumn(i8),
    /// Prompts: move the cursor, to the start or end, delete the word
    /// before it, delete everything before it.
    CursorLeft,
    CursorRight,
    LineStart,
    LineEnd,
    DeleteWord,
    DeleteLine,
    /// The result of an action that left a process running: KILL it (the
    /// dialog opens pre-filled, so the reason is still confirmed).
    Escalate,
    /// A header click on a network screen: sort by its column at this
    /// position.
    SortAt(u8),
    /// A click on a network screen's row at this position.
    SelectRow(usize),
    /// Traces screen: show or hide suppressed traces.
    ToggleSuppressed,
    /// Time travel: this many seconds back (negative) or forward.
    TimeStep(i32),
    /// Time travel: play forward, faster, or pause.
    Play,
    /// Time travel: the time menu.
    TimeMenu,
    /// Policies screen: add the selected deviation to its policy.
    AddToPolicy,
}

impl Msg {
    /// True for the messages a [`super::editor::LineEditor`] takes.
    #[must_use]
    pub fn edits(self) -> bool {
        matches!(
            self,
            Msg::Input(_)
                | Msg::Backspace
                | Msg::CursorLeft
                | Msg::CursorRight
                | Msg::LineStart
                | Msg::LineEnd
                | Msg::DeleteWord
                | Msg::DeleteLine
        )
    }

    /// True for the keys that start a response action (hidden read-only).
    #[must_use]
    pub fn acts(self) -> bool {
        matches!(self, Msg::ActMenu | Msg::Renice(_) | Msg::Escalate)
    }
}

mod bindings;
mod focus;
mod keymap;
mod keyname;

pub use bindings::{
    Binding, GLOBAL_BINDINGS, Key, SCREEN_BINDINGS, SCROLL_DOWN, SCROLL_UP, TIME_BINDINGS, bind,
    code, ctrl, k,
};
pub use focus::{Focus, PlaceInfo, Scope};
pub use keymap::{Clash, Entry, Keymap, RebindError, Section};
pub use keyname::KEY_SYNTAX;

fn key_of(ev: &KeyEvent) -> Key {
    Key {
        code: ev.code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
    }
}

/// The message for a key press at `focus` with the default keys (the
/// console uses its configured [`Keymap`]: [`super::App::msg_for`]).
#[must_use]
pub fn msg_for(key: KeyEvent, focus: Focus) -> Option<Msg> {
    Keymap::defaults().msg_for(key, focus)
}

/// The message for a mouse event: the wheel scrolls, a click selects a
/// row, sorts by a column title (again: inverts) or shows a tab; Enter, not
/// a double click, opens details.
#[must_use]
pub fn mouse_msg(ev: MouseEvent, app: &super::App) -> Option<Msg> {
    match ev.kind {
        MouseEventKind::ScrollDown => Some(Msg::Scroll(3)),
        MouseEventKind::ScrollUp => Some(Msg::Scroll(-3)),
        MouseEventKind::Down(MouseButton::Left) => app.hit(ev.column, ev.row),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
