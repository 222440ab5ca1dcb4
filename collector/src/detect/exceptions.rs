//! Whether a rule's exception covers a matched process: by executable
//! path, ancestor chain, exact command line, container or user.
use super::{
    context::{Subject, cmdline},
    rules::{Exception, Rule},
};

/// A glob where `*` matches any run of characters (`/` included).
fn like(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// `chain` is nearest first, `/`-separated: `sh/make` is an `sh` ancestor
/// whose parent is `make`.  A single name is any ancestor of that name.
fn ancestors_match(chain: &str, names: &[&str]) -> bool {
    let want: Vec<&str> = chain.split('/').collect();
    if want.is_empty() || want.len() > names.len() {
        return false;
    }
    names
        .windows(want.len())
        .any(|w| w.iter().zip(&want).all(|(n, p)| like(p, n)))
}

fn covers(x: &Exception, sub: &Subject<'_>) -> bool {
    let p = sub.proc;
    let exe = p.facts.as_deref().map_or("", |f| f.exe.path.as_str());
    if !x.exe.is_empty() && !x.exe.iter().any(|e| like(e, exe)) {
        return false;
    }
    let names: Vec<&str> = sub.ancestors.iter().map(|a| a.comm.as_str()).collect();
    if !x.ancestors.is_empty() && !x.ancestors.iter().any(|c| ancestors_match(c, &names)) {
        return false;
    }
    if !x.cmdline.is_empty() && !x.cmdline.contains(&cmdline(p)) {
        return false;
    }
    let container = p.cgroup.as_deref().and_then(|c| c.container_id.as_deref());
    if !x.container.is_empty()
        && !container.is_some_and(|id| {
            x.container
                .iter()
                .any(|c| c == "*" || like(c, id) || id.starts_with(c.as_str()))
        })
    {
        return false;
    }
    if !x.user.is_empty() {
        let name = p.user.as_deref().unwrap_or("");
        let uid = p.euid.to_string();
        if !x.user.iter().any(|u| u == name || *u == uid) {
            return false;
        }
    }
    true
}

/// The reason of the first exception of `rule` that covers `sub`.
#[must_use]
pub fn excepted(rule: &Rule, sub: &Subject<'_>) -> Option<String> {
    rule.exceptions
        .iter()
        .find(|x| covers(x, sub))
        .map(|x| x.reason.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_and_prefixes() {
        let names = ["sh", "make", "bash", "sshd"];
        assert!(ancestors_match("make", &names));
        assert!(ancestors_match("sh/make", &names));
        assert!(!ancestors_match("make/sh", &names));
        assert!(ancestors_match("ssh*", &names));
        assert!(!ancestors_match("cargo", &names));
        assert!(like("/tmp/go-build*", "/tmp/go-build123/x"));
        assert!(!like("/usr/bin/sudo", "/usr/bin/sudoedit"));
        assert!(like(
            "*/target/*",
            "/tmp/c/target/debug/build/x/build-script-build"
        ));
        assert!(!like("*/target/*", "/tmp/target"));
        assert!(like("a*b*c", "a-b-c") && !like("a*b*c", "a-c-b"));
    }
}
