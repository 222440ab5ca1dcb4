//! Characters that show nothing, or show something else than they are:
//! what a reason may not consist of, and what clients escape when they
//! print text a process or a caller chose (a right-to-left override can
//! make `gpj.exe` read as `exe.jpg`; a zero-width space splits a name
//! without a trace).

/// Invisible formatting characters: zero-width spaces and joiners,
/// bidirectional marks, embeddings, overrides and isolates, the soft
/// hyphen, word joiners and invisible operators, variation selectors,
/// Hangul fillers, the byte order mark, interlinear annotation marks and
/// tags.  Control characters (`char::is_control`) are not included.
#[must_use]
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `text` says nothing a reader could see: it is empty, or made
/// only of whitespace, control characters (NUL included), invisible
/// formatting characters ([`is_invisible`]) and ANSI escape sequences.
#[must_use]
pub fn is_blank(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // CSI (ESC [ or U+009B): parameters and intermediates up to a
            // final byte in @..~.
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                skip_csi(&mut chars);
            }
            '\u{9b}' => skip_csi(&mut chars),
            // OSC, DCS, SOS, PM, APC: a string up to BEL or ESC \.
            '\u{1b}' if matches!(chars.peek(), Some(']' | 'P' | 'X' | '^' | '_')) => {
                chars.next();
                skip_string(&mut chars);
            }
            // Any other escape: ESC and the one character after it.
            '\u{1b}' => {
                chars.next();
            }
            c if c.is_whitespace() || c.is_control() || is_invisible(c) => {}
            _ => return false,
        }
    }
    true
}

fn skip_csi(chars: &mut impl Iterator<Item = char>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<impl Iterator<Item = char>>) {
    while let Some(c) = chars.next() {
        if c == '\u{7}' || c == '\u{9c}' {
            return;
        }
        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
            chars.next();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_visible_is_blank() {
        for blank in [
            "",
            " \t\n",
            "\0\0\0",
            "\u{200b}\u{200d}\u{feff}",
            "\u{202e}\u{2066}",
            "\u{1b}[31m\u{1b}[0m",
            "\u{1b}]0;title\u{7}",
            "\u{1b}]8;;http://x\u{1b}\\",
            "\u{9b}2J",
            "\u{1b}c\u{7}\u{8}",
            " \u{1b}[1;31m \u{200b}\0 ",
            // Hangul fillers are letters (category Lo) that draw nothing.
            "\u{ffa0}",
            "\u{3164}\u{115f}\u{1160}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
    }

    #[test]
    fn anything_visible_is_not() {
        for text in [
            "x",
            "miner",
            "\u{1b}[31mred\u{1b}[0m",
            "\u{202e}gpj.exe",
            "\0a",
            "é",
            "日本",
            "\u{1b}]0;t\u{7}x",
        ] {
            assert!(!is_blank(text), "{text:?}");
        }
    }

    #[test]
    fn invisible_is_not_control() {
        assert!(is_invisible('\u{202e}') && is_invisible('\u{200b}'));
        assert!(!is_invisible('\n') && !is_invisible('a') && !is_invisible(' '));
    }
}
