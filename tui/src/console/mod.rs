//! The interactive console's core, an Elm-style loop: state fed by perch.v1
//! messages ([`App`]: the data it holds and what the user looks at), keys
//! and mouse mapped to messages ([`input`]), one reducer
//! ([`App::update`]), and widgets that draw the state ([`ui`]).  Each
//! screen ([`screens`]) and overlay ([`overlays`]) is one module with its
//! state, keys and drawing, registered in one place.
//!
//! A terminal loop uses it like this:
//!
//! ```ignore
//! let mut app = App::new(settings.console, Instant::now()); // crate::config::load
//! app.resize(width, height); // and on every resize
//! app.ingest_info(HostId(0), info);
//! app.ingest_snapshot(HostId(0), processes);
//! loop {
//!     // events from the collector: app.ingest_events(HostId(0), &batch.events)
//!     // keys: if let Some(m) = app.msg_for(key) { app.update(m) }
//!     // mouse: if let Some(m) = mouse_msg(ev, &app) { app.update(m) }
//!     // once per refresh interval: app.tick(Instant::now());
//!     terminal.draw(|f| render(&app, &settings.theme, f.area(), f.buffer_mut()))?;
//!     if app.should_quit() { break }
//! }
//! ```
pub mod actions;
pub mod app;
pub mod audit;
pub mod columns;
pub mod detect;
pub mod editor;
pub mod filter;
pub mod format;
pub mod hash;
pub mod history;
pub mod input;
pub mod list;
pub mod model;
pub mod net;
pub mod overlays;
pub mod policies;
pub mod prompt;
pub mod recording;
pub mod rows;
pub mod screens;
pub mod search;
pub mod store;
pub mod theme;
pub mod threads;
pub mod timeline;
pub mod ui;

pub use app::{App, Config, ConnectionState};
pub use input::{Focus, Msg, mouse_msg, msg_for};
pub use model::{HostId, ProcessKey};
pub use overlays::Overlay;
pub use screens::Screen;
pub use theme::Theme;
pub use ui::{draw, render};
