//! What the action tests share: sleepers to act on, their keys, requests,
//! the audit log as records, and running `perch` as another (unprivileged)
//! user against a perchd that makes that user an operator.
use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use perch_proto::v1::{ActRequest, ActionKind, ActionMode, AuditRecord, ProcessKey};

use crate::{Perchd, procs::ChildGuard, start_time_ns};

/// The unprivileged user the role tests run `perch` as (`nobody`).
pub const NOBODY: u32 = 65_534;

/// A `/bin/sleep 300` to act on.
#[must_use]
pub fn sleeper() -> ChildGuard {
    ChildGuard::spawn(Command::new("/bin/sleep").arg("300"))
}

/// The key of a running process, as perchd hands it out.
#[must_use]
pub fn key(pid: u32) -> ProcessKey {
    ProcessKey {
        pid,
        start_time_ns: start_time_ns(pid),
    }
}

/// A live request on `target` with a reason; tests change what they test.
#[must_use]
pub fn live(action: ActionKind, target: ProcessKey) -> ActRequest {
    ActRequest {
        action: action.into(),
        target: Some(target),
        reason: "e2e".to_owned(),
        mode: ActionMode::Live.into(),
        ..ActRequest::default()
    }
}

/// Every record of perchd's audit log, each verified.
#[must_use]
pub fn records(perchd: &Perchd) -> Vec<AuditRecord> {
    perch_audit::read(&perchd.audit_log)
        .expect("read the audit log")
        .map(|e| e.expect("every line verifies").record)
        .collect()
}

/// The state letter of `pid` in /proc (`S`, `T`, `Z`...), `None` once gone.
#[must_use]
pub fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A perchd config file in `dir` that makes `uid` an operator.
#[must_use]
pub fn operator_config(dir: &Path, uid: u32) -> PathBuf {
    let path = dir.join("perchd.toml");
    std::fs::write(&path, format!("[roles]\noperator = [\"uid:{uid}\"]\n"))
        .expect("write perchd.toml");
    path
}

/// Lets other users reach perchd's socket file: its (temp) directory
/// becomes traversable.  The socket itself stays mode 0660 in the group
/// perchd gave it (`--socket-group`); perchd, not the file mode, decides
/// what a caller may do.
pub fn share_socket(perchd: &Perchd) {
    let dir = perchd.socket.parent().expect("socket dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).expect("chmod dir");
}

/// `program` run as `uid` with primary group `gid` and no other group.
#[must_use]
pub fn as_user(uid: u32, gid: u32, program: impl AsRef<Path>) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid",
        &uid.to_string(),
        "--regid",
        &gid.to_string(),
        "--clear-groups",
    ])
    .arg(program.as_ref());
    cmd
}
