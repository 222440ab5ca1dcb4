//! Text a process controls (argv, comm, paths, reasons) made safe for a
//! terminal: a hostile command line must not send escape sequences to
//! the user's screen.
use std::borrow::Cow;

/// Control characters escaped (`\n`, `\u{1b}`); everything else as is.
#[must_use]
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_borrowed() {
        assert!(matches!(clean("ls -l ü"), Cow::Borrowed("ls -l ü")));
        assert_eq!(clean("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(clean("\t"), "\\t");
    }
}
