//! `perch completions SHELL` and `perch man`: generated from the command
//! line's own definition ([`crate::cli::help::command`]), so they list what
//! `--help` lists and cannot drift from it.
use std::io::Write;

use clap_complete::{Shell as Target, generate};

use crate::cli::{Shell, help};

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut impl Write) {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
    };
    generate(target, &mut help::command(), "perch", out);
}

/// Writes perch's manual page (roff) to `out`: the command, then a section
/// per subcommand.
pub fn man(out: &mut impl Write) -> std::io::Result<()> {
    let cmd = help::command();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    page.render_subcommands_section(out)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        writeln!(out, ".SH \"PERCH {}\"", sub.get_name().to_uppercase())?;
        // Built: its bin name is "perch ps", which the synopsis shows.
        let sub_page = clap_mangen::Man::new(sub.clone());
        sub_page.render_synopsis_section(out)?;
        sub_page.render_description_section(out)?;
        sub_page.render_options_section(out)?;
        sub_page.render_subcommands_section(out)?;
    }
    page.render_version_section(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_know_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            completions(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            for sub in [
                "ps",
                "events",
                "kill",
                "kill-tree",
                "audit",
                "completions",
                "man",
            ] {
                assert!(text.contains(sub), "{shell:?} lacks {sub}");
            }
            assert!(text.contains("sort") && text.contains("utc"), "{shell:?}");
        }
    }

    #[test]
    fn man_page_is_roff_with_a_section_per_subcommand() {
        let mut out = Vec::new();
        man(&mut out).unwrap();
        let roff = String::from_utf8(out).unwrap();
        assert!(
            roff.starts_with(".ie") || roff.contains(".TH perch"),
            "{}",
            &roff[..200]
        );
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            "PERCH PS",
            "PERCH EVENTS",
            "PERCH KILL",
        ] {
            assert!(roff.contains(section), "no {section}");
        }
        assert!(roff.contains("\\-\\-sort") || roff.contains("--sort"));
    }
}
