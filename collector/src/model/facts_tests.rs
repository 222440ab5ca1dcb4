//! Environment filtering, the kernel's first cut, fd kinds and exe bits.
use super::*;

#[test]
fn env_filter_keeps_configured_names_and_caps_values() {
    let f = EnvFilter::new(&["LD_PRELOAD", "SSH_*"]).expect("valid");
    let long = "x".repeat(300);
    let block = format!(
        "PATH=/bin\0LD_PRELOAD=/tmp/evil.so\0SSH_CONNECTION=1 2 3 4\0LD_PRELOADX=no\0SSH_A={long}\0"
    );
    let got = f.scan(block.as_bytes(), false);
    let names: Vec<&str> = got.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["LD_PRELOAD", "SSH_CONNECTION", "SSH_A"]);
    assert_eq!(got[0].value, "/tmp/evil.so");
    assert!(!got[0].value_truncated);
    assert_eq!(got[2].value.len(), ENV_VALUE_MAX);
    assert!(got[2].value_truncated);
    // An entry cut by the scan's limit is not reported.
    assert!(f.scan(b"A=1\0LD_PRELOAD=/tm", true).is_empty());
    assert_eq!(f.scan(b"LD_PRELOAD=/x\0B=", true).len(), 1);
}

#[test]
fn env_filter_rejects_bad_patterns_with_the_pattern() {
    for bad in ["", "*", "1ABC", "LD-PRELOAD", "A*B", "A B"] {
        let e = EnvFilter::new(&[bad]).expect_err(bad);
        assert!(e.contains(&format!("{bad:?}")), "{e}");
    }
    let many: Vec<String> = (0..33).map(|i| format!("V{i}")).collect();
    assert!(EnvFilter::new(&many).is_err());
    assert!(!EnvFilter::default().patterns.is_empty());
}

#[test]
fn kernel_select_sets_the_bits_of_every_pattern() {
    let bit = |sel: &EnvSelect, entry: &[u8]| {
        let mut k = [0u8; 4];
        let n = entry.len().min(4);
        k[..n].copy_from_slice(&entry[..n]);
        let b = env_hash(u32::from_le_bytes(k), sel.key_mask) as usize;
        sel.bits[b / 64] & (1 << (b % 64)) != 0
    };
    let sel = EnvFilter::default().kernel_select();
    assert_eq!(sel.key_mask, u32::MAX);
    for name in DEFAULT_ENV {
        assert!(bit(&sel, format!("{name}=x").as_bytes()), "{name}");
    }
    // A short exact name and a short prefix narrow the key.
    let sel = EnvFilter::new(&["ENV", "LD*"])
        .expect("valid")
        .kernel_select();
    assert_eq!(sel.key_mask, 0xffff);
    assert!(bit(&sel, b"ENV=1") && bit(&sel, b"LD_PRELOAD=x"));
    assert_eq!(
        EnvFilter::new::<&str>(&[])
            .expect("empty")
            .kernel_select()
            .bits,
        [0; 4]
    );
}

#[test]
fn fd_kinds_and_exe_bits() {
    assert_eq!(fd_kind_of_mode(0o020_666, 136), FdKind::Tty);
    assert_eq!(fd_kind_of_mode(0o020_666, 1), FdKind::CharDevice);
    assert_eq!(fd_kind_of_mode(0o010_600, 0), FdKind::Pipe);
    let exe = ExeInfo {
        path: "/tmp/x/su".into(),
        mode: 0o104_755,
        ..ExeInfo::default()
    };
    assert!(exe.setuid() && !exe.setgid() && exe.deleted());
    assert_eq!(exe.name(), "su");
    assert_eq!(fs_type(0x0102_1994), "tmpfs");
}
