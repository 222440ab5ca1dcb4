//! The action executor against the real kernel, as root, with real
//! processes and cgroups: kill, kill tree (forking and group-hopping
//! members), kill group, renice, kill / freeze / thaw pod, freeze / thaw
//! tree, pid reuse, refusals and dry runs.  Every outcome is checked
//! against /proc and cgroup files read by the test itself.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
mod helpers;
mod support;

mod freeze;
mod group;
mod kill;
mod pod;
mod refuse;
mod renice;
mod reuse;
mod tree;

/// Not a test: the entry point of the helper processes the tests start
/// (this binary re-run with `PERCH_ACTIONS_HELPER` set, see
/// `helpers::helper_main`).  Without the variable it returns at once.
#[test]
fn helper_process() {
    if let Ok(mode) = std::env::var("PERCH_ACTIONS_HELPER") {
        helpers::helper_main(&mode);
    }
}
