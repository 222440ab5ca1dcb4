//! A cursor over a list that scrolls.  Every list of the console moves with
//! it (the process table, the action log, the menus, the help, the column
//! chooser, the detail view's links), so clamping is written once.
//!
//! The first row shown is state too, like ratatui's `ListState`: the state
//! keeps it with [`ScrollList::fit`] whenever it knows the height, and a
//! widget drawing at another height computes the same thing with
//! [`ScrollList::offset_for`].  Drawing never writes it back.
use super::input::Msg;

/// A cursor over `len` items, and the first item shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScrollList {
    cursor: usize,
    offset: usize,
    len: usize,
}

impl ScrollList {
    /// A list of `len` items, the cursor on the first.
    #[must_use]
    pub fn new(len: usize) -> ScrollList {
        ScrollList {
            len,
            ..ScrollList::default()
        }
    }

    /// A list of `len` items with the cursor at `cursor` (clamped).
    #[must_use]
    pub fn at(len: usize, cursor: usize) -> ScrollList {
        let mut list = ScrollList::new(len);
        list.select(cursor);
        list
    }

    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first item shown, as last fitted.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The list changed length: the cursor stays where it is, or on the
    /// last item.
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
        self.cursor = self.cursor.min(len.saturating_sub(1));
    }

    /// Puts the cursor on `pos`, or on the last item (an empty list keeps
    /// its cursor at 0).
    pub fn select(&mut self, pos: usize) {
        if self.len > 0 {
            self.cursor = pos.min(self.len - 1);
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        self.select(self.cursor.saturating_add_signed(delta));
    }

    /// The motions: up, down, a page up or down (by `page`), home, end,
    /// and the mouse wheel.  False for any other message.
    pub fn apply(&mut self, msg: Msg, page: usize) -> bool {
        let page = isize::try_from(page.max(1)).unwrap_or(isize::MAX);
        match msg {
            Msg::Up => self.move_by(-1),
            Msg::Down => self.move_by(1),
            Msg::PageUp => self.move_by(-page),
            Msg::PageDown => self.move_by(page),
            Msg::Home => self.select(0),
            Msg::End => self.select(usize::MAX),
            Msg::Scroll(n) => self.move_by(isize::try_from(n).unwrap_or(0)),
            _ => return false,
        }
        true
    }

    /// The first item to show in `height` rows: the kept offset, moved just
    /// enough to show the cursor.
    #[must_use]
    pub fn offset_for(&self, height: usize) -> usize {
        let mut off = self.offset;
        if self.cursor < off {
            off = self.cursor;
        } else if height > 0 && self.cursor >= off + height {
            off = self.cursor + 1 - height;
        }
        off.min(self.max_offset(height))
    }

    /// The first item to show in `height` rows with the cursor in the
    /// middle (following a process).
    #[must_use]
    pub fn centred_offset(&self, height: usize) -> usize {
        self.cursor
            .saturating_sub(height / 2)
            .min(self.max_offset(height))
    }

    /// Keeps the cursor in a view of `height` rows (centred when `centre`).
    pub fn fit(&mut self, height: usize, centre: bool) {
        self.offset = if centre {
            self.centred_offset(height)
        } else {
            self.offset_for(height)
        };
    }

    fn max_offset(&self, height: usize) -> usize {
        self.len.saturating_sub(height.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_stays_in_the_list() {
        let mut l = ScrollList::new(5);
        l.move_by(-3);
        assert_eq!(l.cursor(), 0);
        assert!(l.apply(Msg::End, 1));
        assert_eq!(l.cursor(), 4);
        assert!(l.apply(Msg::PageDown, 10));
        assert_eq!(l.cursor(), 4);
        assert!(l.apply(Msg::PageUp, 3));
        assert_eq!(l.cursor(), 1);
        assert!(l.apply(Msg::Scroll(2), 1));
        assert_eq!(l.cursor(), 3);
        assert!(!l.apply(Msg::Confirm, 1));
        l.set_len(2);
        assert_eq!(l.cursor(), 1);
        l.set_len(0);
        assert_eq!(l.cursor(), 0);
        l.select(7);
        assert_eq!(l.cursor(), 0, "an empty list has nowhere to go");
        assert_eq!(ScrollList::at(3, 9).cursor(), 2);
    }

    #[test]
    fn the_offset_moves_only_to_show_the_cursor() {
        let mut l = ScrollList::new(100);
        assert_eq!(l.offset_for(10), 0);
        l.select(15);
        assert_eq!(l.offset_for(10), 6, "the cursor on the last row");
        l.fit(10, false);
        l.select(8);
        assert_eq!(l.offset_for(10), 6, "still in view: no move");
        l.select(2);
        assert_eq!(l.offset_for(10), 2);
        l.select(99);
        assert_eq!(l.offset_for(10), 90);
        assert_eq!(l.offset_for(0), 6, "no height: only the kept offset");
        l.select(50);
        assert_eq!(l.centred_offset(10), 45);
        l.fit(10, true);
        assert_eq!(l.offset(), 45);
        // Never past the end, even when the list shrank.
        l.set_len(20);
        assert_eq!(l.offset_for(10), 10);
        assert_eq!(ScrollList::new(3).offset_for(10), 0);
    }
}
