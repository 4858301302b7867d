//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The password every test render uses for `password-env` profiles.
pub const TEST_PASSWORD: &str = "test-password-0123456789";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Bundled profiles, sorted.
pub fn bundled_profiles() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

pub fn test_env(_: &str) -> Option<String> {
    Some(TEST_PASSWORD.to_string())
}

/// Render profile text through the library, with the test password in the environment.
pub fn render_text(file: &str, text: &str) -> String {
    match redkube::render_str(file, text, &test_env) {
        Ok(r) => redkube::render::to_stream(&r.documents),
        Err(e) => panic!("{file} should render: {e}\n{e:?}"),
    }
}

pub fn render_file(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    render_text(&path.display().to_string(), &text)
}

/// Split a multi-document stream into documents at lines that are exactly `---` (a `---`
/// inside a block scalar is indented, so it never matches).
pub fn documents(stream: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = None;
    let mut offset = 0;
    for line in stream.split_inclusive('\n') {
        if line.trim_end_matches('\n') == "---" {
            if let Some(s) = start {
                docs.push(&stream[s..offset]);
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    if let Some(s) = start {
        docs.push(&stream[s..]);
    }
    docs.retain(|d| !d.trim().is_empty());
    docs
}

pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}
