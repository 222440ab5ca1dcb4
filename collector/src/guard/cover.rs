//! perchd's live processes as policy coverage sees them: the model's
//! [`ProcessInfo`] as a [`Proc`], and its chain read from the model.
use perch_proto::v1 as pb;

use crate::{
    convert,
    detect::lineage::ancestry,
    model::{ProcessInfo, ProcessModel},
    policy::workload::{
        WorkloadPolicy,
        cover::{self, Proc},
    },
};

impl Proc for ProcessInfo {
    fn key(&self) -> pb::ProcessKey {
        convert::key(&self.key)
    }
    fn comm(&self) -> &str {
        &self.comm
    }
    /// The real executable when exec facts have it.
    fn exe(&self) -> &str {
        self.facts
            .as_deref()
            .map_or(self.exe.as_str(), |f| f.exe.path.as_str())
    }
    fn euser(&self) -> String {
        self.user
            .as_deref()
            .map_or_else(|| self.euid.to_string(), ToOwned::to_owned)
    }
    fn kernel_thread(&self) -> bool {
        self.kernel_thread
    }
    fn cgroup_path(&self) -> Option<&str> {
        self.cgroup.as_deref().map(|c| c.path.as_str())
    }
    fn container_id(&self) -> Option<&str> {
        self.cgroup
            .as_deref()
            .and_then(|c| c.container_id.as_deref())
    }
}

/// `p`'s chain in the policy's scope (see [`cover::chain`]).
#[must_use]
pub fn chain<'m>(
    policy: &WorkloadPolicy,
    model: &'m ProcessModel,
    p: &'m ProcessInfo,
    host: &str,
) -> Option<Vec<&'m ProcessInfo>> {
    cover::chain(policy, p, || ancestry(model, p), host)
}
