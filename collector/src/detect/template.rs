//! The description template: text with `{placeholder}`s naming the process
//! and the evidence (`{proc.name}`, `{stdio.peer}`).  Deliberately tiny: no
//! expressions, only the names in [`PLACEHOLDERS`] (and `env.NAME`), checked
//! when the rule loads; `{{` and `}}` write braces.

/// The names a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "proc.name",
    "proc.pid",
    "proc.exe",
    "proc.cmdline",
    "proc.user",
    "proc.euid",
    "proc.login_user",
    "proc.cwd",
    "exe.path",
    "exe.owner",
    "parent.name",
    "parent.pid",
    "parent.cmdline",
    "ancestors",
    "stdio.peer",
    "stdio.types",
    "stdin.writer",
    "webserver",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses and checks a template; the error names the bad placeholder.
    pub fn parse(src: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = src.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) => name.push(ch),
                            None => return Err(format!("unclosed {{{name}")),
                        }
                    }
                    let name = name.trim().to_owned();
                    // `event.NAME`: a field of a non-exec event (empty
                    // where the event has no such field).
                    let env_ok = ["env.", "event."].iter().any(|p| {
                        name.strip_prefix(p).is_some_and(|n| {
                            !n.is_empty()
                                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        })
                    });
                    if !env_ok && !PLACEHOLDERS.contains(&name.as_str()) {
                        return Err(format!(
                            "unknown placeholder {{{name}}} (allowed: {}, env.NAME, event.NAME)",
                            PLACEHOLDERS.join(", ")
                        ));
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Var(name));
                }
                '}' => return Err("a lone } (write }} for a brace)".into()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { parts })
    }

    /// The text with each placeholder replaced by `value(name)`.
    pub fn render(&self, mut value: impl FnMut(&str) -> String) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(&value(v)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders_and_braces() {
        let t = Template::parse("{proc.name} ({proc.pid}) {{x}} {env.LD_PRELOAD}").unwrap();
        let out = t.render(|n| format!("<{n}>"));
        assert_eq!(out, "<proc.name> (<proc.pid>) {x} <env.LD_PRELOAD>");
    }

    #[test]
    fn refuses_unknown_and_unclosed() {
        assert!(
            Template::parse("{proc.nmae}")
                .unwrap_err()
                .contains("unknown placeholder {proc.nmae}")
        );
        assert!(
            Template::parse("{proc.name")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(Template::parse("a } b").unwrap_err().contains("lone }"));
        assert!(Template::parse("{env.}").is_err());
    }
}
