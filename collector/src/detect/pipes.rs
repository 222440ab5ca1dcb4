//! Which processes read and write each pipe (by inode), from the stdio
//! facts of every exec: how `download_piped_to_shell` knows that a shell's
//! stdin is fed by curl, and re-judges the reader when its writer comes.
use super::{Detector, INDEX_MAX};
use crate::model::{FdFact, FdKind, ProcKey, ProcessModel};

impl Detector {
    pub(super) fn index_pipes(
        &mut self,
        model: &ProcessModel,
        key: ProcKey,
        comm: &str,
        fd0: FdFact,
        fd1: FdFact,
    ) {
        if self.readers.len() + self.writers.len() >= INDEX_MAX {
            let live = |k: &ProcKey| model.get_key(k).is_some();
            self.readers.retain(|_, v| {
                v.retain(|k| live(k));
                !v.is_empty()
            });
            self.writers.retain(|_, v| {
                v.retain(|(k, _)| live(k));
                !v.is_empty()
            });
        }
        // One pipe may see a process per exec for ever (a loop's stdout):
        // its list drops the processes gone whenever its length doubles.
        let live = |k: &ProcKey| model.get_key(k).is_some();
        let prune = |n: usize| n >= 32 && n.is_power_of_two();
        if fd0.kind == FdKind::Pipe {
            let v = self.readers.entry(fd0.inode).or_default();
            v.push(key);
            if prune(v.len()) {
                v.retain(|k| live(k));
            }
        }
        if fd1.kind == FdKind::Pipe {
            let v = self.writers.entry(fd1.inode).or_default();
            v.push((key, comm.to_owned()));
            if prune(v.len()) {
                v.retain(|(k, _)| live(k));
            }
        }
    }
}
