//! Writing the column setup's choice (F2) back into the configuration
//! file: only `columns` changes; every other setting, comment and the
//! file's layout stay as the user wrote them (`toml_edit` keeps them).
//! A file that does not exist yet is created with just that key.
use std::{io, path::Path};

use toml_edit::{Array, DocumentMut, value};

/// Why the columns could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("config {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("config {path}: not valid TOML, not changed ({message})")]
    Parse { path: String, message: String },
}

/// `text` with `columns = [...]` set to `names`.
pub fn with_columns(text: &str, names: &[&str]) -> Result<String, toml_edit::TomlError> {
    let mut doc: DocumentMut = text.parse()?;
    let mut list = Array::new();
    for n in names {
        list.push(*n);
    }
    // At the top level, before any table: keys after a [table] belong to it.
    doc.insert("columns", value(list));
    Ok(doc.to_string())
}

/// Sets `columns` in the file at `path` (created when missing).
pub fn save_columns(path: &Path, names: &[&str]) -> Result<(), SaveError> {
    let shown = path.display().to_string();
    let io_err = |source| SaveError::Io {
        path: shown.clone(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err(e)),
    };
    let out = with_columns(&text, names).map_err(|e| SaveError::Parse {
        path: shown.clone(),
        message: e.message().to_owned(),
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    // Write beside it, then rename: a crash never leaves half a file.
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, out).map_err(io_err)?;
    std::fs::rename(&tmp, path).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_columns_change_comments_and_tables_stay() {
        let text = "# mine\nrefresh_ms = 500 # fast\n\n[keys]\nquit = [\"x\"] # keep\n";
        let out = with_columns(text, &["PID", "S", "CPU%"]).unwrap();
        assert!(
            out.starts_with("# mine\nrefresh_ms = 500 # fast\n"),
            "{out}"
        );
        assert!(
            out.contains("columns = [\"PID\", \"S\", \"CPU%\"]"),
            "{out}"
        );
        assert!(out.contains("[keys]\nquit = [\"x\"] # keep\n"), "{out}");
        let settings = crate::config::parse_text(Path::new("t"), &out, false).unwrap();
        assert_eq!(settings.console.columns.names(), ["PID", "S", "CPU%"]);
        let again = with_columns(&out, &["PID"]).unwrap();
        assert_eq!(again.matches("columns").count(), 1, "{again}");
        assert!(with_columns("x = [", &["PID"]).is_err());
    }

    #[test]
    fn a_missing_file_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perch/config.toml");
        save_columns(&path, &["PID", "COMMAND"]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), "columns = [\"PID\", \"COMMAND\"]");
    }
}
