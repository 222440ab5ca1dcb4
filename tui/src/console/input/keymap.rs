//! The keys in effect: every place's key table ([`super::PlaceInfo::keys`],
//! with the global keys and the screens' tabs) and the configuration file's
//! overrides applied.  Both the key mapping and the help overlay read it, so
//! the help shows the keys that really work.
use std::{borrow::Cow, sync::LazyLock};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::{
    Binding, Focus, GLOBAL_BINDINGS, Key, Msg, SCREEN_BINDINGS, Scope, TIME_BINDINGS, key_of,
};
use crate::console::{columns::Column, screens::Screen};

/// The name of each rebindable message in the configuration file (each
/// screen's letter is named by its registration: `show-processes`).
const MSG_NAMES: &[(Msg, &str)] = &[
    (Msg::Help, "help"),
    (Msg::Quit, "quit"),
    (Msg::Cancel, "cancel"),
    (Msg::Confirm, "confirm"),
    (Msg::Backspace, "backspace"),
    (Msg::Down, "down"),
    (Msg::Up, "up"),
    (Msg::PageDown, "page-down"),
    (Msg::PageUp, "page-up"),
    (Msg::Home, "home"),
    (Msg::End, "end"),
    (Msg::ToggleTree, "tree"),
    (Msg::Collapse, "collapse"),
    (Msg::Expand, "expand"),
    (Msg::ToggleAll, "toggle-all"),
    (Msg::SortMenu, "sort-by"),
    (Msg::SortPrev, "sort-prev"),
    (Msg::SortNext, "sort-next"),
    (Msg::InvertSort, "invert-sort"),
    (Msg::SortOn(Column::Cpu), "sort-cpu"),
    (Msg::SortOn(Column::Mem), "sort-memory"),
    (Msg::SortOn(Column::Time), "sort-time"),
    (Msg::ToggleExited, "exited"),
    (Msg::ToggleMeters, "meters"),
    (Msg::TogglePause, "pause"),
    (Msg::ColumnSetup, "columns"),
    (Msg::MoveColumn(-1), "move-left"),
    (Msg::MoveColumn(1), "move-right"),
    (Msg::CursorLeft, "cursor-left"),
    (Msg::CursorRight, "cursor-right"),
    (Msg::LineStart, "line-start"),
    (Msg::LineEnd, "line-end"),
    (Msg::DeleteWord, "delete-word"),
    (Msg::DeleteLine, "delete-line"),
    (Msg::Search, "search"),
    (Msg::Filter, "filter"),
    (Msg::NextMatch, "next-match"),
    (Msg::PrevMatch, "prev-match"),
    (Msg::ToggleKernelThreads, "kernel-threads"),
    (Msg::ToggleThreads, "threads"),
    (Msg::ToggleFollow, "follow"),
    (Msg::ActMenu, "act"),
    (Msg::ToggleSuppressed, "suppressed"),
    (Msg::Renice(-1), "nice-down"),
    (Msg::Renice(1), "nice-up"),
    (Msg::NextScreen, "next-screen"),
    (Msg::TimeStep(-1), "time-back"),
    (Msg::TimeStep(1), "time-forward"),
    (Msg::TimeStep(-60), "time-back-minute"),
    (Msg::TimeStep(60), "time-forward-minute"),
    (Msg::Play, "play"),
    (Msg::TimeMenu, "time-menu"),
    (Msg::PrevScreen, "prev-screen"),
];

impl Msg {
    /// The message a configuration file names (`page-down` or `page_down`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Msg> {
        let name = name.replace('_', "-");
        MSG_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(m, _)| *m)
            .or_else(|| {
                Screen::ALL
                    .iter()
                    .find(|s| s.info().show == name)
                    .map(|s| Msg::Show(*s))
            })
    }

    /// Every name a configuration file may use, in help order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        MSG_NAMES
            .iter()
            .map(|(_, n)| *n)
            .chain(Screen::ALL.iter().map(|s| s.info().show))
    }

    /// The configuration file's name for the message, if it has keys.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        if let Msg::Show(s) = self {
            return Some(s.info().show);
        }
        MSG_NAMES.iter().find(|(m, _)| *m == self).map(|(_, n)| *n)
    }
}

/// A group of keys the configuration file rebinds as one table: `[keys]`
/// ([`Section::MAIN`]) is the process list, the tabs and everywhere else;
/// the others are sub-tables named by the places that have one
/// ([`super::PlaceInfo::section`]), named so they differ from every
/// message (`sort-by` opens the `sort-menu`, `help` opens the
/// `help-screen`): TOML cannot have both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section(&'static str);

impl Section {
    pub const MAIN: Section = Section("");

    /// The sub-tables, in help order.
    #[must_use]
    pub fn subtables() -> Vec<Section> {
        let mut out: Vec<Section> = Vec::new();
        for name in Focus::all().filter_map(|f| f.info().section) {
            if !name.is_empty() && !out.iter().any(|s| s.0 == name) {
                out.push(Section(name));
            }
        }
        out
    }

    /// The table of a place's keys, if they are rebindable.
    #[must_use]
    pub fn of(focus: Focus) -> Option<Section> {
        focus.info().section.map(Section)
    }

    /// The sub-table's name under `[keys]` (`""` for `[keys]` itself).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.0
    }

    fn covers(self, scope: Scope) -> bool {
        scope.section() == Some(self.0)
    }

    /// True when the section's places take typed text (a plain character
    /// there would be text, not a key).
    fn takes_text(self) -> bool {
        Focus::all().any(|f| f.info().section == Some(self.0) && f.info().text)
    }
}

/// One line of the effective key table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub scope: Scope,
    pub msg: Msg,
    pub keys: Vec<Key>,
    /// How the help overlay writes the keys.
    pub label: Cow<'static, str>,
    pub help: &'static str,
}

impl Entry {
    fn of(scope: Scope, b: &Binding) -> Entry {
        Entry {
            scope,
            msg: b.msg,
            keys: b.keys.to_vec(),
            label: Cow::Borrowed(b.label),
            help: b.help,
        }
    }
}

/// Why an override cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RebindError {
    #[error("{0} has no keys here")]
    NotHere(&'static str),
    #[error("give at least one key")]
    Empty,
    #[error("\"{0}\" would be text in the prompt; use a named key or ctrl-<key>")]
    TextInPrompt(Key),
}

/// A key bound to two messages where both apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clash {
    pub key: Key,
    /// The entries (indexes into [`Keymap::entries`]), earlier first.
    pub first: usize,
    pub second: usize,
    pub focus: Focus,
}

/// The keys in effect, in the order the help lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    entries: Vec<Entry>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut entries: Vec<Entry> = GLOBAL_BINDINGS
            .iter()
            .map(|b| Entry::of(Scope::Global, b))
            .collect();
        entries.extend(SCREEN_BINDINGS.iter().map(|b| Entry::of(Scope::Screens, b)));
        entries.extend(Screen::ALL.iter().map(|s| {
            let info = s.info();
            Entry {
                scope: Scope::Screens,
                msg: Msg::Show(*s),
                keys: vec![info.key],
                label: Cow::Owned(info.key.to_string()),
                help: "the screen with that letter (tab bar)",
            }
        }));
        entries.extend(TIME_BINDINGS.iter().map(|b| Entry::of(Scope::Time, b)));
        for focus in Focus::all() {
            let keys = focus.info().keys;
            entries.extend(keys.iter().map(|b| Entry::of(Scope::At(focus), b)));
        }
        Keymap { entries }
    }
}

impl Keymap {
    /// The default keys, shared.
    #[must_use]
    pub fn defaults() -> &'static Keymap {
        static DEFAULTS: LazyLock<Keymap> = LazyLock::new(Keymap::default);
        &DEFAULTS
    }

    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The message for a key press at `focus`, if any.  Releases are
    /// ignored; where text is typed, unbound characters are text; in the
    /// help and on a result, any unbound key closes it, like htop.
    #[must_use]
    pub fn msg_for(&self, key: KeyEvent, focus: Focus) -> Option<Msg> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let pressed = key_of(&key);
        let bound = self
            .entries
            .iter()
            .filter(|e| e.scope.applies(focus))
            .find(|e| e.keys.contains(&pressed))
            .map(|e| e.msg);
        if bound.is_some() {
            return bound;
        }
        let info = focus.info();
        match pressed {
            Key {
                code: KeyCode::Char(c),
                ctrl: false,
            } if info.text => Some(Msg::Input(c)),
            _ if info.any_key => Some(Msg::Cancel),
            _ => None,
        }
    }

    /// Replaces the keys of `msg` in `section` (duplicates collapse);
    /// returns the index of the entry changed.
    pub fn rebind(
        &mut self,
        section: Section,
        msg: Msg,
        keys: &[Key],
    ) -> Result<usize, RebindError> {
        let name = msg.name().unwrap_or("this action");
        let index = self
            .entries
            .iter()
            .position(|e| e.msg == msg && section.covers(e.scope))
            .ok_or(RebindError::NotHere(name))?;
        if keys.is_empty() {
            return Err(RebindError::Empty);
        }
        if section.takes_text()
            && let Some(k) = keys
                .iter()
                .find(|k| !k.ctrl && matches!(k.code, KeyCode::Char(_)))
        {
            return Err(RebindError::TextInPrompt(*k));
        }
        let mut unique: Vec<Key> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.contains(k) {
                unique.push(*k);
            }
        }
        let entry = &mut self.entries[index];
        entry.label = Cow::Owned(
            unique
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        );
        entry.keys = unique;
        Ok(index)
    }

    /// The first key bound to two different messages in one place, if any.
    #[must_use]
    pub fn clash(&self) -> Option<Clash> {
        for focus in Focus::all() {
            let live: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.entries[i].scope.applies(focus))
                .collect();
            for (n, &i) in live.iter().enumerate() {
                for &j in &live[n + 1..] {
                    let (a, b) = (&self.entries[i], &self.entries[j]);
                    if a.msg == b.msg {
                        continue;
                    }
                    if let Some(key) = b.keys.iter().find(|k| a.keys.contains(k)) {
                        return Some(Clash {
                            key: *key,
                            first: i,
                            second: j,
                            focus,
                        });
                    }
                }
            }
        }
        None
    }

    /// The keys of `msg` at `focus`, in the order given.
    #[must_use]
    pub fn keys_of(&self, msg: Msg, focus: Focus) -> &[Key] {
        self.entries
            .iter()
            .find(|e| e.msg == msg && e.scope.applies(focus))
            .map_or(&[], |e| e.keys.as_slice())
    }

    /// The key the footer shows for `msg` at `focus`: `preferred` while it
    /// still does that, else the first key that does.
    #[must_use]
    pub fn footer_key(&self, msg: Msg, preferred: Key, focus: Focus) -> Option<Key> {
        let keys = self.keys_of(msg, focus);
        if keys.contains(&preferred) {
            Some(preferred)
        } else {
            keys.first().copied()
        }
    }
}
