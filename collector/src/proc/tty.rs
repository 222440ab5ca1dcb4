//! Names for the controlling terminal number in /proc/PID/stat (`tty_nr`),
//! as `ps` shows them: `pts/3`, `tty1`, `ttyS0`.
//! Major numbers are from the kernel's Documentation/admin-guide/devices.txt.

/// Decodes the kernel's `new_encode_dev` form: minor is split around the
/// 12-bit major.  Empty for 0 (no terminal); `major:minor` for devices we
/// have no name for, so a terminal is never shown as "none".
#[must_use]
pub(crate) fn tty_name(tty_nr: u32) -> String {
    if tty_nr == 0 {
        return String::new();
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xf_ff00);
    match (major, minor) {
        // Unix98 pty slaves; old kernels spread them over majors 136..143.
        (136..=143, m) => format!("pts/{}", (major - 136) * 256 + m),
        (4, 0..=63) => format!("tty{minor}"),
        (4, m) => format!("ttyS{}", m - 64),
        (5, 0) => "tty".to_owned(),
        (5, 1) => "console".to_owned(),
        (5, 2) => "ptmx".to_owned(),
        (188, m) => format!("ttyUSB{m}"),
        (166, m) => format!("ttyACM{m}"),
        (204, m @ 64..=255) => format!("ttyAMA{}", m - 64),
        (229, m) => format!("hvc{m}"),
        // BSD-style pty slaves.
        (3, m) => format!("ttyp{m}"),
        _ => format!("{major}:{minor}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(major: u32, minor: u32) -> u32 {
        (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
    }

    #[test]
    fn names() {
        assert_eq!(tty_name(0), "");
        assert_eq!(tty_name(dev(136, 3)), "pts/3");
        assert_eq!(tty_name(34826), "pts/10", "136<<8 | 10");
        assert_eq!(tty_name(dev(136, 1000)), "pts/1000", "minor above 255");
        assert_eq!(tty_name(dev(137, 2)), "pts/258");
        assert_eq!(tty_name(dev(4, 1)), "tty1");
        assert_eq!(tty_name(dev(4, 64)), "ttyS0");
        assert_eq!(tty_name(dev(4, 65)), "ttyS1");
        assert_eq!(tty_name(dev(5, 1)), "console");
        assert_eq!(tty_name(dev(188, 0)), "ttyUSB0");
        assert_eq!(tty_name(dev(204, 64)), "ttyAMA0");
        assert_eq!(tty_name(dev(229, 0)), "hvc0");
        assert_eq!(tty_name(dev(250, 7)), "250:7");
    }
}
