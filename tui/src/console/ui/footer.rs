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
        // A one-off message (an error, a refused key) is shown over a set
        // filter or search, but not over a prompt being typed in.
        if !screen.typing()
            && let Some(flash) = app.flash()
        {
            return Line::styled(flash.to_owned(), t.prompt);
        }
        if let Some(line) = screen.prompt_line(app, t) {
            // In the past the prompt or filter keeps the line, after a
            // word that says actions are off.
            if !app.is_live() {
                let word = if app.timeline().has_live {
                    "PAST: actions are disabled · "
                } else {
                    "REPLAY: no actions · "
                };
                let mut spans = vec![Span::styled(word, t.warn)];
                spans.extend(line.spans);
                return Line::from(spans);
            }
            return line;
        }
        if let Some(flash) = app.flash() {
            return Line::styled(flash.to_owned(), t.prompt);
        }
        if !app.is_live() {
            let text = if app.timeline().has_live {
                "PAST: actions are disabled; [ ] { } step, Space plays, @ time menu (LIVE)"
            } else {
                "REPLAY: no actions; [ ] { } step, Space plays, @ time menu"
            };
            return Line::styled(text.to_owned(), t.warn);
        }
        if let Some(notice) = app.hosts().iter().find_map(|h| h.notice.as_deref()) {
            return Line::styled(format!("collector: {notice}"), t.warn);
        }
        screen.status_line(app, t)
    }

    /// htop's bar; a key the configuration took away from its message is
    /// replaced by the message's first key.
    fn keys(&self, width: u16) -> Line<'static> {
        let t = self.theme;
        let mut spans = Vec::new();
        for (_, key, label) in self.entries(width) {
            spans.push(Span::styled(key, t.footer_key));
            spans.push(Span::styled(format!("{label} "), t.footer_label));
        }
        Line::from(spans)
    }

    /// The message under column `x` of the key bar (htop's bar is
    /// clickable too).
    #[must_use]
    pub fn at(app: &App, width: u16, x: u16) -> Option<Msg> {
        let footer = Footer {
            app,
            theme: &Theme::new(false),
        };
        let mut start = 0usize;
        for (msg, key, label) in footer.entries(width) {
            let end = start + key.chars().count() + label.chars().count() + 1;
            if (start..end).contains(&usize::from(x)) {
                return Some(msg);
            }
            start = end;
        }
        None
    }

    /// The bar's entries that fit in `width`: message, key as shown,
    /// label.  When they do not all fit, the least needed go first (Enter,
    /// Tab, then the screen's keys from the right), never Help or Quit.
    fn entries(&self, width: u16) -> Vec<(Msg, String, &'static str)> {
        let mut all = self.all_entries();
        let len = |e: &[(Msg, String, &'static str)]| -> usize {
            e.iter()
                .map(|(_, k, l)| k.chars().count() + l.chars().count() + 1)
                .sum()
        };
        while len(&all) > usize::from(width) && all.len() > 2 {
            let drop = all
                .iter()
                .position(|(m, _, _)| *m == Msg::Confirm)
                .or_else(|| all.iter().position(|(m, _, _)| *m == Msg::NextScreen))
                .unwrap_or(all.len() - 2);
            if drop == 0 {
                break;
            }
            all.remove(drop);
        }
        all
    }

    fn all_entries(&self) -> Vec<(Msg, String, &'static str)> {
        let app = self.app;
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
        keys.into_iter()
            .filter_map(|(msg, preferred, label)| {
                let k = keymap.footer_key(msg, preferred, screen.focus())?;
                Some((msg, k.to_string(), label))
            })
            .collect()
    }
}

impl Part for Footer<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        if area.height >= 2 {
            put_line(buf, area, 0, 0, &self.status());
            put_line(buf, area, 0, 1, &self.keys(area.width));
        } else if self.app.screens().get(self.app.screen()).typing() {
            put_line(buf, area, 0, 0, &self.status());
        } else {
            put_line(buf, area, 0, 0, &self.keys(area.width));
        }
    }
}
