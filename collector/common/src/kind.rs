//! Record kinds: the number in [`crate::Header::kind`], also the index of
//! the kind's sent/lost counters in the kernel's per-CPU `COUNTERS` map.
//!
//! Each concern owns a range so programs can be added in parallel without
//! renumbering: 1..=15 process lifecycle, 16..=31 network, 32..=63 security
//! events.  Numbers are never reused; [`NAMES`] lists every kind in use.

pub const EXEC: u32 = 1;
pub const FORK: u32 = 2;
pub const EXIT: u32 = 3;
/// A process's name changed (prctl `PR_SET_NAME`, a kernel thread named
/// after its fork); not sent for the rename every exec does.
pub const RENAME: u32 = 4;

/// TCP state changes (`sock:inet_sock_set_state`): connect, established,
/// listen, close.
pub const NET_TCP: u32 = 16;
/// A connection returned by `accept`/`accept4`.
pub const NET_ACCEPT: u32 = 17;
/// UDP sockets connected, bound, or sent to a new destination.
pub const NET_UDP: u32 = 18;

/// Kinds below this have counters; a record kind must be smaller.
pub const SLOTS: u32 = 64;

/// `COUNTERS` index of the records of `kind` queued in the ring buffer.
#[must_use]
pub const fn sent_slot(kind: u32) -> u32 {
    (kind % SLOTS) * 2
}

/// `COUNTERS` index of the records of `kind` that did not fit in the ring
/// buffer (reservation failed: the reader is behind).
#[must_use]
pub const fn lost_slot(kind: u32) -> u32 {
    (kind % SLOTS) * 2 + 1
}

/// Entries of the `COUNTERS` map.
pub const COUNTER_SLOTS: u32 = SLOTS * 2;

/// Every kind in use and its name (as shown in `GetInfo` and notices).
pub const NAMES: &[(u32, &str)] = &[
    (EXEC, "exec"),
    (FORK, "fork"),
    (EXIT, "exit"),
    (RENAME, "rename"),
    (NET_TCP, "tcp"),
    (NET_ACCEPT, "accept"),
    (NET_UDP, "udp"),
];

/// The name of `kind`, `"unknown"` if it is not in [`NAMES`].
#[must_use]
pub fn name(kind: u32) -> &'static str {
    NAMES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, n)| n)
}
