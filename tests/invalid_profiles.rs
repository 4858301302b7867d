//! Every profile in `tests/invalid/` is rejected with the message, field, line and column that
//! its header comments announce:
//!
//! ```toml
//! # expect-at: 7:11
//! # expect-field: cluster.masters
//! # expect-message: 2 masters cannot form
//! ```

mod common;

use common::*;
use redkube::profile::load_str;

struct Expectation {
    at: (usize, usize),
    field: String,
    message: String,
}

fn header(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
        .unwrap_or_else(|| panic!("missing `# {key}:` header"))
        .to_string()
}

fn expectation(text: &str) -> Expectation {
    let at = header(text, "expect-at");
    let (line, col) = at.split_once(':').expect("expect-at is LINE:COL");
    Expectation {
        at: (line.parse().unwrap(), col.parse().unwrap()),
        field: header(text, "expect-field"),
        message: header(text, "expect-message"),
    }
}

#[test]
fn invalid_profiles_are_rejected_precisely() {
    let dir = root().join("tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 25, "only {} invalid profiles", files.len());
    let mut failures = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = format!(
            "tests/invalid/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let expected = expectation(&text);
        let errors = match load_str(&name, &text, &test_env) {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(e) => e.errors,
        };
        let found = errors.iter().any(|e| {
            (e.line, e.column) == expected.at
                && e.field == expected.field
                && e.message.contains(&expected.message)
                && e.help.is_some()
                && e.file == name
        });
        if !found {
            let got: Vec<String> = errors
                .iter()
                .map(|e| {
                    format!(
                        "{}:{} `{}` {} (help: {:?})",
                        e.line, e.column, e.field, e.message, e.help
                    )
                })
                .collect();
            failures.push(format!(
                "{name}: expected {}:{} `{}` `{}`; got {got:#?}",
                expected.at.0, expected.at.1, expected.field, expected.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The rendered diagnostic names the file, line, column and field, and carries the hint.
#[test]
fn a_diagnostic_reads_well() {
    let text = std::fs::read_to_string(root().join("tests/invalid/masters-too-few.toml")).unwrap();
    let err = load_str("p.toml", &text, &test_env).unwrap_err();
    let e = &err.errors[0];
    let shown = e.to_string();
    assert!(shown.starts_with("p.toml:"), "{shown}");
    assert!(shown.contains("field `cluster.masters`"), "{shown}");
    assert!(e.help.as_deref().unwrap().contains("at least 3 masters"));
}

/// Validation reports every problem at once, not only the first.
#[test]
fn all_errors_are_reported_together() {
    let text = r#"
mode = "cluster"
name = "Bad_Name"
[cluster]
masters = 1
[auth]
password = "short"
[storage]
kind = "claim"
size = "lots"
"#;
    let err = load_str("p.toml", text, &test_env).unwrap_err();
    let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
    for f in ["name", "cluster.masters", "auth.password", "storage.size"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}
