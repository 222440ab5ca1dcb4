//! A process's latest resource usage as the console keeps it: what the
//! process table's figures and a collapsed node's subtree sum are made of.
use perch_proto::v1;

/// Latest resource usage (see `perch.v1.ResourceUsage`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Percent of one core.
    pub cpu_percent: f64,
    pub cpu_time_ns: u64,
    pub rss_bytes: u64,
    pub mem_percent: f64,
    pub read_per_sec: f64,
    pub write_per_sec: f64,
    pub virtual_bytes: u64,
    pub shared_bytes: u64,
    /// Network bytes per second, its TCP connections summed.
    pub net_rx_per_sec: f64,
    pub net_tx_per_sec: f64,
    /// The kernel's priority (htop's PRI); 0 from a perchd that does not
    /// sample it.
    pub priority: i32,
}

impl Usage {
    #[must_use]
    pub fn from_proto(u: &v1::ResourceUsage) -> Usage {
        Usage {
            cpu_percent: u.cpu_percent,
            cpu_time_ns: u.cpu_time_ns,
            rss_bytes: u.rss_bytes,
            mem_percent: u.mem_percent,
            read_per_sec: u.read_bytes_per_sec,
            write_per_sec: u.write_bytes_per_sec,
            virtual_bytes: u.virtual_bytes,
            shared_bytes: u.shared_bytes,
            net_rx_per_sec: u.net_rx_bytes_per_sec,
            net_tx_per_sec: u.net_tx_bytes_per_sec,
            priority: u.priority,
        }
    }

    /// Adds another's usage (a collapsed node shows its subtree's sum).
    pub fn add(&mut self, o: &Usage) {
        self.cpu_percent += o.cpu_percent;
        self.cpu_time_ns = self.cpu_time_ns.saturating_add(o.cpu_time_ns);
        self.rss_bytes = self.rss_bytes.saturating_add(o.rss_bytes);
        self.mem_percent += o.mem_percent;
        self.read_per_sec += o.read_per_sec;
        self.write_per_sec += o.write_per_sec;
        self.virtual_bytes = self.virtual_bytes.saturating_add(o.virtual_bytes);
        self.shared_bytes = self.shared_bytes.saturating_add(o.shared_bytes);
        self.net_rx_per_sec += o.net_rx_per_sec;
        self.net_tx_per_sec += o.net_tx_per_sec;
    }
}
