//! The interactive console's core: application state fed by perch.v1
//! messages, input mapped to actions, and the widgets that draw it.
//!
//! A terminal loop uses it like this:
//!
//! ```ignore
//! let mut app = App::new(settings.console, Instant::now()); // crate::config::load
//! app.ingest_info(HostId(0), info);
//! app.ingest_snapshot(HostId(0), processes);
//! loop {
//!     // events from the collector: app.ingest_events(HostId(0), &batch.events)
//!     // keys: if let Some(a) = app.action_for(key) { app.update(a) }
//!     // mouse: if let Some(a) = mouse_action(ev, &app) { app.update(a) }
//!     // once per refresh interval: app.tick(Instant::now());
//!     terminal.draw(|f| render(&app, &settings.theme, f.area(), f.buffer_mut()))?;
//!     if app.should_quit() { break }
//! }
//! ```
pub mod actions;
pub mod app;
pub mod audit;
pub mod columns;
pub mod filter;
pub mod format;
pub mod hash;
pub mod history;
pub mod input;
pub mod model;
pub mod recording;
pub mod search;
pub mod store;
pub mod theme;
pub mod ui;
pub mod view;

pub use app::{App, Config, ConnectionState, Overlay, Screen};
pub use input::{Action, InputMode, action_for, mouse_action};
pub use model::{HostId, ProcessKey};
pub use theme::Theme;
pub use ui::{draw, render};
