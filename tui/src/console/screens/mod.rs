//! The console's screens: what the body shows, one per tab (the processes,
//! the action log, connections, listening sockets, Spydertraces, flags and
//! policies).  Each screen is one module that owns its state, its
//! keys and its drawing ([`ScreenState`]); [`screens!`] below is the one
//! place they are registered, and everything else is derived from it: the
//! [`Screen`] enum and its tab order, the tab bar, Tab / Shift-Tab and each
//! screen's letter key (and their names in the configuration's `[keys]`),
//! where keys go ([`Focus`]), the help, and the dispatch of messages,
//! drawing and mouse clicks.
//!
//! # Adding a screen
//!
//! 1. Write `screens/NAME.rs` with a state type that is `Debug + Default`
//!    and implements [`ScreenState`]: its [`ScreenInfo`] (tab title, letter
//!    key, help title, key table), `update` for the messages its keys send,
//!    `draw` for the body, and `status_line` for the footer.  Data it shows
//!    comes from [`Data`] (`cx.data` in `update`, `app.data()` when drawing);
//!    requests to a collector go through `cx.data.queue`.
//! 2. Add one line to the [`screens!`] invocation: `Name => NAME::Type,`.
//!
//! That is all: the tab shows, Tab reaches it, its letter works and can be
//! rebound as `show-…` in `[keys]`, its keys are in the help and checked for
//! clashes.  Optional [`ScreenState`] methods cover a prompt (`typing`),
//! work on entering it (`enter`), rows derived from data (`refresh`), a
//! cursor kept in view (`fit`), a filter the footer shows (`filter`), footer
//! keys (`footer_keys`) and mouse clicks (`hit`).
use std::fmt;

use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{
    App, Config,
    app::Data,
    filter::FilterError,
    input::{Focus, Key, Msg, PlaceInfo},
    model::{HostId, ProcessKey},
    overlays::Overlay,
    theme::Theme,
};

/// What a screen says about itself.
#[derive(Debug)]
pub struct ScreenInfo {
    /// Where its keys go: names, help title, key table.
    pub place: PlaceInfo,
    /// Its tab's title.
    pub title: &'static str,
    /// Its name on the footer's Tab key (the screen Tab goes to).
    pub short: &'static str,
    /// Its letter's name in the configuration's `[keys]`.
    pub show: &'static str,
    /// Its letter: shows it from any screen.
    pub key: Key,
}

/// What a screen's `update` may touch besides its own state.
pub struct Cx<'a> {
    pub data: &'a mut Data,
    pub config: &'a Config,
    /// Open an overlay by setting it.
    pub overlay: &'a mut Option<Overlay>,
    /// The footer's one-off message.
    pub flash: &'a mut Option<String>,
    /// Rows a page moves (the body's list height; 1 before the first draw).
    pub page: usize,
    /// The terminal's width (0 before the first draw).
    pub width: u16,
    /// The host the header describes.
    pub focus_host: HostId,
    /// Set to show this process on the processes screen (Enter on a
    /// connection).
    pub jump: &'a mut Option<ProcessKey>,
    /// Set to show this process as it was at this instant (Unix ns): a
    /// process gone from the data shown, found in the history.
    pub jump_at: &'a mut Option<(u64, ProcessKey)>,
}

/// One screen: its state, keys and drawing.  The state holds no terminal
/// types; drawing builds a widget from it.
pub trait ScreenState: fmt::Debug {
    fn info() -> &'static ScreenInfo
    where
        Self: Sized;

    /// A message from its keys (or, while `typing`, from the prompt's).
    fn update(&mut self, msg: Msg, cx: &mut Cx<'_>);

    /// True while a prompt of this screen takes the keys.
    fn typing(&self) -> bool {
        false
    }

    /// The screen was switched to.
    fn enter(&mut self, _cx: &mut Cx<'_>) {}

    /// Rebuilds what it derives from `data`, if that changed; `front` is
    /// the overlay in front of it.
    fn refresh(&mut self, _data: &Data, _front: Option<&Overlay>) {}

    /// The data under it was replaced by another (time travel): whatever
    /// it built from the old one is rebuilt at the next `refresh`.
    fn data_replaced(&mut self) {}

    /// Keeps its cursor in view in a body of `rows` list rows.
    fn fit(&mut self, _rows: usize) {}

    /// Its filter as typed and the text's error, for the footer.
    fn filter(&self) -> Option<(&str, Option<&FilterError>)> {
        None
    }

    /// Draws the body.
    fn draw(&self, app: &App, theme: &Theme, area: Rect, buf: &mut Buffer);

    /// The footer's status line while a prompt or filter is shown.
    fn prompt_line(&self, _app: &App, _theme: &Theme) -> Option<Line<'static>> {
        None
    }

    /// The footer's status line otherwise.
    fn status_line(&self, app: &App, theme: &Theme) -> Line<'static>;

    /// Its keys on the footer's bar, between Help and Tab: the message, the
    /// key to show while it still does that, the label.
    fn footer_keys(&self, _app: &App) -> Vec<(Msg, Key, &'static str)> {
        Vec::new()
    }

    /// A click at (`x`, `y`) inside the body `area`.
    fn hit(&self, _app: &App, _area: Rect, _x: u16, _y: u16) -> Option<Msg> {
        None
    }
}

/// Declares the screens: each line is `Variant => module::Type`, in tab
/// order.  It declares the modules, the [`Screen`] enum, and [`Screens`],
/// which holds every screen's state.
macro_rules! screens {
    ($($(#[$doc:meta])* $id:ident => $module:ident :: $ty:ident,)+) => {
        $(pub mod $module;)+

        /// Which screen the body shows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Screen {
            $($(#[$doc])* $id,)+
        }

        impl Screen {
            /// Every screen, in tab order.
            pub const ALL: &'static [Screen] = &[$(Screen::$id,)+];

            #[must_use]
            pub fn info(self) -> &'static ScreenInfo {
                match self {
                    $(Screen::$id => <$module::$ty as ScreenState>::info(),)+
                }
            }
        }

        /// Every screen's state (a screen keeps it while another shows).
        #[derive(Debug, Default)]
        pub struct Screens {
            $(pub $module: $module::$ty,)+
        }

        impl Screens {
            #[must_use]
            pub fn get(&self, screen: Screen) -> &dyn ScreenState {
                match screen {
                    $(Screen::$id => &self.$module,)+
                }
            }

            pub fn get_mut(&mut self, screen: Screen) -> &mut dyn ScreenState {
                match screen {
                    $(Screen::$id => &mut self.$module,)+
                }
            }

            /// Calls `f` on every screen's state.
            pub fn for_each(&mut self, mut f: impl FnMut(&mut dyn ScreenState)) {
                $(f(&mut self.$module);)+
            }
        }
    };
}

screens! {
    /// The process tree or table (with the detail view as an overlay).
    Processes => processes::Processes,
    /// The audit log's records, newest first.
    ActionLog => log::ActionLog,
    /// Connections, with their processes at both ends.
    Connections => conns::Connections,
    /// Listening sockets and their owners.
    Listening => listening::Listening,
    /// Spydertraces by score; Enter opens one as its process tree.
    Traces => traces::Traces,
    /// Flags the detection rules raised.
    Flags => flags::Flags,
    /// Workload and trace policies, and their deviations.
    Policies => policies::Policies,
}

/// What the Traces and Flags screens share: the table, its sort, filter,
/// search and `k`.
mod detect_table;

/// What the two network screens share: the table, its sort, filter and
/// search.
mod net_table;

impl Default for Screen {
    fn default() -> Screen {
        Screen::ALL[0]
    }
}

impl Screen {
    /// The screen `step` tabs away, wrapping around.
    #[must_use]
    pub fn step(self, step: isize) -> Screen {
        let n = Screen::ALL.len();
        let at = Screen::ALL.iter().position(|s| *s == self).unwrap_or(0);
        let to = isize::try_from(at)
            .unwrap_or(0)
            .saturating_add(step)
            .rem_euclid(isize::try_from(n).unwrap_or(1));
        Screen::ALL[usize::try_from(to).unwrap_or(0)]
    }

    /// Where its keys go.
    #[must_use]
    pub fn focus(self) -> Focus {
        Focus::Screen(self)
    }
}

#[cfg(test)]
mod tests;
