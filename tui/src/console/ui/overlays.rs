//! Overlays drawn over the list: the help (generated from the key table
//! the input mapping uses) and the F6 sort menu.
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
    widgets::{Block, Clear, Widget as _},
};

use super::{Part, ellipsize, put_line};
use crate::console::{
    App,
    columns::Column,
    input::{Entry, Keymap, Scope},
    theme::Theme,
};

/// A centred rectangle of at most `w` x `h` inside `area`.
pub(super) fn centred(area: Rect, w: u16, h: u16) -> Rect {
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
pub(super) fn frame(buf: &mut Buffer, rect: Rect, title: &str, theme: &Theme) -> Rect {
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Span::styled(format!(" {title} "), theme.overlay_title));
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}

pub struct HelpOverlay<'a> {
    theme: &'a Theme,
    keys: &'a Keymap,
    scroll: usize,
    read_only: bool,
}

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
        for scope in Scope::ALL {
            if read_only && scope.acts() {
                continue;
            }
            out.push(Line::styled(scope.title().to_owned(), theme.overlay_title));
            let shown = |b: &&Entry| b.scope == scope && !(read_only && b.action.acts());
            for b in keys.entries().iter().filter(shown) {
                out.push(Line::from(vec![
                    Span::styled(format!("  {:<11}", b.label), theme.value),
                    Span::styled(b.help.to_owned(), theme.text),
                ]));
            }
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

pub struct SortMenu<'a> {
    app: &'a App,
    theme: &'a Theme,
    cursor: usize,
}

impl<'a> SortMenu<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme, cursor: usize) -> SortMenu<'a> {
        SortMenu { app, theme, cursor }
    }
}

impl Part for SortMenu<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let want_h = u16::try_from(Column::ALL.len() + 2).unwrap_or(u16::MAX);
        let rect = centred(area, 46, want_h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let inner = frame(buf, rect, "Sort by (Enter; again inverts)", t);
        let sort = self.app.sort();
        let h = usize::from(inner.height);
        let skip = if self.cursor >= h {
            self.cursor + 1 - h
        } else {
            0
        };
        for (i, col) in Column::ALL.iter().enumerate().skip(skip).take(h) {
            let mark = if *col == sort.column {
                if sort.descending { "▼" } else { "▲" }
            } else {
                " "
            };
            let text = format!("{mark} {:<9} {}", col.title(), col.describe());
            let style = if i == self.cursor {
                t.menu_cursor
            } else {
                t.text
            };
            let text = format!(
                "{:<w$}",
                ellipsize(&text, usize::from(inner.width)),
                w = usize::from(inner.width)
            );
            put_line(
                buf,
                inner,
                0,
                u16::try_from(i - skip).unwrap_or(u16::MAX),
                &Line::styled(text, style),
            );
        }
    }
}
