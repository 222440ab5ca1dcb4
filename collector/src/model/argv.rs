//! A command line as perchd keeps it: one shared string holding every
//! argument followed by a NUL (the layout of `/proc/PID/cmdline`), capped
//! at the contract's [`ARGV_BYTES`].  Any user chooses their command line,
//! so its size must not multiply perchd's memory: one allocation instead of
//! one per argument (8 KiB of one-byte arguments would otherwise cost
//! ~200 KiB), and a fork's child shares its parent's instead of copying it.
use std::sync::Arc;

use perch_proto::limits::ARGV_BYTES;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Argv(Option<Arc<str>>);

impl Argv {
    /// From NUL-separated bytes as `/proc/PID/cmdline` or the kernel
    /// programs give them (a missing final NUL is added; non-UTF-8 bytes
    /// become U+FFFD).  True when the cap cut it.
    #[must_use]
    pub fn from_cmdline(bytes: &[u8]) -> (Argv, bool) {
        if bytes.is_empty() {
            return (Argv(None), false);
        }
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        if !text.ends_with('\0') {
            text.push('\0');
        }
        let cut = text.len() > ARGV_BYTES;
        if cut {
            // Whole arguments while they fit, then what fits of the next
            // one, with its NUL: the same cut as `limits::clip_argv`.
            let mut end = ARGV_BYTES - 1;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            if !text.ends_with('\0') {
                text.push('\0');
            }
        }
        (Argv(Some(text.into())), cut)
    }

    /// The arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.as_deref().unwrap_or_default().split_terminator('\0')
    }

    /// The first argument (the program as its caller named it).
    #[must_use]
    pub fn first(&self) -> Option<&str> {
        self.iter().next()
    }

    /// The arguments as the wire carries them.
    #[must_use]
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Bytes as `/proc/PID/cmdline` counts them.
    #[must_use]
    pub fn len_bytes(&self) -> usize {
        self.0.as_deref().map_or(0, str::len)
    }

    /// Heap bytes it holds, counted in full even when shared (an upper
    /// bound for memory budgets).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.0.as_deref().map_or(0, |s| s.len() + 16)
    }
}

/// Compared argument by argument (tests, and callers holding them split).
impl<S: AsRef<str>> PartialEq<[S]> for Argv {
    fn eq(&self, other: &[S]) -> bool {
        self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Argv {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Argv {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> FromIterator<S> for Argv {
    /// Joins arguments (tests, and callers that have them split); capped.
    fn from_iter<I: IntoIterator<Item = S>>(args: I) -> Self {
        let mut bytes = Vec::new();
        let mut any = false;
        for a in args {
            bytes.extend_from_slice(a.as_ref().as_bytes());
            bytes.push(0);
            any = true;
        }
        if !any {
            return Argv(None);
        }
        Argv::from_cmdline(&bytes).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perch_proto::limits::{argv_bytes, clip_argv};

    #[test]
    fn splits_like_cmdline() {
        let (a, cut) = Argv::from_cmdline(b"sh\0-c\0echo hi\0");
        assert!(!cut);
        assert_eq!(a.to_vec(), ["sh", "-c", "echo hi"]);
        assert_eq!(Argv::from_cmdline(b"a\0\0b\0").0.to_vec(), ["a", "", "b"]);
        assert_eq!(Argv::from_cmdline(b"\0").0.to_vec(), [""]);
        // A process that rewrote its argv area may leave no final NUL.
        assert_eq!(
            Argv::from_cmdline(b"postgres: writer   ").0.to_vec(),
            ["postgres: writer   "]
        );
        assert!(Argv::from_cmdline(b"").0.is_empty());
        assert_eq!(Argv::from_cmdline(b"x\xff\0").0.to_vec(), ["x\u{fffd}"]);
        let joined: Argv = ["a", "", "b"].into_iter().collect();
        assert_eq!(joined, Argv::from_cmdline(b"a\0\0b").0);
        assert!(std::iter::empty::<&str>().collect::<Argv>().is_empty());
    }

    #[test]
    fn is_capped_exactly_like_the_wire() {
        for raw in [
            vec![b'x'; 3 * ARGV_BYTES],
            [vec![b'y'; ARGV_BYTES - 2], b"\0zz\0".to_vec()].concat(),
            [vec![b'y'; ARGV_BYTES - 1], b"\0zz\0".to_vec()].concat(),
            b"a\0".repeat(ARGV_BYTES),
            // Every invalid byte becomes three: cut after conversion.
            [b"ok\0".to_vec(), vec![0xff; ARGV_BYTES]].concat(),
        ] {
            let (a, cut) = Argv::from_cmdline(&raw);
            assert!(cut);
            assert!(a.len_bytes() <= ARGV_BYTES);
            let mut wire: Vec<String> = String::from_utf8_lossy(&raw)
                .split_terminator('\0')
                .map(str::to_owned)
                .collect();
            assert!(clip_argv(&mut wire));
            assert_eq!(a.to_vec(), wire);
            assert_eq!(argv_bytes(&wire), a.len_bytes());
        }
        let exact = vec![b'z'; ARGV_BYTES - 1];
        let (a, cut) = Argv::from_cmdline(&exact);
        assert!(!cut);
        assert_eq!(a.len_bytes(), ARGV_BYTES);
    }
}
