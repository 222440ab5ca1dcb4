//! `perch audit verify`: the chain, then what others know of the log's
//! head.  A log cut at a line boundary verifies on its own; it does not
//! against its head file (`PATH.head`, written by every writer) nor against
//! a running perchd that keeps it (`GetInfo` holds the head in memory, out
//! of reach of whoever edited the files).  What could not be compared is
//! said plainly, on stderr, next to the one `ok:` line on stdout.
use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::bail;
use perch_audit::{Checkpoint, VerifyError, head};
use perch_client::Target;
use perch_proto::v1::GetInfoRequest;

/// How long to wait for perchd before saying it did not answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// `verify` with the running perchd on `socket` asked for its head too.
pub async fn verify_with_perchd(
    path: &Path,
    socket: &Path,
    out: &mut impl Write,
    notes: &mut impl Write,
) -> anyhow::Result<()> {
    let mut said = Vec::new();
    let checkpoints = match perchd_head(path, socket).await {
        Ok(cp) => vec![cp],
        Err(why) => {
            said.push(why);
            Vec::new()
        }
    };
    check(path, checkpoints, &mut said, out, notes)
}

/// Verifies the chain against the head file and `checkpoints`; prints the
/// `ok:` line to `out` and what was compared (or could not be) to `notes`.
pub(super) fn check(
    path: &Path,
    mut checkpoints: Vec<Checkpoint>,
    said: &mut Vec<String>,
    out: &mut impl Write,
    notes: &mut impl Write,
) -> anyhow::Result<()> {
    let head_path = head::path_of(path);
    match head::read(&head_path) {
        Ok(Some(h)) => checkpoints.insert(
            0,
            Checkpoint {
                who: format!("its head file {}", head_path.display()),
                records: h.records,
                last_hash: h.last_hash,
            },
        ),
        Ok(None) => said.insert(
            0,
            format!(
                "no head file {}: a cut at the end of the log cannot be found from the files alone",
                head_path.display()
            ),
        ),
        Err(e) => bail!("audit log {}: {e}", path.display()),
    }
    match perch_audit::verify_against(path, &checkpoints) {
        Ok(s) => {
            writeln!(out, "ok: {} records, chain intact", s.records)?;
            for cp in &checkpoints {
                writeln!(
                    notes,
                    "perch: {} says {} records, the last with hash {}: the log holds them",
                    cp.who, cp.records, cp.last_hash
                )?;
            }
            for s in said.iter() {
                writeln!(notes, "perch: note: {s}")?;
            }
            Ok(())
        }
        Err(VerifyError::Line(e)) => bail!("audit log {}: broken at {e}", path.display()),
        Err(e) => Err(e.into()),
    }
}

/// The head of `path` as the perchd on `socket` holds it, or why it is not
/// known.
async fn perchd_head(path: &Path, socket: &Path) -> Result<Checkpoint, String> {
    let target = Target::Unix(socket.to_owned());
    let ask = async {
        let mut client = perch_client::connect(&target)
            .await
            .map_err(|e| e.to_string())?;
        client
            .get_info(GetInfoRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(|e| e.message().to_owned())
    };
    let no_answer = |why: &str| {
        format!(
            "no perchd answered on {} ({why}): the log was not compared with a running perchd",
            socket.display()
        )
    };
    let info = match tokio::time::timeout(ASK_TIMEOUT, ask).await {
        Ok(Ok(info)) => info,
        Ok(Err(why)) => return Err(no_answer(&why)),
        Err(_) => return Err(no_answer("no answer within 3 s")),
    };
    let pid = info.collector_pid;
    if !same_file(path, Path::new(&info.audit_log_path)) {
        return Err(format!(
            "perchd (pid {pid}) on {} keeps another log ({}): not compared with it",
            socket.display(),
            info.audit_log_path
        ));
    }
    if info.audit_log_head_hash.is_empty() {
        return Err(format!(
            "perchd (pid {pid}) on {} does not report its log's head (an older version)",
            socket.display()
        ));
    }
    Ok(Checkpoint {
        who: format!("perchd (pid {pid}) on {}", socket.display()),
        records: info.audit_log_records,
        last_hash: info.audit_log_head_hash,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    canon(a) == canon(b)
}
