//! Attaches the security programs: fills the watch maps, loads the four
//! programs once and attaches each to the enter and exit tracepoints of
//! every watched syscall this kernel has.  Nothing here stops perchd: a
//! syscall without a tracepoint (`init_module` on a kernel without module
//! support), or a program the verifier refuses, leaves its capability
//! unavailable, with the reason, and process events work as before.
use std::{collections::BTreeMap, path::Path};

use aya::{
    Ebpf,
    maps::{HashMap, LpmTrie, lpm_trie::Key},
    programs::TracePoint,
};
use perch_common::{NameKey, PREFIX_MAX, WATCH_NAME_MAX};

use super::{offsets::syscall_args_offset, tracefs};
use crate::security::{
    syscalls::{CAPABILITIES, ENTER, ENTER_OPEN, EXIT, EXIT_FILE, table},
    watch::WatchSet,
};

/// Where every syscall record's arguments start, as the programs read them.
const ARGS_AT: u32 = 16;

/// Unavailable capabilities and why.
pub type Missing = Vec<(&'static str, String)>;

/// Every capability unavailable for `why`.
fn all_missing(why: &str) -> Missing {
    CAPABILITIES
        .iter()
        .filter(|(name, _)| *name != "comm_rename")
        .map(|&(name, _)| (name, why.to_owned()))
        .collect()
}

/// Fills the maps and attaches; returns what could not be watched.
pub fn attach(ebpf: &mut Ebpf, watch: &WatchSet, links: &mut super::detach::Links) -> Missing {
    match syscall_args_offset() {
        Ok(ARGS_AT) => {}
        Ok(other) => {
            return all_missing(&format!(
                "syscall tracepoint records keep their arguments at offset {other}, \
                 the programs expect {ARGS_AT}"
            ));
        }
        Err(e) => return all_missing(&e),
    }
    let mut missing = Missing::new();
    if let Err(e) = fill_maps(ebpf, watch) {
        missing.push(("file_watch", format!("filling the watch maps: {e}")));
    }
    for name in [ENTER_OPEN, ENTER, EXIT_FILE, EXIT] {
        let loaded = ebpf
            .program_mut(name)
            .ok_or_else(|| format!("program {name} missing from the object"))
            .and_then(|p| <&mut TracePoint>::try_from(p).map_err(|e| e.to_string()))
            .and_then(|p| p.load().map_err(|e| format!("{e}: {e:?}")));
        if let Err(e) = loaded {
            tracing::warn!("security programs not loaded: {name}: {e}");
            return all_missing(&format!("loading {name}: {e}"));
        }
    }
    let root = match tracefs::tracefs_root() {
        Ok(r) => r,
        Err(e) => return all_missing(&e.to_string()),
    };
    // Per capability: the syscalls that could not be attached, and why.
    let mut failed: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for s in table() {
        if missing.iter().any(|(c, _)| *c == s.capability) {
            continue;
        }
        let event = |dir: &str| format!("sys_{dir}_{}", s.name);
        let present = ["enter", "exit"]
            .iter()
            .all(|d| tracepoint_exists(&root, &event(d)));
        if !present {
            failed
                .entry(s.capability)
                .or_default()
                .push(format!("no syscalls:sys_enter_{} tracepoint", s.name));
            continue;
        }
        let attached = [("enter", s.enter_program()), ("exit", s.exit_program())]
            .into_iter()
            .try_for_each(|(dir, prog)| attach_one(ebpf, prog, &event(dir), links));
        if let Err(e) = attached {
            failed.entry(s.capability).or_default().push(e);
        }
    }
    for (cap, reasons) in failed {
        let mut why = reasons.join("; ");
        if cap == "module_load" && !Path::new("/proc/modules").exists() {
            why.push_str(
                " (this kernel has no loadable-module support: /proc/modules is absent, \
                 and module:module_load too, so no module can be loaded here)",
            );
        }
        missing.push((cap, why));
    }
    missing
}

fn tracepoint_exists(root: &Path, event: &str) -> bool {
    root.join("events/syscalls").join(event).is_dir()
}

fn attach_one(
    ebpf: &mut Ebpf,
    prog: &'static str,
    event: &str,
    links: &mut super::detach::Links,
) -> Result<(), String> {
    let p = ebpf
        .program_mut(prog)
        .ok_or_else(|| format!("program {prog} missing"))?;
    let p: &mut TracePoint = p.try_into().map_err(|e| format!("{prog}: {e}"))?;
    let id = p
        .attach("syscalls", event)
        .map_err(|e| format!("attaching {prog} to syscalls:{event}: {e}"))?;
    links.classic(prog, id);
    Ok(())
}

/// Writes the watch rules into the prefix and name maps.
fn fill_maps(ebpf: &mut Ebpf, watch: &WatchSet) -> Result<(), String> {
    let map = ebpf
        .map_mut("WATCH_PREFIXES")
        .ok_or("map WATCH_PREFIXES missing")?;
    let mut trie: LpmTrie<_, [u8; PREFIX_MAX], u32> =
        LpmTrie::try_from(map).map_err(|e| e.to_string())?;
    for (prefix, bits) in watch.prefixes() {
        let mut data = [0u8; PREFIX_MAX];
        let bytes = prefix.as_bytes();
        let Some(dst) = data.get_mut(..bytes.len()) else {
            continue; // longer than PREFIX_MAX: refused by the config already
        };
        dst.copy_from_slice(bytes);
        let len = u32::try_from(bytes.len() * 8).map_err(|e| e.to_string())?;
        trie.insert(&Key::new(len, data), bits, 0)
            .map_err(|e| format!("prefix {prefix}: {e}"))?;
    }
    let map = ebpf
        .map_mut("WATCH_NAMES")
        .ok_or("map WATCH_NAMES missing")?;
    let mut names: HashMap<_, NameKey, u32> = HashMap::try_from(map).map_err(|e| e.to_string())?;
    for (name, bits) in watch.names() {
        let mut key = NameKey {
            name: [0; WATCH_NAME_MAX],
        };
        let bytes = name.as_bytes();
        let Some(dst) = key.name.get_mut(..bytes.len()) else {
            continue;
        };
        dst.copy_from_slice(bytes);
        names
            .insert(key, bits, 0)
            .map_err(|e| format!("name {name}: {e}"))?;
    }
    Ok(())
}
