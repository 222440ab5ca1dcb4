//! Keys as people write them: `q`, `F10`, `ctrl-c`, `PgDn`, `S-Tab`.
//! Parsing is for the configuration file's `[keys]`; display is what the
//! help overlay shows for a rebound key, and parses back to the same key.
use std::fmt;

use crossterm::event::KeyCode;

use super::Key;

/// Named keys: the name shown first, then the other spellings accepted
/// (compared without case).
const NAMED: &[(KeyCode, &[&str])] = &[
    (KeyCode::Esc, &["Esc", "escape"]),
    (KeyCode::Enter, &["Enter", "return"]),
    (KeyCode::Backspace, &["Backspace", "bs"]),
    (KeyCode::Tab, &["Tab"]),
    (KeyCode::BackTab, &["S-Tab", "shift-tab", "backtab"]),
    (KeyCode::Char(' '), &["Space"]),
    (KeyCode::Up, &["Up"]),
    (KeyCode::Down, &["Down"]),
    (KeyCode::Left, &["Left"]),
    (KeyCode::Right, &["Right"]),
    (KeyCode::Home, &["Home"]),
    (KeyCode::End, &["End"]),
    (KeyCode::PageUp, &["PgUp", "pageup", "page-up"]),
    (KeyCode::PageDown, &["PgDn", "pagedown", "page-down"]),
    (KeyCode::Insert, &["Ins", "insert"]),
    (KeyCode::Delete, &["Del", "delete"]),
];

/// Function keys F1 to F24.
const MAX_F: u8 = 24;

/// What the parse error says is allowed.
pub const KEY_SYNTAX: &str = "a character, F1..F24, Esc, Enter, Backspace, Tab, S-Tab, Space, \
     Up, Down, Left, Right, Home, End, PgUp, PgDn, Ins, Del, or ctrl-<key>";

impl Key {
    /// Parses one key (`None`: not a key; the caller says where).
    #[must_use]
    pub fn parse(text: &str) -> Option<Key> {
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Some(Key {
                code: KeyCode::Char(c),
                ctrl: false,
            });
        }
        let lower = text.to_ascii_lowercase();
        for prefix in ["ctrl-", "ctrl+", "c-", "^"] {
            if let Some(rest) = lower.strip_prefix(prefix)
                && !rest.is_empty()
            {
                // Terminals send ctrl with a letter as the lower-case letter.
                let code = named_or_char(rest)?;
                return Some(Key { code, ctrl: true });
            }
        }
        let code = named(&lower)?;
        Some(Key { code, ctrl: false })
    }
}

fn named_or_char(lower: &str) -> Option<KeyCode> {
    let mut chars = lower.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(KeyCode::Char(c)),
        _ => named(lower),
    }
}

fn named(lower: &str) -> Option<KeyCode> {
    if let Some(n) = lower.strip_prefix('f')
        && let Ok(n) = n.parse::<u8>()
    {
        return (1..=MAX_F).contains(&n).then_some(KeyCode::F(n));
    }
    NAMED
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(lower)))
        .map(|(code, _)| *code)
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = NAMED
            .iter()
            .find(|(code, _)| *code == self.code)
            .map(|(_, names)| names[0]);
        match (self.ctrl, self.code, name) {
            (_, _, Some(name)) if self.ctrl => write!(f, "ctrl-{name}"),
            (_, _, Some(name)) => f.write_str(name),
            (true, KeyCode::Char(c), None) => write!(f, "^{}", c.to_ascii_uppercase()),
            (true, code, None) => write!(f, "ctrl-{}", Key { code, ctrl: false }),
            (false, KeyCode::Char(c), None) => write!(f, "{c}"),
            (false, KeyCode::F(n), None) => write!(f, "F{n}"),
            (false, code, None) => write!(f, "{code:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, ctrl: bool) -> Key {
        Key { code, ctrl }
    }

    #[test]
    fn spellings() {
        let c = |c| key(KeyCode::Char(c), false);
        assert_eq!(Key::parse("q"), Some(c('q')));
        assert_eq!(Key::parse("G"), Some(c('G')));
        assert_eq!(Key::parse("^"), Some(c('^')));
        assert_eq!(Key::parse("F10"), Some(key(KeyCode::F(10), false)));
        assert_eq!(Key::parse("f3"), Some(key(KeyCode::F(3), false)));
        for s in ["ctrl-c", "Ctrl+C", "C-c", "^C", "^c"] {
            assert_eq!(Key::parse(s), Some(key(KeyCode::Char('c'), true)), "{s}");
        }
        assert_eq!(Key::parse("pgdn"), Some(key(KeyCode::PageDown, false)));
        assert_eq!(Key::parse("Page-Up"), Some(key(KeyCode::PageUp, false)));
        assert_eq!(Key::parse("shift-tab"), Some(key(KeyCode::BackTab, false)));
        assert_eq!(Key::parse("space"), Some(c(' ')));
        assert_eq!(Key::parse("ctrl-up"), Some(key(KeyCode::Up, true)));
        for bad in ["", "F0", "F25", "qq", "ctrl-", "hyper-x", "ctrl-qq"] {
            assert_eq!(Key::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn display_parses_back() {
        let keys = [
            key(KeyCode::Char('q'), false),
            key(KeyCode::Char('c'), true),
            key(KeyCode::F(10), false),
            key(KeyCode::BackTab, false),
            key(KeyCode::PageDown, false),
            key(KeyCode::Char(' '), false),
            key(KeyCode::Home, true),
        ];
        for k in keys {
            assert_eq!(Key::parse(&k.to_string()), Some(k), "{k}");
        }
        assert_eq!(key(KeyCode::Char('c'), true).to_string(), "^C");
        assert_eq!(key(KeyCode::PageDown, false).to_string(), "PgDn");
    }
}
