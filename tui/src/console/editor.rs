//! A one-line text editor: what every prompt types into (the search, the
//! process and action-log filters, the dialog's reason and priority).
//!
//! The editing keys are handled here and nowhere else: a new one (Ctrl-U,
//! Ctrl-W, a cursor that moves with Left and Right) is a [`Msg`] bound in
//! the places that type, plus a case in [`LineEditor::apply`]; how the
//! cursor is drawn is [`LineEditor::tail`].
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

    /// Applies an editing message: a typed character, Backspace.
    pub fn apply(&mut self, msg: Msg) -> Edit {
        match msg {
            Msg::Input(c) => self.insert(c),
            Msg::Backspace => {
                if let Some((at, _)) = self.text[..self.cursor].char_indices().next_back() {
                    self.text.remove(at);
                    self.cursor = at;
                }
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
    /// it is longer, and `_` for the cursor while `focused`.
    #[must_use]
    pub fn tail(&self, width: usize, focused: bool) -> String {
        let room = width.saturating_sub(usize::from(focused));
        let skip = self.text.chars().count().saturating_sub(room);
        let mut shown: String = self.text.chars().skip(skip).collect();
        if focused {
            shown.push('_');
        }
        shown
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
    fn the_tail_keeps_the_end_and_the_cursor() {
        let ed = LineEditor::with_text("abcdef".into(), Limit::None);
        assert_eq!(ed.tail(usize::MAX, true), "abcdef_");
        assert_eq!(ed.tail(usize::MAX, false), "abcdef");
        assert_eq!(ed.tail(4, true), "def_");
        assert_eq!(ed.tail(4, false), "cdef");
        assert_eq!(ed.tail(1, true), "_");
    }
}
