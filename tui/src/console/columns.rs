//! The process table's columns: titles, widths, which to drop first on a
//! narrow terminal, and how each one sorts.  Pure data, shared by the table
//! widget, the mouse mapping (which header was clicked) and the sort menu.
use std::cmp::Ordering;

use super::model::Proc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Pid,
    User,
    Cpu,
    Mem,
    Rss,
    Read,
    Write,
    Start,
    Time,
    Container,
    Host,
    Command,
}

impl Column {
    /// Every column in display order.
    pub const ALL: [Column; 12] = [
        Column::Pid,
        Column::User,
        Column::Cpu,
        Column::Mem,
        Column::Rss,
        Column::Read,
        Column::Write,
        Column::Start,
        Column::Time,
        Column::Container,
        Column::Host,
        Column::Command,
    ];

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Column::Pid => "PID",
            Column::User => "USER",
            Column::Cpu => "CPU%",
            Column::Mem => "MEM%",
            Column::Rss => "RSS",
            Column::Read => "READ/s",
            Column::Write => "WRITE/s",
            Column::Start => "START",
            Column::Time => "TIME+",
            Column::Container => "CONTAINER",
            Column::Host => "HOST",
            Column::Command => "COMMAND",
        }
    }

    /// The column a configuration file names: its title or the title's
    /// letters, in any case (`CPU%`, `cpu`, `read/s`, `READ`, `time+`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Column> {
        let letters = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        Column::ALL.into_iter().find(|c| {
            let title = c.title();
            title.eq_ignore_ascii_case(name)
                || letters(title.trim_end_matches("/s")) == letters(name)
        })
    }

    /// What the sort menu says about a column.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Column::Pid => "process id",
            Column::User => "user name",
            Column::Cpu => "CPU, percent of one core",
            Column::Mem => "resident memory, percent of host",
            Column::Rss => "resident memory",
            Column::Read => "storage reads per second",
            Column::Write => "storage writes per second",
            Column::Start => "start time",
            Column::Time => "total CPU time",
            Column::Container => "container or pod",
            Column::Host => "collector host",
            Column::Command => "command line",
        }
    }

    /// Display width (COMMAND: its minimum; it takes what is left).
    #[must_use]
    pub fn width(self) -> u16 {
        match self {
            Column::Cpu | Column::Mem | Column::Rss | Column::Start => 5,
            Column::Read => 6,
            Column::Pid | Column::Write => 7,
            Column::User | Column::Time => 9,
            Column::Container => 12,
            Column::Host => 10,
            Column::Command => 24,
        }
    }

    /// Higher is kept longer when the terminal is narrow.
    fn priority(self) -> u8 {
        match self {
            Column::Pid | Column::Command => 100,
            Column::Cpu => 90,
            Column::User => 80,
            Column::Mem => 70,
            Column::Rss => 65,
            Column::Host => 60,
            Column::Container => 55,
            Column::Time => 50,
            Column::Read | Column::Write => 40,
            Column::Start => 30,
        }
    }

    #[must_use]
    pub fn right_aligned(self) -> bool {
        !matches!(
            self,
            Column::User | Column::Container | Column::Host | Column::Command
        )
    }

    /// Numbers sort biggest first when chosen; names and times A..Z.
    #[must_use]
    pub fn descending_by_default(self) -> bool {
        matches!(
            self,
            Column::Cpu | Column::Mem | Column::Rss | Column::Read | Column::Write | Column::Time
        )
    }
}

/// Which optional columns have something to show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Optional {
    pub container: bool,
    pub host: bool,
}

/// A set of columns: the ones the configuration shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSet(u16);

impl ColumnSet {
    pub const ALL: ColumnSet = ColumnSet((1 << Column::ALL.len()) - 1);
    /// COMMAND only: it is always shown.
    pub const NONE: ColumnSet = ColumnSet(1 << Column::Command as u16);

    #[must_use]
    pub fn with(self, c: Column) -> ColumnSet {
        ColumnSet(self.0 | 1 << c as u16)
    }

    #[must_use]
    pub fn contains(self, c: Column) -> bool {
        self.0 & 1 << c as u16 != 0
    }
}

impl Default for ColumnSet {
    fn default() -> Self {
        ColumnSet::ALL
    }
}

/// The columns of `shown` that fit in `width`, with their widths; COMMAND
/// last with the rest.  Columns go by ascending priority until COMMAND has
/// its minimum; equal priorities go together.  One space separates columns.
#[must_use]
pub fn fit(width: u16, opt: Optional, shown: ColumnSet) -> Vec<(Column, u16)> {
    let mut cols: Vec<Column> = Column::ALL
        .into_iter()
        .filter(|c| *c == Column::Command || shown.contains(*c))
        .filter(|c| match c {
            Column::Container => opt.container,
            Column::Host => opt.host,
            _ => true,
        })
        .collect();
    let used = |cols: &[Column]| -> u16 {
        cols.iter()
            .filter(|c| **c != Column::Command)
            .map(|c| c.width() + 1)
            .sum()
    };
    while used(&cols) + Column::Command.width() > width {
        let Some(lowest) = cols
            .iter()
            .filter(|c| c.priority() < 100)
            .map(|c| c.priority())
            .min()
        else {
            break;
        };
        cols.retain(|c| c.priority() != lowest);
    }
    let rest = width.saturating_sub(used(&cols));
    cols.into_iter()
        .map(|c| {
            (
                c,
                if c == Column::Command {
                    rest
                } else {
                    c.width()
                },
            )
        })
        .collect()
}

/// The column under screen offset `x` of a row laid out by [`fit`].
#[must_use]
pub fn at(cols: &[(Column, u16)], x: u16) -> Option<Column> {
    let mut start = 0u16;
    for &(c, w) in cols {
        let end = start.saturating_add(w);
        if x >= start && x <= end {
            return Some(c);
        }
        start = end.saturating_add(1);
    }
    None
}

/// The current order: a column and a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Default for Sort {
    /// htop's default: busiest first.
    fn default() -> Self {
        Sort {
            column: Column::Cpu,
            descending: true,
        }
    }
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    a.total_cmp(&b)
}

impl Sort {
    /// Compares two rows; ties fall back to pid then start, so the order is
    /// total and stable across refreshes.
    #[must_use]
    pub fn compare(&self, a: &Proc, b: &Proc) -> Ordering {
        let (ua, ub) = (&a.usage, &b.usage);
        let primary = match self.column {
            Column::Pid => a.key.pid.cmp(&b.key.pid),
            Column::User => a.user.cmp(&b.user),
            Column::Cpu => cmp_f64(ua.cpu_percent, ub.cpu_percent),
            Column::Mem => cmp_f64(ua.mem_percent, ub.mem_percent),
            Column::Rss => ua.rss_bytes.cmp(&ub.rss_bytes),
            Column::Read => cmp_f64(ua.read_per_sec, ub.read_per_sec),
            Column::Write => cmp_f64(ua.write_per_sec, ub.write_per_sec),
            Column::Start => a.start_time_ns.cmp(&b.start_time_ns),
            Column::Time => ua.cpu_time_ns.cmp(&ub.cpu_time_ns),
            Column::Container => a.container_label().cmp(b.container_label()),
            Column::Host => a.key.host.cmp(&b.key.host),
            Column::Command => a.command.cmp(&b.command),
        };
        let primary = if self.descending {
            primary.reverse()
        } else {
            primary
        };
        primary.then_with(|| a.key.cmp(&b.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cols: &[(Column, u16)]) -> Vec<&'static str> {
        cols.iter().map(|(c, _)| c.title()).collect()
    }

    #[test]
    fn narrow_terminals_drop_the_least_useful_columns() {
        let wide = fit(160, Optional::default(), ColumnSet::ALL);
        assert_eq!(wide.len(), 10);
        assert_eq!(wide.last(), Some(&(Column::Command, 93)));
        assert_eq!(
            names(&fit(80, Optional::default(), ColumnSet::ALL)),
            ["PID", "USER", "CPU%", "MEM%", "RSS", "TIME+", "COMMAND"]
        );
        let both = Optional {
            container: true,
            host: true,
        };
        // With several hosts, HOST outranks CONTAINER.
        assert_eq!(
            names(&fit(80, both, ColumnSet::ALL)),
            ["PID", "USER", "CPU%", "MEM%", "RSS", "HOST", "COMMAND"]
        );
        assert!(names(&fit(160, both, ColumnSet::ALL)).contains(&"CONTAINER"));
        // Whatever the width, PID and COMMAND stay, and nothing overflows.
        for w in 0..200 {
            let cols = fit(w, both, ColumnSet::ALL);
            assert!(names(&cols).starts_with(&["PID"]));
            assert_eq!(cols.last().map(|c| c.0), Some(Column::Command));
        }
    }

    #[test]
    fn configured_columns_narrow_the_table() {
        let shown = ColumnSet::NONE.with(Column::Pid).with(Column::Cpu);
        assert_eq!(
            names(&fit(160, Optional::default(), shown)),
            ["PID", "CPU%", "COMMAND"]
        );
        // COMMAND stays even when the set leaves it out; optional columns
        // still need something to show.
        let both = Optional {
            container: true,
            host: true,
        };
        assert_eq!(names(&fit(160, both, ColumnSet::NONE)), ["COMMAND"]);
        assert_eq!(
            names(&fit(
                160,
                Optional::default(),
                ColumnSet::NONE.with(Column::Host)
            )),
            ["COMMAND"]
        );
        assert_eq!(fit(160, both, ColumnSet::NONE)[0].1, 160);
    }

    #[test]
    fn names_in_a_configuration() {
        for (name, col) in [
            ("PID", Column::Pid),
            ("cpu%", Column::Cpu),
            ("cpu", Column::Cpu),
            ("READ/s", Column::Read),
            ("read", Column::Read),
            ("Time+", Column::Time),
            ("time", Column::Time),
            ("command", Column::Command),
        ] {
            assert_eq!(Column::from_name(name), Some(col), "{name}");
        }
        for bad in ["", "cpux", "%", "reads"] {
            assert_eq!(Column::from_name(bad), None, "{bad}");
        }
        for c in Column::ALL {
            assert_eq!(Column::from_name(c.title()), Some(c));
        }
    }

    #[test]
    fn header_hit_testing() {
        let cols = fit(80, Optional::default(), ColumnSet::ALL);
        assert_eq!(at(&cols, 0), Some(Column::Pid));
        assert_eq!(at(&cols, 8), Some(Column::User));
        assert_eq!(at(&cols, 79), Some(Column::Command));
        assert_eq!(at(&cols, 200), None);
    }
}
