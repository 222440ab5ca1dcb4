//! The word scan against a byte-by-byte reading of the same rules, over
//! every path of up to eleven bytes made of `/`, `.` and `a`, and the
//! gates' kernel side against perchd's.
extern crate std;
use std::{string::String, vec::Vec};

use super::*;

/// Where the last component starts, and whether a component is empty,
/// `.` or `..` (for an absolute path, not the empty one before its first
/// slash).
fn by_bytes(path: &[u8]) -> (usize, bool) {
    let leaf = path.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    let parts: Vec<&[u8]> = path.split(|&c| c == b'/').collect();
    let skip = usize::from(path.first() == Some(&b'/'));
    let odd = parts
        .iter()
        .skip(skip)
        .any(|p| p.is_empty() || *p == b"." || *p == b"..");
    (leaf, odd)
}

/// What the programs compute: the path in a zeroed buffer, a word at a
/// time up to the word holding its end.
fn by_words(path: &[u8]) -> (usize, bool) {
    let mut buf = [0u8; 64];
    buf[..path.len()].copy_from_slice(path);
    let w = |k: usize| u64::from_le_bytes(buf[8 * k..8 * k + 8].try_into().unwrap());
    let (mut leaf, mut odd) = (0u64, 0u64);
    if path.first() != Some(&b'/') && starts_odd(w(0), w(1)) {
        odd = 1;
    }
    for k in 0..7 {
        let (slashes, o) = word(w(k), w(k + 1));
        odd |= o;
        let end = 8 * k as u64 + last_slash_end(slashes);
        leaf = (leaf & !nonzero(slashes)) | (end & nonzero(slashes));
        if 8 * k + 8 > path.len() {
            break;
        }
    }
    (usize::try_from(leaf).unwrap(), odd != 0)
}

#[test]
fn the_word_scan_reads_paths_as_the_byte_scan_does() {
    let alphabet = [b'/', b'.', b'a'];
    let mut path = Vec::new();
    for len in 1..=11u32 {
        for mut n in 0..3usize.pow(len) {
            path.clear();
            for _ in 0..len {
                path.push(alphabet[n % 3]);
                n /= 3;
            }
            assert_eq!(
                by_words(&path),
                by_bytes(&path),
                "{}",
                String::from_utf8_lossy(&path)
            );
        }
    }
}

#[test]
fn long_paths_cross_words() {
    for path in [
        &b"/home/someone/.config/systemd/user/x.service"[..],
        b"/tmp/.tmpAbCdEf/quiet/f0",
        b"/var/lib/perch/../../etc/sudoers",
        b"/proc/sys/kernel/core_pattern/",
        b"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/./o",
        b"relative/../x",
        b"..",
    ] {
        assert_eq!(
            by_words(path),
            by_bytes(path),
            "{}",
            String::from_utf8_lossy(path)
        );
    }
}

fn words(path: &[u8]) -> (u64, u64) {
    let mut buf = [0u8; 16];
    let n = path.len().min(16);
    buf[..n].copy_from_slice(&path[..n]);
    (
        u64::from_le_bytes(buf[..8].try_into().unwrap()),
        u64::from_le_bytes(buf[8..].try_into().unwrap()),
    )
}

#[test]
fn a_path_passes_the_gate_of_a_prefix_it_starts_with() {
    let prefixes = [
        &b"/etc/cron"[..],
        b"/etc/",
        b"/var/spool/cron/",
        b"/root/.bashrc",
        b"/home/someone/.ssh/id_",
        b"/verylongdirectory/x",
        b"/abcdefgh",
        b"/abcdefghijk",
    ];
    for p in prefixes {
        let bit = dir_gate_bit(p).unwrap();
        for tail in [&b""[..], b"x", b"/deeper/still", b".d/file"] {
            let path = [p, tail].concat();
            let (x, next) = words(&path);
            assert_eq!(
                gate_bit(dir_head(x, next), 0),
                bit,
                "{}",
                String::from_utf8_lossy(&path)
            );
        }
    }
    // Other first components land elsewhere (these happen not to collide).
    let etc = dir_gate_bit(b"/etc/cron").unwrap();
    for other in [&b"/etcx/cron"[..], b"/tmp/x", b"/et", b"/etc"] {
        let (x, next) = words(other);
        assert_ne!(
            gate_bit(dir_head(x, next), 0),
            etc,
            "{}",
            String::from_utf8_lossy(other)
        );
    }
    // A prefix that ends inside its first component opens the gate.
    for p in [&b"/"[..], b"/et", b"/etc", b"/abcdefg", b"etc/"] {
        assert_eq!(dir_gate_bit(p), None, "{}", String::from_utf8_lossy(p));
    }
}

#[test]
fn a_last_component_passes_the_gate_of_its_name() {
    for name in [&b"release_agent"[..], b"x", b"authorized_keys", b"12345678"] {
        let path = [&b"/sys/fs/cgroup/"[..], name].concat();
        let leaf = path.len() - name.len();
        let (v, _) = words(&path[leaf..]);
        // Bytes past the name are whatever the buffer held.
        let v = if name.len() < 8 { v | (0xff << 56) } else { v };
        let head = name_head(v, name.len() as u64);
        assert_eq!(gate_bit(head, name.len() as u64), name_gate_bit(name));
    }
}

#[test]
fn gate_bits_set_and_stay_in_range() {
    let mut gate = [0u64; GATE_WORDS];
    for n in 0..5000u64 {
        let bit = gate_bit(n.wrapping_mul(0x1234_5678_9abc), n % 70);
        assert!(bit < GATE_BITS);
        gate_set(&mut gate, bit);
    }
    // 5000 keys spread over most of the 1024 bits.
    let set: u32 = gate.iter().map(|w| w.count_ones()).sum();
    assert!(set > 900, "{set}");
}
