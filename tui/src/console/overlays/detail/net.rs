//! The detail view's network part: the process's connections and listening
//! sockets from the console's connection store, closed ones dimmed, a few
//! of each (the Connections and Listening screens have them all).  Nothing
//! is drawn for a process without any.
use std::fmt::Write as _;

use ratatui::text::Line;

use super::widget::DetailView;
use crate::{
    console::{format, model::Proc, ui::ellipsize},
    text::net::{arrow, endpoint, protocol},
};

/// At most this many of each kind: the rest are on their screens.
const SHOWN: usize = 8;

impl DetailView<'_> {
    /// `Network` with one line per connection and listening socket; empty
    /// when the process has neither.
    pub(super) fn network(&self, p: &Proc, width: usize) -> Vec<Line<'static>> {
        let t = self.theme();
        let (conns, listening) = self.app.data().net().of_process(&p.key);
        if conns.is_empty() && listening.is_empty() {
            return Vec::new();
        }
        let mut out = vec![Line::styled(
            format!(
                "Network ({} connection{}, {} listening)",
                conns.len(),
                if conns.len() == 1 { "" } else { "s" },
                listening.len()
            ),
            t.label,
        )];
        let line = |text: String, closed: bool| {
            let text = if closed {
                format!("{text} (closed)")
            } else {
                text
            };
            Line::styled(
                ellipsize(&format!("  {text}"), width),
                if closed { t.exited } else { t.text },
            )
        };
        for c in conns.iter().take(SHOWN) {
            let mut text = format!(
                "{} {} {} {}",
                protocol(c.c.proto),
                endpoint(&c.c.local_ip, c.c.local_port),
                arrow(c.c.direction),
                endpoint(&c.c.remote_ip, c.c.remote_port)
            );
            if let Some(peer) = c.peer {
                let _ = write!(text, " peer {} {}", peer.pid, c.c.peer_proc_name);
            }
            if c.c.counters_known {
                let _ = write!(
                    text,
                    " tx {} rx {}",
                    format::bytes(c.c.bytes_tx),
                    format::bytes(c.c.bytes_rx)
                );
            }
            out.push(line(text, c.is_closed()));
        }
        if conns.len() > SHOWN {
            out.push(line(format!("… {} more (Connections screen)", conns.len() - SHOWN), false));
        }
        for l in listening.iter().take(SHOWN) {
            let text = format!(
                "listening {} {}",
                protocol(l.l.proto),
                endpoint(&l.l.local_ip, l.l.local_port)
            );
            out.push(line(text, l.is_closed()));
        }
        if listening.len() > SHOWN {
            out.push(line(
                format!("… {} more (Listening screen)", listening.len() - SHOWN),
                false,
            ));
        }
        out
    }
}
