//! The console's state, split like tokio-console's `State` and `View`:
//! [`Data`] is what the collectors said (hosts, processes, audit records,
//! actions in flight), [`ViewState`] is what the user looks at (the screen
//! and every screen's state, the overlay, the result toast, the footer's
//! message).  No terminal types live here: the loop feeds it perch.v1
//! messages (`ingest_*`), key and mouse messages ([`App::update`]) and time
//! ([`App::tick`]), and [`crate::console::render`] draws it.  Requests the
//! console wants sent (actions, the audit log) wait in an outbox the loop
//! empties ([`App::take_outbox`]).
mod act;
mod data;
mod detect;
mod hosts;
mod ingest;
mod query;
mod travel;

use std::time::{Duration, Instant};

pub use self::data::{Acts, ConnectionState, Data, Host};
pub use self::travel::ACTIONS_DISABLED;
use crate::act::ClientIdentity;

use super::{
    columns::Columns,
    input::{Focus, Keymap, Msg},
    overlays::{Next, Overlay, OverlayKind, help::Help, toast::Toast},
    screens::{Cx, Screen, ScreenState, Screens},
    ui,
};

/// Settings the loop chooses (from the configuration file, `crate::config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long exited processes stay on screen, dimmed.
    pub exited_retention: Duration,
    /// Bytes the process rows may hold before exited ones go early.
    pub process_memory_bytes: usize,
    /// Connections (and, apart, listening sockets) held per console before
    /// closed ones, then the oldest, go early.
    pub connection_limit: usize,
    /// Flags and traces held per console (perchd's own bounds) before the
    /// oldest go.
    pub flag_limit: usize,
    pub trace_limit: usize,
    /// Local time's offset from UTC, for START and the detail view's dates
    /// (the console has no time zone database; the loop asks libc).
    pub utc_offset_secs: i32,
    /// False under `NO_COLOR`: bold, reverse and dim only.
    pub color: bool,
    /// `perch --read-only`: no action key does anything, none is shown.
    pub read_only: bool,
    /// This console, as action requests name it.
    pub client: ClientIdentity,
    /// The table's columns, in order (COMMAND is always shown, last); the
    /// column setup (F2) changes the processes screen's copy.
    pub columns: Columns,
    /// The keys in effect.
    pub keys: Keymap,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            exited_retention: Duration::from_secs(30),
            process_memory_bytes: 32 << 20,
            connection_limit: 20_000,
            flag_limit: 10_000,
            trace_limit: 1_000,
            utc_offset_secs: 0,
            color: true,
            read_only: false,
            client: ClientIdentity::default(),
            columns: Columns::default(),
            keys: Keymap::default(),
        }
    }
}

impl Config {
    /// Defaults, with colour off when `NO_COLOR` is set to anything non-empty
    /// (<https://no-color.org>).
    #[must_use]
    pub fn from_env() -> Config {
        Config {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            ..Config::default()
        }
    }
}

/// What the user looks at.
#[derive(Debug, Default)]
pub struct ViewState {
    pub screen: Screen,
    pub screens: Screens,
    /// The overlay in front of the screen, with its state.
    pub overlay: Option<Overlay>,
    /// An action's result, over everything until a key or its time is up.
    pub toast: Option<Toast>,
    /// A trace that just became notable (takes no key).
    pub notice: Option<super::overlays::notice::Notice>,
    /// A one-off line for the footer, until the next key.
    pub flash: Option<String>,
    /// The terminal's size as the loop last said ((0, 0): not yet).
    pub size: (u16, u16),
    pub quit: bool,
    /// `#`: the header's meters are hidden.
    pub meters_hidden: bool,
    /// `Z`: collector data is held, not applied, until resumed.
    pub paused: bool,
    /// A screen asked to show this process on the processes screen.
    pub jump: Option<super::model::ProcessKey>,
    /// A screen asked to show this process at this instant.
    pub jump_at: Option<(u64, super::model::ProcessKey)>,
    /// The process to show once the past state travelled to arrives.
    pub jump_after_travel: Option<super::model::ProcessKey>,
}

#[derive(Debug)]
pub struct App {
    pub(crate) config: Config,
    /// The live data (collector messages always go here).
    pub(crate) data: Data,
    /// A past state the screens show instead, while not LIVE.
    pub(crate) past: Option<Data>,
    pub(crate) travel: super::timeline::Timeline,
    pub(crate) view: ViewState,
}

impl App {
    /// An empty console; `now` starts its clock.
    #[must_use]
    pub fn new(config: Config, now: Instant) -> App {
        let mut view = ViewState::default();
        view.screens.processes.columns = config.columns.clone();
        App {
            config,
            data: Data::new(now),
            past: None,
            travel: super::timeline::Timeline::default(),
            view,
        }
    }

    /// Where keys go now: the screen's prompt while typing; else an
    /// overlay that takes text (the dialog); else a result on screen;
    /// else the overlay; else the screen.
    #[must_use]
    pub fn focus(&self) -> Focus {
        let screen = self.view.screen;
        if self.view.screens.get(screen).typing() {
            return Focus::Prompt;
        }
        let front = self.view.overlay.as_ref().map(Overlay::kind);
        if let Some(kind) = front
            && kind.info().text
        {
            return Focus::Overlay(kind);
        }
        if self.view.toast.is_some() {
            return Focus::Toast;
        }
        front.map_or(Focus::Screen(screen), Focus::Overlay)
    }

    /// Carries out a message, then rebuilds what changed.  Every message is
    /// valid in every state (at worst it does nothing).
    pub fn update(&mut self, msg: Msg) {
        if msg == Msg::Quit {
            self.view.quit = true;
            return;
        }
        self.view.flash = None;
        if self.refuse_in_past(msg) {
            return;
        }
        match self.focus() {
            Focus::Toast => self.on_toast(msg),
            // The detail view steps and plays in time like a screen (its
            // graphs and links show the instant chosen); the time menu is
            // an overlay of its own, from a screen.
            Focus::Overlay(OverlayKind::Detail) if matches!(msg, Msg::TimeStep(_) | Msg::Play) => {
                self.on_time_msg(msg);
            }
            Focus::Overlay(kind) => self.update_overlay(kind, msg),
            Focus::Prompt => self.update_screen(msg),
            Focus::Screen(screen) => match msg {
                Msg::Help => self.view.overlay = Some(Overlay::Help(Help::default())),
                Msg::NextScreen => self.switch(screen.step(1)),
                Msg::PrevScreen => self.switch(screen.step(-1)),
                Msg::Show(to) => self.switch(to),
                Msg::ToggleMeters => self.view.meters_hidden = !self.view.meters_hidden,
                Msg::TogglePause => self.toggle_pause(),
                Msg::TimeStep(_) | Msg::Play | Msg::TimeMenu => self.on_time_msg(msg),
                _ => self.update_screen(msg),
            },
        }
        self.refresh();
    }

    /// `Z`: hold collector data, or apply everything held and go on.
    fn toggle_pause(&mut self) {
        self.view.paused = !self.view.paused;
        if !self.view.paused {
            for (host, events) in std::mem::take(&mut self.data.held) {
                self.ingest_events(host, &events);
            }
        }
    }

    /// Updates are paused (`Z`): the footer says so.
    #[must_use]
    pub fn paused(&self) -> bool {
        self.view.paused
    }

    fn update_overlay(&mut self, kind: OverlayKind, msg: Msg) {
        let Some(mut overlay) = self.view.overlay.take() else {
            return;
        };
        // The help key opens the help over any overlay that takes the
        // global keys, and closes the help itself.
        if msg == Msg::Help && kind.info().global {
            if kind != OverlayKind::Help {
                self.view.overlay = Some(Overlay::Help(Help::default()));
            }
            return;
        }
        match overlay.state_mut().update(msg, self) {
            Next::Stay => self.view.overlay = Some(overlay),
            Next::Close => {}
            Next::Open(next) => self.view.overlay = Some(next),
        }
    }

    fn update_screen(&mut self, msg: Msg) {
        let screen = self.view.screen;
        self.with_screen(screen, |s, cx| s.update(msg, cx));
        if let Some((at, key)) = self.view.jump_at.take() {
            self.travel_to_show(at, key);
        }
        self.apply_jump();
    }

    /// Shows the process a screen asked for on the processes screen.
    fn apply_jump(&mut self) {
        if let Some(key) = self.view.jump.take() {
            self.switch(Screen::Processes);
            self.refresh();
            self.with_screen(Screen::Processes, |s, cx| s.update(Msg::Select(key), cx));
        }
    }

    /// Shows another screen (entering it may fetch what it shows).
    fn switch(&mut self, to: Screen) {
        if to != self.view.screen {
            self.view.screen = to;
            self.with_screen(to, |s, cx| s.enter(cx));
        }
    }

    /// Runs `f` on a screen's state with what it may touch besides.
    fn with_screen(&mut self, screen: Screen, f: impl FnOnce(&mut dyn ScreenState, &mut Cx<'_>)) {
        let page = self.page();
        let focus_host = self.focus_host();
        let width = self.view.size.0;
        let ViewState {
            screens,
            overlay,
            flash,
            jump,
            jump_at,
            ..
        } = &mut self.view;
        let data = self.past.as_mut().unwrap_or(&mut self.data);
        let mut cx = Cx {
            jump,
            jump_at,
            data,
            config: &self.config,
            overlay,
            flash,
            page,
            width,
            focus_host,
        };
        f(screens.get_mut(screen), &mut cx);
    }

    /// Rebuilds what the screens derive from the data, if anything changed,
    /// and keeps their cursors in view.  `tick` and `update` do this
    /// themselves; a loop that only ingests calls it before drawing.
    pub fn refresh(&mut self) {
        let ViewState {
            screens, overlay, ..
        } = &mut self.view;
        let data = self.past.as_ref().unwrap_or(&self.data);
        screens.for_each(|s| s.refresh(data, overlay.as_ref()));
        if let Some(rows) = self.list_rows() {
            self.view.screens.for_each(|s| s.fit(rows));
        }
    }

    /// The terminal's size changed (the loop says so once at start).
    pub fn resize(&mut self, width: u16, height: u16) {
        self.view.size = (width, height);
        self.refresh();
    }

    /// The terminal's size as last said ((0, 0) before).
    #[must_use]
    pub fn size(&self) -> (u16, u16) {
        self.view.size
    }

    /// Rows of a screen's list (the body under its title row) at the
    /// terminal's size, if known.
    fn list_rows(&self) -> Option<usize> {
        let (width, height) = self.view.size;
        if width == 0 || height == 0 {
            return None;
        }
        let body = ui::layout(self, ratatui::layout::Rect::new(0, 0, width, height)).body;
        Some(usize::from(body.height.saturating_sub(1)))
    }

    /// Rows a page key moves (1 before the terminal's size is known).
    fn page(&self) -> usize {
        self.list_rows().unwrap_or(1).max(1)
    }

    /// The message for a click at a screen position (see
    /// [`super::input::mouse_msg`]).
    #[must_use]
    pub fn hit(&self, x: u16, y: u16) -> Option<Msg> {
        ui::hit(self, x, y)
    }
}

#[cfg(test)]
pub(crate) mod tests;
