//! The order of the process list: a column and a direction, and how two
//! rows compare under it.
use std::cmp::Ordering;

use super::Column;
use crate::console::model::Proc;

/// The current order: a column and a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Default for Sort {
    /// htop's default: busiest first.
    fn default() -> Self {
        Sort {
            column: Column::Cpu,
            descending: true,
        }
    }
}

impl Sort {
    /// A column in its natural direction (numbers biggest first).
    #[must_use]
    pub fn by(column: Column) -> Sort {
        Sort {
            column,
            descending: column.descending_by_default(),
        }
    }
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    a.total_cmp(&b)
}

impl Sort {
    /// Compares two rows; ties fall back to pid then start, so the order is
    /// total and stable across refreshes.  In a usage column exited rows
    /// come after the live ones whatever the direction: their last figures
    /// are history, not load.
    #[must_use]
    pub fn compare(&self, a: &Proc, b: &Proc) -> Ordering {
        if self.column.is_usage() {
            let gone = a.is_exited().cmp(&b.is_exited());
            if gone != Ordering::Equal {
                return gone;
            }
        }
        let (ua, ub) = (&a.usage, &b.usage);
        let primary = match self.column {
            Column::Pid => a.key.pid.cmp(&b.key.pid),
            Column::User => a.user.cmp(&b.user),
            Column::AUser => a.login_user.cmp(&b.login_user),
            Column::State => a.state.cmp(&b.state),
            Column::Pri => ua.priority.cmp(&ub.priority),
            Column::Nice => a.nice.cmp(&b.nice),
            Column::Cpu => cmp_f64(ua.cpu_percent, ub.cpu_percent),
            Column::Mem => cmp_f64(ua.mem_percent, ub.mem_percent),
            Column::Virt => ua.virtual_bytes.cmp(&ub.virtual_bytes),
            Column::Rss => ua.rss_bytes.cmp(&ub.rss_bytes),
            Column::Shr => ua.shared_bytes.cmp(&ub.shared_bytes),
            Column::Threads => a.threads.cmp(&b.threads),
            Column::Read => cmp_f64(ua.read_per_sec, ub.read_per_sec),
            Column::Write => cmp_f64(ua.write_per_sec, ub.write_per_sec),
            Column::NetRx => cmp_f64(ua.net_rx_per_sec, ub.net_rx_per_sec),
            Column::NetTx => cmp_f64(ua.net_tx_per_sec, ub.net_tx_per_sec),
            Column::Start => a.start_time_ns.cmp(&b.start_time_ns),
            // Longest running first when descending: the earliest start.
            Column::Elapsed => b.start_time_ns.cmp(&a.start_time_ns),
            Column::Time => ua.cpu_time_ns.cmp(&ub.cpu_time_ns),
            Column::Ppid => a.ppid.cmp(&b.ppid),
            Column::Pgrp => a.pgid.cmp(&b.pgid),
            Column::Sid => a.sid.cmp(&b.sid),
            Column::Tty => a.tty.cmp(&b.tty),
            Column::Exe => a.exe_shown().cmp(b.exe_shown()),
            Column::Container => a.container_label().cmp(b.container_label()),
            Column::Flags => a.flags.cmp(&b.flags),
            Column::Host => a.key.host.cmp(&b.key.host),
            Column::Command => a.command.cmp(&b.command),
        };
        let primary = if self.descending {
            primary.reverse()
        } else {
            primary
        };
        primary.then_with(|| a.key.cmp(&b.key))
    }
}
