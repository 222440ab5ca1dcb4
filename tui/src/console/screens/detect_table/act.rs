//! `k` from the detection screens: the action menu on the flag's process,
//! the trace's root, or the process selected in a trace's tree, with the
//! dialog's reason pre-filled from what was detected (editable, and still
//! required: it is the process list's menu and dialog).
use super::Row;
use crate::console::{
    detect::{HeldFlag, HeldTrace},
    model::ProcessKey,
    overlays::{Overlay, act_menu::Menu},
    screens::Cx,
};

/// The process `k` acts on and the reason it starts with: the trace's
/// root (`trace <name>: <trigger's short name>`), the flag's process
/// (`flag <short_name>: <description>`).
pub(in crate::console::screens) fn pivot(r: Row<'_>) -> (Option<ProcessKey>, String) {
    match r {
        Row::T(t) => (t.root, trace_reason(t)),
        Row::F(f) => (f.key, flag_reason(f)),
    }
}

pub(in crate::console::screens) fn trace_reason(t: &HeldTrace) -> String {
    format!("trace {}: {}", t.t.name, t.t.trigger_short_name)
}

pub(in crate::console::screens) fn flag_reason(f: &HeldFlag) -> String {
    format!("flag {}: {}", f.f.short_name, f.f.description)
}

/// `k`: the action menu on `key` with `reason` ready in its dialog,
/// through the same menu and dialog as the process list.
pub(in crate::console::screens) fn open_menu(
    cx: &mut Cx<'_>,
    key: Option<ProcessKey>,
    reason: String,
) {
    let Some(key) = key else {
        *cx.flash = Some("its process is not known".to_owned());
        return;
    };
    if cx.data.read_only_on(cx.config, key.host) {
        return;
    }
    match cx.data.store().by_key(&key) {
        Some(p) if !p.is_exited() => {
            let mut menu = Menu::new(cx.data.store(), p);
            menu.reason = Some(reason);
            *cx.overlay = Some(Overlay::ActMenu(menu));
        }
        _ => *cx.flash = Some(format!("{} has exited: nothing to act on", key.pid)),
    }
}
