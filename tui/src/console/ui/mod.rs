//! Drawing: [`draw`] lays the screen out (header meters, process table or
//! detail view, footer, overlays) and each part is a widget over `&App`.
//! Every size works, down to 1x1: parts that do not fit are left out.
mod act;
mod detail;
mod footer;
mod header;
mod log;
mod overlays;
mod table;

use ratatui::{Frame, buffer::Buffer, layout::Rect, style::Style, text::Line};

pub use self::{
    act::{ActionDialog, ActionMenu, ResultToast},
    detail::DetailView,
    footer::Footer,
    header::Header,
    log::{ActionLogView, ColumnChooser, RecordView},
    overlays::HelpOverlay,
    overlays::SortMenu,
    table::ProcessTable,
};
use super::{
    App,
    app::{Overlay, Screen},
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
    let footer_h: u16 = match area.height {
        0..=1 => 0,
        2..=7 => 1,
        _ => 2,
    };
    // The table keeps at least three rows (title and two processes).
    let header_h =
        Header::height(app, area.width, area.height).min(area.height.saturating_sub(footer_h + 3));
    let header = Rect {
        height: header_h,
        ..area
    };
    let body = Rect {
        y: area.y + header_h,
        height: area.height - header_h - footer_h,
        ..area
    };
    let footer = Rect {
        y: body.y + body.height,
        height: footer_h,
        ..area
    };
    Header::new(app, theme).render_into(header, buf);
    match (app.overlay(), app.screen()) {
        (Overlay::Detail { cursor }, _) => {
            DetailView::new(app, theme, cursor).render_into(body, buf);
        }
        (_, Screen::ActionLog) => ActionLogView::new(app, theme).render_into(body, buf),
        (_, Screen::Processes) => ProcessTable::new(app, theme).render_into(body, buf),
    }
    Footer::new(app, theme).render_into(footer, buf);
    match app.overlay() {
        Overlay::Help { scroll } => {
            HelpOverlay::new(theme, &app.config().keys, scroll, app.read_only())
                .render_into(area, buf);
        }
        Overlay::SortMenu { cursor } => SortMenu::new(app, theme, cursor).render_into(body, buf),
        Overlay::ActMenu => ActionMenu::new(app, theme).render_into(body, buf),
        Overlay::Dialog => ActionDialog::new(app, theme).render_into(body, buf),
        Overlay::Columns { cursor } => {
            ColumnChooser::new(app, theme, cursor).render_into(body, buf);
        }
        Overlay::Record { scroll } => RecordView::new(app, theme, scroll).render_into(body, buf),
        Overlay::Detail { .. } | Overlay::None => {}
    }
    // Over everything: it is what just happened.
    ResultToast::new(app, theme).render_into(body, buf);
}

/// Implemented by each part: `Widget` for `&Part`, via a bounds-checked
/// render so no part can write outside the buffer.
trait Part {
    fn draw(&self, area: Rect, buf: &mut Buffer);

    fn render_into(&self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if !area.is_empty() {
            self.draw(area, buf);
        }
    }
}

/// Writes `line` at row `dy` of `area`, clipped to the area.
fn put_line(buf: &mut Buffer, area: Rect, dx: u16, dy: u16, line: &Line<'_>) {
    if dy >= area.height || dx >= area.width {
        return;
    }
    buf.set_line(area.x + dx, area.y + dy, line, area.width - dx);
}

/// Writes `text` at (`dx`, `dy`) of `area`, at most `width` columns.
fn put(buf: &mut Buffer, area: Rect, dx: u16, dy: u16, text: &str, width: u16, style: Style) {
    if dy >= area.height || dx >= area.width {
        return;
    }
    let width = width.min(area.width - dx);
    buf.set_stringn(area.x + dx, area.y + dy, text, usize::from(width), style);
}

/// `text` cut to `width` display columns with `…` when cut.
fn ellipsize(text: &str, width: usize) -> String {
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

macro_rules! widget_for_ref {
    ($t:ident) => {
        impl ratatui::widgets::Widget for &$t<'_> {
            fn render(self, area: Rect, buf: &mut Buffer) {
                self.render_into(area, buf);
            }
        }
    };
}
widget_for_ref!(Header);
widget_for_ref!(ProcessTable);
widget_for_ref!(Footer);
widget_for_ref!(DetailView);
widget_for_ref!(HelpOverlay);
widget_for_ref!(SortMenu);
widget_for_ref!(ActionMenu);
widget_for_ref!(ActionDialog);
widget_for_ref!(ResultToast);
widget_for_ref!(ActionLogView);
widget_for_ref!(ColumnChooser);
widget_for_ref!(RecordView);
