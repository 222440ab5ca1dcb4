//! The footer: a status line (the screen's prompt or filter, a one-off
//! message, collector notices, or the screen's status) above htop's
//! function-key bar (Help, the screen's keys, Tab to the next screen,
//! Quit).
use crossterm::event::KeyCode;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{Part, put_line, widget_for_ref};
use crate::console::{
    App,
    input::{Msg, code},
    theme::Theme,
};

pub struct Footer<'a> {
    app: &'a App,
    theme: &'a Theme,
}

widget_for_ref!(Footer);

impl<'a> Footer<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme) -> Footer<'a> {
        Footer { app, theme }
    }

    fn status(&self) -> Line<'static> {
        let (app, t) = (self.app, self.theme);
        let screen = app.screens().get(app.screen());
        if let Some(line) = screen.prompt_line(app, t) {
            return line;
        }
        if let Some(flash) = app.flash() {
            return Line::styled(flash.to_owned(), t.prompt);
        }
        if let Some(notice) = app.hosts().iter().find_map(|h| h.notice.as_deref()) {
            return Line::styled(format!("collector: {notice}"), t.warn);
        }
        screen.status_line(app, t)
    }

    /// htop's bar; a key the configuration took away from its message is
    /// replaced by the message's first key.
    fn keys(&self) -> Line<'static> {
        let (t, app) = (self.theme, self.app);
        let screen = app.screen();
        let mut keys = vec![(Msg::Help, code(KeyCode::F(1)), "Help")];
        keys.extend(app.screens().get(screen).footer_keys(app));
        keys.extend([
            (
                Msg::NextScreen,
                code(KeyCode::Tab),
                screen.step(1).info().short,
            ),
            (Msg::Quit, code(KeyCode::F(10)), "Quit"),
        ]);
        let keymap = &app.config().keys;
        let mut spans = Vec::new();
        for (msg, preferred, label) in keys {
            let Some(k) = keymap.footer_key(msg, preferred, screen.focus()) else {
                continue;
            };
            spans.push(Span::styled(k.to_string(), t.footer_key));
            spans.push(Span::styled(format!("{label} "), t.footer_label));
        }
        Line::from(spans)
    }
}

impl Part for Footer<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        if area.height >= 2 {
            put_line(buf, area, 0, 0, &self.status());
            put_line(buf, area, 0, 1, &self.keys());
        } else if self.app.screens().get(self.app.screen()).typing() {
            put_line(buf, area, 0, 0, &self.status());
        } else {
            put_line(buf, area, 0, 0, &self.keys());
        }
    }
}
