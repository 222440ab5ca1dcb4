//! The operator's limit, applied to every process an action would touch:
//! no process running as root.  Root is judged by the real, effective and
//! saved uid (/proc/PID/status), not by the uid the process model shows,
//! so a setuid-root program started by a user is root, and so is a root
//! daemon that dropped its effective uid but can take it back.
//!
//! When it is checked: as each process is found (before anything is
//! touched), and again once the members are held still (stopped or
//! frozen), since a member could exec a setuid binary in between; a
//! process held still cannot exec.  The one window left is a single
//! target (kill, renice), which is signalled right after its check.
use super::pidfd::is_gone;
use super::procs::ProcStat;
use super::target::Pinned;
use super::{Executor, Outcome, Request};

/// The result code of a process refused for its credentials.
pub(super) const CODE: &str = "permission_denied";

impl Executor {
    /// Why `st` must not be touched by this requester for running as root.
    /// A process that is gone is not judged here (pinning it fails); one
    /// whose credentials cannot be read for another reason is refused.
    pub(super) fn root_refusal(
        &self,
        st: &ProcStat,
        req: &Request,
    ) -> Option<(&'static str, String)> {
        let rule = req.refuse_root.as_deref()?;
        let who = format!("pid {} ({}", st.pid, st.comm);
        let ids = match self.procfs.uids(st.pid) {
            Ok(ids) => ids,
            Err(e) if is_gone(&e) => return None,
            Err(e) => {
                let why = format!("{who}): its user cannot be read ({e}); {rule}");
                return Some((CODE, why));
            }
        };
        let runs = if ids.real == 0 && ids.effective == 0 {
            format!("{who}, user root), running as root (uid 0)")
        } else if ids.effective == 0 {
            format!(
                "{who}, user root), running as root: effective uid 0, real uid {} (setuid)",
                ids.real
            )
        } else if ids.real == 0 || ids.saved == 0 {
            format!(
                "{who}, uid {}), which can take root back: real uid {}, saved uid {}",
                ids.effective, ids.real, ids.saved
            )
        } else {
            return None;
        };
        Some((CODE, format!("{runs}; {rule}")))
    }

    /// Checks the credentials of every member again, once they are held
    /// still; `what` names the set ("process group 42").
    pub(super) fn recheck<'p>(
        &self,
        members: impl IntoIterator<Item = &'p Pinned>,
        req: &Request,
        what: &str,
    ) -> Result<(), Outcome> {
        if req.refuse_root.is_none() {
            return Ok(());
        }
        for p in members {
            let Some(now) = p.now(&self.procfs) else {
                continue;
            };
            if let Some((code, why)) = self.root_refusal(&now, req) {
                return Err(Outcome::not_done(
                    code,
                    format!("refused: {what} includes {why}"),
                ));
            }
        }
        Ok(())
    }
}
