//! Text a process controls (argv, comm, paths, reasons) made safe for a
//! terminal: a hostile command line must not send escape sequences to
//! the user's screen, nor hide what it is behind invisible characters.
use std::borrow::Cow;

/// Control characters escaped (`\n`, `\u{1b}`), and so are invisible
/// formatting characters — bidi overrides, zero-width spaces and the like
/// (`\u{202e}`, see `perch_proto::text::is_invisible`): the disguise is
/// shown, not dropped.  Everything else as is.  The console, `perch ps`,
/// `perch events` and `perch audit list` all print through this.
#[must_use]
pub fn clean(s: &str) -> Cow<'_, str> {
    // Printable ASCII, nearly every name and argument, is neither: one
    // pass over the bytes instead of decoding each char.
    if printable_ascii(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    let hidden = |c: char| c.is_control() || perch_proto::text::is_invisible(c);
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else if hidden(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Every byte in `b' '..=b'~'`. Checked sixteen at a time without an
/// early exit inside a block, which the compiler turns into vector
/// compares: a console seek cleans 100,000+ strings.
fn printable_ascii(bytes: &[u8]) -> bool {
    // One compare per byte: below b' ' wraps around to a large value.
    let printable = |b: u8| b.wrapping_sub(b' ') <= b'~' - b' ';
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        if !block.iter().fold(true, |ok, &b| ok & printable(b)) {
            return false;
        }
    }
    blocks.remainder().iter().all(|&b| printable(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_borrowed() {
        assert!(matches!(clean("ls -l ü"), Cow::Borrowed("ls -l ü")));
        assert_eq!(clean("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(clean("\t"), "\\t");
        // Printable ASCII is borrowed as it is; DEL, just past it, is not.
        assert!(matches!(clean(" ~/a b"), Cow::Borrowed(" ~/a b")));
        assert_eq!(clean("a\x7fb"), "a\\u{7f}b");
    }

    /// The block check agrees with the byte-by-byte rule at every length
    /// and position, at both ends of the printable range and past them.
    #[test]
    fn printable_ascii_is_the_byte_rule_at_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for b in [0, 0x1f, b' ', b'~', 0x7f, 0x80, 0xff] {
                    let mut v = vec![b'a'; len];
                    v[at] = b;
                    let want = v.iter().all(|b| (b' '..=b'~').contains(b));
                    assert_eq!(printable_ascii(&v), want, "{len} {at} {b:#x}");
                }
            }
            assert!(printable_ascii(&vec![b'~'; len]));
        }
    }

    #[test]
    fn disguises_are_shown_not_dropped() {
        // "gpj.exe" reversed by a right-to-left override reads "exe.jpg".
        assert_eq!(clean("\u{202e}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(clean("ad\u{200b}min"), "ad\\u{200b}min");
        assert_eq!(clean("plain é 日本"), "plain é 日本");
    }
}
