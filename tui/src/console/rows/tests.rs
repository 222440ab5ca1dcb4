#![expect(clippy::similar_names, reason = "short names in tests")]
use perch_proto::v1;

use super::*;
use crate::console::{
    columns::Column,
    model::{FxBuild, HostId, Proc},
    threads::Threads,
};

fn proc(pid: u32, ppid: u32, name: &str, cpu: f64) -> Proc {
    let p = v1::Process {
        key: Some(v1::ProcessKey {
            pid,
            start_time_ns: u64::from(pid) * 1_000_000_000,
        }),
        ppid,
        parent_start_time_ns: u64::from(ppid) * 1_000_000_000,
        comm: name.to_owned(),
        argv: vec![name.to_owned()],
        kernel_thread: name.starts_with('k'),
        usage: Some(v1::ResourceUsage {
            cpu_percent: cpu,
            rss_bytes: u64::from(pid) << 20,
            ..v1::ResourceUsage::default()
        }),
        ..v1::Process::default()
    };
    Proc::from_proto(HostId(0), &p)
}

fn store() -> Store {
    let mut s = Store::default();
    for p in [
        proc(20, 1, "nginx", 1.0),
        proc(1, 0, "init", 0.0),
        proc(2, 0, "kthreadd", 0.0),
        proc(3, 2, "kworker", 0.0),
        proc(10, 1, "sshd", 0.5),
        proc(11, 10, "bash", 0.0),
        proc(12, 11, "vim", 7.0),
        proc(13, 10, "top", 3.0),
        proc(21, 20, "worker", 2.0),
        proc(22, 20, "worker", 9.0),
    ] {
        s.upsert(p);
    }
    s
}

struct Opts {
    tree: bool,
    sort: Sort,
    hide_kernel: bool,
    collapsed: HashSet<ProcessKey, FxBuild>,
    filter: Option<Filter>,
    threads: Option<Threads>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            tree: true,
            sort: Sort {
                column: Column::Pid,
                descending: false,
            },
            hide_kernel: false,
            collapsed: HashSet::default(),
            filter: None,
            threads: None,
        }
    }
}

/// "pid:depth" per row, with `+` on collapsed rows and `'` on last children.
fn render(s: &Store, o: &Opts) -> Vec<String> {
    let view = RowList::build(
        s,
        &Options {
            tree: o.tree,
            sort: o.sort,
            hide_kernel: o.hide_kernel,
            hide_exited: false,
            collapsed: &o.collapsed,
            filter: o.filter.as_ref(),
            host_names: &[],
            force: None,
            threads: o.threads.as_ref(),
        },
    );
    view.rows
        .iter()
        .map(|r| {
            let p = s.get(r.id).unwrap();
            format!(
                "{}{}:{}{}{}",
                p.key.pid,
                r.thread.map(|t| format!("/{t}")).unwrap_or_default(),
                r.depth,
                if r.collapsed { "+" } else { "" },
                if r.last { "'" } else { "" }
            )
        })
        .collect()
}

#[test]
fn depth_first_by_pid() {
    let s = store();
    assert_eq!(
        render(&s, &Opts::default()),
        [
            "1:0", "10:1", "11:2", "12:3'", "13:2'", "20:1'", "21:2", "22:2'", "2:0'", "3:1'"
        ]
    );
}

#[test]
fn siblings_follow_the_sort() {
    let s = store();
    let o = Opts {
        sort: Sort {
            column: Column::Cpu,
            descending: true,
        },
        hide_kernel: true,
        ..Opts::default()
    };
    assert_eq!(
        render(&s, &o),
        [
            "1:0'", "20:1", "22:2", "21:2'", "10:1'", "13:2", "11:2'", "12:3'"
        ]
    );
}

#[test]
fn collapsed_nodes_sum_their_subtree() {
    let s = store();
    let mut o = Opts {
        hide_kernel: true,
        ..Opts::default()
    };
    o.collapsed.insert(
        s.by_key(&ProcessKey::new(HostId(0), 10, 10_000_000_000))
            .unwrap()
            .key,
    );
    assert_eq!(render(&s, &o), ["1:0'", "10:1+", "20:1'", "21:2", "22:2'"]);
    let view = RowList::build(
        &s,
        &Options {
            tree: true,
            sort: o.sort,
            hide_kernel: true,
            hide_exited: false,
            collapsed: &o.collapsed,
            filter: None,
            host_names: &[],
            force: None,
            threads: None,
        },
    );
    let sum = view.rows[1].subtree.as_deref().unwrap();
    assert!((sum.cpu_percent - 10.5).abs() < 1e-9);
    assert_eq!(sum.rss_bytes, (10 + 11 + 12 + 13) << 20);
    assert!(view.rows[1].has_children);
}

#[test]
fn filters_keep_the_ancestors_of_matches() {
    let s = store();
    let o = Opts {
        filter: Some(Filter::parse("vim").unwrap()),
        ..Opts::default()
    };
    assert_eq!(render(&s, &o), ["1:0'", "10:1'", "11:2'", "12:3'"]);
    let flat = Opts {
        tree: false,
        filter: Some(Filter::parse("cpu>1").unwrap()),
        sort: Sort {
            column: Column::Cpu,
            descending: true,
        },
        ..Opts::default()
    };
    assert_eq!(render(&s, &flat), ["22:0", "12:0", "13:0", "21:0"]);
}

#[test]
fn cycles_and_orphans_are_shown_not_lost() {
    let mut s = store();
    s.upsert(proc(30, 31, "a", 0.0));
    s.upsert(proc(31, 30, "b", 0.0));
    s.upsert(proc(40, 999, "orphan", 0.0));
    let rows = render(&s, &Opts::default());
    assert_eq!(rows.len(), 13);
    for pid in ["30:", "31:", "40:0"] {
        assert!(rows.iter().any(|r| r.starts_with(pid)), "{pid} in {rows:?}");
    }
}

/// Thread samples for (pid, tids) of host 0.
fn threads(of: &[(u32, &[u32])]) -> Threads {
    let mut t = Threads::default();
    t.apply(
        HostId(0),
        &v1::ThreadSamples {
            processes: of
                .iter()
                .map(|&(pid, tids)| v1::ProcessThreads {
                    key: Some(v1::ProcessKey {
                        pid,
                        start_time_ns: u64::from(pid) * 1_000_000_000,
                    }),
                    threads: tids
                        .iter()
                        .map(|&tid| v1::ThreadSample {
                            tid,
                            ..Default::default()
                        })
                        .collect(),
                })
                .collect(),
            interval_ns: 1,
        },
    );
    t
}

#[test]
fn threads_come_right_under_their_process_before_its_children() {
    let s = store();
    let o = Opts {
        hide_kernel: true,
        threads: Some(threads(&[(20, &[31, 30]), (12, &[40])])),
        ..Opts::default()
    };
    // pid/tid: a thread is one level deeper than its process; the last
    // thread of a process with children is not its last child.
    assert_eq!(
        render(&s, &o),
        [
            "1:0'", "10:1", "11:2", "12:3'", "12/40:4'", "13:2'", "20:1'", "20/30:2", "20/31:2",
            "21:2", "22:2'"
        ]
    );
    // Flat: right after their process, at depth 0.
    let flat = Opts { tree: false, ..o };
    let rows = render(&s, &flat);
    let at = rows.iter().position(|r| r == "20:0").unwrap();
    assert_eq!(rows[at + 1..at + 3], ["20/30:0", "20/31:0"]);
}

#[test]
fn a_collapsed_process_hides_its_threads_and_positions_skip_threads() {
    let s = store();
    let mut o = Opts {
        hide_kernel: true,
        threads: Some(threads(&[(20, &[30])])),
        ..Opts::default()
    };
    let twenty = s
        .by_key(&ProcessKey::new(HostId(0), 20, 20_000_000_000))
        .unwrap()
        .key;
    o.collapsed.insert(twenty);
    assert!(!render(&s, &o).iter().any(|r| r.contains('/')));
    o.collapsed.clear();
    let view = RowList::build(
        &s,
        &Options {
            tree: true,
            sort: o.sort,
            hide_kernel: true,
            hide_exited: false,
            collapsed: &o.collapsed,
            filter: None,
            host_names: &[],
            force: None,
            threads: o.threads.as_ref(),
        },
    );
    let id = s.id_of(&twenty).unwrap();
    let process = view.position(id).unwrap();
    let thread = view.thread_position(id, 30).unwrap();
    assert_eq!(thread, process + 1);
    assert_eq!(view.rows[process].thread, None);
    assert_eq!(
        view.rows[thread].parent,
        Some(u32::try_from(process).unwrap())
    );
}
