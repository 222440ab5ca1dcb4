//! Drawing: [`render`] lays the screen out ([`layout`]: header meters, the
//! tab bar, the screen's body, the footer), then draws the overlay and the
//! result toast in front.  Each part is a widget over `&App` (`impl Widget
//! for &Part`); the screens and overlays bring their own.  Every size
//! works, down to 1x1: parts that do not fit are left out.  Drawing reads
//! the state only: the same layout answers where a click landed ([`hit`])
//! and how far a page moves.
mod footer;
mod header;
mod tabs;

use ratatui::{
    Frame,
    buffer::Buffer,
    layout::{Position, Rect},
    style::Style,
    text::{Line, Span},
    widgets::{Block, Clear, Widget as _},
};

pub use self::{footer::Footer, header::Header, tabs::Tabs};
use super::{
    App,
    input::{Focus, Msg},
    overlays::{Areas, notice::NoticeBox, toast::ResultToast},
    theme::Theme,
};

/// Draws the whole console for `app` (call [`App::refresh`] or `tick` first)
/// in the built-in theme for its colour setting; [`render`] takes any theme
/// (the live console's comes from the configuration file).
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let theme = Theme::new(app.config().color);
    render(app, &theme, area, frame.buffer_mut());
}

/// [`draw`] on any buffer (benchmarks and tests render without a terminal).
pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    let l = layout(app, area);
    Header::new(app, theme).render_into(l.header, buf);
    Tabs::new(app, theme).render_into(l.tabs, buf);
    app.screens()
        .get(app.screen())
        .draw(app, theme, l.body, buf);
    Footer::new(app, theme).render_into(l.footer, buf);
    if let Some(o) = app.overlay() {
        let areas = Areas {
            full: area,
            body: l.body,
        };
        o.state().draw(app, theme, areas, buf);
    }
    NoticeBox::new(app, theme).render_into(l.body, buf);
    // Over everything: it is what just happened.
    ResultToast::new(app, theme).render_into(l.body, buf);
}

/// Where each part of the screen goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub header: Rect,
    pub tabs: Rect,
    pub body: Rect,
    pub footer: Rect,
}

/// The parts of `area`: the footer (two lines, fewer on a tiny terminal),
/// the tab bar when the body keeps three rows under it (a title and two
/// rows), the header with what is left, the body.
#[must_use]
pub fn layout(app: &App, area: Rect) -> Layout {
    let footer_h: u16 = match area.height {
        0..=1 => 0,
        2..=7 => 1,
        _ => 2,
    };
    let tabs_h = u16::from(area.height >= footer_h + 4);
    let header_h = if app.meters_hidden() {
        0
    } else {
        Header::height(app, area.width, area.height)
            .min(area.height.saturating_sub(footer_h + tabs_h + 3))
    };
    let part = |y: u16, height: u16| Rect { y, height, ..area };
    let header = part(area.y, header_h);
    let tabs = part(header.bottom(), tabs_h);
    let body_h = area.height - header_h - tabs_h - footer_h;
    let body = part(tabs.bottom(), body_h);
    Layout {
        header,
        tabs,
        body,
        footer: part(body.bottom(), footer_h),
    }
}

/// The message for a click at (`x`, `y`) on a terminal of the size the
/// loop last reported: a tab shows its screen; in the body, the screen
/// decides.  Only while a screen has the keys (no overlay, no prompt).
#[must_use]
pub fn hit(app: &App, x: u16, y: u16) -> Option<Msg> {
    let Focus::Screen(screen) = app.focus() else {
        return None;
    };
    let (width, height) = app.size();
    let l = layout(app, Rect::new(0, 0, width, height));
    let at = Position { x, y };
    if l.tabs.contains(at) {
        return Tabs::at(app, l.tabs, x).map(Msg::Show);
    }
    if l.body.contains(at) {
        return app.screens().get(screen).hit(app, l.body, x, y);
    }
    // The key bar is the footer's last line.
    if l.footer.contains(at) && y + 1 == l.footer.bottom() {
        return Footer::at(app, l.footer.width, x.saturating_sub(l.footer.x));
    }
    None
}

/// Implemented by each part: `Widget` for `&Part` ([`widget_for_ref`]),
/// via a bounds-checked render so no part can write outside the buffer.
pub(crate) trait Part {
    fn draw(&self, area: Rect, buf: &mut Buffer);

    fn render_into(&self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if !area.is_empty() {
            self.draw(area, buf);
        }
    }
}

/// `impl Widget for &Part<'_>`, through [`Part::render_into`].
macro_rules! widget_for_ref {
    ($t:ident) => {
        impl ratatui::widgets::Widget for &$t<'_> {
            fn render(self, area: ratatui::layout::Rect, buf: &mut ratatui::buffer::Buffer) {
                $crate::console::ui::Part::render_into(self, area, buf);
            }
        }
    };
}
pub(crate) use widget_for_ref;

/// Writes `line` at row `dy` of `area`, clipped to the area.
pub(crate) fn put_line(buf: &mut Buffer, area: Rect, dx: u16, dy: u16, line: &Line<'_>) {
    if dy >= area.height || dx >= area.width {
        return;
    }
    buf.set_line(area.x + dx, area.y + dy, line, area.width - dx);
}

/// Writes `text` at (`dx`, `dy`) of `area`, at most `width` columns.
pub(crate) fn put(
    buf: &mut Buffer,
    area: Rect,
    dx: u16,
    dy: u16,
    text: &str,
    width: u16,
    style: Style,
) {
    if dy >= area.height || dx >= area.width {
        return;
    }
    let width = width.min(area.width - dx);
    buf.set_stringn(area.x + dx, area.y + dy, text, usize::from(width), style);
}

/// `text` cut to `width` display columns with `…` when cut.
pub(crate) fn ellipsize(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar as _;
    let total: usize = text.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// A line padded (or cut) to exactly `width` columns, in `style`.
pub(crate) fn full(text: &str, width: u16, style: Style) -> Line<'static> {
    let w = usize::from(width);
    Line::styled(format!("{:<w$}", ellipsize(text, w)), style)
}

/// A centred rectangle of at most `w` x `h` inside `area`.
pub(crate) fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears `rect`, draws a titled border, returns the inside.
pub(crate) fn frame(buf: &mut Buffer, rect: Rect, title: &str, theme: &Theme) -> Rect {
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Span::styled(format!(" {title} "), theme.overlay_title));
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}
