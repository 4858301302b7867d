//! The binary, end to end: exit codes, folder output rules, init/schema/completions.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn redkube(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redkube"))
        .args(args)
        .env("REDIS_PASSWORD", TEST_PASSWORD)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn profile(name: &str) -> String {
    root().join("profiles").join(name).display().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn render_to_stdout_matches_the_library() {
    let out = redkube(&["render", &profile("cluster-storageclass.toml")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = render_file(&root().join("profiles/cluster-storageclass.toml"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    assert!(
        stderr(&out).contains("literal password"),
        "the literal-password warning is shown"
    );
}

#[test]
fn folder_output_is_a_kustomize_base_of_the_same_documents() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("deploy");
    let out = redkube(&[
        "render",
        &profile("cluster-nfs.toml"),
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        files_in(&out_dir),
        [
            "configmap.yaml",
            "kustomization.yaml",
            "networkpolicy.yaml",
            "pdb.yaml",
            "pv.yaml",
            "reconcile-job.yaml",
            "services.yaml",
            "statefulset.yaml"
        ],
        "existing-secret profiles render no secret.yaml"
    );
    let kustomization = std::fs::read_to_string(out_dir.join("kustomization.yaml")).unwrap();
    let stream = render_file(&root().join("profiles/cluster-nfs.toml"));
    let mut joined = String::new();
    for line in kustomization.lines().filter_map(|l| l.strip_prefix("- ")) {
        let text = std::fs::read_to_string(out_dir.join(line)).unwrap();
        joined.push_str(
            text.strip_prefix(redkube::output::HEADER)
                .expect("header marks the file"),
        );
    }
    assert_eq!(
        joined, stream,
        "the folder holds exactly the stdout documents, in order"
    );
}

#[test]
fn a_foreign_file_is_never_clobbered_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("statefulset.yaml");
    std::fs::write(&mine, "# my own hand-written file\n").unwrap();
    let out = redkube(&[
        "render",
        &profile("cluster-cache.toml"),
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("was not written by redkube"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        files_in(dir.path()),
        ["statefulset.yaml"],
        "nothing else was written"
    );
    assert_eq!(
        std::fs::read_to_string(&mine).unwrap(),
        "# my own hand-written file\n"
    );

    let forced = redkube(&[
        "render",
        &profile("cluster-cache.toml"),
        "-o",
        dir.path().to_str().unwrap(),
        "--force",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(std::fs::read_to_string(&mine)
        .unwrap()
        .starts_with(redkube::output::HEADER));
}

#[test]
fn re_rendering_replaces_own_files_and_removes_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(redkube(&["render", &profile("cluster-nfs.toml"), "-o", d])
        .status
        .success());
    assert!(dir.path().join("pv.yaml").exists());
    // Same folder, a profile without NFS: pv.yaml was ours and no longer applies.
    assert!(
        redkube(&["render", &profile("cluster-storageclass.toml"), "-o", d])
            .status
            .success()
    );
    assert!(!dir.path().join("pv.yaml").exists());
    assert!(dir.path().join("secret.yaml").exists());
    let leftovers: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| f.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn an_invalid_profile_writes_nothing_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("never");
    let bad = root().join("tests/invalid/masters-too-few.toml");
    let out = redkube(&[
        "render",
        bad.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !out_dir.exists(),
        "no folder is created for an invalid profile"
    );
    let err = stderr(&out);
    assert!(err.contains("masters-too-few.toml:9:11"), "{err}");
    assert!(err.contains("cluster.masters"), "{err}");
    assert!(err.contains("help:"), "{err}");
    assert!(out.stdout.is_empty());
}

/// A closed stderr (its reader gone before the first byte) changes nothing but the text: the
/// exit code still says what happened, never 101 from a panic in the print.
#[test]
fn a_closed_stderr_keeps_the_exit_code() {
    let run = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        Command::new(env!("CARGO_BIN_EXE_redkube"))
            .args(args)
            .env("REDIS_PASSWORD", TEST_PASSWORD)
            .stdout(std::process::Stdio::null())
            .stderr(writer)
            .status()
            .unwrap()
            .code()
    };
    let bad = root().join("tests/invalid/masters-too-few.toml");
    assert_eq!(run(&["validate", bad.to_str().unwrap()]), Some(1));
    // cluster-cache warns (ephemeral storage) on stderr before it renders.
    assert_eq!(run(&["render", &profile("cluster-cache.toml")]), Some(0));
    assert_eq!(run(&["render", "/nonexistent/profile.toml"]), Some(2));
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(redkube(&["render"]).status.code(), Some(2));
    assert_eq!(redkube(&["frobnicate"]).status.code(), Some(2));
    let missing = redkube(&["render", "/nonexistent/profile.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/profile.toml"));
}

#[test]
fn a_missing_password_env_var_is_an_invalid_profile() {
    let out = Command::new(env!("CARGO_BIN_EXE_redkube"))
        .args(["render", &profile("cluster-cache.toml")])
        .env_remove("REDIS_PASSWORD")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`REDIS_PASSWORD` is not set"));
}

#[test]
fn the_password_stays_out_of_logs_configmaps_and_command_lines() {
    let stream = render_file(&root().join("profiles/cluster-cache.toml"));
    for doc in documents(&stream) {
        if doc.contains("kind: Secret") {
            continue;
        }
        assert!(
            !doc.contains(TEST_PASSWORD),
            "password in a non-Secret object:\n{doc}"
        );
        use base64_free::contains_base64_of;
        assert!(!contains_base64_of(doc, TEST_PASSWORD));
    }
    let out = redkube(&["validate", &profile("cluster-cache.toml")]);
    assert!(!stderr(&out).contains(TEST_PASSWORD));
}

/// Base64 without a dependency: enough to look for an encoded password.
mod base64_free {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    pub fn encode(input: &[u8]) -> String {
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
    pub fn contains_base64_of(haystack: &str, secret: &str) -> bool {
        haystack.contains(encode(secret.as_bytes()).trim_end_matches('='))
    }
}

#[test]
fn the_secret_holds_the_password() {
    let stream = render_file(&root().join("profiles/cluster-cache.toml"));
    let secret = documents(&stream)
        .into_iter()
        .find(|d| d.contains("kind: Secret"))
        .unwrap();
    assert!(base64_free::contains_base64_of(secret, TEST_PASSWORD));
}

#[test]
fn init_prints_valid_starter_profiles() {
    for (mode, storage) in [
        ("cluster", "claim"),
        ("cluster", "nfs"),
        ("cluster", "ephemeral"),
        ("sentinel", "claim"),
    ] {
        let out = redkube(&["init", "--mode", mode, "--storage", storage]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let result = redkube::profile::load_str("starter.toml", &text, &test_env);
        assert!(
            result.is_ok(),
            "starter for {storage} is invalid: {:?}",
            result.err()
        );
    }
}

#[test]
fn schema_is_json_and_describes_the_profile() {
    let out = redkube(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let props = &schema["properties"];
    for key in ["mode", "name", "cluster", "auth", "storage", "scheduling"] {
        assert!(props.get(key).is_some(), "schema lacks {key}");
    }
}

#[test]
fn completions_are_generated() {
    let out = redkube(&["completions", "bash"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("redkube"));
}

/// The ConfigMap's scripts are POSIX sh; a syntax error would only show in a pod.
#[test]
fn rendered_scripts_parse_as_posix_sh() {
    for profile in bundled_profiles() {
        let stream = render_file(&profile);
        let cm = documents(&stream)
            .into_iter()
            .find(|d| d.contains("kind: ConfigMap"))
            .unwrap();
        let value: serde_json::Value = serde_saphyr::from_str(cm).unwrap();
        for (key, text) in value["data"].as_object().unwrap() {
            if !key.ends_with(".sh") {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(key);
            std::fs::write(&file, text.as_str().unwrap()).unwrap();
            for shell in ["dash", "sh"] {
                let Ok(out) = Command::new(shell).arg("-n").arg(&file).output() else {
                    continue;
                };
                assert!(
                    out.status.success(),
                    "{key} ({}) under {shell}: {}",
                    profile.display(),
                    stderr(&out)
                );
            }
            // shellcheck: required in CI (.ci/run installs it), optional on a workstation.
            let lint = Command::new("shellcheck")
                .args(["-s", "sh", "-S", "warning"])
                .arg(&file)
                .output();
            match lint {
                Ok(out) => assert!(
                    out.status.success(),
                    "shellcheck {key} ({}):\n{}",
                    profile.display(),
                    String::from_utf8_lossy(&out.stdout)
                ),
                Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
                    panic!("shellcheck is missing")
                }
                Err(_) => eprintln!("shellcheck not installed: skipping the lint of {key}"),
            }
        }
    }
}

#[test]
fn a_rendered_secret_is_private_and_its_folder_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("deploy");
    let out = redkube(&[
        "render",
        &profile("cluster-cache.toml"),
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = |name: &str| {
        std::fs::metadata(out_dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("secret.yaml"), 0o600);
    assert_eq!(mode("configmap.yaml"), 0o644);
    let err = stderr(&out);
    assert!(err.contains("secret.yaml holds the password"), "{err}");
    assert!(err.contains("existing-secret"), "{err}");
    // No Secret rendered, no warning.
    let quiet = redkube(&[
        "render",
        &profile("cluster-nfs.toml"),
        "-o",
        dir.path().join("nfs").to_str().unwrap(),
    ]);
    assert!(!stderr(&quiet).contains("holds the password"));
}

#[test]
fn a_planted_symlink_is_refused_and_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("deploy");
    std::fs::create_dir(&out_dir).unwrap();
    let target = dir.path().join("elsewhere.txt");
    std::fs::write(&target, "not redkube's").unwrap();
    std::os::unix::fs::symlink(&target, out_dir.join("configmap.yaml")).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec![
            "render",
            &profile("cluster-nfs.toml"),
            "-o",
            out_dir.to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = redkube(&args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not redkube's");
    assert!(std::fs::symlink_metadata(out_dir.join("configmap.yaml"))
        .unwrap()
        .file_type()
        .is_symlink());
}

fn redkube_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_redkube"))
        .args(args)
        .env("REDIS_PASSWORD", TEST_PASSWORD)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn render_dash_reads_the_profile_from_stdin() {
    let text = std::fs::read_to_string(root().join("profiles/cluster-nfs.toml")).unwrap();
    let out = redkube_stdin(&["render", "-"], &text);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        render_file(&root().join("profiles/cluster-nfs.toml"))
    );
    let bad = redkube_stdin(&["validate", "-"], "mode = \"cluster\"\n");
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("<stdin>:"), "{}", stderr(&bad));
}

#[test]
fn strict_turns_warnings_into_errors_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("deploy");
    // cluster-storageclass warns about its literal password.
    let p = profile("cluster-storageclass.toml");
    let out = redkube(&["render", &p, "--strict", "-o", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--strict"));
    assert!(!out_dir.exists());
    assert_eq!(
        redkube(&["validate", "--strict", &p]).status.code(),
        Some(1)
    );
    assert_eq!(redkube(&["validate", &p]).status.code(), Some(0));
}

#[test]
fn validate_without_secrets_needs_no_password_variable() {
    let p = profile("cluster-cache.toml");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_redkube"))
            .args(args)
            .env_remove("REDIS_PASSWORD")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    assert_eq!(run(&["validate", &p]).status.code(), Some(1));
    let out = run(&["validate", "--no-secrets", &p]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("password-env variables not read"));
}

#[test]
fn output_to_a_file_is_refused_and_an_unchanged_folder_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deploy.yaml");
    std::fs::write(&file, "mine").unwrap();
    let out = redkube(&[
        "render",
        &profile("cluster-nfs.toml"),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a file"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");

    let out_dir = dir.path().join("deploy");
    let render = |p: &str| redkube(&["render", &profile(p), "-o", out_dir.to_str().unwrap()]);
    assert!(render("cluster-nfs.toml").status.success());
    let mtime = |f: &str| {
        std::fs::metadata(out_dir.join(f))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = mtime("statefulset.yaml");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = render("cluster-nfs.toml");
    assert!(
        stderr(&again).contains("0 file(s) written"),
        "{}",
        stderr(&again)
    );
    assert_eq!(mtime("statefulset.yaml"), before);
    // Leaving NFS removes pv.yaml, and the summary says so.
    let moved = render("cluster-cache.toml");
    assert!(
        stderr(&moved).contains("removed pv.yaml"),
        "{}",
        stderr(&moved)
    );
}

/// A bundled profile with some lines replaced, written beside the folder under test.
fn edited_profile(dir: &Path, name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join("profiles").join(name)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name} has no `{from}`");
        text = text.replace(from, to);
    }
    let path = dir.join(format!("edited-{name}"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every file of a folder with its bytes, to show that nothing was written.
fn folder_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_in(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch folder holding an earlier render of the bundled profile (`deploy/`), as a
/// GitOps repository would, for the tests that render over it. EXTRA: flags of that render.
fn earlier_render(profile_name: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    let path = profile(profile_name);
    let dir = render_into(&scratch, &path, extra);
    (scratch, dir)
}

/// An earlier render (`deploy/`) of a bundled profile with some lines replaced.
fn earlier_render_edited(
    profile_name: &str,
    edits: &[(&str, &str)],
) -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    let path = edited_profile(scratch.path(), profile_name, edits);
    let dir = render_into(&scratch, &path, &[]);
    (scratch, dir)
}

fn render_into(scratch: &tempfile::TempDir, path: &str, extra: &[&str]) -> PathBuf {
    let dir = scratch.path().join("deploy");
    let mut args = vec!["render"];
    args.extend_from_slice(extra);
    args.extend([path, "-o", dir.to_str().unwrap()]);
    let first = redkube(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    dir
}

#[test]
fn a_bigger_claim_is_refused_before_apply_and_nothing_is_written() {
    let (scratch, dir) = earlier_render("cluster-storageclass.toml", &[]);
    let d = dir.to_str().unwrap();
    let before = folder_bytes(&dir);
    let bigger = edited_profile(
        scratch.path(),
        "cluster-storageclass.toml",
        &[("size = \"20Gi\"", "size = \"40Gi\"")],
    );
    let out = redkube(&["render", &bigger, "-o", d]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(folder_bytes(&dir), before, "nothing is written");
    for expected in [
        "StatefulSet redis/redis-cluster",
        "spec.volumeClaimTemplates[0].spec.resources.requests.storage: 20Gi -> 40Gi",
        // why Kubernetes refuses it
        "volumeClaimTemplates, selector, serviceName and podManagementPolicy are fixed",
        // the recipe: grow each claim where the class allows it, then replace the object only
        "kubectl get storageclass alicloud-disk-essd -o jsonpath='{.allowVolumeExpansion}'",
        "for i in $(seq 0 5); do kubectl patch pvc data-redis-cluster-$i -n redis -p \
         '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"40Gi\"}}}}'; done",
        "kubectl delete statefulset redis-cluster --cascade=orphan -n redis",
        "nothing is written",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }

    // --force writes anyway, and still says what the apply will meet.
    let forced = redkube(&["render", &bigger, "-o", d, "--force"]);
    let err = stderr(&forced);
    assert!(forced.status.success(), "{err}");
    assert!(
        err.contains("warning: Kubernetes would refuse 1 change(s)"),
        "{err}"
    );
    assert!(err.contains("--cascade=orphan"), "{err}");
    let sts = std::fs::read_to_string(dir.join("statefulset.yaml")).unwrap();
    assert!(sts.contains("storage: 40Gi"), "{sts}");
}

#[test]
fn a_maxmemory_change_passes_and_diff_says_the_pods_roll() {
    let (scratch, dir) = earlier_render("cluster-storageclass.toml", &[]);
    let d = dir.to_str().unwrap();
    let changed = edited_profile(
        scratch.path(),
        "cluster-storageclass.toml",
        &[("maxmemory = \"1536mb\"", "maxmemory = \"1024mb\"")],
    );
    let diff = redkube(&["diff", d, &changed]);
    assert_eq!(diff.status.code(), Some(0), "{}", stderr(&diff));
    let report = stdout(&diff);
    for expected in [
        // The Job's slot-move budget grows with maxmemory, so it is a new Job too.
        "change     ConfigMap redis/redis-cluster-config\n             data[\"reconcile.sh\"]\n             data[\"redis.conf\"]\n",
        "change     StatefulSet redis/redis-cluster  [rolls pods]\n             \
         spec.template.metadata.annotations[\"redkube.io/config-hash\"]: ",
        "create     Job redis/redis-cluster-reconcile-",
        "summary: 1 to create, 2 to change (pods roll), 6 unchanged, 1 left alone, 0 refused, \
         0 warning(s)",
    ] {
        assert!(
            report.contains(expected),
            "missing `{expected}` in:\n{report}"
        );
    }
    assert_eq!(
        stdout(&redkube(&["diff", d, &changed])),
        report,
        "the report is deterministic"
    );
    let out = redkube(&["render", &changed, "-o", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("refuse"), "{}", stderr(&out));
    // Now the folder holds the new render: nothing left to change.
    let again = stdout(&redkube(&["diff", d, &changed]));
    assert!(again.contains("0 to change"), "{again}");
}

#[test]
fn an_image_upgrade_across_rdb_formats_is_warned_and_its_new_job_flagged() {
    let (scratch, dir) = earlier_render("cluster-storageclass.toml", &[]);
    let d = dir.to_str().unwrap();
    let upgraded = edited_profile(
        scratch.path(),
        "cluster-storageclass.toml",
        &[("reference = \"redis:7.2.7\"", "reference = \"redis:7.4.2\"")],
    );
    let diff = redkube(&["diff", d, &upgraded]);
    assert_eq!(diff.status.code(), Some(0), "a warning, not a refusal");
    let report = stdout(&diff);
    for expected in [
        "[rolls pods]",
        "spec.template.spec.containers[0].image: redis:7.2.7 -> redis:7.4.2",
        // The Job's name carries a hash of its spec: a new Job, started at once.
        "[new Job runs at once]",
        "left alone Job redis/redis-cluster-reconcile-",
        "kubectl apply leaves it in the cluster",
        "Redis 7.4 writes RDB format 12, which Redis 7.2 cannot load",
    ] {
        assert!(
            report.contains(expected),
            "missing `{expected}` in:\n{report}"
        );
    }
    let out = redkube(&["render", &upgraded, "-o", d]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: the image of StatefulSet redis/redis-cluster moves from redis:7.2.7 to redis:7.4.2"),
        "{err}"
    );

    // Going back is worse: 7.2 cannot load what 7.4 wrote.
    let back = redkube(&["render", &profile("cluster-storageclass.toml"), "-o", d]);
    assert!(back.status.success());
    assert!(
        stderr(&back).contains("Redis 7.2 cannot load RDB format 12, which Redis 7.4 writes"),
        "{}",
        stderr(&back)
    );

    // A digest names no version: the check says it could not be made.
    let digest = format!("redis@sha256:{}", "0".repeat(64));
    let pinned = edited_profile(
        scratch.path(),
        "cluster-storageclass.toml",
        &[("\"redis:7.2.7\"", &format!("\"{digest}\""))],
    );
    let out = redkube(&["render", &pinned, "-o", d]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("the RDB-format check could not be made"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn selector_and_service_name_changes_are_refused() {
    let (_scratch, dir) = earlier_render("sentinel.toml", &[]);
    let d = dir.to_str().unwrap();
    // An earlier render (another redkube version, say) with another selector and serviceName.
    let sts_file = dir.join("statefulset.yaml");
    let old = std::fs::read_to_string(&sts_file).unwrap();
    let edited = old
        .replacen(
            "  selector:\n    matchLabels:\n",
            "  selector:\n    matchLabels:\n      tier: cache\n",
            1,
        )
        .replacen(
            "serviceName: redis-sentinel-headless",
            "serviceName: redis-sentinel-peers",
            1,
        );
    assert_ne!(edited, old);
    std::fs::write(&sts_file, &edited).unwrap();
    let out = redkube(&["render", &profile("sentinel.toml"), "-o", d]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(std::fs::read_to_string(&sts_file).unwrap(), edited);
    for expected in [
        "spec.selector.matchLabels.tier: cache -> (absent)",
        "spec.serviceName: redis-sentinel-peers -> redis-sentinel-headless",
        "kubectl delete statefulset redis-sentinel --cascade=orphan -n redis",
        "do not match the new selector",
        "kubectl rollout restart statefulset redis-sentinel -n redis",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    // diff says the same, with exit 1.
    let diff = redkube(&["diff", d, &profile("sentinel.toml")]);
    assert_eq!(diff.status.code(), Some(1));
    assert!(stdout(&diff).contains("[refused by Kubernetes]"));
}

#[test]
fn diff_reads_a_saved_stream_too() {
    let scratch = tempfile::tempdir().unwrap();
    let stream = scratch.path().join("old.yaml");
    let out = redkube(&["render", &profile("cluster-nfs.toml")]);
    std::fs::write(&stream, &out.stdout).unwrap();
    let diff = redkube(&[
        "diff",
        stream.to_str().unwrap(),
        &profile("cluster-nfs.toml"),
    ]);
    assert_eq!(diff.status.code(), Some(0));
    let report = stdout(&diff);
    assert!(
        report.contains("0 to create, 0 to change, 14 unchanged, 0 left alone, 0 refused"),
        "{report}"
    );
    let missing = redkube(&["diff", "/nonexistent/old", &profile("cluster-nfs.toml")]);
    assert_eq!(missing.status.code(), Some(2));
}

/// `--strict` fails on every warning, the version warnings of `render -o` included: nothing
/// is written. (Without --strict the same render writes and warns, as above.)
#[test]
fn strict_fails_on_a_version_warning_and_writes_nothing() {
    let (scratch, dir) = earlier_render("sentinel.toml", &["--strict"]);
    let d = dir.to_str().unwrap();
    let before = folder_bytes(&dir);
    let upgraded = edited_profile(
        scratch.path(),
        "sentinel.toml",
        &[("reference = \"redis:7.2.7\"", "reference = \"redis:7.4.2\"")],
    );
    let out = redkube(&["render", "--strict", &upgraded, "-o", d]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Redis 7.4 writes RDB format 12"), "{err}");
    assert!(err.contains("--strict: nothing is written"), "{err}");
    assert_eq!(folder_bytes(&dir), before, "nothing is written");
}

fn replicas_in(dir: &Path) -> String {
    let sts = std::fs::read_to_string(dir.join("statefulset.yaml")).unwrap();
    sts.lines()
        .find_map(|l| l.strip_prefix("  replicas: "))
        .unwrap()
        .to_string()
}

/// The cluster profile at 4 masters x (1 + 1) = 8 pods, the earlier render of the scale-in
/// tests; the bundled one (3 masters, 6 pods) is where they go.
const FOUR_MASTERS: &[(&str, &str)] = &[("masters = 3", "masters = 4")];

/// Step 1 of the scale-in to 3 masters with K retiring pods.
fn step_one(scratch: &Path, k: u32) -> String {
    let retiring = format!("masters = 3\nretiring-pods = {k}");
    let path = edited_profile(
        scratch,
        "cluster-storageclass.toml",
        &[("masters = 3", retiring.as_str())],
    );
    let named = scratch.join(format!("step-one-{k}.toml"));
    std::fs::rename(&path, &named).unwrap();
    named.display().to_string()
}

#[test]
fn a_cluster_scale_in_in_one_step_is_refused_and_force_writes_it() {
    let (_scratch, dir) = earlier_render_edited("cluster-storageclass.toml", FOUR_MASTERS);
    let d = dir.to_str().unwrap();
    let before = folder_bytes(&dir);
    let three = profile("cluster-storageclass.toml");
    let out = redkube(&["render", &three, "-o", d]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(folder_bytes(&dir), before, "nothing is written");
    for expected in [
        "redkube refuses 1 change(s)",
        "StatefulSet redis/redis-cluster\n    spec.replicas: 8 -> 6",
        "deletes the highest ordinals (redis-cluster-6 to redis-cluster-7) at once",
        "may be masters with slots",
        "the earlier render retires no pod (its topology: pods=8, members=8)",
        "keep the new counts (masters = 3, replicas-per-master = 1) and add under [cluster]: \
         retiring-pods = 2",
        "kubectl wait --for=condition=complete job/$(kubectl get jobs -l \
         app.kubernetes.io/component=reconcile,app.kubernetes.io/instance=redis-cluster -n redis",
        "# step 2: remove the retiring-pods line, render and apply: the StatefulSet shrinks to 6",
        &format!("redkube render {three} -o {d} && kubectl apply -k {d}"),
        "nothing is written",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(!err.contains("Kubernetes would refuse"), "{err}");

    // diff says the same, with exit 1.
    let diff = redkube(&["diff", d, &three]);
    assert_eq!(diff.status.code(), Some(1));
    let report = stdout(&diff);
    for expected in [
        "change     StatefulSet redis/redis-cluster  [scales 8 -> 6 pods] [refused by redkube]\n",
        "refused by redkube (1): Kubernetes accepts these; the scale-in guard does not",
        "retiring-pods = 2",
        "1 refused",
    ] {
        assert!(
            report.contains(expected),
            "missing `{expected}` in:\n{report}"
        );
    }

    // --force writes anyway, and still says what it does.
    let forced = redkube(&["render", &three, "-o", d, "--force"]);
    let err = stderr(&forced);
    assert!(forced.status.success(), "{err}");
    assert!(
        err.contains("warning: redkube refuses 1 change(s)"),
        "{err}"
    );
    assert!(
        err.contains("deletes the pods above the new count"),
        "{err}"
    );
    assert_eq!(replicas_in(&dir), "6");
}

#[test]
fn a_cluster_scale_in_passes_in_two_steps_and_a_wrong_step_one_is_refused() {
    let (scratch, dir) = earlier_render_edited("cluster-storageclass.toml", FOUR_MASTERS);
    let d = dir.to_str().unwrap();
    let before = folder_bytes(&dir);

    // Step 1 must keep the 8 pods: retiring-pods = 8 - 6 members = 2, not 1 nor 3.
    for (k, effect) in [
        (
            1,
            "This one would shrink now, deleting redis-cluster-7 before",
        ),
        (3, "This one would grow by 1 pod(s) only to retire them"),
    ] {
        let wrong = step_one(scratch.path(), k);
        let out = redkube(&["render", &wrong, "-o", d]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "retiring-pods = {k}: {err}");
        assert_eq!(folder_bytes(&dir), before, "nothing is written");
        for expected in [
            &format!("the new render retires {k} pod(s) above its 6 members"),
            "but the earlier one has 8: step 1 of a scale-in must keep the pod count",
            effect,
            "retiring-pods is the pods being removed, 8 - 6 members = 2",
            "retiring-pods = 2",
        ] {
            assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
        }
    }

    // Step 1: the StatefulSet keeps its 8 pods; the topology retires the top 2.
    let right = step_one(scratch.path(), 2);
    let out = redkube(&["render", &right, "-o", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("refuse"), "{}", stderr(&out));
    assert_eq!(replicas_in(&dir), "8");
    let cm = std::fs::read_to_string(dir.join("configmap.yaml")).unwrap();
    assert!(
        cm.contains("    pods=8\n    members=6\n    masters=3\n"),
        "{cm}"
    );

    // Step 2 (after the reconcile Job completed): the line goes, the StatefulSet shrinks.
    let three = profile("cluster-storageclass.toml");
    let diff = redkube(&["diff", d, &three]);
    assert_eq!(diff.status.code(), Some(0), "{}", stdout(&diff));
    assert!(
        stdout(&diff)
            .contains("change     StatefulSet redis/redis-cluster  [scales 8 -> 6 pods]\n"),
        "{}",
        stdout(&diff)
    );
    let out = redkube(&["render", &three, "-o", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("refuse"), "{}", stderr(&out));
    assert_eq!(replicas_in(&dir), "6");
}

#[test]
fn a_cluster_scale_out_passes_and_rolls_no_pod() {
    let (scratch, dir) = earlier_render("cluster-storageclass.toml", &[]);
    let d = dir.to_str().unwrap();
    let four = edited_profile(scratch.path(), "cluster-storageclass.toml", FOUR_MASTERS);
    let diff = redkube(&["diff", d, &four]);
    assert_eq!(diff.status.code(), Some(0), "{}", stderr(&diff));
    let report = stdout(&diff);
    assert!(
        report.contains("change     StatefulSet redis/redis-cluster  [scales 6 -> 8 pods]\n"),
        "{report}"
    );
    assert!(!report.contains("rolls pods"), "{report}");
    assert!(report.contains(", 0 refused,"), "{report}");
    let out = redkube(&["render", &four, "-o", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("refuse"), "{}", stderr(&out));
    assert_eq!(replicas_in(&dir), "8");
}

/// Sentinel mode has no retiring step and no guard: a removed pod's preStop hands the master
/// over.
#[test]
fn a_sentinel_scale_in_passes() {
    let (_scratch, dir) = earlier_render_edited(
        "sentinel.toml",
        &[
            ("redis-pods = 3", "redis-pods = 5"),
            ("sentinels = 3", "sentinels = 5"),
        ],
    );
    let d = dir.to_str().unwrap();
    assert_eq!(replicas_in(&dir), "5");
    let three = profile("sentinel.toml");
    let diff = redkube(&["diff", d, &three]);
    assert_eq!(diff.status.code(), Some(0), "{}", stdout(&diff));
    assert!(
        stdout(&diff)
            .contains("change     StatefulSet redis/redis-sentinel  [scales 5 -> 3 pods]\n"),
        "{}",
        stdout(&diff)
    );
    let out = redkube(&["render", &three, "-o", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("refuse"), "{}", stderr(&out));
    assert_eq!(replicas_in(&dir), "3");
}
