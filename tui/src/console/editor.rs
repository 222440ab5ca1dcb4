//! A one-line text editor: what every prompt types into (the search, the
//! process and action-log filters, the dialog's reason and priority).
//!
//! The editing keys are handled here and nowhere else — typing, Backspace,
//! Left/Right, Ctrl-A/Ctrl-E (start, end), Ctrl-W (the word before the
//! cursor), Ctrl-U (everything before it) — each a [`Msg`] bound in the
//! places that type; how the cursor is drawn is [`LineEditor::spans`].
use ratatui::{style::Style, text::Span};

use super::input::Msg;

/// How much an editor holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Limit {
    #[default]
    None,
    /// At most this many bytes (the reason: what perchd accepts).
    Bytes(usize),
    /// At most this many characters.
    Chars(usize),
}

/// What a message did to the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// The text was edited (a backspace on nothing counts: the caller's
    /// reaction, such as clearing an error, is the same).
    Changed,
    /// A character did not fit the limit; the text is unchanged.
    Full,
    /// Not an editing message (or a control character): nothing happened.
    Ignored,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineEditor {
    text: String,
    /// Byte position of the cursor in `text` (at the end, until keys move it).
    cursor: usize,
    limit: Limit,
}

impl LineEditor {
    #[must_use]
    pub fn new(limit: Limit) -> LineEditor {
        LineEditor {
            limit,
            ..LineEditor::default()
        }
    }

    /// An editor holding `text`, the cursor at its end.
    #[must_use]
    pub fn with_text(text: String, limit: Limit) -> LineEditor {
        LineEditor {
            cursor: text.len(),
            text,
            limit,
        }
    }

    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// The cursor's position in characters.
    #[must_use]
    pub fn cursor_chars(&self) -> usize {
        self.text[..self.cursor].chars().count()
    }

    /// True when the cursor is after the last character.
    #[must_use]
    pub fn at_end(&self) -> bool {
        self.cursor == self.text.len()
    }

    fn prev_boundary(&self) -> Option<usize> {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map(|(i, _)| i)
    }

    fn next_boundary(&self) -> Option<usize> {
        self.text[self.cursor..]
            .chars()
            .next()
            .map(|c| self.cursor + c.len_utf8())
    }

    /// Applies an editing message: a typed character, Backspace, a cursor
    /// motion, Ctrl-W, Ctrl-U.  Motions report [`Edit::Ignored`]: the text
    /// did not change.
    pub fn apply(&mut self, msg: Msg) -> Edit {
        match msg {
            Msg::Input(c) => self.insert(c),
            Msg::Backspace => {
                if let Some(at) = self.prev_boundary() {
                    self.text.remove(at);
                    self.cursor = at;
                }
                Edit::Changed
            }
            Msg::CursorLeft => {
                self.cursor = self.prev_boundary().unwrap_or(self.cursor);
                Edit::Ignored
            }
            Msg::CursorRight => {
                self.cursor = self.next_boundary().unwrap_or(self.cursor);
                Edit::Ignored
            }
            Msg::LineStart => {
                self.cursor = 0;
                Edit::Ignored
            }
            Msg::LineEnd => {
                self.cursor = self.text.len();
                Edit::Ignored
            }
            Msg::DeleteWord => {
                let before = &self.text[..self.cursor];
                let trimmed = before.trim_end();
                let start = trimmed
                    .char_indices()
                    .rev()
                    .find(|(_, c)| c.is_whitespace())
                    .map_or(0, |(i, c)| i + c.len_utf8());
                self.text.replace_range(start..self.cursor, "");
                self.cursor = start;
                Edit::Changed
            }
            Msg::DeleteLine => {
                self.text.replace_range(..self.cursor, "");
                self.cursor = 0;
                Edit::Changed
            }
            _ => Edit::Ignored,
        }
    }

    fn insert(&mut self, c: char) -> Edit {
        if c.is_control() {
            return Edit::Ignored;
        }
        let full = match self.limit {
            Limit::None => false,
            Limit::Bytes(max) => self.text.len() + c.len_utf8() > max,
            Limit::Chars(max) => self.text.chars().count() >= max,
        };
        if full {
            return Edit::Full;
        }
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
        Edit::Changed
    }

    /// The text as a prompt shows it in `width` characters: its end when
    /// it is longer, and `_` for the cursor while `focused` (at the end; a
    /// cursor inside the text is drawn by [`LineEditor::spans`]).
    #[must_use]
    pub fn tail(&self, width: usize, focused: bool) -> String {
        let room = width.saturating_sub(usize::from(focused));
        let skip = self.text.chars().count().saturating_sub(room);
        let mut shown: String = self.text.chars().skip(skip).collect();
        if focused && self.at_end() {
            shown.push('_');
        }
        shown
    }

    /// The text as spans in at most `width` characters, keeping the cursor
    /// in view: `cursor` styles the character under it (or a `_` after the
    /// end) while `focused`.
    #[must_use]
    pub fn spans(
        &self,
        width: usize,
        focused: bool,
        style: Style,
        cursor: Style,
    ) -> Vec<Span<'static>> {
        let chars: Vec<char> = self.text.chars().collect();
        let at = self.cursor_chars();
        let room = width.max(1);
        let last = if focused {
            at
        } else {
            chars.len().saturating_sub(1)
        };
        let skip = (last + 1).saturating_sub(room).min(chars.len());
        let take = room;
        let mut out = Vec::new();
        let shown: Vec<char> = chars.iter().copied().skip(skip).take(take).collect();
        let rel = at.saturating_sub(skip);
        if !focused {
            out.push(Span::styled(shown.iter().collect::<String>(), style));
            return out;
        }
        let before: String = shown.iter().take(rel).collect();
        out.push(Span::styled(before, style));
        match shown.get(rel) {
            Some(c) => {
                out.push(Span::styled(c.to_string(), cursor));
                out.push(Span::styled(
                    shown.iter().skip(rel + 1).collect::<String>(),
                    style,
                ));
            }
            None => out.push(Span::styled("_", style)),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(ed: &mut LineEditor, s: &str) -> Vec<Edit> {
        s.chars().map(|c| ed.apply(Msg::Input(c))).collect()
    }

    #[test]
    fn typing_and_backspace() {
        let mut ed = LineEditor::default();
        typed(&mut ed, "héllo");
        assert_eq!(ed.text(), "héllo");
        assert_eq!(ed.apply(Msg::Backspace), Edit::Changed);
        assert_eq!(ed.text(), "héll");
        for _ in 0..9 {
            ed.apply(Msg::Backspace);
        }
        assert!(ed.is_empty());
        assert_eq!(ed.apply(Msg::Input('\u{7}')), Edit::Ignored);
        assert_eq!(ed.apply(Msg::Confirm), Edit::Ignored);
        assert!(ed.is_empty());
    }

    #[test]
    fn limits_refuse_what_does_not_fit() {
        let mut bytes = LineEditor::new(Limit::Bytes(3));
        assert_eq!(
            typed(&mut bytes, "aéb"),
            [Edit::Changed, Edit::Changed, Edit::Full]
        );
        assert_eq!(bytes.text(), "aé");
        let mut chars = LineEditor::with_text("-1".into(), Limit::Chars(3));
        assert_eq!(typed(&mut chars, "23"), [Edit::Changed, Edit::Full]);
        assert_eq!(chars.text(), "-12");
    }

    #[test]
    fn readline_keys_move_and_delete() {
        let mut ed = LineEditor::default();
        typed(&mut ed, "kill the miner");
        assert_eq!(ed.apply(Msg::DeleteWord), Edit::Changed);
        assert_eq!(ed.text(), "kill the ");
        ed.apply(Msg::DeleteWord);
        assert_eq!(ed.text(), "kill ");
        ed.apply(Msg::LineStart);
        typed(&mut ed, "é ");
        assert_eq!(ed.text(), "é kill ");
        assert_eq!(ed.cursor_chars(), 2);
        ed.apply(Msg::CursorRight);
        ed.apply(Msg::CursorRight);
        ed.apply(Msg::CursorLeft);
        assert_eq!(ed.cursor_chars(), 3);
        ed.apply(Msg::Backspace);
        assert_eq!(ed.text(), "é ill ");
        ed.apply(Msg::LineEnd);
        assert!(ed.at_end());
        ed.apply(Msg::CursorLeft);
        ed.apply(Msg::DeleteLine);
        assert_eq!(ed.text(), " ");
        assert_eq!(ed.cursor_chars(), 0);
        // Motions at the edges stay put.
        ed.apply(Msg::CursorLeft);
        assert_eq!(ed.cursor_chars(), 0);
        ed.apply(Msg::LineEnd);
        ed.apply(Msg::CursorRight);
        assert_eq!(ed.cursor_chars(), 1);
        let spans = LineEditor::with_text("abc".into(), Limit::None);
        let mut mid = spans.clone();
        mid.apply(Msg::CursorLeft);
        let text =
            |v: Vec<Span<'static>>| v.iter().map(|s| s.content.to_string()).collect::<Vec<_>>();
        assert_eq!(
            text(mid.spans(10, true, Style::default(), Style::default())),
            ["ab", "c", ""]
        );
        assert_eq!(
            text(spans.spans(10, true, Style::default(), Style::default())),
            ["abc", "_"]
        );
        assert_eq!(
            text(spans.spans(2, false, Style::default(), Style::default())),
            ["bc"]
        );
    }

    #[test]
    fn the_tail_keeps_the_end_and_the_cursor() {
        let ed = LineEditor::with_text("abcdef".into(), Limit::None);
        assert_eq!(ed.tail(usize::MAX, true), "abcdef_");
        assert_eq!(ed.tail(usize::MAX, false), "abcdef");
        assert_eq!(ed.tail(4, true), "def_");
        assert_eq!(ed.tail(4, false), "cdef");
        assert_eq!(ed.tail(1, true), "_");
    }
}
