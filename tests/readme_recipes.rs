//! Every ```sh block of README.md runs, as a user would paste it, in a scratch folder with the
//! bundled profiles: `redkube` is this build, `git` is real, and `kubectl` is a stand-in that
//! records what it would apply (there is no API server here), except `kubectl kustomize`,
//! which runs the real kubectl. A recipe that no longer works fails here.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The README's ```sh blocks, with their line numbers.
fn recipes(readme: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in readme.lines().enumerate() {
        match (&mut current, line) {
            (None, "```sh") => current = Some((n + 1, String::new())),
            (Some(_), "```") => out.push(current.take().unwrap()),
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

/// `kubectl`: `kustomize` goes to the real one; `apply -f -` must receive manifests with a
/// StatefulSet; anything else is recorded and succeeds.
const KUBECTL_SHIM: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$RECIPE_LOG"
case " $* " in
  *" kustomize "*) exec "$REAL_KUBECTL" "$@" ;;
  *" apply "*)
    input=$(cat)
    case "$input" in
      *"kind: StatefulSet"*) exit 0 ;;
      *) echo "kubectl stand-in: apply got no StatefulSet" >&2; exit 1 ;;
    esac ;;
esac
exit 0
"#;

fn shim_dir(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_redkube"), bin.join("redkube")).unwrap();
    let kubectl = bin.join("kubectl");
    std::fs::write(&kubectl, KUBECTL_SHIM).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn real_kubectl() -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", "command -v kubectl"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn every_sh_recipe_in_the_readme_runs() {
    let Some(kubectl) = real_kubectl() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is needed for `kubectl kustomize`"
        );
        eprintln!("!!! SKIPPED: kubectl not installed");
        return;
    };
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let recipes = recipes(&readme);
    assert!(recipes.len() >= 3, "the README lost its recipes");
    for (line, body) in recipes {
        let dir = tempfile::tempdir().unwrap();
        let bin = shim_dir(dir.path());
        std::os::unix::fs::symlink(root().join("profiles"), dir.path().join("profiles")).unwrap();
        let log = dir.path().join("kubectl.log");
        let script = format!(
            "set -eu\ngit init -q . && git config user.email ci@example.com && git config user.name ci\n{body}"
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("REAL_KUBECTL", &kubectl)
            .env("RECIPE_LOG", &log)
            .env("REDIS_PASSWORD", TEST_PASSWORD)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README.md:{line} recipe failed:\n{body}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
