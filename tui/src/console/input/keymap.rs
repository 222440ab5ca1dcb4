//! The keys in effect: the default table ([`BINDINGS`]) with the
//! configuration file's overrides applied.  Both the key mapping and the
//! help overlay read it, so the help shows the keys that really work.
use std::{borrow::Cow, sync::LazyLock};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::{Action, InputMode, Key, Scope, bindings, key_of};

/// The name of each rebindable action in the configuration file.
const ACTION_NAMES: &[(Action, &str)] = &[
    (Action::Help, "help"),
    (Action::Quit, "quit"),
    (Action::Cancel, "cancel"),
    (Action::Confirm, "confirm"),
    (Action::Backspace, "backspace"),
    (Action::Down, "down"),
    (Action::Up, "up"),
    (Action::PageDown, "page-down"),
    (Action::PageUp, "page-up"),
    (Action::Home, "home"),
    (Action::End, "end"),
    (Action::ToggleTree, "tree"),
    (Action::Collapse, "collapse"),
    (Action::Expand, "expand"),
    (Action::ToggleAll, "toggle-all"),
    (Action::SortMenu, "sort-by"),
    (Action::SortPrev, "sort-prev"),
    (Action::SortNext, "sort-next"),
    (Action::InvertSort, "invert-sort"),
    (Action::Search, "search"),
    (Action::Filter, "filter"),
    (Action::NextMatch, "next-match"),
    (Action::PrevMatch, "prev-match"),
    (Action::ToggleKernelThreads, "kernel-threads"),
    (Action::ToggleFollow, "follow"),
    (Action::ActMenu, "act"),
    (Action::Renice(-1), "nice-down"),
    (Action::Renice(1), "nice-up"),
    (Action::SwitchView, "action-log"),
];

impl Action {
    /// The action a configuration file names (`page-down` or `page_down`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Action> {
        let name = name.replace('_', "-");
        ACTION_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(a, _)| *a)
    }

    /// Every name a configuration file may use, in help order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        ACTION_NAMES.iter().map(|(_, n)| *n)
    }

    /// The configuration file's name for the action, if it has keys.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        ACTION_NAMES
            .iter()
            .find(|(a, _)| *a == self)
            .map(|(_, n)| *n)
    }
}

/// A group of keys the configuration file rebinds as one table: `[keys]`
/// is the process list and everywhere else; the others are sub-tables,
/// named so they differ from every action (`sort-by` opens the
/// `sort-menu`, `help` opens the `help-screen`): TOML cannot have both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Main,
    Prompt,
    SortMenu,
    Detail,
    Help,
}

impl Section {
    pub const SUBTABLES: [Section; 4] = [
        Section::Prompt,
        Section::SortMenu,
        Section::Detail,
        Section::Help,
    ];

    /// The sub-table's name under `[keys]` (`""` for `[keys]` itself).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Section::Main => "",
            Section::Prompt => "prompt",
            Section::SortMenu => "sort-menu",
            Section::Detail => "detail",
            Section::Help => "help-screen",
        }
    }

    fn scopes(self) -> &'static [Scope] {
        match self {
            Section::Main => &[Scope::Global, Scope::Processes],
            Section::Prompt => &[Scope::Prompt],
            Section::SortMenu => &[Scope::SortMenu],
            Section::Detail => &[Scope::Detail],
            Section::Help => &[Scope::Help],
        }
    }
}

/// One line of the effective key table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub scope: Scope,
    pub action: Action,
    pub keys: Vec<Key>,
    /// How the help overlay writes the keys.
    pub label: Cow<'static, str>,
    pub help: &'static str,
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

/// A key bound to two actions where both apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clash {
    pub key: Key,
    /// The entries (indexes into [`Keymap::entries`]), earlier first.
    pub first: usize,
    pub second: usize,
    pub mode: InputMode,
}

/// The keys in effect, in the order the help lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    entries: Vec<Entry>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            entries: bindings()
                .map(|b| Entry {
                    scope: b.scope,
                    action: b.action,
                    keys: b.keys.to_vec(),
                    label: Cow::Borrowed(b.label),
                    help: b.help,
                })
                .collect(),
        }
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

    /// The action for a key press in `mode`, if any.  Releases are ignored;
    /// in a prompt, unbound characters are text; in the help, any unbound
    /// key closes it, like htop.
    #[must_use]
    pub fn action_for(&self, key: KeyEvent, mode: InputMode) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let pressed = key_of(&key);
        let bound = self
            .entries
            .iter()
            .filter(|e| e.scope.applies(mode))
            .find(|e| e.keys.contains(&pressed))
            .map(|e| e.action);
        if bound.is_some() {
            return bound;
        }
        match (mode, pressed) {
            (
                InputMode::Search | InputMode::Filter | InputMode::Dialog,
                Key {
                    code: KeyCode::Char(c),
                    ctrl: false,
                },
            ) => Some(Action::Input(c)),
            // Any other key closes the help, like htop, and dismisses a result.
            (InputMode::Help | InputMode::Toast, _) => Some(Action::Cancel),
            _ => None,
        }
    }

    /// Replaces the keys of `action` in `section` (duplicates collapse);
    /// returns the index of the entry changed.
    pub fn rebind(
        &mut self,
        section: Section,
        action: Action,
        keys: &[Key],
    ) -> Result<usize, RebindError> {
        let name = action.name().unwrap_or("this action");
        let index = self
            .entries
            .iter()
            .position(|e| e.action == action && section.scopes().contains(&e.scope))
            .ok_or(RebindError::NotHere(name))?;
        let entry = &mut self.entries[index];
        if keys.is_empty() {
            return Err(RebindError::Empty);
        }
        if section == Section::Prompt
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

    /// The first key bound to two different actions in a mode, if any.
    #[must_use]
    pub fn clash(&self) -> Option<Clash> {
        for mode in InputMode::ALL {
            let live: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.entries[i].scope.applies(mode))
                .collect();
            for (n, &i) in live.iter().enumerate() {
                for &j in &live[n + 1..] {
                    let (a, b) = (&self.entries[i], &self.entries[j]);
                    if a.action == b.action {
                        continue;
                    }
                    if let Some(key) = b.keys.iter().find(|k| a.keys.contains(k)) {
                        return Some(Clash {
                            key: *key,
                            first: i,
                            second: j,
                            mode,
                        });
                    }
                }
            }
        }
        None
    }

    /// The key the footer shows for `action` on the process list:
    /// `preferred` while it still does that, else the first key that does.
    #[must_use]
    pub fn footer_key(&self, action: Action, preferred: Key) -> Option<Key> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.action == action && Section::Main.scopes().contains(&e.scope))?;
        if entry.keys.contains(&preferred) {
            Some(preferred)
        } else {
            entry.keys.first().copied()
        }
    }
}

/// How an error message names the place a mode's keys work.
#[must_use]
pub fn mode_name(mode: InputMode) -> &'static str {
    match mode {
        InputMode::Normal => "the process list",
        InputMode::Search | InputMode::Filter => "the search and filter prompts",
        InputMode::Help => "the help",
        InputMode::SortMenu => "the sort menu",
        InputMode::Detail => "the detail view",
        InputMode::ActionLog => "the action log",
        InputMode::ActMenu => "the action menu",
        InputMode::Dialog => "the action dialog",
        InputMode::Toast => "an action's result",
        InputMode::Columns => "the column chooser",
        InputMode::Record => "an audit record",
    }
}
