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

    /// Each screen's spans: ` p Processes `.
    fn tabs(&self) -> Vec<(Screen, Vec<Span<'static>>)> {
        let (app, t) = (self.app, self.theme);
        let current = app.screen();
        Screen::ALL
            .iter()
            .map(|&s| {
                let key = app
                    .config()
                    .keys
                    .keys_of(Msg::Show(s), current.focus())
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let style = if s == current {
                    t.table_title
                } else {
                    t.footer_label
                };
                let spans = vec![
                    Span::raw(" "),
                    Span::styled(key, t.footer_key),
                    Span::styled(format!(" {} ", s.info().title), style),
                ];
                (s, spans)
            })
            .collect()
    }

    /// The screen whose tab is at column `x` of the bar drawn in `area`.
    #[must_use]
    pub fn at(app: &App, area: Rect, x: u16) -> Option<Screen> {
        let theme = Theme::new(false);
        let mut right = area.x;
        for (s, spans) in (Tabs { app, theme: &theme }).tabs() {
            let width: usize = spans.iter().map(|s| s.content.width()).sum();
            right = right.saturating_add(u16::try_from(width).unwrap_or(u16::MAX));
            if x < right {
                return Some(s);
            }
        }
        None
    }
}

impl Part for Tabs<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let spans: Vec<Span<'static>> = self.tabs().into_iter().flat_map(|(_, s)| s).collect();
        put_line(buf, area, 0, 0, &Line::from(spans));
    }
}
