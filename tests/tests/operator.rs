//! The operator role over everything an action touches: an operator (a
//! real non-root uid named in perchd's config, calling `perch` over the
//! Unix socket) may act on its own processes, but not on a group or a pod
//! with a member running as root, nor on a setuid-root process.  The
//! refusal names the member, is audited, and nothing is signalled.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use perch_e2e::{
    Perchd,
    act::{NOBODY, as_user, operator_config, records, share_socket, state},
    alive, binary,
    cgroups::Cgroups,
    have_root_or_skip,
    procs::{ChildGuard, Finished, pod_uid, random_hex, run_bounded},
};

const WAIT: Duration = Duration::from_secs(30);

/// A perchd that makes `nobody` an operator, its socket open to `nogroup`.
async fn perchd_with_operator() -> (Perchd, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = operator_config(dir.path(), NOBODY);
    let config = config.display().to_string();
    let perchd = Perchd::start(&["--config", &config, "--socket-group", "nogroup"]).await;
    share_socket(&perchd);
    (perchd, dir)
}

/// `perch ARGS --socket S` run as the operator.
fn perch_as_operator(perchd: &Perchd, args: &[&str]) -> Finished {
    let socket = perchd.socket.display().to_string();
    run_bounded(
        as_user(NOBODY, NOBODY, binary("perch"))
            .args(args)
            .args(["--socket", &socket]),
        WAIT,
    )
}

/// `setpriv` prefix running a program as `nobody`.
fn as_nobody() -> String {
    format!("setpriv --reuid {NOBODY} --regid {NOBODY} --clear-groups")
}

/// A process group whose members are all killed on drop.
struct Group(ChildGuard);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(i32::try_from(self.0.pid()).expect("pid"));
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::SIGKILL);
    }
}

/// The processes of group `pgid` other than its leader.
fn members(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != pgid)
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(2)?.parse::<u32>().ok())
                    == Some(pgid)
            })
        })
        .collect()
}

/// Real and effective uid of `pid`.
fn uids(pid: u32) -> (u32, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .expect("Uid:");
    let mut ids = line.split_whitespace().map(|v| v.parse().expect("uid"));
    (ids.next().expect("ruid"), ids.next().expect("euid"))
}

fn output(out: &Finished) -> String {
    format!("{}{}", out.stdout, out.stderr)
}

/// The refusal went back to the operator and into the log, naming `pid`.
fn assert_refused_naming(perchd: &Perchd, out: &Finished, pid: u32) {
    assert!(!out.status.success(), "{out:?}");
    let said = output(out);
    assert!(
        said.contains(&format!("pid {pid} ")) && said.contains("root"),
        "the refusal names pid {pid} and root: {out:?}"
    );
    let log = records(perchd);
    let rec = log.last().expect("the refusal is audited");
    assert_eq!(rec.code, "permission_denied", "{rec:?}");
    assert_eq!(rec.actor_uid, NOBODY);
    assert!(rec.detail.contains(&format!("pid {pid} ")), "{rec:?}");
}

#[tokio::test]
async fn an_operators_group_kill_with_a_root_member_is_refused_naming_it() {
    if !have_root_or_skip("an_operators_group_kill_with_a_root_member_is_refused_naming_it") {
        return;
    }
    let (perchd, _config) = perchd_with_operator().await;
    // The group's leader runs as the operator; a member it left behind
    // before dropping privileges runs as root.
    let script = format!("/bin/sleep 301 & exec {} /bin/sleep 300", as_nobody());
    let group = Group(ChildGuard::spawn(
        Command::new("/bin/sh")
            .args(["-c", &script])
            .process_group(0),
    ));
    let leader = group.0.pid();
    perchd.wait_known(leader, "/bin/sleep").await;
    let member = {
        let mut found = Vec::new();
        for _ in 0..300 {
            found = members(leader);
            if !found.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(found.len(), 1, "one member besides the leader: {found:?}");
        found[0]
    };
    assert_eq!(uids(leader), (NOBODY, NOBODY));
    assert_eq!(uids(member), (0, 0));

    let out = perch_as_operator(
        &perchd,
        &[
            "kill-group",
            "--pid",
            &leader.to_string(),
            "--signal",
            "STOP",
            "--reason",
            "operator e2e",
        ],
    );
    assert_refused_naming(&perchd, &out, member);
    for pid in [leader, member] {
        assert!(
            alive(pid) && state(pid) != Some('T'),
            "pid {pid} was signalled: state {:?}",
            state(pid)
        );
    }
}

/// A shell moving itself into `leaf`, then running `program` (as the
/// shell's user unless the program changes it).
fn in_cgroup(leaf: &Path, program: &str) -> ChildGuard {
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {program}",
        leaf.display()
    );
    ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &script]))
}

fn cgroup_file(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

#[tokio::test]
async fn an_operators_pod_freeze_with_a_root_member_is_refused() {
    if !have_root_or_skip("an_operators_pod_freeze_with_a_root_member_is_refused") {
        return;
    }
    let (perchd, _config) = perchd_with_operator().await;
    let pod = format!("kubepods/burstable/pod{}", pod_uid());
    let container = Cgroups::make(&format!("{pod}/{}", random_hex(32)));
    let pod_dir: PathBuf = container.leaf.parent().expect("pod cgroup").to_owned();
    let mine = in_cgroup(&container.leaf, &format!("{} /bin/sleep 300", as_nobody()));
    let roots = in_cgroup(&container.leaf, "/bin/sleep 300");
    perchd.wait_known(mine.pid(), "/bin/sleep").await;
    perchd.wait_known(roots.pid(), "/bin/sleep").await;
    assert_eq!(uids(mine.pid()), (NOBODY, NOBODY));

    let out = perch_as_operator(
        &perchd,
        &[
            "freeze",
            "--pod",
            "--pid",
            &mine.pid().to_string(),
            "--reason",
            "operator e2e",
        ],
    );
    assert_refused_naming(&perchd, &out, roots.pid());
    assert_eq!(cgroup_file(&pod_dir, "cgroup.freeze").trim(), "0");
    assert!(
        cgroup_file(&pod_dir, "cgroup.events").contains("frozen 0"),
        "the pod was frozen"
    );
    assert!(alive(mine.pid()) && alive(roots.pid()));
    drop((mine, roots));
    drop(container);
}

#[tokio::test]
async fn a_setuid_root_process_is_root_to_an_operator() {
    if !have_root_or_skip("a_setuid_root_process_is_root_to_an_operator") {
        return;
    }
    let (perchd, _config) = perchd_with_operator().await;
    // Real uid nobody, effective uid root: what a setuid-root binary runs as.
    let setuid = ChildGuard::spawn(
        Command::new("setpriv")
            .args(["--ruid", &NOBODY.to_string(), "--euid", "0"])
            .args(["/bin/sleep", "300"]),
    );
    let own = ChildGuard::spawn(
        Command::new("setpriv")
            .args([
                "--reuid",
                &NOBODY.to_string(),
                "--regid",
                &NOBODY.to_string(),
            ])
            .args(["--clear-groups", "/bin/sleep", "300"]),
    );
    perchd.wait_known(setuid.pid(), "/bin/sleep").await;
    perchd.wait_known(own.pid(), "/bin/sleep").await;
    assert_eq!(uids(setuid.pid()), (NOBODY, 0));

    let kill = |pid: u32| {
        perch_as_operator(
            &perchd,
            &[
                "kill",
                "--pid",
                &pid.to_string(),
                "--reason",
                "operator e2e",
            ],
        )
    };
    let out = kill(setuid.pid());
    assert_refused_naming(&perchd, &out, setuid.pid());
    assert!(alive(setuid.pid()), "the setuid process was killed");

    // The operator role itself works: its own process is killed.
    let out = kill(own.pid());
    assert!(out.status.success(), "{out:?}");
    let log = records(&perchd);
    assert_eq!(log.last().map(|r| r.code.as_str()), Some("ok"));
}
