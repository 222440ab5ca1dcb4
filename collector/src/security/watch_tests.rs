//! The watch rules: parsing, expansion for home directories, the union
//! of nested prefixes, and the user-space check.
use super::*;

#[test]
fn rules_parse_in_three_forms() {
    assert_eq!(
        Rule::parse("/etc/cron"),
        Ok(Rule::Prefix("/etc/cron".into()))
    );
    assert_eq!(
        Rule::parse("/var/log/"),
        Ok(Rule::Prefix("/var/log/".into()))
    );
    assert_eq!(Rule::parse("~/.bashrc"), Ok(Rule::Home(".bashrc".into())));
    assert_eq!(
        Rule::parse("*/release_agent"),
        Ok(Rule::Name("release_agent".into()))
    );
    for bad in [
        "",
        "etc",
        "~",
        "~/",
        "*/",
        "*/a/b",
        "*/..",
        "/etc//cron",
        "/etc/./x",
        "/etc/../x",
        "~/../x",
        "/etc/\u{1b}x",
    ] {
        assert!(Rule::parse(bad).is_err(), "{bad:?} accepted");
    }
    assert!(Rule::parse(&format!("/{}", "x".repeat(127))).is_ok());
    assert!(Rule::parse(&format!("/{}", "x".repeat(128))).is_err());
    assert!(Rule::parse(&format!("*/{}", "x".repeat(64))).is_err());
    // Every default parses.
    for list in [DEFAULT_MODIFY, DEFAULT_READ, DEFAULT_TRUNCATE] {
        for entry in list {
            assert!(Rule::parse(entry).is_ok(), "{entry}");
        }
    }
}

#[test]
fn homes_expand_and_nested_prefixes_carry_every_bit() {
    let set = WatchSet::new(
        &WatchConfig::default(),
        &["/root".into(), "/home/al".into()],
    );
    assert_eq!(set.mask("/home/al/.bashrc"), watch::MODIFY);
    assert_eq!(set.mask("/root/.ssh/authorized_keys2"), watch::MODIFY);
    assert_eq!(set.mask("/home/bo/.bashrc"), 0, "not a home here");
    // /etc/shadow is in both lists: the longest match says both.
    assert_eq!(set.mask("/etc/shadow"), watch::MODIFY | watch::READ);
    assert_eq!(set.mask("/etc/sudoers.d/x"), watch::MODIFY | watch::READ);
    assert_eq!(set.mask("/etc/crontab"), watch::MODIFY);
    assert_eq!(set.mask("/etc/hostname"), 0);
    assert_eq!(
        set.mask("/var/log/auth.log"),
        watch::TRUNCATE | watch::UNLINK
    );
    assert_eq!(set.mask("/sys/fs/cgroup/x/release_agent"), watch::MODIFY);
    assert_eq!(set.mask("/sys/fs/cgroup/x/release_agent.old"), 0);
    assert!(set.has_reads());
    let with = |p: &str| set.prefixes().find(|(q, _)| *q == p).map(|(_, b)| b);
    assert_eq!(with("/home/al/.ssh/id_"), Some(watch::READ));
    assert_eq!(set.names().count(), 2);
}

#[test]
fn a_nested_prefix_in_another_list_keeps_the_outer_bits() {
    let config = WatchConfig {
        modify: vec![Rule::Prefix("/etc/".into())],
        read: vec![Rule::Prefix("/etc/shadow".into())],
        truncate: vec![],
    };
    let set = WatchSet::new(&config, &[]);
    assert_eq!(
        set.prefixes().collect::<Vec<_>>(),
        [
            ("/etc/", watch::MODIFY),
            ("/etc/shadow", watch::MODIFY | watch::READ)
        ]
    );
    assert!(
        !WatchSet::new(
            &WatchConfig {
                read: vec![],
                ..config
            },
            &[]
        )
        .has_reads()
    );
}

#[test]
fn paths_fold_like_the_kernel_would() {
    assert_eq!(normalize("/etc/../etc/./shadow"), "/etc/shadow");
    assert_eq!(normalize("//etc//cron.d/"), "/etc/cron.d");
    assert_eq!(normalize("/../.."), "/");
    assert_eq!(normalize("/tmp/x/../../etc/sudoers"), "/etc/sudoers");
}

#[test]
fn homes_come_from_passwd() {
    let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                  daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                  nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                  al:x:1000:1000::/home/al/:/bin/bash\n\
                  broken line\n\
                  sys:x:3:3::/:/bin/sh\n";
    let homes = homes_in(passwd, |h| h != "/nonexistent");
    assert_eq!(homes, ["/home/al", "/root", "/usr/sbin"]);
}

/// Whether `path` passes the gates as the kernel's open filter computes
/// them (first two words of the path; the last component's first word).
fn gates_pass(gates: &([u64; GATE_WORDS], [u64; GATE_WORDS]), path: &str) -> (bool, bool) {
    use perch_common::pathscan::{dir_head, gate_bit, name_head, word_of};
    let b = path.as_bytes();
    let at = |i: usize| word_of(b.get(i..).unwrap_or_default());
    let has = |g: &[u64; GATE_WORDS], bit: usize| g[bit / 64] & (1 << (bit % 64)) != 0;
    let leaf = b.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    let len = (b.len() - leaf) as u64;
    (
        has(&gates.0, gate_bit(dir_head(at(0), at(8)), 0)),
        has(&gates.1, gate_bit(name_head(at(leaf), len), len)),
    )
}

#[test]
fn the_gates_pass_every_watched_path_and_close_on_others() {
    let set = WatchSet::new(
        &WatchConfig::default(),
        &["/root".into(), "/home/ann".into()],
    );
    let gates = set.gates();
    for watched in [
        "/etc/crontab",
        "/etc/sudoers.d/x",
        "/var/spool/cron/root",
        "/usr/lib/systemd/system/x.service",
        "/root/.bashrc",
        "/home/ann/.ssh/authorized_keys",
        "/proc/sys/kernel/core_pattern",
    ] {
        assert!(set.mask(watched) != 0, "{watched}");
        assert!(gates_pass(&gates, watched).0, "{watched}");
    }
    assert!(gates_pass(&gates, "/sys/fs/cgroup/x/release_agent").1);
    assert!(gates_pass(&gates, "/x/notify_on_release").1);
    // The open storm's files (these happen not to collide).
    assert_eq!(
        gates_pass(&gates, "/tmp/.tmpAbCdEf/quiet/f0"),
        (false, false)
    );
    assert_eq!(gates_pass(&gates, "/srv/data/log.txt"), (false, false));
    // A prefix ending inside its first component opens the gate to all.
    let config = WatchConfig {
        modify: vec![Rule::parse("/et").unwrap()],
        read: vec![],
        truncate: vec![],
    };
    let gates = WatchSet::new(&config, &[]).gates();
    assert!(gates_pass(&gates, "/tmp/x").0);
    assert_eq!(gates.1, [0; GATE_WORDS], "no names: the name gate is shut");
}
