//! Detaching the programs at shutdown, all at once.  Every tracepoint
//! detach waits for an RCU grace period in the kernel (`__wait_rcu_gp`,
//! ~100 ms on this VM); one after another, perchd's ~60 attachments held a
//! SIGTERM for about 7 s.  Waits that run at the same time share grace
//! periods, so each attachment is dropped on a thread of its own.
use aya::{
    Ebpf,
    programs::{
        BtfTracePoint, Program, TracePoint, tp_btf::BtfTracePointLinkId,
        trace_point::TracePointLinkId,
    },
};

/// Every attachment, by program, as `attach` returned it (the owned links
/// are taken back at shutdown; what is left detaches with the programs).
#[derive(Default)]
pub struct Links {
    classic: Vec<(&'static str, TracePointLinkId)>,
    btf: Vec<(&'static str, BtfTracePointLinkId)>,
}

impl Links {
    pub fn classic(&mut self, program: &'static str, id: TracePointLinkId) {
        self.classic.push((program, id));
    }

    pub fn btf(&mut self, program: &'static str, id: BtfTracePointLinkId) {
        self.btf.push((program, id));
    }
}

/// An owned link: detached when dropped.
type Owned = Box<dyn Send>;

/// The owned links of `ids` (a program or link no longer there is skipped:
/// it detaches with its program).
fn take<Id>(
    ebpf: &mut Ebpf,
    ids: Vec<(&'static str, Id)>,
    take_link: impl Fn(&mut Program, Id) -> Option<Owned>,
) -> Vec<Owned> {
    ids.into_iter()
        .filter_map(|(program, id)| take_link(ebpf.program_mut(program)?, id))
        .collect()
}

/// Detaches every attachment in `links` from `ebpf`, each on a thread of
/// its own.
pub fn detach_all(ebpf: &mut Ebpf, links: Links) {
    let mut owned = take(ebpf, links.classic, |p, id| {
        let link = <&mut TracePoint>::try_from(p).ok()?.take_link(id).ok()?;
        Some(Box::new(link))
    });
    owned.extend(take(ebpf, links.btf, |p, id| {
        let link = <&mut BtfTracePoint>::try_from(p).ok()?.take_link(id).ok()?;
        Some(Box::new(link))
    }));
    std::thread::scope(|s| {
        for link in owned {
            // A thread that cannot be made drops the closure, and the link
            // in it, right here: detached inline.
            let _ = std::thread::Builder::new()
                .name("perchd-detach".to_owned())
                .spawn_scoped(s, move || drop(link));
        }
    });
}
