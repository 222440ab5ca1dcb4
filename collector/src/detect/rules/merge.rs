//! One rule document made into a rule: a new rule (every required field
//! given), or an existing one with the document's fields applied.  Each
//! problem names the rule, the field and its line.
use std::sync::Arc;

use super::{MAX_CONDITION, Rule, RuleDoc, RuleError, err, first_line, is_ident};
use crate::detect::template::Template;

pub(super) fn clone_rule(r: &Rule) -> Rule {
    Rule {
        id: r.id.clone(),
        short_name: r.short_name.clone(),
        kind: r.kind,
        severity: r.severity,
        class: r.class.clone(),
        mitre: r.mitre.clone(),
        description: r.description.clone(),
        impact: r.impact.clone(),
        content: r.content.clone(),
        condition: r.condition.clone(),
        program: Arc::clone(&r.program),
        exceptions: r.exceptions.clone(),
        scope: r.scope,
        on: r.on.clone(),
        enabled: r.enabled,
        source: r.source.clone(),
    }
}

/// A new rule from `doc`, or `base` with `doc`'s fields applied.
pub(super) fn build(
    file: &str,
    mut doc: RuleDoc,
    base: Option<Rule>,
) -> Result<Rule, Vec<RuleError>> {
    let id = doc.id.value.clone();
    let id_line = doc.id.referenced.line();
    let mut errors = Vec::new();
    let e = |line: u64, field: &str, msg: String| err(file, line, Some(&id), field, msg);
    if !is_ident(&id) {
        errors.push(e(
            id_line,
            "id",
            "use letters, digits and _ (not first)".into(),
        ));
    }
    let description = match &doc.description {
        Some(d) => match Template::parse(&d.value) {
            Ok(t) => Some(t),
            Err(m) => {
                errors.push(e(d.referenced.line(), "description", m));
                None
            }
        },
        None => None,
    };
    let program = match &doc.condition {
        Some(c) => compile(&c.value)
            .map_err(|m| errors.push(e(c.referenced.line(), "condition", m)))
            .ok(),
        None => None,
    };
    for (i, x) in doc.exceptions.iter().flatten().enumerate() {
        let empty = x.exe.is_empty()
            && x.ancestors.is_empty()
            && x.cmdline.is_empty()
            && x.container.is_empty()
            && x.user.is_empty();
        if empty {
            errors.push(e(
                id_line,
                &format!("exceptions[{i}]"),
                "give at least one of exe, ancestors, cmdline, container, user".into(),
            ));
        }
    }
    let on = match doc.on.take() {
        Some(o) => {
            let line = o.referenced.line();
            o.value
                .kinds()
                .map_err(|m| errors.push(e(line, "on", m)))
                .ok()
        }
        None => None,
    };
    let source = file.to_owned();
    let rule = if let Some(mut r) = base {
        apply(&mut r, doc, description, program);
        if let Some(on) = on {
            r.on = on;
        }
        r.source = source;
        Some(r)
    } else {
        let missing: Vec<&str> = [
            ("short_name", doc.short_name.is_none()),
            ("kind", doc.kind.is_none()),
            ("severity", doc.severity.is_none()),
            ("description", doc.description.is_none()),
            ("condition", doc.condition.is_none()),
        ]
        .into_iter()
        .filter_map(|(n, m)| m.then_some(n))
        .collect();
        if let Some(first) = missing.first() {
            errors.push(e(
                id_line,
                first,
                format!("required for a new rule (missing: {})", missing.join(", ")),
            ));
            None
        } else {
            new_rule(doc, description, program, source).map(|mut r| {
                r.on = on.unwrap_or_else(|| vec![super::On::Exec]);
                r
            })
        }
    };
    match rule {
        Some(r) if errors.is_empty() => Ok(r),
        _ => Err(errors),
    }
}

fn new_rule(
    doc: RuleDoc,
    description: Option<Template>,
    program: Option<cel::Program>,
    source: String,
) -> Option<Rule> {
    Some(Rule {
        id: doc.id.value,
        short_name: doc.short_name?.value,
        kind: doc.kind?,
        severity: doc.severity?,
        class: doc.class.unwrap_or_default(),
        mitre: doc.mitre.unwrap_or_default(),
        description: description?,
        impact: doc.impact.unwrap_or_default(),
        content: doc.content.unwrap_or_default(),
        condition: doc.condition?.value,
        program: Arc::new(program?),
        exceptions: doc.exceptions.unwrap_or_default(),
        scope: doc.scope.unwrap_or_default(),
        on: Vec::new(),
        enabled: doc.enabled.unwrap_or(true),
        source,
    })
}

fn apply(r: &mut Rule, doc: RuleDoc, description: Option<Template>, program: Option<cel::Program>) {
    if let Some(v) = doc.enabled {
        r.enabled = v;
    }
    if let Some(v) = doc.short_name {
        r.short_name = v.value;
    }
    if let Some(v) = doc.kind {
        r.kind = v;
    }
    if let Some(v) = doc.severity {
        r.severity = v;
    }
    if let Some(v) = doc.class {
        r.class = v;
    }
    if let Some(v) = doc.mitre {
        r.mitre = v;
    }
    if let Some(v) = description {
        r.description = v;
    }
    if let Some(v) = doc.impact {
        r.impact = v;
    }
    if let Some(v) = doc.content {
        r.content = v;
    }
    if let (Some(c), Some(p)) = (doc.condition, program) {
        r.condition = c.value;
        r.program = Arc::new(p);
    }
    if let Some(v) = doc.exceptions {
        r.exceptions = v;
    }
    if let Some(v) = doc.scope {
        r.scope = v;
    }
}

/// Compiles a condition once; the error quotes the expression.
fn compile(src: &str) -> Result<cel::Program, String> {
    if src.len() > MAX_CONDITION {
        return Err(format!("at most {MAX_CONDITION} bytes (got {})", src.len()));
    }
    cel::Program::compile(src).map_err(|e| {
        format!(
            "does not compile: {} in `{}`",
            first_line(&e.to_string()),
            src.trim()
        )
    })
}
