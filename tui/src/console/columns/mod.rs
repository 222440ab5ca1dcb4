//! The process table's columns: titles, widths, which to drop first on a
//! narrow terminal, and how each one sorts.  Pure data, shared by the table
//! widget, the mouse mapping (which header was clicked), the sort menu and
//! the column setup (F2); [`Columns`] is the ordered choice the
//! configuration and the setup make.
mod set;
mod sort;

pub use set::Columns;
pub use sort::Sort;

/// One column of the process table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Pid,
    User,
    /// The login user (audit loginuid): who logged in, across sudo and su.
    AUser,
    /// The state letter (R S D T t Z I).
    State,
    Pri,
    Nice,
    Cpu,
    Mem,
    Virt,
    Rss,
    Shr,
    Threads,
    Read,
    Write,
    /// Network bytes received / sent per second (its TCP connections).
    NetRx,
    NetTx,
    Start,
    Elapsed,
    Time,
    Ppid,
    Pgrp,
    Sid,
    Tty,
    Exe,
    Container,
    /// Red and ops flags on it (not excepted), coloured by the highest
    /// severity.
    Flags,
    Host,
    Command,
}

/// What the table needs to know about a column.
struct Info {
    title: &'static str,
    describe: &'static str,
    /// Display width (COMMAND: its minimum; it takes what is left).
    width: u16,
    /// Higher is kept longer when the terminal is narrow.
    priority: u8,
    right: bool,
    /// Numbers sort biggest first when chosen; names and times A..Z.
    descending: bool,
    /// A resource figure: exited rows show `-` and sort below live ones.
    usage: bool,
}

const fn info(
    title: &'static str,
    describe: &'static str,
    width: u16,
    priority: u8,
    right: bool,
    descending: bool,
    usage: bool,
) -> Info {
    Info {
        title,
        describe,
        width,
        priority,
        right,
        descending,
        usage,
    }
}

impl Column {
    /// Every column, in the sort menu's and the column setup's order.
    pub const ALL: [Column; 28] = [
        Column::Pid,
        Column::User,
        Column::AUser,
        Column::State,
        Column::Pri,
        Column::Nice,
        Column::Cpu,
        Column::Mem,
        Column::Virt,
        Column::Rss,
        Column::Shr,
        Column::Threads,
        Column::Read,
        Column::Write,
        Column::NetRx,
        Column::NetTx,
        Column::Start,
        Column::Elapsed,
        Column::Time,
        Column::Ppid,
        Column::Pgrp,
        Column::Sid,
        Column::Tty,
        Column::Exe,
        Column::Container,
        Column::Flags,
        Column::Host,
        Column::Command,
    ];

    fn info(self) -> Info {
        let (l, r) = (false, true);
        match self {
            Column::Pid => info("PID", "process id", 7, 100, r, l, l),
            Column::User => info("USER", "user name", 9, 80, l, l, l),
            Column::AUser => info("AUSER", "login user (kept across sudo, su)", 9, 35, l, l, l),
            Column::State => info(
                "S",
                "state: R run, S sleep, D disk, T stopped, Z zombie",
                1,
                85,
                l,
                l,
                l,
            ),
            Column::Pri => info(
                "PRI",
                "kernel priority (20 + nice; negative: real-time)",
                3,
                30,
                r,
                l,
                l,
            ),
            Column::Nice => info("NI", "nice value", 3, 30, r, l, l),
            Column::Cpu => info("CPU%", "CPU, percent of one core", 5, 90, r, r, r),
            Column::Mem => info("MEM%", "resident memory, percent of host", 5, 70, r, r, r),
            Column::Virt => info("VIRT", "virtual memory size", 5, 45, r, r, r),
            Column::Rss => info("RSS", "resident memory", 5, 65, r, r, r),
            Column::Shr => info("SHR", "resident memory shared (files, shm)", 5, 45, r, r, r),
            Column::Threads => info("THR", "threads", 4, 35, r, r, l),
            Column::Read => info("READ/s", "storage reads per second", 6, 40, r, r, r),
            Column::Write => info("WRITE/s", "storage writes per second", 7, 40, r, r, r),
            Column::NetRx => info(
                "NETRX/s",
                "network bytes received per second (TCP)",
                7,
                39,
                r,
                r,
                r,
            ),
            Column::NetTx => info(
                "NETTX/s",
                "network bytes sent per second (TCP)",
                7,
                39,
                r,
                r,
                r,
            ),
            Column::Start => info("START", "start time", 5, 30, r, l, l),
            Column::Elapsed => info("ELAPSED", "time since it started", 11, 30, r, r, l),
            Column::Time => info("TIME+", "total CPU time", 9, 50, r, r, l),
            Column::Ppid => info(
                "PPID",
                "parent process id (the original parent)",
                7,
                38,
                r,
                l,
                l,
            ),
            Column::Pgrp => info(
                "PGRP",
                "process group (kill group hits it all)",
                7,
                36,
                r,
                l,
                l,
            ),
            Column::Sid => info("SID", "session id", 7, 36, r, l, l),
            Column::Tty => info("TTY", "controlling terminal", 6, 36, l, l, l),
            Column::Exe => info(
                "EXE",
                "the executable file (deleted, memfd marked)",
                24,
                42,
                l,
                l,
                l,
            ),
            Column::Container => info("CONTAINER", "container or pod", 12, 45, l, l, l),
            Column::Flags => info("FLAGS", "flags on it, coloured by severity", 5, 44, r, r, l),
            Column::Host => info("HOST", "collector host", 10, 60, l, l, l),
            Column::Command => info("COMMAND", "command line", 24, 100, l, l, l),
        }
    }

    #[must_use]
    pub fn title(self) -> &'static str {
        self.info().title
    }

    /// The column a configuration file names: its title or the title's
    /// letters, in any case (`CPU%`, `cpu`, `read/s`, `READ`, `time+`), or
    /// htop's name for it (`RES`, `NLWP`, `STATE`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Column> {
        let letters = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let alias = match letters(name).as_str() {
            "res" => Some(Column::Rss),
            "nlwp" | "threads" => Some(Column::Threads),
            "state" => Some(Column::State),
            "nice" => Some(Column::Nice),
            "loginuser" => Some(Column::AUser),
            _ => None,
        };
        alias.or_else(|| {
            Column::ALL.into_iter().find(|c| {
                let title = c.title();
                title.eq_ignore_ascii_case(name)
                    || letters(title.trim_end_matches("/s")) == letters(name)
            })
        })
    }

    /// What the sort menu and the column setup say about a column.
    #[must_use]
    pub fn describe(self) -> &'static str {
        self.info().describe
    }

    /// Display width (COMMAND: its minimum; it takes what is left).
    #[must_use]
    pub fn width(self) -> u16 {
        self.info().width
    }

    /// Higher is kept longer when the terminal is narrow.  An empty
    /// CONTAINER column goes before TIME+.
    fn priority(self) -> u8 {
        self.info().priority
    }

    #[must_use]
    pub fn right_aligned(self) -> bool {
        self.info().right
    }

    /// Numbers sort biggest first when chosen; names and times A..Z.
    #[must_use]
    pub fn descending_by_default(self) -> bool {
        self.info().descending
    }

    /// A resource figure of a running process: exited rows show `-` there
    /// and sort below the live ones.
    #[must_use]
    pub fn is_usage(self) -> bool {
        self.info().usage
    }
}

/// Which optional columns have something to show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Optional {
    pub container: bool,
    pub host: bool,
}

/// The columns of `shown` that fit in `width`, with their widths; COMMAND
/// last with the rest.  Columns go by ascending priority until COMMAND has
/// its minimum; equal priorities go together.  One space separates columns.
#[must_use]
pub fn fit(width: u16, opt: Optional, shown: &Columns) -> Vec<(Column, u16)> {
    let mut cols: Vec<Column> = shown
        .list()
        .iter()
        .copied()
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

#[cfg(test)]
mod tests;
