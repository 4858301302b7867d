//! Reading a profile: TOML text -> typed [`Profile`] -> resolved [`Model`], with every problem
//! placed at its file, line and column.

use std::sync::Arc;

use miette::NamedSource;

use super::deserialize::deserialize;
use super::diagnostics::{locate, FieldPath, Finding, ProfileDiagnostic, ProfileErrors};
use super::resolve;
use crate::model::Model;

/// A profile that resolved, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub(crate) model: Model,
    pub warnings: Vec<ProfileDiagnostic>,
}

impl Loaded {
    /// Redis pods of the deployment (what the render's size grows with).
    pub fn pods(&self) -> u32 {
        self.model.pods()
    }
}

/// Where `password-env` is looked up; a parameter so tests need not touch the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Parse, check and resolve profile text. `file` names the source in diagnostics.
pub fn load_str(file: &str, text: &str, env: EnvLookup<'_>) -> Result<Loaded, ProfileErrors> {
    let source = Arc::new(NamedSource::new(file, text.to_string()));
    let fail = |errors: Vec<ProfileDiagnostic>| ProfileErrors {
        file: file.to_string(),
        errors,
    };

    let doc = match toml_edit::Document::parse(text.to_string()) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let finding = Finding::error(
                key_on_line(text, span.start),
                format!("TOML syntax: {}", e.message().trim()),
            )
            .help("check quoting, brackets and `key = value` pairs on that line");
            return Err(fail(vec![ProfileDiagnostic::new(&source, span, finding)]));
        }
    };

    // From here on, diagnostics quote the file with a literal password masked: a warning about
    // that very password must not print it.
    let source = Arc::new(NamedSource::new(file, mask_literal_password(&doc, text)));

    let place = |f: Finding| {
        let span = locate(&doc, &f.path);
        ProfileDiagnostic::new(&source, span, f)
    };
    let de = deserialize(text);
    let mut errors: Vec<ProfileDiagnostic> = de
        .errors
        .into_iter()
        .map(|(f, span)| match span {
            Some(span) => ProfileDiagnostic::new(&source, span, f),
            None => place(f),
        })
        .collect();
    // With a placeholder in the profile, only the deserialization errors are reported.
    if let Some(profile) = de.profile.filter(|_| !de.filled) {
        match resolve(&profile, env) {
            Ok(resolved) if errors.is_empty() => {
                return Ok(Loaded {
                    model: resolved.model,
                    warnings: resolved.warnings.into_iter().map(place).collect(),
                });
            }
            Ok(_) => {}
            // A check on a repaired path would judge redkube's placeholder, not the file.
            Err(findings) => errors.extend(
                findings
                    .into_iter()
                    .filter(|f| f.is_error() && !de.repaired.iter().any(|r| f.path.starts_with(r)))
                    .map(place),
            ),
        }
    }
    errors.sort_by_key(|e| (e.line, e.column));
    Err(fail(errors))
}

/// `text` with each character inside the quotes of `auth.password` replaced by a mask
/// character of the same UTF-8 length, so every byte span and every line and column stays
/// where it was. Line breaks (a multi-line string) are kept: they reveal nothing.
fn mask_literal_password(doc: &toml_edit::Document<String>, text: &str) -> String {
    let span = locate(doc, &FieldPath::parse("auth.password"));
    let is_password = doc
        .get("auth")
        .and_then(|a| a.get("password"))
        .is_some_and(|p| p.is_str());
    if !is_password || span.len() < 2 {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    // The value's span includes its quotes (or triple quotes): keep those, mask the rest.
    let quote = bytes[span.start];
    let quotes = bytes[span.clone()]
        .iter()
        .take_while(|b| **b == quote)
        .count()
        .min(3);
    let start = span.start + quotes;
    let end = span.end.saturating_sub(quotes).max(start);
    let (Some(before), Some(inner), Some(after)) =
        (text.get(..start), text.get(start..end), text.get(end..))
    else {
        return text.to_string();
    };
    let masked: String = inner
        .chars()
        .map(|c| match c {
            '\n' | '\r' => c,
            _ => ['*', '×', '∗', '𐀀'][c.len_utf8() - 1],
        })
        .collect();
    format!("{before}{masked}{after}")
}

/// Read a profile file. An unreadable file is an I/O error, reported by the caller.
pub fn load_file(
    path: &std::path::Path,
    env: EnvLookup<'_>,
) -> std::io::Result<Result<Loaded, ProfileErrors>> {
    let bytes = std::fs::read(path)?;
    Ok(load_bytes(&path.display().to_string(), bytes, env))
}

/// Parse and validate profile bytes, which may not be UTF-8.
pub fn load_bytes(file: &str, bytes: Vec<u8>, env: EnvLookup<'_>) -> Result<Loaded, ProfileErrors> {
    let file = file.to_string();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = Arc::new(NamedSource::new(&file, lossy));
            let finding = Finding::error(FieldPath::default(), "the file is not valid UTF-8")
                .help("TOML files are UTF-8; re-save the profile as UTF-8");
            return Err(ProfileErrors {
                file: file.clone(),
                errors: vec![ProfileDiagnostic::new(&source, valid..valid, finding)],
            });
        }
    };
    load_str(&file, &text, env)
}

/// For a syntax error, which has no parse tree: the key written on the error's line, under the
/// last `[table]` header above it. Best effort; the span is exact regardless.
fn key_on_line(text: &str, offset: usize) -> FieldPath {
    let before = &text[..super::diagnostics::char_boundary(text, offset)];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let table = before[..line_start]
        .lines()
        .rev()
        .find_map(|l| {
            let l = l.trim();
            l.starts_with('[')
                .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        })
        .unwrap_or_default();
    let key = line
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    let mut path = FieldPath::parse(&table);
    if line.contains('=') && !key.is_empty() {
        path = path.key(key);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
mode = "cluster"
name = "redis-app"
[cluster]
masters = 3
[auth]
password-env = "PW"
[storage]
kind = "ephemeral"
"#;

    #[test]
    fn password_env_is_read_through_the_lookup() {
        let env = |_: &str| Some("0123456789abcdefXYZ".to_string());
        let loaded = load_str("p.toml", MINIMAL, &env).unwrap();
        assert!(matches!(
            &loaded.model.auth.source,
            crate::model::AuthSource::Env(p) if p == "0123456789abcdefXYZ"
        ));
    }

    #[test]
    fn a_missing_env_password_is_an_error_at_its_key() {
        let env = |_: &str| None;
        let err = load_str("p.toml", MINIMAL, &env).unwrap_err();
        let e = &err.errors[0];
        assert_eq!((e.line, e.field.as_str()), (7, "auth.password-env"));
        assert!(e.message.contains("`PW` is not set"));
    }

    #[test]
    fn a_literal_password_is_masked_in_every_quoted_snippet() {
        let text = MINIMAL.replace(
            "password-env = \"PW\"",
            "password = \"literal-secret-0123456789\"",
        );
        let loaded = load_str("p.toml", &text, &|_| None).unwrap();
        let w = loaded
            .warnings
            .iter()
            .find(|w| w.field == "auth.password")
            .unwrap();
        let shown = format!("{:?}", miette::Report::new(w.clone()));
        assert!(!shown.contains("literal-secret"), "{shown}");
        assert!(shown.contains("\"*************************\""), "{shown}");
    }

    #[test]
    fn masking_keeps_lines_and_columns() {
        let text = "[auth]\npassword = \"\"\"\npässwörd-0123456789\\\n  abc\"\"\"\n[x]\n";
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let masked = mask_literal_password(&doc, text);
        assert_eq!(masked.len(), text.len());
        assert_eq!(masked.lines().count(), text.lines().count());
        assert_eq!(masked.chars().count(), text.chars().count());
        assert!(
            !masked.contains("sswö") && !masked.contains("abc"),
            "{masked}"
        );
        assert!(masked.ends_with("\"\"\"\n[x]\n"));
    }

    #[test]
    fn a_top_level_setting_written_under_a_map_is_warned() {
        let text = format!("{MINIMAL}[labels]\nnamespace = \"prod\"\n");
        let loaded = load_str("p.toml", &text, &|_| Some("0123456789abcdefXYZ".into())).unwrap();
        let w = loaded
            .warnings
            .iter()
            .find(|w| w.field == "labels.namespace")
            .expect("warned");
        assert!(w
            .help
            .as_deref()
            .unwrap()
            .contains("move it above the first"));
    }

    #[test]
    fn a_short_env_password_is_described_not_echoed() {
        let env = |_: &str| Some("hunter2".to_string());
        let err = load_str("p.toml", MINIMAL, &env).unwrap_err();
        assert!(err.errors[0].message.contains("7 characters"));
        assert!(!err.errors[0].to_string().contains("hunter2"));
    }
}
