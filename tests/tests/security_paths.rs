//! The open filter's path forms against the real kernel programs.  The
//! programs decide a plain absolute path as given (a word at a time, with
//! gates keyed by its first and last components) and leave a path with
//! `..`, `.` or empty components, or a relative one, to the opened file's
//! own path at the call's exit: writes through every form must be
//! reported with the file's real path, and the same forms naming
//! unwatched files must stay quiet.
use std::{fs, path::Path, process::Command};

use perch_e2e::{
    have_root_or_skip,
    sec::{caller, path_of, run_ok, sec_perchd, secs, wait_for},
};
use perch_proto::v1::security_event::Detail;

/// Runs `script` with /bin/sh in `dir`; its pid.
fn sh(dir: &Path, script: &str) -> u32 {
    run_ok(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_relative_and_named_paths_are_decided_by_the_real_path() {
    if !have_root_or_skip("odd_relative_and_named_paths_are_decided_by_the_real_path") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let (w, o) = (root.join("w"), root.join("o"));
    fs::create_dir(&w).expect("mkdir w");
    fs::create_dir(&o).expect("mkdir o");
    let config = root.join("perchd.toml");
    fs::write(
        &config,
        format!(
            "[watch]\nmodify = [\"{}/\", \"*/perch_marker\"]\nread = []\ntruncate = []\n",
            w.display()
        ),
    )
    .expect("config");
    let (_perchd, mut log) = sec_perchd(&["--config", &config.display().to_string()]).await;
    let (ws, os) = (w.display().to_string(), o.display().to_string());

    // Watched files, named in every form.
    let written = [
        (
            sh(&root, &format!("echo x > {os}/../w/up.txt")),
            format!("{ws}/up.txt"),
        ),
        (
            sh(&root, &format!("echo x > {ws}/./dot.txt")),
            format!("{ws}/dot.txt"),
        ),
        (
            sh(&root, &format!("echo x > {ws}//double.txt")),
            format!("{ws}/double.txt"),
        ),
        (
            sh(&w, "echo x > relative.txt"),
            format!("{ws}/relative.txt"),
        ),
        (
            sh(&o, "echo x > ../w/up_relative.txt"),
            format!("{ws}/up_relative.txt"),
        ),
        (
            sh(&root, &format!("echo x > {os}/perch_marker")),
            format!("{os}/perch_marker"),
        ),
    ];
    // Unwatched ones through the same forms, and names that share the
    // rule's first eight bytes or stop short of it.
    let quiet = [
        sh(&root, &format!("echo x > {ws}/../o/up.txt")),
        sh(&root, &format!("echo x > {os}/./dot.txt")),
        sh(&o, "echo x > relative.txt"),
        sh(&w, "echo x > ../o/up_relative.txt"),
        sh(&root, &format!("echo x > {os}/perch_marker2")),
        sh(&root, &format!("echo x > {os}/perch_marke")),
        sh(&root, &format!("echo x > {os}/perch_m")),
    ];
    let fence = sh(&root, &format!("echo done > {ws}/fence"));

    for (pid, path) in &written {
        let e = wait_for(
            &mut log,
            path,
            *pid,
            |s| matches!(&s.detail, Some(Detail::FileWrite(o)) if path_of(o.path.as_ref()) == path),
        )
        .await;
        assert!(e.result >= 0, "{e:?}");
    }
    // The fence is the last call: everything before it has arrived.
    wait_for(&mut log, "fence", fence, |s| {
        matches!(&s.detail, Some(Detail::FileWrite(o)) if path_of(o.path.as_ref()) == format!("{ws}/fence"))
    })
    .await;
    for pid in quiet {
        let of: Vec<_> = secs(&log.events).filter(|s| caller(s) == pid).collect();
        assert!(of.is_empty(), "an unwatched write was reported: {of:#?}");
    }
}
