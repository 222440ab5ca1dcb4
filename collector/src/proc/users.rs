//! uid → user name from /etc/passwd, cached, reloaded when the file
//! changes.  Only the file is consulted, not NSS: perchd must not block on
//! LDAP or sssd in its hot path; users known only there show as a bare uid.
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often the file's mtime is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct UserNames {
    path: PathBuf,
    names: HashMap<u32, Arc<str>>,
    /// (mtime, size) of the file last loaded; `None` when it was missing.
    loaded: Option<(SystemTime, u64)>,
    last_check: Option<Instant>,
    check_every: Duration,
}

impl Default for UserNames {
    fn default() -> Self {
        Self::new()
    }
}

impl UserNames {
    #[must_use]
    pub fn new() -> Self {
        Self::with_passwd("/etc/passwd")
    }

    #[must_use]
    pub fn with_passwd(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            names: HashMap::new(),
            loaded: None,
            last_check: None,
            check_every: CHECK_EVERY,
        }
    }

    /// The name of `uid`, `None` when the file has no entry for it.
    pub fn name(&mut self, uid: u32) -> Option<Arc<str>> {
        self.refresh();
        self.names.get(&uid).cloned()
    }

    fn refresh(&mut self) {
        if self
            .last_check
            .is_some_and(|t| t.elapsed() < self.check_every)
        {
            return;
        }
        self.last_check = Some(Instant::now());
        let stamp = fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        if stamp == self.loaded {
            return;
        }
        self.loaded = stamp;
        self.names = match fs::read(&self.path) {
            Ok(bytes) => parse_passwd(&String::from_utf8_lossy(&bytes)),
            // Missing or unreadable: no names, rather than stale ones.
            Err(_) => HashMap::new(),
        };
    }
}

/// `name:passwd:uid:gid:gecos:home:shell`.  The first entry for a uid wins,
/// as with getpwuid(3).  NIS `+`/`-` lines and comments are skipped.
fn parse_passwd(text: &str) -> HashMap<u32, Arc<str>> {
    let mut names = HashMap::new();
    for line in text.lines() {
        if line.starts_with(['#', '+', '-']) {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(uid) = uid.trim().parse::<u32>() else {
            continue;
        };
        if !name.is_empty() {
            names.entry(uid).or_insert_with(|| Arc::from(name));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn touch(path: &Path, text: &str, secs: u64) {
        fs::write(path, text).expect("write");
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(when))
            .expect("mtime");
    }

    #[test]
    fn parses_and_skips_junk() {
        let names = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# comment\n+nis::::::\nbroken\nbad:x:notanumber:0::/:\n\
             daemon:x:1:1::/:/usr/sbin/nologin\ntoor:x:0:0::/root:/bin/sh\n:x:5:5::/:\n",
        );
        assert_eq!(
            names.get(&0).map(AsRef::as_ref),
            Some("root"),
            "first entry wins"
        );
        assert_eq!(names.get(&1).map(AsRef::as_ref), Some("daemon"));
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn reloads_when_file_changes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("passwd");
        touch(&path, "alice:x:1000:1000::/home/alice:/bin/sh\n", 1_000);
        let mut users = UserNames::with_passwd(&path);
        users.check_every = Duration::ZERO;
        assert_eq!(users.name(1000).as_deref(), Some("alice"));
        assert_eq!(users.name(1001), None);

        touch(
            &path,
            "alice:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n",
            2_000,
        );
        assert_eq!(users.name(1001).as_deref(), Some("bob"));

        fs::remove_file(&path).expect("rm");
        assert_eq!(users.name(1000), None, "missing file: no stale names");
    }

    #[test]
    fn checks_at_most_once_a_second() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("passwd");
        touch(&path, "alice:x:1000:1000::/:/bin/sh\n", 1_000);
        let mut users = UserNames::with_passwd(&path);
        assert_eq!(users.name(1000).as_deref(), Some("alice"));
        touch(&path, "carol:x:1000:1000::/:/bin/sh\n", 2_000);
        assert_eq!(
            users.name(1000).as_deref(),
            Some("alice"),
            "not re-checked yet"
        );
    }

    #[test]
    fn real_passwd_has_root() {
        assert_eq!(UserNames::new().name(0).as_deref(), Some("root"));
    }
}
