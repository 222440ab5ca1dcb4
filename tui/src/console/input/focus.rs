//! Where keys go, derived once from the registries: each screen
//! ([`crate::console::screens`]), the prompt a screen types into, each
//! overlay ([`crate::console::overlays`]) and the result toast.  Each place
//! describes itself ([`PlaceInfo`]: its keys, its names, whether it takes
//! text); the key mapping, the help, the configuration's tables and the
//! clash check all read those descriptions, so no list of places is kept
//! by hand.
use super::Binding;
use crate::console::{
    overlays::{OverlayKind, toast},
    prompt,
    screens::Screen,
};

/// Where keys go now ([`crate::console::App::focus`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Focus {
    /// A screen, with nothing in front of it.
    Screen(Screen),
    /// Typing in the screen's search or filter.
    Prompt,
    Overlay(OverlayKind),
    /// An action's result is showing: any key dismisses it.
    Toast,
}

/// What a place says about itself.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent properties of a place, each read on its own"
)]
pub struct PlaceInfo {
    /// How an error message names it (`the process list`).
    pub name: &'static str,
    /// Its section's title in the help.
    pub title: &'static str,
    /// Its keys' table in the configuration file: `Some("")` is `[keys]`
    /// itself, `Some("detail")` is `[keys.detail]`, `None`: not rebindable.
    pub section: Option<&'static str>,
    /// The keys that work everywhere (help, quit, Esc) work here too.
    pub global: bool,
    /// Unbound characters are typed text.
    pub text: bool,
    /// Any unbound key closes it (the help and a result, like htop).
    pub any_key: bool,
    /// It exists only to act: hidden in a read-only console.
    pub acts: bool,
    /// Its own keys, in help order.
    pub keys: &'static [Binding],
}

impl PlaceInfo {
    /// A place with the global keys, no text, nothing special.
    #[must_use]
    pub const fn new(
        name: &'static str,
        title: &'static str,
        section: Option<&'static str>,
        keys: &'static [Binding],
    ) -> PlaceInfo {
        PlaceInfo {
            name,
            title,
            section,
            global: true,
            text: false,
            any_key: false,
            acts: false,
            keys,
        }
    }
}

impl Focus {
    /// Every place, in help order: the screens (tab order), the prompt, the
    /// overlays (registry order), the toast.
    pub fn all() -> impl Iterator<Item = Focus> {
        Screen::ALL
            .iter()
            .map(|s| Focus::Screen(*s))
            .chain([Focus::Prompt])
            .chain(OverlayKind::ALL.iter().map(|o| Focus::Overlay(*o)))
            .chain([Focus::Toast])
    }

    #[must_use]
    pub fn info(self) -> &'static PlaceInfo {
        match self {
            Focus::Screen(s) => &s.info().place,
            Focus::Prompt => &prompt::INFO,
            Focus::Overlay(o) => o.info(),
            Focus::Toast => &toast::INFO,
        }
    }

    /// How an error message names it.
    #[must_use]
    pub fn name(self) -> &'static str {
        self.info().name
    }
}

/// Which places a key binding applies in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every place that takes the global keys ([`PlaceInfo::global`]).
    Global,
    /// Every screen: moving between them.
    Screens,
    /// Every screen and the detail view: moving in time.
    Time,
    At(Focus),
}

impl Scope {
    /// Every scope, in help order.
    pub fn all() -> impl Iterator<Item = Scope> {
        [Scope::Global, Scope::Screens, Scope::Time]
            .into_iter()
            .chain(Focus::all().map(Scope::At))
    }

    #[must_use]
    pub fn applies(self, focus: Focus) -> bool {
        match self {
            Scope::Global => focus.info().global,
            Scope::Screens => matches!(focus, Focus::Screen(_)),
            Scope::Time => matches!(
                focus,
                Focus::Screen(_) | Focus::Overlay(OverlayKind::Detail)
            ),
            Scope::At(f) => f == focus,
        }
    }

    /// The scope's title in the help.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Screens => "Every screen (the tabs)",
            Scope::Time => "Time travel (every screen and the detail view)",
            Scope::At(f) => f.info().title,
        }
    }

    /// True for the scopes that exist only to act (hidden read-only).
    #[must_use]
    pub fn acts(self) -> bool {
        matches!(self, Scope::At(f) if f.info().acts)
    }

    /// Its table in the configuration file (see [`PlaceInfo::section`]).
    #[must_use]
    pub fn section(self) -> Option<&'static str> {
        match self {
            Scope::Global | Scope::Screens | Scope::Time => Some(""),
            Scope::At(f) => f.info().section,
        }
    }
}
