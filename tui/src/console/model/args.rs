//! A row's arguments as the console keeps them: cleaned once, in one
//! string.
use crate::text::clean;

/// A row's arguments, cleaned, in one string (each followed by a NUL):
/// one allocation instead of one per argument, since a command line of
/// 8 KiB may hold four thousand of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    joined: Box<str>,
}

impl Args {
    pub(super) fn new(argv: &[String]) -> Args {
        let mut joined = String::with_capacity(argv.iter().map(|a| a.len() + 1).sum());
        for a in argv {
            // Cleaning escapes control characters, so no NUL remains inside.
            joined.push_str(&clean(a));
            joined.push('\0');
        }
        Args {
            joined: joined.into(),
        }
    }

    /// Bytes of the joined string (memory accounting).
    pub(super) fn joined_len(&self) -> usize {
        self.joined.len()
    }

    /// The arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.joined.split_terminator('\0')
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.joined.is_empty()
    }

    #[must_use]
    pub fn first(&self) -> Option<&str> {
        self.iter().next()
    }
}
