//! Fixture tests for the host parsers, and one live sample.
use std::collections::HashSet;

use super::*;

const STAT: &str = "cpu  300 0 150 1500 50 0 0 0 0 0\n\
cpu0 100 20 40 800 30 5 5 0 7 0\n\
cpu1 180 0 100 700 20 0 0 0 0 0\n\
intr 1 2 3\nctxt 797139\nbtime 1700000000\nprocesses 9000\nprocs_running 2\nprocs_blocked 0\n";

const MEMINFO: &str = "MemTotal:       16000000 kB\nMemFree:         2000000 kB\n\
MemAvailable:   12000000 kB\nBuffers:          100000 kB\nCached:          3000000 kB\n\
SwapCached:            0 kB\nActive:          1000000 kB\nInactive:         500000 kB\n\
SwapTotal:       4000000 kB\nSwapFree:        3000000 kB\nDirty:                 0 kB\n\
Writeback:             0 kB\nMapped:            10000 kB\nSlab:             200000 kB\n\
SReclaimable:     150000 kB\nCommitted_AS:      40000 kB\nVmallocTotal:   34359738367 kB\n\
VmallocUsed:        5000 kB\nVmallocChunk:          0 kB\n";

const DISKSTATS: &str = "   7       0 loop0 10 0 80 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
 254       0 vda 100 0 1000 0 10 0 2000 0 0 0 0 0 0 0 0 0 0\n\
 254       1 vda1 90 0 900 0 9 0 1900 0 0 0 0 0 0 0 0 0 0\n\
 259       0 nvme0n1 100 0 4 0 10 0 8 0 0 0 0 0 0 0 0 0 0\n\
 259       1 nvme0n1p1 100 0 4 0 10 0 8 0 0 0 0 0 0 0 0 0 0\n\
   1       0 ram0 1 0 1 0 1 0 1 0 0 0 0 0 0 0 0 0 0\n\
 253       0 zram0 1 0 1 0 1 0 1 0 0 0 0 0 0 0 0 0 0\n";

const NETDEV: &str = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0\n  \
eth0: 351637217   15448    0    0    0     0          0         0   903121   10293    0    0    0     0       0          0\n  \
wlan0:    1000   15448    0    0    0     0          0         0   2000   10293    0    0    0     0       0          0\n";

#[test]
fn parses_per_cpu_ticks() {
    let cpus = parse_cpus(STAT).expect("valid");
    assert_eq!(cpus.len(), 2, "total line is not a cpu");
    assert_eq!(
        cpus[0],
        CpuTicks {
            user: 120,
            system: 50,
            iowait: 30,
            idle: 800,
            steal: 0
        }
    );
    let s = cpu_sample(&CpuTicks::default(), &cpus[1]);
    assert!((s.busy_percent - 28.0).abs() < 1e-9, "{s:?}");
    assert!((s.user_percent - 18.0).abs() < 1e-9);
    assert!((s.system_percent - 10.0).abs() < 1e-9);
    assert!((s.iowait_percent - 2.0).abs() < 1e-9);
    assert!(parse_cpus("garbage").is_none());
}

#[test]
fn cpu_deltas_saturate_and_handle_no_time() {
    let a = CpuTicks {
        user: 10,
        system: 10,
        iowait: 5,
        idle: 10,
        steal: 0,
    };
    let b = CpuTicks {
        user: 60,
        system: 10,
        iowait: 3,
        idle: 60,
        steal: 0,
    };
    let s = cpu_sample(&a, &b);
    assert!(
        (s.busy_percent - 50.0).abs() < 1e-9,
        "iowait went back: ignored"
    );
    assert_eq!(cpu_sample(&b, &b), CpuSample::default());
}

#[test]
fn parses_memory() {
    let m = Meminfo::from_buf_read(MEMINFO.as_bytes()).expect("fixture has required fields");
    let mut s = HostSample::default();
    fill_memory(&mut s, &m);
    assert_eq!(s.memory_total_bytes, 16_000_000 * 1024);
    assert_eq!(s.memory_available_bytes, 12_000_000 * 1024);
    assert_eq!(s.memory_used_bytes, 4_000_000 * 1024);
    assert_eq!(s.memory_cached_bytes, 3_150_000 * 1024);
    assert_eq!(
        (s.swap_total_bytes, s.swap_used_bytes),
        (4_000_000 * 1024, 1_000_000 * 1024)
    );
}

#[test]
fn parses_load() {
    let l = LoadAverage::from_read(&b"1.01 1.08 0.72 3/86 17747\n"[..]).expect("valid");
    assert_eq!((l.cur, l.max), (3, 86));
    assert!((f64::from(l.one) - 1.01).abs() < 1e-6);
}

#[test]
fn disks_from_sys_block_list() {
    let whole: HashSet<String> = ["vda", "nvme0n1"].map(String::from).into();
    let d = parse_disks(DISKSTATS, Some(&whole));
    assert_eq!(d.len(), 2);
    assert_eq!(d["vda"], (1000 * 512, 2000 * 512));
    assert_eq!(d["nvme0n1"], (4 * 512, 8 * 512));
}

#[test]
fn disks_by_name_without_sysfs() {
    let d = parse_disks(DISKSTATS, None);
    let mut names: Vec<_> = d.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["nvme0n1", "vda"]);
    assert!(parse_disks("short line\n", None).is_empty());
}

#[test]
fn whole_disks_skip_virtual_and_stacked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for dir in [
        "vda/slaves",
        "loop0/slaves",
        "zram0",
        "dm-0/slaves/vda",
        "cciss!c0d0",
    ] {
        fs::create_dir_all(tmp.path().join(dir)).expect("mkdir");
    }
    let set = whole_disks(tmp.path()).expect("readable");
    let mut names: Vec<_> = set.iter().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["cciss/c0d0", "vda"]);
    assert!(whole_disks(&tmp.path().join("missing")).is_none());
}

#[test]
fn network_without_loopback() {
    let n = parse_net(NETDEV);
    assert_eq!(n.len(), 2);
    assert_eq!(n["eth0"], (351_637_217, 903_121));
    assert_eq!(n["wlan0"], (1000, 2000));
}

#[test]
fn rates_use_devices_in_both_readings() {
    let prev: Counters = [("a".to_owned(), (100, 1000)), ("gone".to_owned(), (5, 5))].into();
    let cur: Counters = [
        ("a".to_owned(), (300, 1500)),
        ("new".to_owned(), (1 << 40, 1 << 40)),
    ]
    .into();
    assert_eq!(rates(Some(&prev), &cur, 2.0), (100.0, 250.0));
    assert_eq!(rates(None, &cur, 0.0), (0.0, 0.0));
    let boot: Counters = [("a".to_owned(), (300, 1500))].into();
    assert_eq!(rates(None, &boot, 3.0), (100.0, 500.0));
}

#[test]
fn live_sample_is_sane() {
    let mut h = HostSampler::new("/proc");
    let first = h.sample();
    assert_eq!(
        first.interval_ns, first.uptime_ns,
        "first sample covers time since boot"
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    let s = h.sample();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    assert!(s.cpus.len() >= cores, "{} cpus", s.cpus.len());
    for c in &s.cpus {
        assert!((0.0..=100.0).contains(&c.busy_percent), "{c:?}");
        assert!(c.user_percent + c.system_percent <= c.busy_percent + 1e-6);
    }
    assert!(s.memory_total_bytes > 0);
    assert!(s.memory_used_bytes <= s.memory_total_bytes);
    assert_eq!(
        s.memory_used_bytes + s.memory_available_bytes,
        s.memory_total_bytes
    );
    assert!(s.swap_used_bytes <= s.swap_total_bytes);
    assert!(
        s.tasks_total >= 2 && s.threads_total >= s.tasks_total,
        "{s:?}"
    );
    assert!(s.tasks_running >= 1);
    assert!(s.load.iter().all(|l| *l >= 0.0));
    assert!(s.interval_ns >= 100_000_000 && s.interval_ns < 60_000_000_000);
    assert!(s.uptime_ns > first.uptime_ns);
    for r in [
        s.disk_read_bytes_per_sec,
        s.disk_write_bytes_per_sec,
        s.net_rx_bytes_per_sec,
        s.net_tx_bytes_per_sec,
    ] {
        assert!(r >= 0.0 && r.is_finite());
    }
}

#[test]
fn absurd_counters_do_not_panic() {
    let max = CpuTicks {
        user: u64::MAX,
        system: u64::MAX,
        iowait: 0,
        idle: u64::MAX,
        steal: 1,
    };
    let s = cpu_sample(&CpuTicks::default(), &max);
    assert!(s.busy_percent.is_finite());
    let line = format!(
        "cpu  1 1 1 1\ncpu0 {m} {m} {m} {m} {m} {m} {m} {m} 0 0\nctxt 1\nbtime 1\nprocesses 1\n",
        m = u64::MAX
    );
    assert_eq!(parse_cpus(&line).map(|c| c.len()), Some(1));
}
