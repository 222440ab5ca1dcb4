//! The tab bar: every screen by name with its letter key, the one showing
//! highlighted like the table's titles under it.  A click on a tab shows
//! that screen ([`Tabs::at`] measures the same spans it draws).
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};
use unicode_width::UnicodeWidthStr as _;

use super::{Part, put_line, widget_for_ref};
use crate::console::{App, input::Msg, screens::Screen, theme::Theme};

pub struct Tabs<'a> {
    app: &'a App,
    theme: &'a Theme,
}

widget_for_ref!(Tabs);

impl<'a> Tabs<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme) -> Tabs<'a> {
        Tabs { app, theme }
    }

    /// The screen whose tab is at column `x` of the bar drawn in `area`.
    #[must_use]
    pub fn at(app: &App, area: Rect, x: u16) -> Option<Screen> {
        let mut right = area.x;
        for (s, key, title) in tabs(app) {
            let width = 1 + key.width() + title.width();
            right = right.saturating_add(u16::try_from(width).unwrap_or(u16::MAX));
            if x < right {
                return Some(s);
            }
        }
        None
    }
}

/// Each screen with its letter and its title, as drawn: ` p` ` Processes `.
fn tabs(app: &App) -> impl Iterator<Item = (Screen, String, String)> {
    let focus = app.screen().focus();
    Screen::ALL.iter().map(move |&s| {
        let key = app
            .config()
            .keys
            .keys_of(Msg::Show(s), focus)
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        (s, key, format!(" {} ", s.info().title))
    })
}

impl Part for Tabs<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let mut spans = Vec::new();
        for (s, key, title) in tabs(app) {
            let style = if s == app.screen() {
                t.table_title
            } else {
                t.footer_label
            };
            spans.extend([
                Span::raw(" "),
                Span::styled(key, t.footer_key),
                Span::styled(title, style),
            ]);
        }
        put_line(buf, area, 0, 0, &Line::from(spans));
    }
}
