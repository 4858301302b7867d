//! Reading a profile: TOML text -> typed [`Profile`] -> validated, with every problem placed at
//! its file, line and column.

use std::sync::Arc;

use miette::NamedSource;

use super::validate::{check_password, validate};
use super::Profile;
use crate::diagnostics::{
    backticked, locate, path_at, suggestion, FieldPath, Finding, ProfileDiagnostic, ProfileErrors,
};

/// A profile that passed validation, with the warnings found on the way and the password when
/// it was read from the environment.
#[derive(Debug)]
pub struct LoadedProfile {
    pub profile: Profile,
    pub warnings: Vec<ProfileDiagnostic>,
    /// Set for `password-env`: the value read at render time.
    pub env_password: Option<String>,
}

/// Where `password-env` is looked up; a parameter so tests need not touch the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Parse and validate profile text. `file` names the source in diagnostics.
pub fn load_str(
    file: &str,
    text: &str,
    env: EnvLookup<'_>,
) -> Result<LoadedProfile, ProfileErrors> {
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

    let profile: Profile = match toml::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_string();
            let mut field = path_at(&doc, span.start);
            // serde names the offending key for unknown and missing fields; the span alone
            // points at the enclosing table.
            if message.starts_with("missing field") || message.starts_with("unknown field") {
                if let Some(name) = backticked(&message).next() {
                    if !field
                        .0
                        .last()
                        .is_some_and(|s| *s == crate::diagnostics::Seg::Key(name.into()))
                    {
                        field = field.key(name);
                    }
                }
            }
            let help = suggestion(&message).or_else(|| type_hint(&message));
            let mut finding = Finding::error(field, message);
            finding.help = help;
            return Err(fail(vec![ProfileDiagnostic::new(&source, span, finding)]));
        }
    };

    let mut findings = validate(&profile);
    let env_password = resolve_env_password(&profile, env, &mut findings);

    let place = |f: Finding| {
        let span = locate(&doc, &f.path);
        ProfileDiagnostic::new(&source, span, f)
    };
    let (errors, warnings): (Vec<_>, Vec<_>) = findings.into_iter().partition(Finding::is_error);
    if !errors.is_empty() {
        return Err(fail(errors.into_iter().map(place).collect()));
    }
    Ok(LoadedProfile {
        profile,
        warnings: warnings.into_iter().map(place).collect(),
        env_password,
    })
}

/// Read a profile file. An unreadable file is an I/O error, reported by the caller.
pub fn load_file(
    path: &std::path::Path,
    env: EnvLookup<'_>,
) -> std::io::Result<Result<LoadedProfile, ProfileErrors>> {
    let bytes = std::fs::read(path)?;
    Ok(load_bytes(&path.display().to_string(), bytes, env))
}

/// Parse and validate profile bytes, which may not be UTF-8.
pub fn load_bytes(
    file: &str,
    bytes: Vec<u8>,
    env: EnvLookup<'_>,
) -> Result<LoadedProfile, ProfileErrors> {
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

fn resolve_env_password(
    profile: &Profile,
    env: EnvLookup<'_>,
    out: &mut Vec<Finding>,
) -> Option<String> {
    let var = profile.auth.password_env.as_ref()?;
    let at = FieldPath::parse("auth.password-env");
    match env(var).filter(|v| !v.is_empty()) {
        Some(value) => {
            let mut checks = Vec::new();
            check_password(&value, at, &mut checks);
            // The value is never echoed: only its shape is described.
            for mut f in checks {
                f.message = format!("${var}: {}", f.message);
                out.push(f);
            }
            Some(value)
        }
        None => {
            out.push(
                Finding::error(at, format!("the environment variable `{var}` is not set or empty"))
                    .help(format!("export {var} before rendering, e.g. `{var}=$(openssl rand -base64 24) redkube render …`")),
            );
            None
        }
    }
}

/// For a syntax error, which has no parse tree: the key written on the error's line, under the
/// last `[table]` header above it. Best effort; the span is exact regardless.
fn key_on_line(text: &str, offset: usize) -> FieldPath {
    let before = &text[..crate::diagnostics::char_boundary(text, offset)];
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

/// A hint for serde's type errors, which say what they got but not how to write it.
fn type_hint(message: &str) -> Option<String> {
    if message.contains("expected u16") || message.contains("expected u32") {
        Some("write a whole, non-negative number without quotes".into())
    } else if message.contains("expected a string") || message.contains("expected string") {
        Some("put the value in double quotes".into())
    } else if message.contains("expected a boolean") {
        Some("write `true` or `false` without quotes".into())
    } else if message.starts_with("missing field") {
        Some("add the field; `redkube init` prints a complete starter profile".into())
    } else {
        None
    }
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
        assert_eq!(loaded.env_password.as_deref(), Some("0123456789abcdefXYZ"));
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
    fn a_short_env_password_is_described_not_echoed() {
        let env = |_: &str| Some("hunter2".to_string());
        let err = load_str("p.toml", MINIMAL, &env).unwrap_err();
        assert!(err.errors[0].message.contains("7 characters"));
        assert!(!err.errors[0].to_string().contains("hunter2"));
    }
}
