//! Tracepoint record layouts from tracefs `format` files.  Layouts change
//! between kernels (6.18 moved `sched_process_fork`'s comms to `__data_loc`
//! and added `group_dead` to `sched_process_exit`), so we read them at
//! start-up instead of compiling offsets in.
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use super::EbpfError;

/// Where tracefs lives, mounting it at `/sys/kernel/tracing` if needed.
pub fn tracefs_root() -> Result<PathBuf, EbpfError> {
    for dir in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        if Path::new(dir).join("events").is_dir() {
            return Ok(PathBuf::from(dir));
        }
    }
    let dir = Path::new("/sys/kernel/tracing");
    nix::mount::mount(
        Some("tracefs"),
        dir,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| {
        EbpfError::Tracefs(format!(
            "tracefs is not mounted and mounting it at {} failed: {e}",
            dir.display()
        ))
    })?;
    tracing::info!("mounted tracefs at {}", dir.display());
    Ok(dir.to_path_buf())
}

/// A field of a tracepoint record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: u32,
    pub size: u32,
}

/// Field name → layout for one event, e.g. `sched/sched_process_exec`.
pub fn read_format(
    root: &Path,
    category: &str,
    event: &str,
) -> Result<HashMap<String, Field>, EbpfError> {
    let path = root
        .join("events")
        .join(category)
        .join(event)
        .join("format");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| EbpfError::Tracefs(format!("{}: {e}", path.display())))?;
    Ok(parse_format(&text))
}

/// Parses lines like `field:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;`.
#[must_use]
pub fn parse_format(text: &str) -> HashMap<String, Field> {
    let mut fields = HashMap::new();
    for line in text.lines() {
        let mut decl = None;
        let mut offset = None;
        let mut size = None;
        for part in line.trim().split(';') {
            let part = part.trim();
            if let Some(d) = part.strip_prefix("field:") {
                decl = Some(d);
            } else if let Some(o) = part.strip_prefix("offset:") {
                offset = o.parse().ok();
            } else if let Some(s) = part.strip_prefix("size:") {
                size = s.parse().ok();
            }
        }
        let (Some(decl), Some(offset), Some(size)) = (decl, offset, size) else {
            continue;
        };
        // The name is the declaration's last word, without an array suffix.
        let Some(name) = decl.split_whitespace().last() else {
            continue;
        };
        let name = name.split('[').next().unwrap_or(name);
        fields.insert(name.to_owned(), Field { offset, size });
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXIT_6_18: &str = "name: sched_process_exit\nID: 369\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\
\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;\n\n\
print fmt: \"comm=%s pid=%d\", REC->comm, REC->pid\n";

    #[test]
    fn parses_plain_array_and_data_loc_fields() {
        let f = parse_format(EXIT_6_18);
        assert_eq!(
            f["comm"],
            Field {
                offset: 8,
                size: 16
            }
        );
        assert_eq!(
            f["group_dead"],
            Field {
                offset: 32,
                size: 1
            }
        );
        let exec =
            parse_format("\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n");
        assert_eq!(exec["filename"], Field { offset: 8, size: 4 });
    }

    #[test]
    fn reads_this_kernels_exec_format() {
        let root = tracefs_root().expect("tracefs");
        let f = read_format(&root, "sched", "sched_process_exec").expect("format");
        assert!(
            f.contains_key("filename") && f.contains_key("old_pid"),
            "{f:?}"
        );
    }
}
