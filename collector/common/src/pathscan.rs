//! Word-at-a-time path scanning for the security programs' open filter,
//! and the gates perchd fills for it.
//!
//! The filter runs on every open of the machine, so it looks at a path
//! eight bytes at a time with branch-free arithmetic (a branch per byte
//! made the scan most of an open's cost, and branches inside a loop
//! multiply the paths the verifier walks):
//! - [`word`]: where the slashes are and which of them start an empty,
//!   `.` or `..` component (the kernel does not fold those, so the path
//!   must be normalised before it is compared);
//! - [`last_slash_end`]: just past a word's last slash (the last
//!   component starts there);
//! - [`dir_head`] / [`name_head`] and [`gate_bit`]: a 1024-bit gate keyed
//!   by a path's first component and by its last one.  The prefix trie is
//!   looked up only when some watched prefix starts with the path's first
//!   component, the name map only when some `*/name` rule may be the
//!   path's last component.  perchd computes the same bits from its rules
//!   with the same functions.
//!
//! A word holds bytes `8k .. 8k + 8` of a path read into a zeroed buffer
//! (little-endian: byte `i` is bits `8i .. 8i + 8`); masks have `0x80` in
//! each byte that matches.
#![allow(
    clippy::inline_always,
    reason = "run by the open filter on every open: a call there is a bpf-to-bpf call"
)]

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;
const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// Bits of a gate.
pub const GATE_BITS: usize = 1024;
/// `u64` words of a gate.
pub const GATE_WORDS: usize = GATE_BITS / 64;

/// `0x80` in each zero byte of `v` (exact: no carry crosses bytes).
#[inline(always)]
#[must_use]
pub const fn zeros(v: u64) -> u64 {
    !(((v & LOWS).wrapping_add(LOWS)) | v) & HIGHS
}

/// `0x80` in each byte of `v` equal to `c`.
#[inline(always)]
#[must_use]
pub const fn bytes_eq(v: u64, c: u8) -> u64 {
    zeros(v ^ ONES.wrapping_mul(c as u64))
}

/// Bytes `n ..` (`n` < 8) of the window `m` then `next`, as one word.
#[inline(always)]
const fn ahead(m: u64, next: u64, n: u32) -> u64 {
    if n == 0 {
        m
    } else {
        (m >> (8 * n)) | (next << (64 - 8 * n))
    }
}

/// The masks of one word: its slashes, its dots, and where a component
/// ends (a slash or the end of the string).
#[inline(always)]
const fn masks(v: u64) -> (u64, u64, u64) {
    let s = bytes_eq(v, b'/');
    (s, bytes_eq(v, b'.'), s | zeros(v))
}

/// The bytes of the window `x` then `next` that start an empty, `.` or
/// `..` component: followed (from byte 1 of the mask on) by a component
/// end, `.` then one, or `..` then one.  Shifted by `n` bytes: 1 to look
/// at what follows each byte, 0 at what starts there.
#[inline(always)]
const fn empty_or_dots(x: u64, next: u64, n: u32) -> u64 {
    let ((_, d, b), (_, d2, b2)) = (masks(x), masks(next));
    ahead(b, b2, n)
        | (ahead(d, d2, n) & (ahead(b, b2, n + 1) | (ahead(d, d2, n + 1) & ahead(b, b2, n + 2))))
}

/// The slashes of word `x` (`next` is the word after it), and those of
/// them that start an empty, `.` or `..` component (followed by a slash or
/// the end, `.` then one, or `..` then one).
#[inline(always)]
#[must_use]
pub const fn word(x: u64, next: u64) -> (u64, u64) {
    let s = bytes_eq(x, b'/');
    (s, s & empty_or_dots(x, next, 1))
}

/// Whether a relative path's first component (bytes 0.. of its first
/// word) is empty, `.` or `..`: what [`word`] says of a component after a
/// slash, for the one before the first slash.
#[inline(always)]
#[must_use]
pub const fn starts_odd(x: u64, next: u64) -> bool {
    empty_or_dots(x, next, 0) & 0x80 != 0
}

/// One past the byte of the last slash in `slashes` (a mask from
/// [`word`]), 0 when it has none: the bytes up to it are counted after
/// smearing the highest one down.
#[inline(always)]
#[must_use]
pub const fn last_slash_end(slashes: u64) -> u64 {
    let mut m = slashes | (slashes >> 8);
    m |= m >> 16;
    m |= m >> 32;
    ((m >> 7).wrapping_mul(ONES)) >> 56
}

/// All ones when `m` is not zero, else zero (no branch).
#[inline(always)]
#[must_use]
pub const fn nonzero(m: u64) -> u64 {
    0u64.wrapping_sub((m | m.wrapping_neg()) >> 63)
}

/// Bytes `0..=i` of `v`, where byte `i` is the lowest one set in `stop`
/// (all of `v` when none is).
#[inline(always)]
const fn through_first(v: u64, stop: u64) -> u64 {
    let low = stop & stop.wrapping_neg();
    v & (low << 1).wrapping_sub(1)
}

/// The gate head of a path's first component: the eight bytes after the
/// leading slash (`x`, `next`: the path's first two words), cut after the
/// first slash or zero byte, so `/etc/x` gives `etc/` and `/etcx/` does
/// not collide with it.
#[inline(always)]
#[must_use]
pub const fn dir_head(x: u64, next: u64) -> u64 {
    let h = ahead(x, next, 1);
    through_first(h, bytes_eq(h, b'/') | zeros(h))
}

/// The gate head of a last component: its first `len` bytes (at most
/// eight) of the word `v` that starts with it.
#[inline(always)]
#[must_use]
pub const fn name_head(v: u64, len: u64) -> u64 {
    if len >= 8 {
        v
    } else {
        v & ((1u64 << (8 * len)) - 1)
    }
}

/// The bit of a gate for `head` (and a component's length; 0 for the
/// first-component gate, whose head ends with its terminator).
#[inline(always)]
#[must_use]
pub const fn gate_bit(head: u64, len: u64) -> usize {
    let h = head
        .wrapping_add(len.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (h >> 54) as usize
}

/// Little-endian word of `bytes` (at most eight; zero past them).
#[must_use]
pub fn word_of(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(bytes) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

/// Sets `bit` in `gate`.
pub fn gate_set(gate: &mut [u64; GATE_WORDS], bit: usize) {
    if let Some(w) = gate.get_mut((bit / 64) % GATE_WORDS) {
        *w |= 1 << (bit % 64);
    }
}

/// The first-component gate bit of a watched prefix (`/etc/cron`), or
/// `None` when the prefix ends inside its first component (`/et`, `/`),
/// so that paths with any first component may match it.
#[must_use]
pub fn dir_gate_bit(prefix: &[u8]) -> Option<usize> {
    let rest = prefix.strip_prefix(b"/")?;
    let head = match rest.iter().position(|&c| c == b'/') {
        Some(i) => word_of(&rest[..=i]),
        None if rest.len() >= 8 => word_of(rest),
        None => return None,
    };
    Some(gate_bit(head, 0))
}

/// The name gate bit of a `*/name` rule.
#[must_use]
pub fn name_gate_bit(name: &[u8]) -> usize {
    gate_bit(word_of(name), name.len() as u64)
}

#[cfg(test)]
#[path = "pathscan_tests.rs"]
mod tests;
