//! The time menu (Spydertop's F7; `@` here, F7 being htop's nice): jumps
//! of an hour, 15 minutes, a minute or 15 seconds either way from the time
//! shown, a time typed in (an offset such as `+90s`, or any TIME the
//! command line takes: `15:04`, `-5m`, `10 minutes ago`, `@1764300000`),
//! and back to LIVE.  Typing goes to the "go to" line; a time that does
//! not parse stays in the menu with the error.
use crossterm::event::KeyCode;
use ratatui::{buffer::Buffer, text::Line};

use super::{Areas, Next, OverlayState};
use crate::console::{
    App,
    editor::{Edit, Limit, LineEditor},
    input::{Binding, Msg, PlaceInfo, bind, code, ctrl},
    list::ScrollList,
    theme::Theme,
    ui::{Part, centred, ellipsize, frame, full, put_line, widget_for_ref},
};

static INFO: PlaceInfo = PlaceInfo {
    global: false,
    text: true,
    ..PlaceInfo::new("the time menu", "Time menu (@)", Some("time"), KEYS)
};

static KEYS: &[Binding] = &[
    bind(&[ctrl('c')], "^C", Msg::Quit, "quit"),
    bind(&[code(KeyCode::Esc)], "Esc", Msg::Cancel, "close the menu"),
    bind(&[code(KeyCode::Down)], "Down", Msg::Down, "next entry"),
    bind(&[code(KeyCode::Up)], "Up", Msg::Up, "previous entry"),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "go there (typed text: the go-to line)",
    ),
    bind(
        &[code(KeyCode::Backspace)],
        "Backspace",
        Msg::Backspace,
        "delete a typed character",
    ),
    bind(&[ctrl('u')], "^U", Msg::DeleteLine, "delete the typed time"),
];

/// The jumps, in seconds from the time shown.
const JUMPS: [(i64, &str); 8] = [
    (-3_600, "−1 h"),
    (-900, "−15 m"),
    (-60, "−1 m"),
    (-15, "−15 s"),
    (15, "+15 s"),
    (60, "+1 m"),
    (900, "+15 m"),
    (3_600, "+1 h"),
];

/// The menu: a cursor over the jumps, the go-to line and LIVE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeMenu {
    list: ScrollList,
    typed: LineEditor,
    error: Option<String>,
    has_live: bool,
}

impl TimeMenu {
    /// The menu; LIVE is an entry when there is one (not in a recording).
    #[must_use]
    pub fn new(has_live: bool) -> TimeMenu {
        let list = ScrollList::new(JUMPS.len() + 1 + usize::from(has_live));
        TimeMenu {
            list,
            typed: LineEditor::new(Limit::Chars(40)),
            error: None,
            has_live,
        }
    }

    /// The go-to line's row.
    const GOTO: usize = JUMPS.len();

    /// The text typed on the go-to line.
    #[must_use]
    pub fn typed(&self) -> &str {
        self.typed.text()
    }

    /// Why the typed time was refused.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    #[must_use]
    pub fn cursor(&self) -> usize {
        self.list.cursor()
    }

    fn go_to_typed(&mut self, app: &mut App) -> Next {
        match app.time_of(self.typed.text()) {
            Ok(at) => {
                app.travel_menu_to(at);
                Next::Close
            }
            Err(e) => {
                // On the status line too, short: a small terminal cuts
                // the menu.
                app.view.flash = Some(format!(
                    "not a time: try +15m, -90s, 15:04, -5m, 10 minutes ago, 1764300000 ({})",
                    e.0
                ));
                self.error = Some(format!(
                    "{e}; or an offset from the time shown: +15m, -90s"
                ));
                Next::Stay
            }
        }
    }
}

impl OverlayState for TimeMenu {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        match msg {
            Msg::Cancel => return Next::Close,
            Msg::Up | Msg::Down => {
                self.list.apply(msg, 1);
            }
            Msg::Confirm => {
                let at = self.list.cursor();
                if let Some((secs, _)) = JUMPS.get(at) {
                    app.travel_menu_step(*secs);
                    return Next::Close;
                }
                if at == Self::GOTO {
                    return self.go_to_typed(app);
                }
                app.go_live();
                return Next::Close;
            }
            m if m.edits() && self.typed.apply(m) == Edit::Changed => {
                self.error = None;
                self.list.select(Self::GOTO);
            }
            _ => {}
        }
        Next::Stay
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        TimeMenuView {
            app,
            theme,
            menu: self,
        }
        .render_into(areas.body, buf);
    }
}

pub struct TimeMenuView<'a> {
    app: &'a App,
    theme: &'a Theme,
    menu: &'a TimeMenu,
}

widget_for_ref!(TimeMenuView);

impl Part for TimeMenuView<'_> {
    fn draw(&self, area: ratatui::layout::Rect, buf: &mut Buffer) {
        let (theme, menu) = (self.theme, self.menu);
        let rows = JUMPS.len() + 1 + usize::from(menu.has_live);
        // The rows, a blank, the time shown, the error or the forms.
        let want_h = u16::try_from(rows + 6).unwrap_or(u16::MAX);
        let rect = centred(area, 64, want_h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let inner = frame(buf, rect, "Time (Enter goes there, Esc closes)", theme);
        let width = inner.width;
        let style = |i: usize| {
            if i == menu.cursor() {
                theme.menu_cursor
            } else {
                theme.text
            }
        };
        let mut y = 0u16;
        for (i, (_, label)) in JUMPS.iter().enumerate() {
            put_line(buf, inner, 0, y, &full(&format!(" {label}"), width, style(i)));
            y += 1;
        }
        let typed = format!(
            " go to: {}",
            menu.typed.tail(usize::from(width).saturating_sub(9), true)
        );
        put_line(buf, inner, 0, y, &full(&typed, width, style(TimeMenu::GOTO)));
        y += 1;
        if menu.has_live {
            put_line(
                buf,
                inner,
                0,
                y,
                &full(" LIVE", width, style(TimeMenu::GOTO + 1)),
            );
            y += 1;
        }
        y += 1;
        let shown = self
            .app
            .timeline()
            .header_text(self.app.config().utc_offset_secs);
        put_line(
            buf,
            inner,
            0,
            y,
            &Line::styled(ellipsize(&format!("showing: {shown}"), usize::from(width)), theme.label),
        );
        let (text, style) = match menu.error() {
            Some(e) => (e.to_owned(), theme.error),
            None => (
                "type +15m, -90s (from the time shown), 15:04, -5m, 10 minutes ago".to_owned(),
                theme.label,
            ),
        };
        for (i, chunk) in wrap(&text, usize::from(width)).iter().take(2).enumerate() {
            let dy = y + 1 + u16::try_from(i).unwrap_or(0);
            put_line(buf, inner, 0, dy, &Line::styled(chunk.clone(), style));
        }
    }
}

/// `text` cut into lines of at most `width` characters, at spaces where
/// it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.iter().map(|l| ellipsize(l, width)).collect()
}
