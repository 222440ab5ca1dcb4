//! The detail view's detections: the process's flags (severity-coloured,
//! excepted ones dimmed) and the traces it belongs to (by its flags, or as
//! their root), a few of each (the Flags and Traces screens have them
//! all).  Nothing is drawn for a process without any.
use ratatui::text::Line;

use super::widget::DetailView;
use crate::{
    console::{model::Proc, ui::ellipsize},
    text::trace::sev,
};

/// At most this many of each kind: the rest are on their screens.
const SHOWN: usize = 6;

impl DetailView<'_> {
    /// `Flags (n) · traces (m)` with one line each; empty when none.
    pub(super) fn detections(&self, p: &Proc, width: usize) -> Vec<Line<'static>> {
        let t = self.theme();
        let (flags, traces) = self.app.data().detect().of_process(&p.key);
        if flags.is_empty() && traces.is_empty() {
            return Vec::new();
        }
        let mut out = vec![Line::styled(
            format!("Flags ({}) · traces ({})", flags.len(), traces.len()),
            t.label,
        )];
        let cut = |s: String| ellipsize(&format!("  {s}"), width);
        for f in flags.iter().take(SHOWN) {
            let mitre = f
                .f
                .mitre_mapping
                .first()
                .map_or("", |m| m.technique.as_str());
            let mut text = format!(
                "{} {} {mitre}: {}",
                sev(f.f.severity),
                f.f.short_name,
                f.f.description
            );
            if f.f.excepted {
                text.push_str(" (excepted)");
            }
            let style = if f.f.excepted {
                t.exited
            } else {
                t.severity(f.severity())
            };
            out.push(Line::styled(cut(text), style));
        }
        if flags.len() > SHOWN {
            let more = format!("… {} more (Flags screen)", flags.len() - SHOWN);
            out.push(Line::styled(cut(more), t.label));
        }
        for tr in traces.iter().take(SHOWN) {
            let text = format!(
                "{} score {} {} · {}",
                tr.t.id, tr.t.score, tr.t.trigger_short_name, tr.t.name
            );
            let style = if tr.is_active() {
                t.severity(tr.t.max_severity())
            } else {
                t.exited
            };
            out.push(Line::styled(cut(text), style));
        }
        if traces.len() > SHOWN {
            let more = format!("… {} more (Traces screen)", traces.len() - SHOWN);
            out.push(Line::styled(cut(more), t.label));
        }
        out
    }
}
