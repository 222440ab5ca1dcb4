//! `[watch]` in the configuration file: the paths whose changes (and, for
//! secrets, reads) the kernel reports.  Each list given replaces its
//! default; every entry is checked and an error names the list and the
//! entry's line.  See `security::watch` for what the entries mean.
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, File, Settings, line_of};
use crate::security::watch::Rule;

/// `[watch]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WatchFile {
    modify: Option<Vec<Spanned<String>>>,
    read: Option<Vec<Spanned<String>>>,
    truncate: Option<Vec<Spanned<String>>>,
}

/// Applies `[watch]` from `file` (the text of `path`) to `s`.
pub(super) fn merge(
    s: &mut Settings,
    file: &File,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    let Some(w) = &file.watch else {
        return Ok(());
    };
    let rules = |list: &Option<Vec<Spanned<String>>>, key: &'static str| {
        list.as_ref()
            .map(|list| {
                list.iter()
                    .map(|e| {
                        Rule::parse(e.get_ref()).map_err(|message| ConfigError::Value {
                            path: path.to_owned(),
                            line: line_of(text, e.span().start),
                            key,
                            message,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
    };
    if let Some(v) = rules(&w.modify, "watch.modify")? {
        s.watch.modify = v;
    }
    if let Some(v) = rules(&w.read, "watch.read")? {
        s.watch.read = v;
    }
    if let Some(v) = rules(&w.truncate, "watch.truncate")? {
        s.watch.truncate = v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::merge;

    use super::*;
    use crate::security::watch::WatchConfig;

    #[test]
    fn lists_replace_their_defaults_only() {
        let s = merge("[watch]\nmodify = [\"/srv/app/\", \"~/.vimrc\", \"*/release_agent\"]\n")
            .expect("valid");
        assert_eq!(
            s.watch.modify,
            [
                Rule::Prefix("/srv/app/".into()),
                Rule::Home(".vimrc".into()),
                Rule::Name("release_agent".into())
            ]
        );
        assert_eq!(s.watch.read, WatchConfig::default().read);
        assert!(
            merge("[watch]\nread = []\n")
                .expect("valid")
                .watch
                .read
                .is_empty()
        );
    }

    #[test]
    fn a_bad_entry_names_the_list_and_its_line() {
        let e = |text: &str| merge(text).expect_err("bad").to_string();
        assert_eq!(
            e("procfs = false\n[watch]\nmodify = [\n  \"/etc/cron\",\n  \"etc/passwd\",\n]\n"),
            "config perchd.toml line 5: watch.modify: \"etc/passwd\" must start with / (a path \
             prefix), ~/ (under every home directory) or */ (a file name anywhere)"
        );
        assert!(
            e("[watch]\nread = [\"/etc/../shadow\"]\n")
                .starts_with("config perchd.toml line 2: watch.read: \"/etc/../shadow\": no empty")
        );
        assert!(e("[watch]\ntruncate = [\"*/a/b\"]\n").contains("line 2: watch.truncate"));
        let long = format!("[watch]\nmodify = [\"/{}\"]\n", "x".repeat(200));
        assert!(e(&long).contains("at most 128 bytes"), "{}", e(&long));
        assert!(e("[watch]\nwrite = [\"/x\"]\n").contains("line 2"));
    }
}
