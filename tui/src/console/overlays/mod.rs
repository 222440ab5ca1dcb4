//! Overlays: what opens in front of a screen (the help, the sort menu, the
//! detail view, the action menu and dialog, the column chooser, an audit
//! record).  One is open at a time, and its state travels in its
//! [`Overlay`] variant, so an overlay cannot be open without its data nor
//! its data linger without it.  Each is one module with its state, keys and
//! drawing ([`OverlayState`]), registered once in [`overlays!`] below; the
//! result toast is a layer of its own ([`toast`]): it shows over whatever
//! is open.
use std::fmt;

use ratatui::{buffer::Buffer, layout::Rect};

use super::{App, input::Msg, input::PlaceInfo, theme::Theme};

pub mod notice;
pub mod toast;

/// Where an overlay may draw.
#[derive(Clone, Copy, Debug)]
pub struct Areas {
    /// The whole terminal.
    pub full: Rect,
    /// Between the tab bar and the footer.
    pub body: Rect,
}

/// What happens to an overlay after a message.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned once per key and moved into its slot at once"
)]
pub enum Next {
    Stay,
    Close,
    /// Close, and open this one instead.
    Open(Overlay),
}

/// One overlay: its state, keys and drawing.
pub trait OverlayState: fmt::Debug {
    fn info() -> &'static PlaceInfo
    where
        Self: Sized;

    /// A message from its keys.  The overlay is out of the [`App`] while it
    /// handles it, so it may change anything else there.
    fn update(&mut self, msg: Msg, app: &mut App) -> Next;

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer);
}

/// Declares the overlays: each line is `Variant => module::Type`, in help
/// order.  It declares the modules, [`Overlay`] (state in each variant)
/// and [`OverlayKind`] (which one, without the state).
macro_rules! overlays {
    ($($(#[$doc:meta])* $id:ident => $module:ident :: $ty:ident,)+) => {
        $(pub mod $module;)+

        /// The overlay that is open, with its state.
        #[derive(Clone, Debug, PartialEq)]
        #[expect(
            clippy::large_enum_variant,
            reason = "one overlay at a time, moved into its slot once per key; \
                      the dialog carries its list of processes hit"
        )]
        pub enum Overlay {
            $($(#[$doc])* $id($module::$ty),)+
        }

        /// Which overlay, without its state (where keys go).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OverlayKind {
            $($id,)+
        }

        impl OverlayKind {
            /// Every overlay, in help order.
            pub const ALL: &'static [OverlayKind] = &[$(OverlayKind::$id,)+];

            #[must_use]
            pub fn info(self) -> &'static PlaceInfo {
                match self {
                    $(OverlayKind::$id => <$module::$ty as OverlayState>::info(),)+
                }
            }
        }

        impl Overlay {
            #[must_use]
            pub fn kind(&self) -> OverlayKind {
                match self {
                    $(Overlay::$id(_) => OverlayKind::$id,)+
                }
            }

            #[must_use]
            pub fn state(&self) -> &dyn OverlayState {
                match self {
                    $(Overlay::$id(s) => s,)+
                }
            }

            pub fn state_mut(&mut self) -> &mut dyn OverlayState {
                match self {
                    $(Overlay::$id(s) => s,)+
                }
            }
        }
    };
}

overlays! {
    /// F6: the column to sort the processes by.
    SortMenu => sort_menu::SortMenu,
    /// Enter on a process: everything about it, its parents and children.
    Detail => detail::Detail,
    /// `k` / F9: the actions on the selected process.
    ActMenu => act_menu::Menu,
    /// An action's confirmation: signal or priority, reason, dry run.
    Dialog => dialog::Dialog,
    /// The action log's column chooser.
    Columns => columns::Chooser,
    /// F2 on the processes: which columns, in which order (saved).
    ColumnSetup => column_setup::ColumnSetup,
    /// One audit record in full.
    Record => record::Record,
    /// `@`: time travel's jumps, a typed time, LIVE.
    TimeMenu => time_menu::TimeMenu,
    /// `m` on a deviation: the policy with it added, to confirm.
    PolicyMerge => policy_merge::PolicyMerge,
    /// F1 / `?`: every key, from the key tables in effect.
    Help => help::Help,
}

/// `1 process`, `7 processes`.
pub(crate) fn processes(n: usize) -> String {
    format!("{n} {}", if n == 1 { "process" } else { "processes" })
}
