//! The ordered choice of columns the configuration's `columns` and the
//! column setup (F2) make.
use super::Column;

/// The columns shown, in order: what the configuration's `columns` and
/// the column setup (F2) choose.  COMMAND is always shown, last (it takes
/// what is left of the line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns(Vec<Column>);

impl Columns {
    /// COMMAND only.
    #[must_use]
    pub fn none() -> Columns {
        Columns(vec![Column::Command])
    }

    /// `cols` in their order, each once, COMMAND last.
    #[must_use]
    pub fn new(cols: impl IntoIterator<Item = Column>) -> Columns {
        let mut out: Vec<Column> = Vec::new();
        for c in cols {
            if c != Column::Command && !out.contains(&c) {
                out.push(c);
            }
        }
        out.push(Column::Command);
        Columns(out)
    }

    #[must_use]
    pub fn with(mut self, c: Column) -> Columns {
        if !self.contains(c) {
            let at = self.0.len() - 1;
            self.0.insert(at, c);
        }
        self
    }

    #[must_use]
    pub fn contains(&self, c: Column) -> bool {
        self.0.contains(&c)
    }

    /// The columns in order, COMMAND last.
    #[must_use]
    pub fn list(&self) -> &[Column] {
        &self.0
    }

    /// Shows or hides `c` (COMMAND stays); a column shown goes before COMMAND.
    pub fn toggle(&mut self, c: Column) {
        if c == Column::Command {
            return;
        }
        if let Some(i) = self.0.iter().position(|x| *x == c) {
            self.0.remove(i);
        } else {
            let at = self.0.len() - 1;
            self.0.insert(at, c);
        }
    }

    /// Moves a shown column one place left (`-1`) or right (`1`); COMMAND
    /// stays last.
    pub fn shift(&mut self, c: Column, delta: isize) {
        let Some(i) = self.0.iter().position(|x| *x == c) else {
            return;
        };
        let last = self.0.len().saturating_sub(2);
        let Some(j) = i.checked_add_signed(delta).filter(|j| *j <= last) else {
            return;
        };
        if c != Column::Command {
            self.0.swap(i, j);
        }
    }

    /// The configuration file's names for them, in order (COMMAND left
    /// out: it is always shown).
    #[must_use]
    pub fn names(&self) -> Vec<&'static str> {
        self.0
            .iter()
            .filter(|c| **c != Column::Command)
            .map(|c| c.title())
            .collect()
    }
}

impl Default for Columns {
    /// htop's habits with perch's additions: PID USER S CPU% MEM% RSS
    /// READ/s WRITE/s START TIME+ CONTAINER HOST COMMAND.
    fn default() -> Self {
        Columns::new([
            Column::Pid,
            Column::User,
            Column::State,
            Column::Cpu,
            Column::Mem,
            Column::Rss,
            Column::Read,
            Column::Write,
            Column::Start,
            Column::Time,
            Column::Container,
            Column::Host,
        ])
    }
}
