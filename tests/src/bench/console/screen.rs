//! What counts as a console's first full frame, read off the terminal's
//! screen the same way for perch and htop:
//!
//! - **table**: the list's title row (`PID` … `COMMAND`/`Command`), a
//!   process row (starting with a pid) on the list's last screen row, and a
//!   process count of at least the benchmark's sleepers (perch's status
//!   line "N processes", htop's "Tasks: N") — the whole list is in, not
//!   the first part of it;
//! - **full frame**: the table plus the header's memory meter with its
//!   figures (`Mem[|||   1.7G/23.5G]`).
//!
//! The list's last row is the one above htop's function-key bar, and above
//! perch's status line (which sits above its function-key bar).

/// The console on a screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    Perch,
    Htop,
}

impl Console {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Console::Perch => "perch",
            Console::Htop => "htop",
        }
    }
}

/// Index of the checks [`checks`] returns.
pub const TABLE: usize = 0;
pub const FULL: usize = 1;

/// The checks for `console` listing at least `min_listed` processes, in
/// the order of [`TABLE`] and [`FULL`].
#[must_use]
pub fn checks(console: Console, min_listed: u64) -> Vec<super::pty::Check> {
    vec![
        Box::new(move |s: &vt100::Screen| table(console, &rows(s), min_listed)),
        Box::new(move |s: &vt100::Screen| full_frame(console, &rows(s), min_listed)),
    ]
}

fn rows(screen: &vt100::Screen) -> Vec<String> {
    let (_, cols) = screen.size();
    screen.rows(0, cols.get()).collect()
}

/// The table is complete: see the module header.
#[must_use]
pub fn table(console: Console, rows: &[String], min_listed: u64) -> bool {
    let Some(keys) = rows
        .iter()
        .rposition(|r| r.trim_start().starts_with("F1Help"))
    else {
        return false;
    };
    let command = match console {
        Console::Perch => "COMMAND",
        Console::Htop => "Command",
    };
    let Some(title) = rows
        .iter()
        .position(|r| r.contains("PID") && r.contains(command))
    else {
        return false;
    };
    // perch has its status line between the list and the key bar.
    let last = match console {
        Console::Perch => keys.checked_sub(2),
        Console::Htop => keys.checked_sub(1),
    };
    let Some(last) = last.filter(|&l| l > title) else {
        return false;
    };
    let is_process_row = rows[last]
        .trim_start()
        .starts_with(|c: char| c.is_ascii_digit());
    is_process_row && listed(console, rows).is_some_and(|n| n >= min_listed)
}

/// The table and the header's memory meter with its figures.
#[must_use]
pub fn full_frame(console: Console, rows: &[String], min_listed: u64) -> bool {
    table(console, rows, min_listed) && rows.iter().any(|r| mem_meter(r))
}

/// How many processes the console says it lists.
#[must_use]
pub fn listed(console: Console, rows: &[String]) -> Option<u64> {
    match console {
        // "Tree · sorted by PID ascending · 10156 live · 33 exited" (before
        // 2026-11-27: "10156 processes (33 exited)"): the live count.
        Console::Perch => rows.iter().rev().find_map(|r| {
            let words: Vec<&str> = r.split_whitespace().collect();
            let at = words
                .iter()
                .position(|&w| w == "live" || w == "processes")?;
            words.get(at.checked_sub(1)?)?.parse().ok()
        }),
        // "Tasks: 10058, 82 thr, 59 kthr; 2 running"
        Console::Htop => rows.iter().find_map(|r| {
            let rest = &r[r.find("Tasks: ")? + "Tasks: ".len()..];
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..end].parse().ok()
        }),
    }
}

/// `Mem[` followed, inside its brackets, by used/total figures.
fn mem_meter(row: &str) -> bool {
    let Some(at) = row.find("Mem[") else {
        return false;
    };
    let inner = &row[at + "Mem[".len()..];
    inner
        .find(']')
        .is_some_and(|end| inner[..end].contains('/') && inner[..end].contains(char::is_numeric))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of real 160x48 screens that matter (perch and htop 3.2.2
    /// captured on this project's machine), cut to 12 rows.  The test
    /// below renders today's console too, so a change of its wording
    /// fails here rather than in a benchmark run.
    const PERCH: &str = "\
CPU% per core (100% = one core)                                                  vm eBPF connected
0[||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||100%]  Tasks: 117, 187 thr; 10 running
1[||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||100%]  Load average: 12.43 13.15 10.68
Mem[|||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||     2.0G/24G]  Uptime: 03:38:12
Swp[                                                                       0/0]  Disk: read 208K/s  write 0/s
                                                                                 Events: 21/s  Lost: 0
   PID\u{25b2} USER       CPU%  MEM%   RSS READ/s WRITE/s START     TIME+ COMMAND
      1 root        0.0   0.0   12M      0       0 Nov23   0:07.65 /process_api --firecracker-init
  17736 root        0.0   0.0  1.1M      0       0 Nov23   0:00.88 \u{251c}\u{2500} line_io_tools/binary_backend
  17737 root        0.0   0.0  4.0M      0       0 Nov23   0:00.31 \u{2502} \u{2514}\u{2500} bash /dev/fd/3
Tree \u{b7} sorted by PID ascending \u{b7} 10156 live \u{b7} 33 exited \u{b7} kernel threads hidden (K)
F1Help F2Setup F3Search F4Filter F5Table F6SortBy F7Nice- F8Nice+ F9Act EnterDetails TabLog F10Quit";

    const HTOP: &str = "\
    0[|||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||100.0%] Tasks: 10058, 82 thr, 59 kthr; 2 running
    1[|||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||100.0%] Load average: 12.23 13.09 10.68
  Mem[|||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||1.72G/23.5G] Uptime: 03:38:18
  Swp[                                                                   0K/0K]

  [Main] [I/O]
  PID USER       PRI  NI  VIRT   RES   SHR S  CPU%\u{25bd}MEM%   TIME+  Command
25869 root        20   0 1332M  453M  248M S  30.2  1.9  0:04.53 /root/.rustup/toolchains/1.95.0
26595 root        20   0  488M  145M   98M S  24.4  0.6  0:00.49 /root/.rustup/toolchains/nightly
    1 root        10 -10 38680 12132  5900 S   1.0  0.0  0:07.66 /process_api --firecracker-init
F1Help  F2Setup F3SearchF4FilterF5Tree  F6SortByF7Nice -F8Nice +F9Kill  F10Quit";

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn full_screens_count_as_full_frames() {
        let (perch, htop) = (lines(PERCH), lines(HTOP));
        assert_eq!(listed(Console::Perch, &perch), Some(10_156));
        assert_eq!(listed(Console::Htop, &htop), Some(10_058));
        assert!(full_frame(Console::Perch, &perch, 10_000));
        assert!(full_frame(Console::Htop, &htop, 10_000));
    }

    #[test]
    fn too_few_processes_is_not_the_whole_list() {
        assert!(!table(Console::Perch, &lines(PERCH), 10_157));
        assert!(!table(Console::Htop, &lines(HTOP), 10_059));
    }

    #[test]
    fn an_empty_last_row_is_not_a_full_table() {
        for (console, screen) in [(Console::Perch, PERCH), (Console::Htop, HTOP)] {
            let mut rows = lines(screen);
            let keys = rows.len() - 1;
            let last = if console == Console::Perch {
                keys - 2
            } else {
                keys - 1
            };
            rows[last] = String::new();
            assert!(!table(console, &rows, 1), "{console:?}");
        }
    }

    #[test]
    fn meters_without_figures_are_not_a_full_frame() {
        let rows: Vec<String> = lines(PERCH)
            .into_iter()
            .map(|r| {
                if r.starts_with("Mem[") {
                    "Mem[                 ]".to_owned()
                } else {
                    r
                }
            })
            .collect();
        assert!(table(Console::Perch, &rows, 1));
        assert!(!full_frame(Console::Perch, &rows, 1));
    }

    #[test]
    fn a_blank_screen_is_nothing() {
        let blank = vec![String::new(); 48];
        for console in [Console::Perch, Console::Htop] {
            assert!(!table(console, &blank, 0));
            assert_eq!(listed(console, &blank), None);
        }
    }

    /// The console's own status line, rendered at 160x48 with 10,000 live
    /// processes and a few exited, is read as 10,000 listed.
    #[test]
    fn the_consoles_status_line_of_today_is_read() {
        use perch::console::{App, Config, HostId, Theme, render};
        use perch_proto::v1 as pb;
        use ratatui::{buffer::Buffer, layout::Rect};

        let process = |pid: u32, exited: bool| pb::Process {
            key: Some(pb::ProcessKey {
                pid,
                start_time_ns: u64::from(pid) * 1_000,
            }),
            ppid: 1,
            comm: "perch-bench-sl".to_owned(),
            argv: vec!["perch-bench-sleeper".to_owned(), pid.to_string()],
            exit: exited.then(pb::Exit::default),
            ..pb::Process::default()
        };
        let processes = (2..10_002)
            .map(|pid| process(pid, false))
            .chain((20_000..20_003).map(|pid| process(pid, true)))
            .collect();
        let mut app = App::new(Config::default(), std::time::Instant::now());
        app.ingest_snapshot(HostId(0), processes);
        app.refresh();
        let area = Rect::new(0, 0, 160, 48);
        let mut buf = Buffer::empty(area);
        render(&app, &Theme::new(true), area, &mut buf);
        let rows: Vec<String> = (0..area.height)
            .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect();
        assert_eq!(listed(Console::Perch, &rows), Some(10_000), "{rows:#?}");
        assert!(table(Console::Perch, &rows, 10_000), "{rows:#?}");
    }
}
