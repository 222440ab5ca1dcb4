//! The help (F1, `?`): every key in effect, grouped by where it works,
//! generated from the same key tables the input mapping uses.  Two columns
//! when the terminal is wide enough, else one that scrolls; any key it
//! does not take closes it, like htop.
use crossterm::event::KeyCode;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{Areas, Next, OverlayState};
use crate::console::{
    App,
    input::{Binding, Entry, Keymap, Msg, PlaceInfo, Scope, bind, code, ctrl, k},
    list::ScrollList,
    theme::Theme,
    ui::{Part, centred, ellipsize, frame, put_line, widget_for_ref},
};

/// Not `global`: `q` and Esc close the help (htop, Spydertop), they do not
/// quit; ^C still does.
static INFO: PlaceInfo = PlaceInfo {
    any_key: true,
    global: false,
    ..PlaceInfo::new("the help", "This help", Some("help-screen"), KEYS)
};

static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down)],
        "j Down",
        Msg::Down,
        "scroll down",
    ),
    bind(&[k('k'), code(KeyCode::Up)], "k Up", Msg::Up, "scroll up"),
    bind(
        &[code(KeyCode::PageDown)],
        "PgDn",
        Msg::PageDown,
        "page down",
    ),
    bind(
        &[code(KeyCode::PageUp)],
        "PgUp",
        Msg::PageUp,
        "page up",
    ),
    bind(&[ctrl('c')], "^C", Msg::Quit, "quit perch"),
    bind(
        &[k('q'), code(KeyCode::Esc)],
        "q Esc",
        Msg::Cancel,
        "close the help (so does any other key)",
    ),
];

/// Lines a page key scrolls.
const PAGE: usize = 10;

/// The first line shown (a pager: the cursor is the top line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Help {
    pub list: ScrollList,
}

impl Default for Help {
    fn default() -> Self {
        // One line per binding can be the top one, and the end past them.
        let lines = Keymap::defaults().entries().len() + 1;
        Help {
            list: ScrollList::new(lines),
        }
    }
}

impl OverlayState for Help {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, _app: &mut App) -> Next {
        match msg {
            Msg::Up | Msg::Down | Msg::PageUp | Msg::PageDown | Msg::Home => {
                self.list.apply(msg, PAGE);
                Next::Stay
            }
            _ => Next::Close,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        HelpOverlay::new(theme, &app.config().keys, self.list.cursor(), app.read_only())
            .render_into(areas.full, buf);
    }
}

pub struct HelpOverlay<'a> {
    theme: &'a Theme,
    keys: &'a Keymap,
    scroll: usize,
    read_only: bool,
}

widget_for_ref!(HelpOverlay);

impl<'a> HelpOverlay<'a> {
    /// The help; `read_only` leaves out every action key.
    #[must_use]
    pub fn new(
        theme: &'a Theme,
        keys: &'a Keymap,
        scroll: usize,
        read_only: bool,
    ) -> HelpOverlay<'a> {
        HelpOverlay {
            theme,
            keys,
            scroll,
            read_only,
        }
    }

    /// One line per binding under its scope's title, in table order.
    #[must_use]
    pub fn lines(theme: &Theme, keys: &Keymap, read_only: bool) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        for scope in Scope::all() {
            if read_only && scope.acts() {
                continue;
            }
            let shown = |b: &&Entry| b.scope == scope && !(read_only && b.msg.acts());
            let entries: Vec<&Entry> = keys.entries().iter().filter(shown).collect();
            if entries.is_empty() {
                continue;
            }
            out.push(Line::styled(scope.title().to_owned(), theme.overlay_title));
            let line = |label: &str, help: &str| {
                Line::from(vec![
                    Span::styled(format!("  {label:<11}"), theme.value),
                    Span::styled(help.to_owned(), theme.text),
                ])
            };
            if scope == Scope::Screens {
                // Two lines, however many screens there are: Tab and
                // Shift-Tab, then every screen's letter.
                let labels = |pick: fn(Msg) -> bool| -> String {
                    let picked: Vec<&str> = entries
                        .iter()
                        .filter(|b| pick(b.msg))
                        .map(|b| b.label.as_ref())
                        .collect();
                    picked.join(" ")
                };
                let steps = labels(|m| matches!(m, Msg::NextScreen | Msg::PrevScreen));
                out.push(line(&steps, "the next or previous screen"));
                let letters = labels(|m| matches!(m, Msg::Show(_)));
                // Six screens fill the label's width: keep a space after.
                let letters = if letters.len() >= 11 {
                    format!("{letters} ")
                } else {
                    letters
                };
                out.push(line(&letters, "the screen with that letter (tab bar)"));
                let other = |b: &&&Entry| {
                    !matches!(b.msg, Msg::NextScreen | Msg::PrevScreen | Msg::Show(_))
                };
                out.extend(entries.iter().filter(other).map(|b| line(&b.label, b.help)));
                continue;
            }
            out.extend(entries.iter().map(|b| line(&b.label, b.help)));
        }
        out
    }
}

impl Part for HelpOverlay<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let lines = Self::lines(self.theme, self.keys, self.read_only);
        // Two columns when the terminal is wide enough, else one that scrolls.
        let two = area.width >= 120;
        let per_col = if two {
            lines.len().div_ceil(2)
        } else {
            lines.len()
        };
        let col_w: u16 = 56;
        let want_w = if two { col_w * 2 + 3 } else { col_w + 2 };
        let want_h = u16::try_from(per_col + 3).unwrap_or(u16::MAX);
        let rect = centred(area, want_w, want_h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let inner = frame(buf, rect, "Keys (htop and vim both work)", self.theme);
        let h = usize::from(inner.height.saturating_sub(1));
        let max_scroll = per_col.saturating_sub(h);
        let scroll = self.scroll.min(max_scroll);
        let columns: Vec<&[Line<'static>]> = if two {
            lines.chunks(per_col).collect()
        } else {
            vec![&lines[..]]
        };
        for (c, col) in columns.iter().enumerate() {
            let dx = u16::try_from(c).unwrap_or(0) * (col_w + 1);
            for (i, line) in col.iter().skip(scroll).take(h).enumerate() {
                put_line(buf, inner, dx, u16::try_from(i).unwrap_or(u16::MAX), line);
            }
        }
        let hint = if max_scroll > 0 {
            format!("j/k scroll ({scroll}/{max_scroll})  any other key closes")
        } else {
            "any key closes".to_owned()
        };
        let last = inner.height.saturating_sub(1);
        put_line(
            buf,
            inner,
            0,
            last,
            &Line::styled(ellipsize(&hint, usize::from(inner.width)), self.theme.label),
        );
    }
}
