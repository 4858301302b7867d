//! Unit tests of the ConfigMap's shell scripts, run by dash on fixtures: no root, no Redis, no
//! network. Each test renders a bundled profile through the library, sources one script with
//! REDKUBE_LIB_ONLY=1 (which defines its functions and runs nothing) and calls a function.
//! The outside world is faked below the scripts' own code: `tests/shell/bin` holds a redis-cli
//! and a getent that answer from files a test registers (`tests/shell/stubs.sh`), so the real
//! node_cli, resolve, timeout and \r stripping run. Replies are real Redis 7.0.15 output
//! (`tests/shell/gen-fixtures.sh`), except the files named `*.hand.*`, written by hand.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// 3 masters x 1 replica, AOF, namespace `redis`: its pod names match the fixtures.
const CLUSTER: &str = "cluster-storageclass";
/// 1 master, 2 replicas, AOF, namespace `redis`.
const SENTINEL: &str = "sentinel";
const CLUSTER_HOST: &str = "redis-cluster-headless.redis.svc.cluster.local";
const SENTINEL_HOST: &str = "redis-sentinel-headless.redis.svc.cluster.local";

fn shell_dir() -> PathBuf {
    common::root().join("tests/shell")
}

/// dash, or None (and a loud notice) when it is missing; CI requires it.
fn dash_available() -> bool {
    if Command::new("dash").arg("-c").arg(":").output().is_ok() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("dash is missing: the shell unit tests need it");
    }
    eprintln!("\n!!!!!!!! dash is not installed: SKIPPING the shell unit tests !!!!!!!!\n");
    false
}

/// The ConfigMap data of a rendered profile, through the library's public API.
fn configmap_data(profile: &str) -> serde_json::Map<String, Value> {
    let stream = common::render_file(&common::root().join(format!("profiles/{profile}.toml")));
    let doc = common::documents(&stream)
        .into_iter()
        .find(|d| d.contains("kind: ConfigMap"))
        .expect("a ConfigMap");
    let value: Value = serde_saphyr::from_str(doc).expect("the ConfigMap parses");
    value["data"].as_object().expect("ConfigMap data").clone()
}

/// A profile's rendered scripts in a temporary folder, with the fakes.
struct Sh {
    dir: tempfile::TempDir,
    data: serde_json::Map<String, Value>,
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    calls: String,
}

impl Run {
    fn out(&self) -> &str {
        self.stdout.trim_end()
    }
    fn context(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}\n--- calls\n{}",
            self.code, self.stdout, self.stderr, self.calls
        )
    }
}

impl Sh {
    fn new(profile: &str) -> Option<Sh> {
        if !dash_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = configmap_data(profile);
        for (key, text) in &data {
            std::fs::write(dir.path().join(key), text.as_str().unwrap()).unwrap();
        }
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for fake in ["redis-cli", "getent"] {
            let to = bin.join(fake);
            std::fs::copy(shell_dir().join("bin").join(fake), &to).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Some(Sh { dir, data })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn text(&self, key: &str) -> &str {
        self.data[key].as_str().unwrap()
    }

    fn scripts(&self) -> Vec<&str> {
        self.data
            .keys()
            .map(String::as_str)
            .filter(|k| k.ends_with(".sh"))
            .collect()
    }

    /// Sources SCRIPT with REDKUBE_LIB_ONLY=1 and the stubs, then runs BODY under `set +e`,
    /// in a fresh work folder ($WORK, also the current directory).
    fn run(&self, script: &str, body: &str) -> Run {
        self.run_env(script, body, &[])
    }

    fn run_env(&self, script: &str, body: &str, env: &[(&str, &str)]) -> Run {
        let work = tempfile::tempdir_in(self.path()).unwrap();
        let stubs = work.path().join(".stubs");
        for sub in ["replies", "dns"] {
            std::fs::create_dir_all(stubs.join(sub)).unwrap();
        }
        // The counts come from the rendered topology file, as in a pod (load_topology).
        let program = format!(
            ". {dir}/{script}\n. {}/stubs.sh\nTOPOLOGY_FILE={dir}/topology\nload_topology\nset +e\n{body}\n",
            shell_dir().display(),
            dir = self.path().display(),
        );
        let path = format!(
            "{}:{}",
            self.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("dash");
        cmd.arg("-c")
            .arg(program)
            .current_dir(work.path())
            .env_clear()
            .env("PATH", path)
            .env("REDKUBE_LIB_ONLY", "1")
            .env("FIXTURES", shell_dir().join("fixtures"))
            .env("STUBS", &stubs)
            .env("WORK", work.path())
            .env("POD_NAMESPACE", "redis")
            .env("POD_IP", "10.1.0.99")
            .env("REDISCLI_AUTH", "test-password");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("dash runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            calls: std::fs::read_to_string(stubs.join("calls")).unwrap_or_default(),
        }
    }
}

fn cluster_pod(i: u32) -> String {
    format!("redis-cluster-{i}.{CLUSTER_HOST}")
}

fn sentinel_pod(i: u32) -> String {
    format!("redis-sentinel-{i}.{SENTINEL_HOST}")
}

/// The error replies and silences that must never count as a clean answer.
const UNCLEAN: &[&str] = &[
    "reply-7.0-noauth.txt",
    "reply-7.0-wrongpass.txt",
    "reply-7.0-loading.txt",
    "reply-7.0-masterdown.txt",
    "reply-7.0-err.txt",
    "reply-7.0-no-answer.txt",
    "-no-answer-",
];

// ---- The shape of every script ---------------------------------------------------------------

#[test]
fn every_script_ends_by_calling_main_unless_lib_only() {
    for profile in common::bundled_profiles() {
        let Some(sh) = Sh::new(&common::stem(&profile)) else {
            return;
        };
        for key in sh.scripts() {
            let last = sh.text(key).lines().rev().find(|l| !l.trim().is_empty());
            assert_eq!(
                last,
                Some(r#"[ "${REDKUBE_LIB_ONLY:-}" = 1 ] || main "$@""#),
                "{key} of {}",
                profile.display()
            );
        }
    }
}

/// Sourcing defines functions only: no Secret read, no downward-API check, no file, no call.
#[test]
fn sourcing_a_script_has_no_side_effects() {
    for profile in [CLUSTER, "cluster-cache", SENTINEL, "sentinel-cache"] {
        let Some(sh) = Sh::new(profile) else { return };
        for key in sh.scripts() {
            let run = sh.run_env(
                key,
                "unset POD_NAMESPACE POD_IP POD_NAME; ls -A | grep -v '^.stubs$'; echo sourced",
                &[],
            );
            assert_eq!(
                run.out(),
                "sourced",
                "{key} of {profile}: {}",
                run.context()
            );
            assert_eq!(run.stderr, "", "{key} of {profile}");
            assert_eq!(run.calls, "", "{key} of {profile}");
        }
    }
}

/// Every wait budget is a `NAME_SECONDS=<n>` line before the first function, and a name in
/// two scripts has one value.
#[test]
fn wait_budgets_are_assignments_at_the_top_with_one_value_per_name() {
    let cluster = [
        "PEER_WAIT_SECONDS",
        "REJOIN_BUDGET_SECONDS",
        "SELF_FORM_WAIT_SECONDS",
        "SELF_FORM_BUDGET_SECONDS",
        "CREATE_BUDGET_SECONDS",
        "EMPTY_MASTER_WAIT_SECONDS",
        "PING_BUDGET_SECONDS",
        "HEALTH_BUDGET_SECONDS",
    ];
    let sentinel = [
        "SENTINEL_ASK_SECONDS",
        "SENTINEL_RESOLVE_SECONDS",
        "FAILOVER_OUTCOME_SECONDS",
        "PRESTOP_WAIT_SECONDS",
    ];
    for (profile, names) in [(CLUSTER, &cluster[..]), (SENTINEL, &sentinel[..])] {
        let Some(sh) = Sh::new(profile) else { return };
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        for key in sh.scripts() {
            let text = sh.text(key);
            let top: Vec<&str> = text.lines().take_while(|l| !l.contains("() ")).collect();
            for line in text.lines() {
                let Some((name, value)) = line.split_once('=') else {
                    continue;
                };
                if !name.ends_with("_SECONDS") || name.contains(' ') {
                    continue;
                }
                assert!(
                    value.chars().all(|c| c.is_ascii_digit()) && !value.is_empty(),
                    "{key}: {line}"
                );
                assert!(top.contains(&line), "{key}: {line} is not at the top");
                let before = seen.insert(name.to_string(), value.to_string());
                assert!(
                    before.is_none_or(|b| b == value),
                    "{name} has two values in {profile}"
                );
            }
        }
        for name in names {
            assert!(seen.contains_key(*name), "{profile}: no script sets {name}");
        }
    }
}

/// True if `redis-cli` at byte I of LINE is a command (not text in a message).
fn runs_redis_cli(line: &str, i: usize) -> bool {
    let before = line[..i].trim_end();
    let words: Vec<&str> = before.split_whitespace().collect();
    before.is_empty()
        || ["$(", "|", ";", "&&", "||", "then", "do", "exec", "`"]
            .iter()
            .any(|sep| before.ends_with(sep))
        || (words.len() >= 2 && words[words.len() - 2].ends_with("timeout"))
}

/// Every redis-cli call that talks to a server goes through port_cli (bounded by `timeout`);
/// the only other one is `--cluster create`, bounded by its own budget.
#[test]
fn every_redis_cli_call_is_bounded() {
    for profile in [CLUSTER, SENTINEL] {
        let Some(sh) = Sh::new(profile) else { return };
        let mut calls = 0;
        for key in sh.scripts() {
            for line in sh.text(key).lines() {
                if line.trim_start().starts_with('#') {
                    continue;
                }
                for (i, _) in line.match_indices("redis-cli ") {
                    if !runs_redis_cli(line, i) {
                        continue;
                    }
                    calls += 1;
                    let code = line.trim_start();
                    assert!(
                        code.starts_with(r#"timeout 5 redis-cli --no-auth-warning -h "$cli_host""#)
                            || code.starts_with(r#"timeout "$CREATE_BUDGET_SECONDS" redis-cli"#)
                            || code.starts_with(r#"timeout "$MIGRATE_BUDGET_SECONDS" redis-cli"#),
                        "{key} of {profile}: unbounded: {line}"
                    );
                }
            }
        }
        assert!(
            calls > 0,
            "{profile}: no redis-cli call found: the check is broken"
        );
    }
}

// ---- The common library ----------------------------------------------------------------------

#[test]
fn node_cli_strips_carriage_returns_and_field_reads_info() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        r#"reply 127.0.0.1 6379 info replication -- info-replication-7.0-master.txt
        node_cli 127.0.0.1 info replication | od -c | grep -c '\\r'
        node_cli 127.0.0.1 info replication | field connected_slaves
        field role < "$FIXTURES/info-replication-7.0-replica-up.txt" | od -c | head -n 1"#,
    );
    let lines: Vec<&str> = run.out().lines().collect();
    assert_eq!(lines[0], "0", "{}", run.context());
    assert_eq!(lines[1], "1", "{}", run.context());
    assert!(
        lines[2].ends_with("s   l   a   v   e  \\n"),
        "{}",
        run.context()
    );
}

/// A server that never answers costs 5 seconds and reads as no answer.
#[test]
fn node_cli_is_bounded_by_a_timeout() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let start = std::time::Instant::now();
    let run = sh.run(
        "start.sh",
        r#"reply 10.9.9.9 6379 dbsize -- -hang-
        keys=$(node_cli 10.9.9.9 dbsize); echo "[$keys] $(keys_verdict "$keys")""#,
    );
    assert_eq!(run.out(), "[] unknown", "{}", run.context());
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

#[test]
fn load_password_refuses_a_missing_or_empty_secret_and_exports_it() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for setup in [": > secret", "rm -f secret"] {
        let run = sh.run(
            "reconcile.sh",
            &format!("{setup}; SECRET_FILE=$WORK/secret; (load_password); echo rc=$?"),
        );
        assert_eq!(run.out(), "rc=1", "{}", run.context());
        assert!(
            run.stderr.contains("redkube-reconcile: the password file")
                && run.stderr.contains("is missing or empty"),
            "{}",
            run.context()
        );
    }
    let run = sh.run(
        "reconcile.sh",
        r#"printf 'pa$s w"\\rd\n' > secret; SECRET_FILE=$WORK/secret; unset REDISCLI_AUTH
        load_password; sh -c 'printf "%s|%s\n" "$REDISCLI_AUTH" "$REDISCLI_HISTFILE"'
        conf_quote "$REDISCLI_AUTH"; echo; password_conf"#,
    );
    assert_eq!(
        run.out(),
        "pa$s w\"\\rd|/dev/null\n\"pa$s w\\\"\\\\rd\"\nrequirepass \"pa$s w\\\"\\\\rd\"\nmasterauth \"pa$s w\\\"\\\\rd\"",
        "{}",
        run.context()
    );
}

#[test]
fn pod_names_and_ordinals() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        "pod_host 2; POD_NAME=redis-cluster-5 self_host; ordinals | tr '\\n' ' '",
    );
    assert_eq!(
        run.out(),
        format!("{}\n{}\n0 1 2 3 4 5", cluster_pod(2), cluster_pod(5)),
        "{}",
        run.context()
    );
}

#[test]
fn resolve_prints_the_first_ipv4_address_or_nothing() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        "dns a.example 10.2.3.4; echo \"[$(resolve a.example)] [$(resolve b.example)]\"",
    );
    assert_eq!(run.out(), "[10.2.3.4] []", "{}", run.context());
}

/// Point 7: NOAUTH, WRONGPASS, LOADING, MASTERDOWN, ERR and silence are unknown, never "no
/// keys". (The old guards' `case "$keys" in ''|*[!0-9]*|0)` took all of them for no keys.)
#[test]
fn keys_verdict_never_takes_an_unclean_reply_for_no_keys() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let mut body = String::from(
        "reply h 6379 dbsize -- dbsize-7.0-zero.txt; keys_verdict \"$(node_cli h dbsize)\"\n",
    );
    body += "reply h 6379 dbsize -- dbsize-7.0-keys.txt; keys_verdict \"$(node_cli h dbsize)\"\n";
    for r in UNCLEAN {
        body += &format!("reply h 6379 dbsize -- {r}; keys_verdict \"$(node_cli h dbsize)\"\n");
    }
    let run = sh.run("start.sh", &body);
    let want: Vec<&str> = ["none", "keys"]
        .into_iter()
        .chain(UNCLEAN.iter().map(|_| "unknown"))
        .collect();
    assert_eq!(
        run.out().lines().collect::<Vec<_>>(),
        want,
        "{}",
        run.context()
    );
}

// ---- Redis Cluster: parsers ------------------------------------------------------------------

#[test]
fn my_replicas_lists_the_replicas_of_a_master_that_owns_slots() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        r#"for f in nodes-conf-7.0-master.conf nodes-conf-7.0-replica.conf nodes-conf-7.0-migrating.conf nodes-conf-7.2-master.hand.conf; do
          echo "$f: $(my_replicas "$FIXTURES/$f" | tr '\n' ' ')"
        done"#,
    );
    let r = |i| cluster_pod(i);
    // The master fixture is pod 2 (30003), replicated by pod 3; the migrating one pod 0 with
    // slot 100 leaving, replicated by pod 4. The replica's own file lists nothing.
    assert_eq!(
        run.out(),
        format!(
            "nodes-conf-7.0-master.conf: {} \nnodes-conf-7.0-replica.conf: \n\
             nodes-conf-7.0-migrating.conf: {} \nnodes-conf-7.2-master.hand.conf: {}",
            r(3),
            r(4),
            r(3)
        ),
        "{}",
        run.context()
    );
}

#[test]
fn owns_slots_counts_ranges_not_migrations() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "reconcile.sh",
        r#"for s in '0-5460' '5461 [100-<-0cf5]' '[100->-c1b5] [7-<-aa]' '' '0-5460 [100->-c1b5]'; do
          if owns_slots "$s"; then echo yes; else echo no; fi
        done
        for f in formed migrating importing; do
          node_cli() { cat "$FIXTURES/cluster-nodes-7.0-$f.txt"; }
          if node_cli x cluster nodes | myself_owns_slots; then echo "$f yes"; else echo "$f no"; fi
        done"#,
    );
    assert_eq!(
        run.out(),
        "yes\nyes\nno\nno\nyes\nformed yes\nmigrating yes\nimporting yes",
        "{}",
        run.context()
    );
}

#[test]
fn repair_nodes_conf_rewrites_every_resolvable_address() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for fixture in [
        "nodes-conf-7.0-master.conf",
        "nodes-conf-7.0-migrating.conf",
        "nodes-conf-7.2-master.hand.conf",
    ] {
        // Every peer but pod 4 resolves to 10.1.0.<ordinal>; this pod is POD_IP.
        let run = sh.run(
            "start.sh",
            &format!(
                r#"for i in 0 1 2 3 5; do dns "$(pod "$i")" "10.1.0.$i"; done
                repair_nodes_conf < "$FIXTURES/{fixture}""#
            ),
        );
        let input = std::fs::read_to_string(shell_dir().join("fixtures").join(fixture)).unwrap();
        let output = run.out();
        assert_eq!(
            output.lines().count(),
            input.lines().count(),
            "{}",
            run.context()
        );
        for (before, after) in input.lines().zip(output.lines()) {
            let f: Vec<&str> = before.split(' ').collect();
            let expected = if f[0] == "vars" || f[1].contains("redis-cluster-4.") {
                before.to_string()
            } else {
                let ip = if f[2].contains("myself") {
                    "10.1.0.99".to_string()
                } else {
                    let host = f[1].split(',').nth(1).unwrap();
                    if host.is_empty() {
                        "127.0.0.1".to_string()
                    } else {
                        format!("10.1.0.{}", &host["redis-cluster-".len()..][..1])
                    }
                };
                before.replacen("127.0.0.1:", &format!("{ip}:"), 1)
            };
            assert_eq!(after, expected, "{fixture}\n{}", run.context());
        }
        assert!(
            run.stderr.contains("moved from 127.0.0.1 to 10.1.0.99"),
            "{}",
            run.context()
        );
    }
}

/// The e2e negative control replaces this one function; it must do the whole step.
#[test]
fn repair_peer_addresses_waits_for_peers_then_rewrites_nodes_conf() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        r#"cp "$FIXTURES/nodes-conf-7.0-master.conf" nodes.conf; NODES_CONF=$WORK/nodes.conf
        for i in 0 1 3 4 5; do dns "$(pod "$i")" "10.1.0.$i"; done
        repair_peer_addresses; echo "rc=$?"
        grep -c 127.0.0.1 nodes.conf; sleeps; ls"#,
    );
    // Every peer resolved at once: no wait, every address rewritten, no temporary file left.
    assert_eq!(run.out(), "rc=0\n0\n0\nnodes.conf", "{}", run.context());
    assert!(sh.text("start.sh").contains("\n  repair_peer_addresses\n"));
}

#[test]
fn wait_for_peers_is_bounded_and_keeps_unresolvable_peers() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        r#"PEER_WAIT_SECONDS=4; wait_for_peers "$FIXTURES/nodes-conf-7.0-master.conf"; echo "rc=$?"
        sleeps"#,
    );
    assert_eq!(run.out(), "rc=0\n4", "{}", run.context());
    assert!(
        run.stderr.contains("5 peer(s) still unresolvable after 4s"),
        "{}",
        run.context()
    );
}

const POD5_NEW_ID: &str = "4a9b8f77f0b7cbd3ce4ae0c202b816f43918bb3b";

fn rejoin_plan(sh: &Sh, fixture: &str, my_id: &str, self_pod: u32) -> Run {
    sh.run(
        "start.sh",
        &format!(r#"rejoin_plan "{my_id}" "$(pod {self_pod})" < "$FIXTURES/{fixture}""#),
    )
}

/// Point 7: pods 4 and 5 lost their volumes; pod 4 has met the cluster again and is, for the
/// moment, a master without slots and without replicas. Pod 5 must replicate a master that
/// owns slots, never that one (the old rejoin picked it: fewest replicas).
#[test]
fn rejoin_targets_a_master_that_owns_slots() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for fixture in [
        "cluster-nodes-7.0-two-lost-pods.txt",
        "cluster-nodes-7.2-two-lost-pods.hand.txt",
    ] {
        let run = rejoin_plan(&sh, fixture, POD5_NEW_ID, 5);
        // Stale: pod 5's old ID (slave,noaddr). Target: the first of the slot owners with the
        // fewest live replicas: pod 1 (9df0d445), pod 5's own master, whose one replica line is
        // that stale one (pod 0's is failed; pod 2 has pod 3). Counting failed and stale lines
        // made pod 2 the target, leaving pod 1 without a replica. Peer IP: the answering node.
        assert_eq!(
            run.out(),
            "9e1de2a49b7fb5342c54a83925762f226a82d56f 9df0d4453f2092975a0dbead0035705679342c4c 127.0.0.1",
            "{fixture}\n{}",
            run.context()
        );
    }
}

#[test]
fn rejoin_plan_in_other_states() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    // Pod 2's master failed over to pod 3; pod 2 comes back empty: its old ID (master,fail, no
    // slots left) is stale. Pods 4 and 5 are still lost (failed, noaddr), so no master has a
    // live replica: the first slot owner, pod 1, is the target.
    let run = rejoin_plan(&sh, "cluster-nodes-7.0-failed-over.txt", POD5_NEW_ID, 2);
    assert_eq!(
        run.out(),
        "8876e540a7a7e00801dd67adc1a719a9e3012174 9df0d4453f2092975a0dbead0035705679342c4c 127.0.0.1",
        "{}",
        run.context()
    );
    // Pod 5, seen at the same address under a new ID (noaddr): still found by hostname.
    let run = rejoin_plan(&sh, "cluster-nodes-7.0-noaddr.txt", POD5_NEW_ID, 5);
    assert!(
        run.out()
            .starts_with("9e1de2a49b7fb5342c54a83925762f226a82d56f "),
        "{}",
        run.context()
    );
    // The old ID of pod 1 still owns slots: never forgotten (its failover needs it).
    let run = rejoin_plan(&sh, "cluster-nodes-7.0-formed.txt", POD5_NEW_ID, 1);
    assert_eq!(run.out(), "", "{}", run.context());
    // A cluster that never knew this pod (a first start), and a node in handshake.
    let run = rejoin_plan(&sh, "cluster-nodes-7.0-handshake.txt", POD5_NEW_ID, 9);
    assert_eq!(run.out(), "", "{}", run.context());
    // This pod's own ID unknown (an error reply): its new line would look stale. Nothing.
    for my_id in ["", "NOAUTH Authentication required."] {
        let run = rejoin_plan(&sh, "cluster-nodes-7.0-two-lost-pods.txt", my_id, 5);
        assert_eq!(run.out(), "", "{}", run.context());
    }
    // The peer's reply is an error or nothing.
    for reply in [
        "reply-7.0-noauth.txt",
        "reply-7.0-loading.txt",
        "reply-7.0-no-answer.txt",
    ] {
        let run = rejoin_plan(&sh, reply, POD5_NEW_ID, 5);
        assert_eq!(run.out(), "", "{}", run.context());
    }
}

#[test]
fn node_class_takes_only_clean_answers_for_empty() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let cases = [
        ("cluster-info-7.0-alone.txt", "dbsize-7.0-zero.txt", "empty"),
        (
            "cluster-info-7.0-pod5-alone.txt",
            "dbsize-7.0-zero.txt",
            "empty",
        ),
        (
            "cluster-info-7.0-alone.txt",
            "dbsize-7.0-keys.txt",
            "joined",
        ),
        ("cluster-info-7.0-ok.txt", "dbsize-7.0-zero.txt", "joined"),
        (
            "cluster-info-7.0-alone.txt",
            "reply-7.0-loading.txt",
            "unknown",
        ),
        (
            "cluster-info-7.0-alone.txt",
            "reply-7.0-noauth.txt",
            "unknown",
        ),
        ("cluster-info-7.0-alone.txt", "-no-answer-", "unknown"),
        ("reply-7.0-noauth.txt", "dbsize-7.0-zero.txt", "unknown"),
        ("-no-answer-", "-no-answer-", "unknown"),
    ];
    let mut body = String::new();
    for (info, keys, _) in cases {
        body += &format!(
            "reply h 6379 cluster info -- {info}; reply h 6379 dbsize -- {keys}\n\
             node_state h; echo \"$NODE_STATE|$NODE_DETAIL\"\n"
        );
    }
    let run = sh.run("reconcile.sh", &body);
    let states: Vec<&str> = run
        .out()
        .lines()
        .map(|l| l.split('|').next().unwrap())
        .collect();
    let want: Vec<&str> = cases.iter().map(|c| c.2).collect();
    assert_eq!(states, want, "{}", run.context());
    assert!(
        run.out().contains(
            "unknown|known_nodes=1 slots_assigned=0 keys=NOAUTH Authentication required."
        ),
        "{}",
        run.context()
    );
}

#[test]
fn all_empty_needs_every_pod_cleanly_empty() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let setup = r#"for i in 0 1 2 3 4 5; do
        reply "$(pod $i)" 6379 cluster info -- cluster-info-7.0-alone.txt
        reply "$(pod $i)" 6379 dbsize -- dbsize-7.0-zero.txt
      done
      if all_empty; then echo yes; else echo no; fi"#;
    let run = sh.run("start.sh", setup);
    assert_eq!(run.out(), "yes", "{}", run.context());
    for unclean in [
        "reply-7.0-noauth.txt",
        "reply-7.0-loading.txt",
        "-no-answer-",
    ] {
        let run = sh.run(
            "start.sh",
            &format!("{setup}\nreply \"$(pod 4)\" 6379 dbsize -- {unclean}\nif all_empty; then echo yes; else echo no; fi"),
        );
        assert_eq!(run.out(), "yes\nno", "{unclean}\n{}", run.context());
    }
}

// ---- Redis Cluster: the empty-master guard ---------------------------------------------------

/// This pod is pod 2, a master (fixture), whose replica is pod 3.
const GUARD_SETUP: &str = r#"cp "$FIXTURES/nodes-conf-7.0-master.conf" nodes.conf; NODES_CONF=$WORK/nodes.conf
EMPTY_MASTER_WAIT_SECONDS=5
REPLICA=$(pod 3)"#;

/// Point 7: a replica that gives no clean answer may hold keys: wait, bounded, log why, and
/// never start as master. (The old guard started at once: 0 sleeps, exit 0.)
#[test]
fn guard_waits_when_a_replica_gives_no_clean_answer() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for reply in UNCLEAN {
        let run = sh.run(
            "start.sh",
            &format!(
                "{GUARD_SETUP}\nreply \"$REPLICA\" 6379 dbsize -- {reply}\n\
                 guard_empty_master; echo \"rc=$?\"; sleeps; ls"
            ),
        );
        assert_eq!(
            run.out(),
            "rc=1\n5\nnodes.conf",
            "{reply}\n{}",
            run.context()
        );
        assert!(
            run.stderr.contains(&format!(
                "cannot tell whether replica {} holds keys",
                cluster_pod(3)
            )),
            "{}",
            run.context()
        );
        assert!(
            run.stderr.contains("exiting so the kubelet retries"),
            "{}",
            run.context()
        );
    }
}

#[test]
fn guard_goes_on_once_the_replica_answers_cleanly() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    // Loading first, then a clean 0: start, nodes.conf kept.
    let run = sh.run(
        "start.sh",
        &format!(
            "{GUARD_SETUP}\nreply \"$REPLICA\" 6379 dbsize -- reply-7.0-loading.txt reply-7.0-loading.txt dbsize-7.0-zero.txt\n\
             guard_empty_master; echo \"rc=$?\"; sleeps; ls"
        ),
    );
    assert_eq!(run.out(), "rc=0\n2\nnodes.conf", "{}", run.context());
}

#[test]
fn guard_waits_for_the_replica_with_keys_to_take_over() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        &format!(
            "{GUARD_SETUP}\nreply \"$REPLICA\" 6379 dbsize -- dbsize-7.0-keys.txt\n\
             reply \"$REPLICA\" 6379 info replication -- info-replication-7.0-replica-up.txt info-replication-7.0-replica-up.txt info-replication-7.0-promoted.txt\n\
             guard_empty_master; echo \"rc=$?\"; sleeps; ls"
        ),
    );
    assert_eq!(
        run.out(),
        "rc=0\n2\nnodes.conf.replaced",
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains("now owns the slots; starting as a new node"),
        "{}",
        run.context()
    );
    // Never promoted: refuse after the budget.
    let run = sh.run(
        "start.sh",
        &format!(
            "{GUARD_SETUP}\nreply \"$REPLICA\" 6379 dbsize -- dbsize-7.0-keys.txt\n\
             reply \"$REPLICA\" 6379 info replication -- info-replication-7.0-replica-down.txt\n\
             guard_empty_master; echo \"rc=$?\"; ls"
        ),
    );
    assert_eq!(run.out(), "rc=1\nnodes.conf", "{}", run.context());
    assert!(
        run.stderr.contains("no replica took over within 5s"),
        "{}",
        run.context()
    );
}

#[test]
fn guard_lets_a_master_start_when_its_replicas_hold_no_keys() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        &format!(
            "{GUARD_SETUP}\nreply \"$REPLICA\" 6379 dbsize -- dbsize-7.0-zero.txt\n\
             guard_empty_master; echo \"rc=$?\"; sleeps; ls"
        ),
    );
    assert_eq!(run.out(), "rc=0\n0\nnodes.conf", "{}", run.context());
}

// ---- Redis Cluster: probes -------------------------------------------------------------------

fn probe(sh: &Sh, mode: &str, replies: &str) -> Run {
    sh.run(
        "probe.sh",
        &format!("{replies}\nprobe {mode}; echo \"rc=$?\""),
    )
}

#[test]
fn liveness_accepts_loading_and_masterdown_but_not_silence_or_noauth() {
    for profile in [CLUSTER, SENTINEL] {
        let Some(sh) = Sh::new(profile) else { return };
        for (reply, rc) in [
            ("=PONG", 0),
            ("reply-7.0-loading.txt", 0),
            ("reply-7.0-masterdown.txt", 0),
            ("reply-7.0-noauth.txt", 1),
            ("-no-answer-", 1),
        ] {
            for mode in ["liveness", "startup"] {
                let run = probe(&sh, mode, &format!("reply 127.0.0.1 6379 ping -- {reply}"));
                assert_eq!(
                    run.out(),
                    format!("rc={rc}"),
                    "{profile} {mode} {reply}\n{}",
                    run.context()
                );
            }
        }
        let run = probe(&sh, "bogus", "");
        assert_eq!(run.out(), "rc=2", "{}", run.context());
        assert!(run
            .stderr
            .contains("usage: probe.sh liveness|readiness|startup"));
    }
}

/// INFO replication and CLUSTER NODES of pod 1, a master that owns slots.
const CLUSTER_MASTER_WITH_SLOTS: &str =
    "reply 127.0.0.1 6379 info replication -- info-replication-7.0-master.txt
reply 127.0.0.1 6379 cluster nodes -- cluster-nodes-7.0-formed.txt";

#[test]
fn cluster_readiness_needs_cluster_state_ok() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for (info, rc) in [
        ("cluster-info-7.0-ok.txt", 0),
        ("cluster-info-7.0-alone.txt", 1),
        ("reply-7.0-noauth.txt", 1),
        ("-no-answer-", 1),
    ] {
        let run = probe(
            &sh,
            "readiness",
            &format!(
                "reply 127.0.0.1 6379 ping -- =PONG\nreply 127.0.0.1 6379 cluster info -- {info}\n{CLUSTER_MASTER_WITH_SLOTS}"
            ),
        );
        assert_eq!(run.out(), format!("rc={rc}"), "{info}\n{}", run.context());
    }
    let run = probe(&sh, "readiness", "reply 127.0.0.1 6379 ping -- =PONG\nreply 127.0.0.1 6379 cluster info -- cluster-info-7.0-alone.txt");
    assert!(
        run.stderr
            .contains("redkube-probe: probe readiness failed: cluster_state:fail"),
        "{}",
        run.context()
    );
}

// ---- Sentinel mode ---------------------------------------------------------------------------

#[test]
fn sentinel_master_verdict_reads_key_value_pairs() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let mut body = String::new();
    for f in [
        "sentinel-master-7.0-ok.txt",
        "sentinel-master-7.0-never-seen.txt",
        "sentinel-master-7.0-sdown.txt",
        "sentinel-no-such-master-7.0.txt",
        "sentinel-noauth-7.0.txt",
        "reply-7.0-loading.txt",
        "reply-7.0-no-answer.txt",
    ] {
        body += &format!("sentinel_master_verdict < \"$FIXTURES/{f}\"\n");
    }
    // A reply cut after `ip` (no config-epoch): unknown.
    body += "printf 'name\\nmymaster\\nip\\nlocalhost\\n' | sentinel_master_verdict\n";
    let run = sh.run("start.sh", &body);
    assert_eq!(
        run.out(),
        "view localhost 0 master\nview localhost 0 master,disconnected\n\
         view localhost 0 s_down,o_down,master,disconnected\nnone\nunknown\nunknown\nunknown\nunknown",
        "{}",
        run.context()
    );
}

#[test]
fn the_highest_config_epoch_wins() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let run = sh.run(
        "start.sh",
        r#"printf 'view a 3 master\nunknown\nview b 7 master,s_down\nnone\nview c 7 master\nview d 5 master\n' | highest_epoch_view
        printf 'unknown\nnone\n' | highest_epoch_view; echo end"#,
    );
    assert_eq!(run.out(), "b 7 master,s_down\nend", "{}", run.context());
}

#[test]
fn best_sentinel_view_asks_every_pod_and_names_the_unclean_ones() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let run = sh.run(
        "start.sh",
        r#"reply "$(pod 0)" 26379 sentinel master mymaster -- sentinel-noauth-7.0.txt
        reply "$(pod 1)" 26379 sentinel master mymaster -- sentinel-master-7.0-sdown.txt
        best_sentinel_view; echo "$MASTER|$EPOCH|$FLAGS|$UNKNOWN"
        best_sentinel_view "$(pod 1)"; echo "$MASTER|$EPOCH|$FLAGS|$UNKNOWN""#,
    );
    let (p0, p2) = (sentinel_pod(0), sentinel_pod(2));
    assert_eq!(
        run.out(),
        format!("localhost|0|s_down,o_down,master,disconnected| {p0} {p2}\n||| {p0} {p2}"),
        "{}",
        run.context()
    );
}

/// Point 7: Sentinels that give no clean answer are not "no master": the first pod does not
/// start as master on silence (the old script did, after SENTINEL_ASK_SECONDS).
#[test]
fn the_first_pod_never_starts_as_master_on_unclean_sentinel_answers() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let ask = r#"SENTINEL_ASK_SECONDS=3; SELF=$(pod 0); FIRST=$(pod 0)
        ask_for_master; echo "rc=$? master=$MASTER""#;
    for reply in [
        "-no-answer-",
        "sentinel-noauth-7.0.txt",
        "reply-7.0-loading.txt",
    ] {
        let run = sh.run(
            "start.sh",
            &format!("for i in 0 1 2; do reply \"$(pod $i)\" 26379 sentinel master mymaster -- {reply}; done\n{ask}"),
        );
        assert_eq!(run.out(), "rc=1 master=", "{reply}\n{}", run.context());
        assert!(
            run.stderr
                .contains("no clean answer from the Sentinels of:"),
            "{}",
            run.context()
        );
    }
    // Every Sentinel answers that it knows no master: the first pod starts as master.
    let run = sh.run(
        "start.sh",
        &format!("for i in 0 1 2; do reply \"$(pod $i)\" 26379 sentinel master mymaster -- sentinel-no-such-master-7.0.txt; done\n{ask}"),
    );
    assert_eq!(
        run.out(),
        format!("rc=0 master={}", sentinel_pod(0)),
        "{}",
        run.context()
    );
}

const REPLICA_SETUP: &str = r#"SELF=$(pod 0)
reply "$(pod 1)" 6379 info replication -- info-replication-7.0-replica-up.txt
reply "$(pod 2)" 6379 info replication -- info-replication-7.0-replica-up.txt
reply "$(pod 1)" 6379 dbsize -- dbsize-7.0-zero.txt
reply "$(pod 2)" 6379 dbsize -- dbsize-7.0-zero.txt"#;

#[test]
fn replica_with_keys_knows_unknown_from_empty() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let cases = [
        ("", "none".to_string()),
        (
            r#"reply "$(pod 2)" 6379 dbsize -- dbsize-7.0-keys.txt"#,
            format!("keys {}", sentinel_pod(2)),
        ),
        (
            r#"reply "$(pod 1)" 6379 dbsize -- reply-7.0-loading.txt"#,
            format!(
                "unknown {} LOADING Redis is loading the dataset in memory",
                sentinel_pod(1)
            ),
        ),
        (
            r#"reply "$(pod 2)" 6379 info replication -- reply-7.0-noauth.txt"#,
            format!(
                "unknown {} NOAUTH Authentication required.",
                sentinel_pod(2)
            ),
        ),
        (
            r#"reply "$(pod 1)" 6379 info replication -- -no-answer-"#,
            format!("unknown {} no answer", sentinel_pod(1)),
        ),
        // Another pod answering as master is a clean answer: not a replica of this one.
        (
            r#"reply "$(pod 1)" 6379 info replication -- info-replication-7.0-master.txt"#,
            "none".to_string(),
        ),
    ];
    for (extra, want) in cases {
        let run = sh.run(
            "start.sh",
            &format!("{REPLICA_SETUP}\n{extra}\nreplica_with_keys"),
        );
        assert_eq!(run.out(), want, "{extra}\n{}", run.context());
    }
}

/// Point 7: named master, no data, and a replica whose data is unknown: wait, then refuse.
/// (The old script started as master at once.)
#[test]
fn an_empty_master_waits_while_a_replica_may_hold_keys() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    for unclean in UNCLEAN {
        let run = sh.run(
            "start.sh",
            &format!(
                "{REPLICA_SETUP}\nreply \"$(pod 2)\" 6379 dbsize -- {unclean}\n\
                 has_data() {{ false; }}; FAILOVER_OUTCOME_SECONDS=4\n\
                 MASTER=$SELF EPOCH=3 FLAGS=master\n\
                 hold_while_named_master; echo \"rc=$? master=$MASTER\""
            ),
        );
        assert_eq!(
            run.out(),
            format!("rc=1 master={}", sentinel_pod(0)),
            "{unclean}\n{}",
            run.context()
        );
        assert!(
            run.stderr.contains("holds keys is unknown"),
            "{}",
            run.context()
        );
    }
}

/// The Sentinels name this empty pod master while pod 2 holds keys: wait. Pod 1's Sentinel
/// stops answering for two rounds (not a change of master: the old script then wrote
/// `replicaof  6379`), then names pod 2 at epoch 4: follow it.
#[test]
fn an_empty_master_waits_for_the_failover_to_the_replica_with_keys() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let setup = format!(
        "{REPLICA_SETUP}\nreply \"$(pod 2)\" 6379 dbsize -- dbsize-7.0-keys.txt\n\
         printf 'ip\\n%s\\nconfig-epoch\\n4\\nflags\\nmaster\\n' \"$(pod 2)\" > new-master.txt\n\
         has_data() {{ false; }}; FAILOVER_OUTCOME_SECONDS=10\n\
         MASTER=$SELF EPOCH=3 FLAGS=master"
    );
    let run = sh.run(
        "start.sh",
        &format!(
            "{setup}\nreply \"$(pod 1)\" 26379 sentinel master mymaster -- -no-answer- -no-answer- \"$WORK/new-master.txt\"\n\
             hold_while_named_master; echo \"rc=$? master=$MASTER epoch=$EPOCH\""
        ),
    );
    assert_eq!(
        run.out(),
        format!("rc=0 master={} epoch=4", sentinel_pod(2)),
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains(&format!("while {} holds keys", sentinel_pod(2))),
        "{}",
        run.context()
    );
    // No failover within the budget: refuse to start as master.
    let run = sh.run(
        "start.sh",
        &format!("{setup}\nhold_while_named_master; echo \"rc=$? master=$MASTER\""),
    );
    assert_eq!(
        run.out(),
        format!("rc=1 master={}", sentinel_pod(0)),
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains("no failover after 10s"),
        "{}",
        run.context()
    );
}

#[test]
fn a_master_the_sentinels_see_down_waits_then_starts() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let run = sh.run(
        "start.sh",
        &format!(
            "{REPLICA_SETUP}\nhas_data() {{ true; }}; FAILOVER_OUTCOME_SECONDS=3\n\
             for i in 0 1 2; do reply \"$(pod $i)\" 26379 sentinel master mymaster -- -no-answer-; done\n\
             MASTER=$SELF EPOCH=3 FLAGS=s_down,master\n\
             hold_while_named_master; echo \"rc=$? master=$MASTER\""
        ),
    );
    assert_eq!(
        run.out(),
        format!("rc=0 master={}", sentinel_pod(0)),
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains("still see this pod as a failed master after 3s"),
        "{}",
        run.context()
    );
    // Data, healthy flags: start at once.
    let run = sh.run(
        "start.sh",
        "has_data() { true; }; SELF=$(pod 0); MASTER=$SELF EPOCH=3 FLAGS=master\nhold_while_named_master; echo \"rc=$?\"; sleeps",
    );
    assert_eq!(run.out(), "rc=0\n0", "{}", run.context());
}

#[test]
fn sentinel_readiness_needs_a_master_or_a_linked_replica() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    for (info, rc) in [
        ("info-replication-7.0-master.txt", 0),
        ("info-replication-7.0-replica-up.txt", 0),
        ("info-replication-7.0-replica-down.txt", 1),
        ("info-replication-7.0-replica-sync.txt", 1),
        ("reply-7.0-noauth.txt", 1),
        ("-no-answer-", 1),
    ] {
        let run = probe(
            &sh,
            "readiness",
            &format!("reply 127.0.0.1 6379 ping -- =PONG\nreply 127.0.0.1 6379 info replication -- {info}"),
        );
        assert_eq!(run.out(), format!("rc={rc}"), "{info}\n{}", run.context());
    }
    for (reply, rc) in [
        ("=PONG", 0),
        ("sentinel-noauth-7.0.txt", 1),
        ("-no-answer-", 1),
    ] {
        let run = probe(
            &sh,
            "sentinel",
            &format!("reply 127.0.0.1 26379 ping -- {reply}"),
        );
        assert_eq!(run.out(), format!("rc={rc}"), "{reply}\n{}", run.context());
    }
}

#[test]
fn prestop_hands_over_only_as_a_master_with_replicas() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let mut body = String::new();
    for f in [
        "info-replication-7.0-master-with-replica.txt",
        "info-replication-7.0-master.txt",
        "info-replication-7.0-replica-up.txt",
        "reply-7.0-noauth.txt",
        "reply-7.0-no-answer.txt",
    ] {
        body += &format!("handover_verdict < \"$FIXTURES/{f}\"\n");
    }
    let run = sh.run("prestop.sh", &body);
    // info-replication-7.0-master.txt is a cluster master with its one replica.
    assert_eq!(
        run.out(),
        "handover\nhandover\nkeep\nunknown\nunknown",
        "{}",
        run.context()
    );
}

/// Point 7: an error reply to GET-MASTER-ADDR-BY-NAME is not a new master. (The old preStop
/// took its first line, `NOAUTH ...`, for one and stopped waiting.)
#[test]
fn prestop_never_takes_an_error_for_the_new_master() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let mut body = String::new();
    for f in [
        "sentinel-get-master-addr-7.0.txt",
        "sentinel-get-master-addr-7.0-unknown-set.txt",
        "sentinel-noauth-7.0.txt",
        "reply-7.0-no-answer.txt",
    ] {
        body += &format!("echo \"[$(master_addr_host < \"$FIXTURES/{f}\")]\"\n");
    }
    body += r#"SELF=$(pod 0); PRESTOP_WAIT_SECONDS=3; DEADLINE=$(($(now) + 60))
        reply "$(pod 1)" 26379 sentinel get-master-addr-by-name mymaster -- sentinel-noauth-7.0.txt
        wait_for_new_master "$(pod 1)"; echo "rc=$?""#;
    let run = sh.run("prestop.sh", &body);
    assert_eq!(
        run.out(),
        "[localhost]\n[]\n[]\n[]\nrc=1",
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains("the failover did not finish within 3s"),
        "{}",
        run.context()
    );
    assert!(!run.stderr.contains("failover done"), "{}", run.context());
}

#[test]
fn sentinel_keeps_its_state_but_not_the_lines_redkube_owns() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let run = sh.run(
        "sentinel.sh",
        r#"kept_state "$FIXTURES/sentinel-conf-7.0.conf""#,
    );
    let kept = run.out();
    for gone in [
        "port ",
        "dir ",
        "requirepass",
        "user default",
        "auth-pass",
        "down-after",
        "resolve-hostnames",
    ] {
        assert!(
            !kept
                .lines()
                .any(|l| l.starts_with(gone) || l.contains(&format!("sentinel {gone}"))),
            "{gone}: {kept}"
        );
    }
    let lines: Vec<&str> = kept.lines().collect();
    assert!(
        lines.contains(&"sentinel monitor mymaster localhost 30015 2"),
        "quorum 2 applied: {kept}"
    );
    assert!(
        lines.contains(&"sentinel known-replica mymaster localhost 30016"),
        "{kept}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("sentinel myid ")),
        "{kept}"
    );
    let run = sh.run(
        "sentinel.sh",
        r#"kept_state "$FIXTURES/sentinel-conf-7.0.conf" | state_hosts"#,
    );
    assert_eq!(run.out(), "localhost\nlocalhost", "{}", run.context());
}

#[test]
fn sentinel_forgets_unresolvable_peers_but_needs_its_master() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let state = r#"state='sentinel monitor mymaster m.example 6379 2
sentinel known-replica mymaster r.example 6379
sentinel known-sentinel mymaster s.example 26379 abc'
SENTINEL_RESOLVE_SECONDS=3"#;
    let run = sh.run(
        "sentinel.sh",
        &format!("{state}\ndns m.example 10.0.0.1; dns s.example 10.0.0.3\nresolvable_state \"$state\"; echo \"rc=$?\""),
    );
    assert_eq!(
        run.out(),
        "sentinel monitor mymaster m.example 6379 2\nsentinel known-sentinel mymaster s.example 26379 abc\nrc=0",
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains("forgetting unresolvable peers: r.example"),
        "{}",
        run.context()
    );
    let run = sh.run(
        "sentinel.sh",
        &format!("{state}\ndns r.example 10.0.0.2\nresolvable_state \"$state\"; echo \"rc=$?\""),
    );
    assert_eq!(run.out(), "rc=1", "{}", run.context());
    assert!(
        run.stderr
            .contains("the master m.example does not resolve after 3s"),
        "{}",
        run.context()
    );
}

/// The whole rejoin of pod 5 (see rejoin_targets_a_master_that_owns_slots): every other pod
/// forgets the stale ID, this node meets the cluster and replicates the target.
#[test]
fn rejoin_forgets_the_stale_id_everywhere_then_replicates() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        r#"SELF_HOST=$(pod 5)
            reply 127.0.0.1 6379 ping -- -no-answer- =PONG
            reply 127.0.0.1 6379 cluster info -- cluster-info-7.0-pod5-alone.txt
            reply 127.0.0.1 6379 cluster myid -- cluster-myid-7.0-pod5.txt
            reply 127.0.0.1 6379 cluster replicate 9df0d4453f2092975a0dbead0035705679342c4c -- =ERR_not_yet =OK
            reply "$(pod 0)" 6379 cluster nodes -- reply-7.0-loading.txt
            reply "$(pod 1)" 6379 cluster nodes -- cluster-nodes-7.0-two-lost-pods.txt
            rejoin; echo "rc=$?"
            grep -v '^sleep' "$STUBS/calls" | grep -E 'forget|meet|replicate' | sed 's/ 6379 / /'"#,
    );
    let stale = "9e1de2a49b7fb5342c54a83925762f226a82d56f";
    let mut want = vec!["rc=0".to_string()];
    for i in 0..5 {
        want.push(format!(
            "redis-cli {} cluster forget {stale}",
            cluster_pod(i)
        ));
    }
    want.push("redis-cli 127.0.0.1 cluster meet 127.0.0.1 6379".into());
    for _ in 0..2 {
        want.push(
            "redis-cli 127.0.0.1 cluster replicate 9df0d4453f2092975a0dbead0035705679342c4c".into(),
        );
    }
    assert_eq!(run.out(), want.join("\n"), "{}", run.context());
    assert!(
        run.stderr.contains("rejoin: this pod was node 9e1de2a4"),
        "{}",
        run.context()
    );
    assert!(run.stderr.contains("rejoin: done"), "{}", run.context());
}

/// The reconcile Job creates only when every pod is cleanly empty: one pod that answers
/// NOAUTH to DBSIZE makes a mixed state, reported, and nothing is created.
#[test]
fn reconcile_creates_only_over_cleanly_empty_pods() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let setup = r#"printf pw > secret; SECRET_FILE=$WORK/secret
        for i in 0 1 2 3 4 5; do
          dns "$(pod $i)" "10.1.0.$i"
          reply "$(pod $i)" 6379 ping -- =PONG
          reply "$(pod $i)" 6379 cluster info -- cluster-info-7.0-alone.txt
          reply "$(pod $i)" 6379 dbsize -- dbsize-7.0-zero.txt
        done
        reply "$(pod 0)" 6379 cluster set-config-epoch 1 -- =OK"#;
    let run = sh.run(
        "reconcile.sh",
        &format!("{setup}\nreply \"$(pod 4)\" 6379 dbsize -- reply-7.0-noauth.txt\nmain"),
    );
    assert_eq!(run.code, 1, "{}", run.context());
    assert!(
        run.stderr
            .contains("mixed state: 5 empty, 0 joined and 1 unknown nodes"),
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains(&format!(
            "{}: unknown, known_nodes=1 slots_assigned=0 keys=NOAUTH Authentication required.",
            cluster_pod(4)
        )),
        "{}",
        run.context()
    );
    assert!(!run.calls.contains("set-config-epoch"), "{}", run.context());
    // All empty: the claim on pod 0, then `--cluster create` over every pod's IP (which the
    // fake redis-cli refuses: the Job reports the failure).
    let run = sh.run("reconcile.sh", &format!("{setup}\nmain"));
    assert_eq!(run.code, 1, "{}", run.context());
    assert!(
        run.calls.contains("cluster set-config-epoch 1"),
        "{}",
        run.context()
    );
    assert!(
        run.calls.contains(
            "--cluster create 10.1.0.0:6379 10.1.0.1:6379 10.1.0.2:6379 10.1.0.3:6379 \
             10.1.0.4:6379 10.1.0.5:6379 --cluster-replicas 1 --cluster-yes"
        ),
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains("creating the cluster failed"),
        "{}",
        run.context()
    );
}

/// The password a server started with, kept in the runtime volume, is what its probes and
/// preStop use: a Secret changed under a running pod (the kubelet refreshes the file, Redis
/// does not) must not fail every probe and restart every pod at once.
#[test]
fn probes_use_the_password_their_server_started_with() {
    for (profile, mode, kept) in [
        (CLUSTER, "liveness", "redis"),
        (SENTINEL, "liveness", "redis"),
        (SENTINEL, "sentinel", "sentinel"),
    ] {
        let Some(sh) = Sh::new(profile) else { return };
        let port = if mode == "sentinel" { 26379 } else { 6379 };
        let run = sh.run_env(
            "probe.sh",
            &format!(
                r#"printf 'rotated-password-000' > secret; SECRET_FILE=$WORK/secret
                RUNTIME_DIR=$WORK; printf 'started-password-00' > {kept}.password
                reply 127.0.0.1 {port} ping -- =PONG
                unset REDISCLI_AUTH; main {mode}; echo "rc=$?""#
            ),
            &[("EXPECT_AUTH", "started-password-00")],
        );
        assert_eq!(run.out(), "rc=0", "{profile} {mode}\n{}", run.context());
    }
}

#[test]
fn a_start_script_keeps_the_password_private_in_the_runtime_volume() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        r#"RUNTIME_DIR=$WORK; REDISCLI_AUTH='pa$s w"rd'; keep_password redis
        ls -l redis.password | cut -c1-10; cat redis.password; echo
        rm redis.password; printf 'from-secret' > secret; SECRET_FILE=$WORK/secret
        unset REDISCLI_AUTH; load_kept_password redis; echo "$REDISCLI_AUTH""#,
    );
    assert_eq!(
        run.out(),
        "-rw-------\npa$s w\"rd\nfrom-secret",
        "{}",
        run.context()
    );
}

/// IPv6 pods: names resolve in the pod's own family, and nodes.conf and CLUSTER NODES lines
/// with IPv6 addresses (as Redis 7.0 writes them, and bracketed) are parsed by their last `:`.
#[test]
fn resolve_follows_the_pod_address_family() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for (pod_ip, expected) in [
        ("10.1.0.99", "[10.2.3.4] []"),
        ("fd00::99", "[] [fd00::7]"),
        ("", "[10.2.3.4] [fd00::7]"),
    ] {
        let run = sh.run(
            "start.sh",
            &format!(
                "POD_IP={pod_ip}; dns a.example 10.2.3.4; dns b.example fd00::7\n\
                 echo \"[$(resolve a.example)] [$(resolve b.example)]\""
            ),
        );
        assert_eq!(run.out(), expected, "POD_IP={pod_ip}\n{}", run.context());
    }
}

#[test]
fn repair_nodes_conf_rewrites_ipv6_addresses() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for (fixture, open, close) in [
        ("nodes-conf-7.0-ipv6.conf", "", ""),
        ("nodes-conf-ipv6-bracketed.hand.conf", "[", "]"),
    ] {
        let run = sh.run(
            "start.sh",
            &format!(
                r#"POD_IP=fd00::99; for i in 0 1 2 3 5; do dns "$(pod "$i")" "fd00::$i"; done
                repair_nodes_conf < "$FIXTURES/{fixture}""#
            ),
        );
        let input = std::fs::read_to_string(shell_dir().join("fixtures").join(fixture)).unwrap();
        for (before, after) in input.lines().zip(run.out().lines()) {
            let f: Vec<&str> = before.split(' ').collect();
            let expected = if f[0] == "vars" || f[1].contains("redis-cluster-4.") {
                before.to_string()
            } else {
                let ip = if f[2].contains("myself") {
                    "fd00::99".to_string()
                } else {
                    let host = f[1].split(',').nth(1).unwrap();
                    format!("fd00::{}", &host["redis-cluster-".len()..][..1])
                };
                before.replacen(
                    &format!("{open}::1{close}:"),
                    &format!("{open}{ip}{close}:"),
                    1,
                )
            };
            assert_eq!(after, expected, "{fixture}\n{}", run.context());
        }
        assert_eq!(run.out().lines().count(), input.lines().count());
    }
}

#[test]
fn rejoin_meets_an_ipv6_peer_by_its_whole_address() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "start.sh",
        r#"addr_ip '::1:31001@41001,redis-cluster-0.x'; echo
        addr_ip '[fd00::5]:6379@16379'; echo
        addr_ip '10.1.0.3:6379@16379,h'; echo"#,
    );
    assert_eq!(run.out(), "::1\nfd00::5\n10.1.0.3", "{}", run.context());
}

// ---- Sentinel state across profile changes, and the first pod's reconcile (issue 11, items 5
// and 6) ------------------------------------------------------------------------------------

/// A SENTINEL MASTER reply naming pod ORDINAL at config epoch EPOCH, written to $WORK/NAME.
fn sentinel_master_reply(name: &str, ordinal: u32, epoch: u32) -> String {
    format!(
        "printf 'name\\nmymaster\\nip\\n{}\\nport\\n6379\\nflags\\nmaster\\nconfig-epoch\\n{epoch}\\n' > \"$WORK/{name}\"",
        sentinel_pod(ordinal)
    )
}

/// Item 5: the profile's Redis port changed from 6380 to 6379. The persisted monitor line
/// moves to the new port and keeps its host (pod 2, the master after a failover); known
/// replicas and sentinels at a stale port are dropped, the others and the epochs kept.
#[test]
fn sentinel_state_follows_a_changed_port() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let run = sh.run(
        "sentinel.sh",
        r#"CONF=$FIXTURES/sentinel-conf-port-changed.hand.conf; SELF=$(pod 1); FIRST=$(pod 0)
        initial_state"#,
    );
    let (p0, p1, p2) = (sentinel_pod(0), sentinel_pod(1), sentinel_pod(2));
    let lines: Vec<&str> = run.out().lines().collect();
    let monitors: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("sentinel monitor "))
        .collect();
    assert_eq!(
        monitors,
        [&format!("sentinel monitor mymaster {p2} 6379 2").as_str()],
        "{}",
        run.context()
    );
    for kept in [
        "sentinel config-epoch mymaster 1",
        "sentinel leader-epoch mymaster 1",
        "sentinel current-epoch 1",
        &format!("sentinel known-replica mymaster {p1} 6379"),
        &format!(
            "sentinel known-sentinel mymaster {p0} 26379 0b5d3e0f6a1c2b4d8e7f9a0b1c2d3e4f5a6b7c8d"
        ),
    ] {
        assert!(lines.contains(&kept), "{kept}\n{}", run.context());
    }
    assert!(
        !run.out().contains(" 6380") && !run.out().contains(" 26380"),
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains(&format!(
            "the Redis port changed from 6380 to 6379: monitoring {p2} at 6379"
        )),
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains(&format!(
            "dropping persisted lines of another set or port (Sentinel rediscovers its peers): \
             known-replica {p0}:6380 (mymaster); known-replica {p1}:6380 (mymaster); \
             known-sentinel {p2}:26380 (mymaster)"
        )),
        "{}",
        run.context()
    );
}

/// Item 5: the master set was renamed (oldmaster -> mymaster) while pod 2 is master. The old
/// script found no monitor line under the new name and, with no peer answering (a full
/// restart) or peers still on the old name answering "No such master" (a rolling one), fell
/// back to monitoring pod 0. Now the persisted state moves to the new name and keeps pod 2.
#[test]
fn sentinel_state_follows_a_renamed_master_set() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let setup = r#"CONF=$FIXTURES/sentinel-conf-renamed.hand.conf; SELF=$(pod 1); FIRST=$(pod 0)"#;
    let p2 = sentinel_pod(2);
    for peers in [
        "",
        r#"reply "$(pod 0)" 26379 sentinel master mymaster -- sentinel-no-such-master-7.0.txt
        reply "$(pod 2)" 26379 sentinel master mymaster -- sentinel-no-such-master-7.0.txt"#,
    ] {
        let run = sh.run("sentinel.sh", &format!("{setup}\n{peers}\ninitial_state"));
        let out = run.out();
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.contains(&format!("sentinel monitor mymaster {p2} 6379 2").as_str()),
            "{peers}\n{}",
            run.context()
        );
        assert!(
            lines.contains(&"sentinel config-epoch mymaster 1")
                && lines.contains(&"sentinel leader-epoch mymaster 1"),
            "{}",
            run.context()
        );
        assert!(!out.contains("oldmaster"), "{}", run.context());
        assert!(!out.contains("known-"), "{}", run.context());
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("sentinel monitor "))
                .count(),
            1,
            "{}",
            run.context()
        );
        assert!(
            run.stderr.contains(
                "the master set was renamed from oldmaster to mymaster: moving the persisted state to the new name"
            ),
            "{}",
            run.context()
        );
    }
}

/// Item 5: a kept state yields to the peers' Sentinels when their clean answer carries a
/// higher config epoch (they saw a failover this Sentinel missed), not to an older one.
#[test]
fn a_kept_sentinel_state_prefers_a_newer_peer_view() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let (p0, p2) = (sentinel_pod(0), sentinel_pod(2));
    for (epoch, want) in [(2, &p0), (1, &p2)] {
        let run = sh.run(
            "sentinel.sh",
            &format!(
                r#"CONF=$FIXTURES/sentinel-conf-renamed.hand.conf; SELF=$(pod 1); FIRST=$(pod 0)
                {}
                reply "$(pod 2)" 26379 sentinel master mymaster -- "$WORK/view"
                initial_state"#,
                sentinel_master_reply("view", 0, epoch)
            ),
        );
        let lines: Vec<&str> = run.out().lines().collect();
        assert!(
            lines.contains(&format!("sentinel monitor mymaster {want} 6379 2").as_str()),
            "epoch {epoch}\n{}",
            run.context()
        );
        let own = if epoch == 2 {
            "sentinel config-epoch mymaster 2"
        } else {
            "sentinel config-epoch mymaster 1"
        };
        assert!(lines.contains(&own), "{}", run.context());
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("sentinel config-epoch "))
                .count(),
            1,
            "{}",
            run.context()
        );
        assert_eq!(
            run.stderr.contains("the peers' Sentinels name"),
            epoch == 2,
            "{}",
            run.context()
        );
    }
}

/// Item 6: every Sentinel answers that it knows no master (they may merely be slow to learn
/// it). Pod 0 starts as master only with no persisted Sentinel state on its volume: state
/// naming pod 1 makes it pod 1's replica, state naming pod 0 makes it wait and exit.
#[test]
fn the_first_pod_reconciles_only_without_persisted_sentinel_state() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let ask = r#"SENTINEL_ASK_SECONDS=2; SELF=$(pod 0); FIRST=$(pod 0); RUNTIME_CONF=$WORK/redis.conf
        for i in 0 1 2; do reply "$(pod $i)" 26379 sentinel master mymaster -- sentinel-no-such-master-7.0.txt; done
        ask_for_master; rc=$?; echo "rc=$rc master=$MASTER"
        [ "$rc" != 0 ] || { write_runtime_conf; grep '^replicaof' "$RUNTIME_CONF"; }"#;
    let persisted = |ordinal: u32| {
        format!(
            r#"sed 's/redis-sentinel-2\./redis-sentinel-{ordinal}./' "$FIXTURES/sentinel-conf-port-changed.hand.conf" > state
            SENTINEL_STATE=$WORK/state"#
        )
    };
    let (p0, p1) = (sentinel_pod(0), sentinel_pod(1));
    // Persisted state naming pod 1: pod 1's replica.
    let run = sh.run("start.sh", &format!("{}\n{ask}", persisted(1)));
    assert_eq!(
        run.out(),
        format!("rc=0 master={p1}\nreplicaof {p1} 6379"),
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains("but this deployment has run before")
            && run.stderr.contains(&format!(
                "names {p1}; starting as its replica, not as a second master"
            )),
        "{}",
        run.context()
    );
    // Persisted state naming pod 0 itself: no master on its own; it waited the whole budget.
    let run = sh.run("start.sh", &format!("{}\n{ask}", persisted(0)));
    assert_eq!(run.out(), "rc=1 master=", "{}", run.context());
    assert!(
        run.stderr
            .contains("names this pod; exiting so the kubelet retries"),
        "{}",
        run.context()
    );
    assert_eq!(
        run.calls.matches("sentinel master mymaster").count(),
        6,
        "asked every Sentinel for the whole budget\n{}",
        run.context()
    );
    // No persisted state (no file; or a file without a monitor line): the first master.
    for state in [
        "SENTINEL_STATE=$WORK/missing",
        "printf 'port 26379\\n' > state; SENTINEL_STATE=$WORK/state",
    ] {
        let run = sh.run("start.sh", &format!("{state}\n{ask}"));
        assert_eq!(run.out(), format!("rc=0 master={p0}"), "{}", run.context());
        assert!(
            run.stderr
                .contains("has no persisted state: starting as the designated first master"),
            "{}",
            run.context()
        );
    }
}

// ---- Readiness of a replica, and a stale creation claim (issue 11, items 1 and 3) ------------

/// Item 1: a replica is Ready only once it holds its master's data (link up, no sync in
/// progress); a cluster master only with cluster_state:ok and slots of its own. (The old
/// cluster probe read cluster_state alone: a rejoined replica, down or in its full sync, was
/// Ready, and a StatefulSet roll could go on to restart its master.)
#[test]
fn cluster_readiness_waits_for_a_replica_to_finish_its_sync() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let formed = "cluster-nodes-7.0-formed.txt";
    for (repl, nodes, rc, why) in [
        ("info-replication-7.0-master.txt", formed, 0, ""),
        ("info-replication-7.0-replica-up.txt", formed, 0, ""),
        (
            "info-replication-7.0-replica-down.txt",
            formed,
            1,
            "role:slave master_link_status:down master_sync_in_progress:0",
        ),
        (
            "info-replication-7.0-replica-sync.txt",
            formed,
            1,
            "role:slave master_link_status:down master_sync_in_progress:1",
        ),
        // Pod 4 has met the cluster and is about to replicate: empty, no slots.
        (
            "info-replication-7.0-master.txt",
            "cluster-nodes-7.0-slotless-master.hand.txt",
            1,
            "a master without slots",
        ),
        (
            "info-replication-7.0-master.txt",
            "reply-7.0-noauth.txt",
            1,
            "a master without slots",
        ),
        (
            "reply-7.0-noauth.txt",
            formed,
            1,
            "NOAUTH Authentication required.",
        ),
        ("reply-7.0-loading.txt", formed, 1, "LOADING"),
        ("-no-answer-", formed, 1, "no answer"),
    ] {
        let run = probe(
            &sh,
            "readiness",
            &format!(
                "reply 127.0.0.1 6379 ping -- =PONG\n\
                 reply 127.0.0.1 6379 cluster info -- cluster-info-7.0-ok.txt\n\
                 reply 127.0.0.1 6379 info replication -- {repl}\n\
                 reply 127.0.0.1 6379 cluster nodes -- {nodes}"
            ),
        );
        assert_eq!(
            run.out(),
            format!("rc={rc}"),
            "{repl} {nodes}\n{}",
            run.context()
        );
        let logged = if rc == 0 {
            run.stderr.is_empty()
        } else {
            run.stderr
                .contains(&format!("probe readiness failed: {why}"))
        };
        assert!(logged, "{repl} {nodes}\n{}", run.context());
    }
}

#[test]
fn sentinel_readiness_says_why_a_replica_is_not_ready() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    for (info, why) in [
        (
            "info-replication-7.0-replica-sync.txt",
            "role:slave master_link_status:down master_sync_in_progress:1",
        ),
        (
            "info-replication-7.0-replica-down.txt",
            "role:slave master_link_status:down master_sync_in_progress:0",
        ),
        ("reply-7.0-loading.txt", "LOADING"),
        ("-no-answer-", "no answer"),
    ] {
        let run = probe(
            &sh,
            "readiness",
            &format!("reply 127.0.0.1 6379 ping -- =PONG\nreply 127.0.0.1 6379 info replication -- {info}"),
        );
        assert_eq!(run.out(), "rc=1", "{info}\n{}", run.context());
        assert!(
            run.stderr
                .contains(&format!("probe readiness failed: {why}")),
            "{info}\n{}",
            run.context()
        );
    }
    // The shared rule, on its own: link up AND no sync in progress, never an unclean reply.
    let run = sh.run(
        "probe.sh",
        r#"for f in replica-up replica-down replica-sync master loading; do
          if replica_synced < "$FIXTURES/info-replication-7.0-$f.txt"; then echo "$f yes"; else echo "$f no"; fi
        done
        printf 'role:slave\nmaster_link_status:up\nmaster_sync_in_progress:1\n' | replica_synced; echo "up+sync rc=$?"
        printf 'role:slave\nmaster_link_status:up\n' | replica_synced; echo "no sync field rc=$?""#,
    );
    assert_eq!(
        run.out(),
        "replica-up yes\nreplica-down no\nreplica-sync no\nmaster no\nloading no\nup+sync rc=1\nno sync field rc=1",
        "{}",
        run.context()
    );
}

/// Six empty pods; pod 0 holds a claim (epoch 1) under node ID `claimed`. The takeover window
/// is 20 s: one look, four more 5 s apart, a last one before the reset.
const CLAIM_SETUP: &str = r#"STALE_CLAIM_SECONDS=20
for i in 0 1 2 3 4 5; do
  dns "$(pod $i)" "10.1.0.$i"
  reply "$(pod $i)" 6379 cluster info -- cluster-info-7.0-alone.txt
  reply "$(pod $i)" 6379 dbsize -- dbsize-7.0-zero.txt
done
reply "$(pod 0)" 6379 cluster info -- cluster-info-7.0-claimed.txt
reply "$(pod 0)" 6379 cluster set-config-epoch 1 -- reply-7.0-claim-refused.txt reply-7.0-claim-ok.txt
reply "$(pod 0)" 6379 cluster reset hard -- reply-7.0-reset-ok.txt"#;

/// CLUSTER MYID of pod 0: the claimed node for N calls, then the node its reset made.
fn myid_calls(n: usize) -> String {
    let mut r = vec!["cluster-myid-7.0-claimed.txt"; n];
    r.push("cluster-myid-7.0-after-reset.txt");
    format!("reply \"$(pod 0)\" 6379 cluster myid -- {}", r.join(" "))
}

/// Item 3: a claim left by a failed creator (epoch 1 on an empty pod 0, every pod empty, the
/// same node throughout the window) is taken over: RESET HARD, a fresh claim, the create.
/// (The old create_cluster gave up at once with "another creator has claimed": for ever.)
#[test]
fn a_stale_claim_is_taken_over_after_the_window() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "reconcile.sh",
        &format!(
            "{CLAIM_SETUP}\n{}\ncreate_cluster; echo \"rc=$?\"; sleeps\n\
             grep -E 'set-config-epoch|reset|--cluster create' \"$STUBS/calls\" | sed 's/^redis-cli [^ ]* [^ ]* //'",
            myid_calls(6)
        ),
    );
    // The fake redis-cli refuses `--cluster create`: rc 1, after the takeover.
    assert_eq!(
        run.out(),
        "rc=1\n4\ncluster set-config-epoch 1\ncluster reset hard\ncluster set-config-epoch 1\n\
         --cluster create 10.1.0.0:6379 10.1.0.1:6379 10.1.0.2:6379 10.1.0.3:6379 \
         10.1.0.4:6379 10.1.0.5:6379 --cluster-replicas 1 --cluster-yes",
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains("is stale after 20s: CLUSTER RESET HARD"),
        "{}",
        run.context()
    );
    // Another taker's reset landed between this one's reset and its claim: the claim is
    // refused, or pod 0's ID is no longer the one this reset made. Back off, no create.
    for (claim, myid) in [
        ("reply-7.0-claim-refused.txt", myid_calls(6)),
        (
            "reply-7.0-claim-refused.txt reply-7.0-claim-ok.txt",
            format!("{} cluster-myid-7.0-claimed.txt", myid_calls(6)),
        ),
    ] {
        let run = sh.run(
            "reconcile.sh",
            &format!(
                "{CLAIM_SETUP}\n{myid}\n\
                 reply \"$(pod 0)\" 6379 cluster set-config-epoch 1 -- {claim}\n\
                 create_cluster; echo \"rc=$?\""
            ),
        );
        assert_eq!(run.out(), "rc=2", "{claim}\n{}", run.context());
        assert!(run.calls.contains("reset hard"), "{}", run.context());
        assert!(!run.calls.contains("--cluster create"), "{}", run.context());
        assert!(
            run.stderr.contains("another creator took"),
            "{}",
            run.context()
        );
    }
}

/// A claim that moves within the window is a live creator's: respected, never reset. Pod 0
/// gains slots (the create is under way), or its node ID changes (another taker reset it).
#[test]
fn a_fresh_claim_is_respected() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for change in [
        "reply \"$(pod 0)\" 6379 cluster info -- cluster-info-7.0-claimed.txt cluster-info-7.0-claimed.txt cluster-info-7.0-ok.txt".to_string(),
        "reply \"$(pod 0)\" 6379 cluster myid -- cluster-myid-7.0-claimed.txt cluster-myid-7.0-claimed.txt cluster-myid-7.0-after-reset.txt".to_string(),
        // The last look, just before the reset, sees a new ID.
        myid_calls(5),
    ] {
        let run = sh.run(
            "reconcile.sh",
            &format!(
                "{CLAIM_SETUP}\nreply \"$(pod 0)\" 6379 cluster myid -- cluster-myid-7.0-claimed.txt\n{change}\n\
                 create_cluster; echo \"rc=$?\""
            ),
        );
        assert_eq!(run.out(), "rc=2", "{change}\n{}", run.context());
        assert!(!run.calls.contains("reset"), "{change}\n{}", run.context());
        assert!(!run.calls.contains("--cluster create"), "{}", run.context());
    }
}

/// Pod 0 (or any pod) with keys, peers or an unclean answer is never reset: the claim is not
/// stale, at the first look or at any later one.
#[test]
fn a_non_empty_pod_0_is_never_reset() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let myid = "reply \"$(pod 0)\" 6379 cluster myid -- cluster-myid-7.0-claimed.txt";
    for (change, sleeps) in [
        ("reply \"$(pod 0)\" 6379 dbsize -- dbsize-7.0-keys.txt", 0),
        ("reply \"$(pod 0)\" 6379 cluster info -- cluster-info-7.0-ok.txt", 0),
        ("reply \"$(pod 0)\" 6379 dbsize -- reply-7.0-loading.txt", 0),
        ("reply \"$(pod 0)\" 6379 cluster myid -- reply-7.0-noauth.txt", 0),
        // Epoch 0 and refused: the node knows peers (`*know*`), not a claim.
        ("reply \"$(pod 0)\" 6379 cluster info -- cluster-info-7.0-alone.txt", 0),
        (
            "reply \"$(pod 3)\" 6379 dbsize -- dbsize-7.0-zero.txt dbsize-7.0-zero.txt dbsize-7.0-keys.txt",
            2,
        ),
        (
            "reply \"$(pod 5)\" 6379 cluster info -- cluster-info-7.0-alone.txt cluster-info-7.0-alone.txt -no-answer-",
            2,
        ),
    ] {
        let run = sh.run(
            "reconcile.sh",
            &format!("{CLAIM_SETUP}\n{myid}\n{change}\ncreate_cluster; echo \"rc=$?\"; sleeps"),
        );
        assert_eq!(
            run.out(),
            format!("rc=2\n{sleeps}"),
            "{change}\n{}",
            run.context()
        );
        assert!(!run.calls.contains("reset"), "{change}\n{}", run.context());
        assert!(!run.calls.contains("--cluster create"), "{}", run.context());
    }
}

/// The takeover window is a budget of its own, longer than a creator's create budget.
#[test]
fn the_stale_claim_window_outlasts_the_create_budget() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for key in ["reconcile.sh", "start.sh"] {
        let run = sh.run(key, "echo \"$STALE_CLAIM_SECONDS $CREATE_BUDGET_SECONDS\"");
        let v: Vec<u32> = run
            .out()
            .split(' ')
            .map(|n| n.parse().expect("a number"))
            .collect();
        assert!(v[0] >= v[1] + 30, "{key}: {v:?}");
    }
}

// ---- preStop hand-overs (issue 15) -----------------------------------------------------------

/// Shared by the hand-over tests: the kept password, and `with FIXTURE FIELD VALUE`, a copy of
/// a fixture with one INFO field changed (its path), `replica_at OFFSET`, a linked replica at
/// that offset.
const HANDOVER_SETUP: &str = r#"RUNTIME_DIR=$WORK; printf 'test-password' > redis.password
with() { f="$WORK/$1.$2.$3"; sed "s/^$2:.*/$2:$3/" "$FIXTURES/$1" > "$f"; echo "$f"; }
replica_at() { with info-replication-7.0-replica-up.txt slave_repl_offset "$1"; }
failovers() { touch "$STUBS/calls"; grep -i 'failover' "$STUBS/calls" | sed 's/^redis-cli //'; }"#;

/// The cluster master of `info-replication-7.0-master-two-replicas.txt` lists two replicas.
const TWO_REPLICAS: &str = "info-replication-7.0-master-two-replicas.txt";

fn cluster_prestop(sh: &Sh, body: &str) -> Run {
    sh.run("prestop.sh", &format!("{HANDOVER_SETUP}\n{body}"))
}

/// The replica at 127.0.0.1:PORT is asked, once, for a plain CLUSTER FAILOVER.
fn asked_only(run: &Run, port: u32) {
    assert_eq!(
        run.out()
            .lines()
            .filter(|l| l.contains("failover"))
            .collect::<Vec<_>>(),
        vec![format!("127.0.0.1 {port} cluster failover")],
        "{}",
        run.context()
    );
}

#[test]
fn cluster_prestop_does_nothing_on_a_replica() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for f in [
        "info-replication-7.0-replica-up.txt",
        "info-replication-7.0-demoted.txt",
    ] {
        let run = cluster_prestop(
            &sh,
            &format!(
                "reply 127.0.0.1 6379 info replication -- {f}\nmain; echo \"rc=$?\"; failovers"
            ),
        );
        assert_eq!(run.out(), "rc=0", "{f}\n{}", run.context());
        assert_eq!(run.calls.lines().count(), 1, "{f}\n{}", run.context());
        assert!(
            run.stderr
                .contains("this node is a replica: nothing to hand over"),
            "{}",
            run.context()
        );
    }
}

/// A master without a connected replica, or whose replicas answer that their link is down or
/// that they are still syncing, or that the master lists in a state other than online.
#[test]
fn cluster_prestop_does_nothing_without_a_linked_replica() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let cases = [
        (
            "reply 127.0.0.1 6379 info replication -- info-replication-7.0-loading.txt",
            "this master has no connected replica",
        ),
        (
            "reply 127.0.0.1 6379 info replication -- TWO
             reply 127.0.0.1 30047 info replication -- info-replication-7.0-replica-down.txt
             reply 127.0.0.1 30049 info replication -- info-replication-7.0-replica-sync.txt",
            "no replica of this master has its link up",
        ),
        (
            "sed '/^slave0:/s/state=online/state=wait_bgsave/' \"$FIXTURES/TWO\" > listed.txt
             reply 127.0.0.1 6379 info replication -- \"$WORK/listed.txt\"
             reply 127.0.0.1 30047 info replication -- \"$(replica_at 1106)\"
             reply 127.0.0.1 30049 info replication -- info-replication-7.0-replica-down.txt",
            "no replica of this master has its link up",
        ),
    ];
    for (setup, why) in cases {
        let setup = setup.replace("TWO", TWO_REPLICAS);
        let run = cluster_prestop(&sh, &format!("{setup}\nmain; echo \"rc=$?\"; failovers"));
        assert_eq!(run.out(), "rc=0", "{setup}\n{}", run.context());
        assert!(run.stderr.contains(why), "{setup}\n{}", run.context());
    }
}

/// The replica with the highest replication offset, in either place of the list, is asked
/// (never the first listed by default), and the hook waits until this node is its replica and
/// it reports role master.
#[test]
fn cluster_prestop_asks_the_replica_with_the_highest_offset() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    for (first, second, chosen) in [(1000, 1106, 30049), (1106, 1000, 30047)] {
        let run = cluster_prestop(
            &sh,
            &format!(
                "reply 127.0.0.1 6379 info replication -- {TWO_REPLICAS} {TWO_REPLICAS} {TWO_REPLICAS} \
                   \"$(with info-replication-7.0-demoted.txt master_port {chosen})\"
                 reply 127.0.0.1 30047 info replication -- \"$(replica_at {first})\" info-replication-7.0-promoted.txt
                 reply 127.0.0.1 30049 info replication -- \"$(replica_at {second})\" info-replication-7.0-promoted.txt
                 reply 127.0.0.1 {chosen} cluster failover -- reply-7.0-cluster-failover-ok.txt
                 main; echo \"rc=$?\"; failovers; sleeps"
            ),
        );
        asked_only(&run, chosen);
        assert!(run.out().starts_with("rc=0\n"), "{}", run.context());
        // Two looks at a node still master, the third sees it a replica of the chosen one.
        assert!(run.out().ends_with("\n2"), "{}", run.context());
        assert!(
            run.stderr.contains("is master, this node its replica")
                && run
                    .stderr
                    .contains(&format!("127.0.0.1:{chosen} is master")),
            "{}",
            run.context()
        );
    }
}

/// Only the plain, coordinated CLUSTER FAILOVER is ever sent: a refusal or a replica that
/// does not take over in the window leads to the next candidate, once, never to FORCE or
/// TAKEOVER; and no code line of the script names them.
#[test]
fn cluster_prestop_never_forces_a_failover() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let common = concat!(
        "reply 127.0.0.1 30047 info replication -- \"$(replica_at 1106)\"\n",
        "reply 127.0.0.1 30049 info replication -- \"$(replica_at 1000)\" info-replication-7.0-promoted.txt\n",
        "reply 127.0.0.1 30049 cluster failover -- reply-7.0-cluster-failover-ok.txt"
    );
    // 30047 accepts but never takes over; 30049 then does.
    let run = cluster_prestop(
        &sh,
        &format!(
            "{common}
             reply 127.0.0.1 30047 cluster failover -- reply-7.0-cluster-failover-ok.txt
             MANUAL_FAILOVER_SECONDS=1
             reply 127.0.0.1 6379 info replication -- {TWO_REPLICAS} {TWO_REPLICAS} {TWO_REPLICAS} \
               {TWO_REPLICAS} {TWO_REPLICAS} {TWO_REPLICAS} \"$(with info-replication-7.0-demoted.txt master_port 30049)\"
             main; echo \"rc=$?\"; failovers"
        ),
    );
    assert_eq!(
        run.out(),
        "rc=0\n127.0.0.1 30047 cluster failover\n127.0.0.1 30049 cluster failover",
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains("127.0.0.1:30047 did not take over within 1s"),
        "{}",
        run.context()
    );
    assert!(run.stderr.contains("hand-over done"), "{}", run.context());
    // 30047 refuses; 30049 accepts but this node stays master: two plain requests, no more.
    let run = cluster_prestop(
        &sh,
        &format!(
            "{common}
             reply 127.0.0.1 30047 cluster failover -- reply-7.0-cluster-failover-to-master.txt
             reply 127.0.0.1 6379 info replication -- {TWO_REPLICAS}
             main; echo \"rc=$?\"; failovers; sleeps"
        ),
    );
    assert_eq!(
        run.out(),
        "rc=0\n127.0.0.1 30047 cluster failover\n127.0.0.1 30049 cluster failover\n30",
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains("refused CLUSTER FAILOVER: ERR You should send"),
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains("no replica took over"),
        "{}",
        run.context()
    );
    for line in sh.text("prestop.sh").lines() {
        let code = line.split('#').next().unwrap().to_lowercase();
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        assert!(
            !words.contains(&"force") && !words.contains(&"takeover"),
            "{line}"
        );
    }
}

/// Any reply that cannot be read stops the hook without a hand-over: this node's own, a
/// replica's (it may be the most up-to-date one), or a replica list that does not match its
/// count. None of them is taken for "no replicas".
#[test]
fn cluster_prestop_never_hands_over_on_an_unreadable_reply() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let mut cases: Vec<(String, &str)> = Vec::new();
    for bad in UNCLEAN {
        cases.push((
            format!("reply 127.0.0.1 6379 info replication -- {bad}"),
            "cannot tell whether this node is a master with replicas",
        ));
        cases.push((
            format!(
                "reply 127.0.0.1 6379 info replication -- {TWO_REPLICAS}
                 reply 127.0.0.1 30047 info replication -- \"$(replica_at 1106)\"
                 reply 127.0.0.1 30049 info replication -- {bad}"
            ),
            "cannot tell which replica should take over: replica 127.0.0.1:30049 answered",
        ));
    }
    cases.push((
        format!(
            "sed '/^slave1:/d' \"$FIXTURES/{TWO_REPLICAS}\" > listed.txt
             reply 127.0.0.1 6379 info replication -- \"$WORK/listed.txt\"
             reply 127.0.0.1 30047 info replication -- \"$(replica_at 1106)\""
        ),
        "lists its replicas in a form that cannot be read",
    ));
    for (setup, why) in cases {
        let run = cluster_prestop(
            &sh,
            &format!(
                "{setup}
                 reply 127.0.0.1 30047 cluster failover -- reply-7.0-cluster-failover-ok.txt
                 reply 127.0.0.1 30049 cluster failover -- reply-7.0-cluster-failover-ok.txt
                 main; echo \"rc=$?\"; failovers"
            ),
        );
        assert_eq!(run.out(), "rc=0", "{setup}\n{}", run.context());
        assert!(run.stderr.contains(why), "{setup}\n{}", run.context());
        assert!(
            run.stderr.contains("stopping without a hand-over"),
            "{}",
            run.context()
        );
    }
}

/// Sentinel mode: pod 0 is the master of `info-replication-7.0-master-two-named-replicas.txt`
/// (offset 52), whose replicas are pods 1 and 2 (ports 30052 and 30053 in that capture).
const SENTINEL_HANDOVER: &str = r#"R1=$(pod 1); R2=$(pod 2)
reply 127.0.0.1 6379 info replication -- info-replication-7.0-master-two-named-replicas.txt
reply 127.0.0.1 6379 client pause $((WRITE_PAUSE_SECONDS * 1000)) write -- reply-7.0-client-pause-ok.txt
reply 127.0.0.1 6379 client unpause -- reply-7.0-client-unpause-ok.txt
reply 127.0.0.1 6379 config get repl-ping-replica-period -- reply-7.0-config-get-repl-ping-replica-period.txt
reply 127.0.0.1 6379 config set repl-ping-replica-period 2147483647 -- reply-7.0-config-set-ok.txt
reply 127.0.0.1 6379 config set repl-ping-replica-period 10 -- reply-7.0-config-set-ok.txt
reply "$R1" 30052 info replication -- "$(replica_at 52)"
reply "$R2" 30053 info replication -- "$(replica_at 52)"
printf '%s\n6379\n' "$R1" > new-master.txt
printf '%s\n6379\n' "$(pod 0)" > old-master.txt
reply "$R1" 26379 sentinel failover mymaster -- sentinel-failover-7.0-ok.txt
reply "$R1" 26379 sentinel get-master-addr-by-name mymaster -- "$WORK/old-master.txt" "$WORK/new-master.txt""#;

fn sentinel_prestop(sh: &Sh, body: &str) -> Run {
    sh.run_env(
        "prestop.sh",
        &format!(
            "{HANDOVER_SETUP}\n{SENTINEL_HANDOVER}\n{body}\nmain; echo \"rc=$?\"\n\
             grep -n -E 'client|config|failover mymaster|info replication' \"$STUBS/calls\" | \
             sed -e 's/redis-cli //' -e 's/\\.redis-sentinel-headless[^ ]*//'"
        ),
        &[("POD_NAME", "redis-sentinel-0")],
    )
}

/// The calls of a Sentinel preStop run, numbered, shortened to `N:HOST PORT COMMAND`.
fn calls_of(run: &Run) -> Vec<String> {
    let mut lines = run.out().lines();
    assert_eq!(lines.next(), Some("rc=0"), "{}", run.context());
    lines.map(str::to_string).collect()
}

fn position(calls: &[String], what: &str) -> Option<usize> {
    calls.iter().position(|c| c.contains(what))
}

/// Writes are paused first; then every replica is asked for its offset; then the failover;
/// and on success the pause stays.
#[test]
fn sentinel_prestop_pauses_writes_before_the_failover() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let run = sentinel_prestop(&sh, "");
    let calls = calls_of(&run);
    let pause = position(&calls, "client pause").expect("a pause");
    let failover = position(&calls, "sentinel failover").expect("a failover");
    let r1 = position(&calls, "redis-sentinel-1 30052 info replication").expect("pod 1 asked");
    let r2 = position(&calls, "redis-sentinel-2 30053 info replication").expect("pod 2 asked");
    assert!(
        pause < r1 && pause < r2 && r1 < failover && r2 < failover,
        "{calls:#?}"
    );
    assert!(
        calls[pause].ends_with(&format!("client pause {} write", 60 * 1000)),
        "{calls:#?}"
    );
    assert_eq!(position(&calls, "unpause"), None, "{}", run.context());
    assert!(run.stderr.contains("failover done"), "{}", run.context());
    assert!(
        run.stderr.contains("writes stay paused"),
        "{}",
        run.context()
    );
}

/// A replica behind the paused master's offset, one that is not online, or one that does not
/// answer cleanly: no failover is asked for, and the pause ends. A replica that catches up
/// within the budget is waited for.
#[test]
fn sentinel_prestop_asks_for_no_failover_until_every_replica_caught_up() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let mut cases = vec![
        (
            "reply \"$R2\" 30053 info replication -- \"$(replica_at 40)\"".to_string(),
            "is at offset 40, this master at 52",
        ),
        (
            "sed '/^slave1:/s/state=online/state=send_bulk/' \
             \"$FIXTURES/info-replication-7.0-master-two-named-replicas.txt\" > listed.txt
             reply 127.0.0.1 6379 info replication -- \"$WORK/listed.txt\""
                .to_string(),
            "is send_bulk",
        ),
        (
            "reply \"$R2\" 30053 info replication -- info-replication-7.0-replica-down.txt"
                .to_string(),
            "its link to the master is down",
        ),
    ];
    for bad in UNCLEAN {
        cases.push((
            format!("reply \"$R2\" 30053 info replication -- {bad}"),
            "answered",
        ));
    }
    for (setup, why) in cases {
        let run = sentinel_prestop(&sh, &format!("{setup}\nCATCH_UP_SECONDS=1"));
        let calls = calls_of(&run);
        assert_eq!(
            position(&calls, "sentinel failover"),
            None,
            "{setup}\n{calls:#?}"
        );
        let pause = position(&calls, "client pause").expect("a pause");
        let unpause = position(&calls, "client unpause").expect("an unpause");
        assert!(pause < unpause, "{calls:#?}");
        assert!(run.stderr.contains("did not catch up"), "{}", run.context());
        assert!(run.stderr.contains(why), "{setup}\n{}", run.context());
    }
    // Behind twice, then caught up: the failover follows.
    let run = sentinel_prestop(
        &sh,
        "reply \"$R2\" 30053 info replication -- \"$(replica_at 40)\" \"$(replica_at 40)\" \"$(replica_at 52)\"",
    );
    let calls = calls_of(&run);
    assert!(
        position(&calls, "sentinel failover").is_some(),
        "{}",
        run.context()
    );
    assert_eq!(position(&calls, "unpause"), None, "{}", run.context());
    assert!(
        run.stderr
            .contains("every replica is at this master's offset 52"),
        "{}",
        run.context()
    );
}

/// No Sentinel accepts the failover, or it does not finish within the budget: the pause ends.
#[test]
fn sentinel_prestop_unpauses_when_the_failover_does_not_happen() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    for (setup, why) in [
        (
            "for i in 1 2; do reply \"$(pod $i)\" 26379 sentinel failover mymaster -- sentinel-failover-7.0-in-progress.txt; done",
            "no Sentinel accepted a failover",
        ),
        (
            "reply \"$R1\" 26379 sentinel failover mymaster -- -no-answer-",
            "no Sentinel accepted a failover",
        ),
    ] {
        let run = sentinel_prestop(&sh, setup);
        let calls = calls_of(&run);
        let pause = position(&calls, "client pause").expect("a pause");
        let unpause = position(&calls, "client unpause").expect("an unpause");
        assert!(pause < unpause, "{calls:#?}");
        assert!(run.stderr.contains(why), "{setup}\n{}", run.context());
        assert!(run.stderr.contains("writes unpaused"), "{}", run.context());
        // The replica pings held for the pause come back with the unpause.
        let restored = position(&calls, "config set repl-ping-replica-period 10")
            .expect("the ping period restored");
        assert!(pause < restored, "{calls:#?}");
    }
}

/// A paused master still pings its replicas; a ping that reaches one replica but not the one
/// promoted puts them at different offsets and forces a full resync. So the pings are held
/// (the period raised) before the pause, and stay held when the hand-over succeeds.
#[test]
fn sentinel_prestop_holds_replica_pings_through_the_pause() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let run = sentinel_prestop(&sh, "");
    let calls = calls_of(&run);
    let held =
        position(&calls, "config set repl-ping-replica-period 2147483647").expect("the pings held");
    let pause = position(&calls, "client pause").expect("a pause");
    let failover = position(&calls, "sentinel failover").expect("a failover");
    assert!(held < pause && pause < failover, "{calls:#?}");
    assert_eq!(
        position(&calls, "config set repl-ping-replica-period 10"),
        None,
        "{calls:#?}"
    );
}

/// Once a Sentinel took the failover, or may have taken it (no answer within the call's
/// timeout), the pause stays whatever follows: a write the old master took now could miss
/// the replica being promoted. And no second Sentinel is asked after a silent one.
#[test]
fn sentinel_prestop_keeps_the_pause_once_a_failover_may_be_under_way() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    for (setup, why) in [
        (
            "reply \"$R1\" 26379 sentinel get-master-addr-by-name mymaster -- \"$WORK/old-master.txt\"
             PRESTOP_WAIT_SECONDS=4",
            "the failover did not finish within 4s",
        ),
        (
            "reply \"$R1\" 26379 sentinel failover mymaster -- -hang-
             reply \"$R2\" 26379 sentinel failover mymaster -- sentinel-failover-7.0-ok.txt
             reply \"$R1\" 26379 sentinel get-master-addr-by-name mymaster -- \"$WORK/old-master.txt\"
             PRESTOP_WAIT_SECONDS=8",
            "may have taken the failover, so no other is asked",
        ),
    ] {
        let run = sentinel_prestop(&sh, setup);
        let calls = calls_of(&run);
        assert!(position(&calls, "client pause").is_some(), "{calls:#?}");
        assert_eq!(position(&calls, "client unpause"), None, "{setup}\n{calls:#?}");
        assert_eq!(
            calls.iter().filter(|c| c.contains("sentinel failover")).count(),
            1,
            "{calls:#?}"
        );
        assert!(run.stderr.contains(why), "{setup}\n{}", run.context());
        assert!(
            run.stderr.contains("writes stay paused until Redis stops"),
            "{}",
            run.context()
        );
    }
}

/// The hand-over budgets are `NAME_SECONDS=` lines, as every other wait budget.
#[test]
fn prestop_budgets_are_named_at_the_top() {
    for (profile, names) in [
        (
            CLUSTER,
            &["PRESTOP_WAIT_SECONDS", "MANUAL_FAILOVER_SECONDS"][..],
        ),
        (
            SENTINEL,
            &[
                "PRESTOP_WAIT_SECONDS",
                "CATCH_UP_SECONDS",
                "WRITE_PAUSE_SECONDS",
            ][..],
        ),
    ] {
        let Some(sh) = Sh::new(profile) else { return };
        let text = sh.text("prestop.sh");
        let top: Vec<&str> = text.lines().take_while(|l| !l.contains("() ")).collect();
        for name in names {
            assert!(
                top.iter().any(|l| l
                    .strip_prefix(&format!("{name}="))
                    .is_some_and(|v| v.parse::<u32>().is_ok())),
                "{profile}: {name}"
            );
        }
    }
}

// ---- The reconcile Job's reading of the cluster (issue 12) -----------------------------------

/// CLUSTER NODES becomes one line per node: ordinal, ID, role, master, slot count, open slots
/// and health. A migration in flight is `open`, not ownership; a failed or address-less node
/// is not `ok`; a slot range counts all its slots.
#[test]
fn the_reconcile_table_reads_roles_slots_migrations_and_health() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "reconcile.sh",
        r#"for s in '0-5460' '5461 [100-<-0cf5]' '[100->-c1b5]' '' '1 3 7-9'; do slot_count "$s"; done
        for f in migrating failed-over; do
          node_table < "$FIXTURES/cluster-nodes-7.0-$f.txt" | sort | cut -c1-4,43-
        done
        host_ordinal "redis-cluster-12.redis-cluster-headless.redis.svc.cluster.local"
        host_ordinal "other-3.redis-cluster-headless.redis.svc.cluster.local"
        host_ordinal "redis-cluster-x.redis-cluster-headless.redis.svc.cluster.local"
        echo end"#,
    );
    let want = "5461\n1\n0\n0\n5\n\
        0 08 master - 5461 open ok\n1 9d master - 5462 closed ok\n\
        2 88 master - 5461 closed ok\n3 61 replica 8876e540a7a7e00801dd67adc1a719a9e3012174 0 closed ok\n\
        4 93 replica 086ca549aa36682d5f533b6cfc7db250da7bc8fd 0 closed ok\n\
        5 9e replica 9df0d4453f2092975a0dbead0035705679342c4c 0 closed ok\n\
        0 08 master - 5461 closed ok\n1 9d master - 5462 closed ok\n\
        2 88 master - 0 closed fail\n3 61 master - 5461 closed ok\n\
        4 93 replica 086ca549aa36682d5f533b6cfc7db250da7bc8fd 0 closed fail\n\
        4 de master - 0 closed ok\n\
        5 9e replica 9df0d4453f2092975a0dbead0035705679342c4c 0 closed noaddr\n12\nend";
    assert_eq!(run.out(), want, "{}", run.context());
}

/// The masters kept: those with the most slots on member pods, then slot-less members by
/// ordinal; a master on a retiring pod is never chosen. SHORT counts what is missing.
#[test]
fn the_reconcile_job_keeps_the_fullest_member_masters() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let table = "0 a0 master - 4000 closed ok\n1 a1 master - 4000 closed ok\n\
                 2 a2 master - 4192 closed ok\n6 a6 master - 4192 closed ok\n\
                 3 a3 replica a0 0 closed ok\n4 a4 master - 0 closed ok\n\
                 5 a5 master - 0 closed ok";
    let run = sh.run(
        "reconcile.sh",
        &format!(
            r#"TABLE='{table}'
        MEMBERS=6 MASTERS=3; choose_masters; echo $CHOSEN short=$SHORT
        MEMBERS=6 MASTERS=5; choose_masters; echo $CHOSEN short=$SHORT
        MEMBERS=6 MASTERS=6; choose_masters; echo $CHOSEN short=$SHORT
        MEMBERS=6 MASTERS=3; slot_masters | cut -d' ' -f1 | tr '\n' ' '; echo
        node_field a3 4; echo; ordinal_of a6; echo; id_of 5; echo"#
        ),
    );
    assert_eq!(
        run.out(),
        "a2 a0 a1 short=0\na2 a0 a1 a4 a5 short=0\na2 a0 a1 a4 a5 short=1\n0 1 2 6 \na0\n6\na5",
        "{}",
        run.context()
    );
}

/// A member the cluster does not list is added only when it answers cleanly empty: an unclean
/// answer (NOAUTH) stops the Job for a retry, never taken for an empty node to add.
#[test]
fn the_reconcile_job_adds_only_cleanly_empty_pods() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let setup = r#"TABLE=$(node_table < "$FIXTURES/cluster-nodes-7.0-formed.txt")
        MEMBERS=7 PODS=7
        reply "$(pod 6)" 6379 cluster info -- cluster-info-7.0-alone.txt"#;
    let run = sh.run(
        "reconcile.sh",
        &format!("{setup}\nreply \"$(pod 6)\" 6379 dbsize -- dbsize-7.0-zero.txt\nnew_members"),
    );
    assert_eq!((run.code, run.out()), (0, "6"), "{}", run.context());
    let run = sh.run(
        "reconcile.sh",
        &format!("{setup}\nreply \"$(pod 6)\" 6379 dbsize -- reply-7.0-noauth.txt\nnew_members"),
    );
    assert_eq!(run.code, 1, "{}", run.context());
    assert!(run.out().is_empty(), "{}", run.context());
    assert!(
        run.stderr.contains("is not in the cluster and not empty"),
        "{}",
        run.context()
    );
}

// ---- The Sentinel reconcile Job: forget removed pods, one Sentinel at a time (issue 12) -----

/// The key/value pairs of a flattened redis-cli reply, grouped into entries at each `name`.
fn reply_entries(text: &str) -> Vec<Vec<(String, String)>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut entries: Vec<Vec<(String, String)>> = Vec::new();
    for pair in lines.chunks(2) {
        let [key, value] = pair else { break };
        if *key == "name" || entries.is_empty() {
            entries.push(Vec::new());
        }
        entries
            .last_mut()
            .unwrap()
            .push((key.to_string(), value.to_string()));
    }
    entries
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(shell_dir().join("fixtures").join(name)).unwrap()
}

/// A reply in the form of the real FIXTURE's first entry, once per (KEY, VALUE) set of
/// ENTRIES with those values replaced.
fn reply_like(fixture_name: &str, entries: &[Vec<(&str, String)>]) -> String {
    let template = reply_entries(&fixture(fixture_name)).remove(0);
    let mut out = String::new();
    for values in entries {
        for (key, value) in &template {
            let v = values
                .iter()
                .find(|(k, _)| k == key)
                .map_or(value.as_str(), |(_, v)| v.as_str());
            out += &format!("{key}\n{v}\n");
        }
    }
    if entries.is_empty() {
        out = "\n".into(); // an empty list, as redis-cli prints it
    }
    out
}

/// SENTINEL REPLICAS listing pods (ordinal, flags), as the real 7.0 reply lists 127.0.0.1.
fn replicas_reply(entries: &[(u32, &str)]) -> String {
    let e: Vec<_> = entries
        .iter()
        .map(|(i, flags)| {
            vec![
                ("name", format!("{}:6379", sentinel_pod(*i))),
                ("ip", sentinel_pod(*i)),
                ("port", "6379".to_string()),
                ("flags", flags.to_string()),
            ]
        })
        .collect();
    reply_like("sentinel-replicas-7.0-two.txt", &e)
}

/// SENTINEL SENTINELS listing the Sentinels of pods (ordinal, flags).
fn sentinels_reply(entries: &[(u32, &str)]) -> String {
    let e: Vec<_> = entries
        .iter()
        .map(|(i, flags)| {
            let runid = format!("{i:0>40}");
            vec![
                ("name", runid.clone()),
                ("runid", runid),
                ("ip", sentinel_pod(*i)),
                ("port", "26379".to_string()),
                ("flags", flags.to_string()),
            ]
        })
        .collect();
    reply_like("sentinel-sentinels-7.0-two.txt", &e)
}

/// SENTINEL MASTER naming pod 0 master, with QUORUM and FLAGS.
fn master_reply(quorum: u32, flags: &str) -> String {
    reply_like(
        "sentinel-master-7.0-ok.txt",
        &[vec![
            ("ip", sentinel_pod(0)),
            ("port", "6379".to_string()),
            ("flags", flags.to_string()),
            ("quorum", quorum.to_string()),
        ]],
    )
}

/// One Sentinel's replies, call after call (the last repeats), as the fake redis-cli takes
/// them: (command, replies).
struct SentinelReplies {
    ordinal: u32,
    master: Vec<String>,
    replicas: Vec<String>,
    sentinels: Vec<String>,
}

impl SentinelReplies {
    /// A Sentinel of the `sentinel` profile (3 pods, master pod 0) that matches.
    fn matching(ordinal: u32) -> SentinelReplies {
        let others: Vec<(u32, &str)> = (0..3)
            .filter(|&i| i != ordinal)
            .map(|i| (i, "sentinel"))
            .collect();
        SentinelReplies {
            ordinal,
            master: vec![master_reply(2, "master")],
            replicas: vec![replicas_reply(&[(1, "slave"), (2, "slave")])],
            sentinels: vec![sentinels_reply(&others)],
        }
    }

    fn stubs(&self, sh: &Sh) -> String {
        let mut body = String::new();
        for (what, replies) in [
            ("master", &self.master),
            ("replicas", &self.replicas),
            ("sentinels", &self.sentinels),
        ] {
            let files: Vec<String> = replies
                .iter()
                .enumerate()
                .map(|(n, text)| {
                    if text.starts_with('-') || text.ends_with(".txt") {
                        return text.clone(); // -no-answer-, -hang-, or a fixture
                    }
                    let path = sh
                        .path()
                        .join(format!("reply-{}-{what}-{n}.txt", self.ordinal));
                    std::fs::write(&path, text).unwrap();
                    path.display().to_string()
                })
                .collect();
            body += &format!(
                "reply \"$(pod {})\" 26379 sentinel {what} mymaster -- {}\n",
                self.ordinal,
                files.join(" ")
            );
        }
        body += &format!(
            "reply \"$(pod {})\" 26379 sentinel reset mymaster -- sentinel-reset-7.0-one.txt\n\
             reply \"$(pod {})\" 26379 sentinel set mymaster quorum 2 -- sentinel-set-7.0-ok.txt\n",
            self.ordinal, self.ordinal
        );
        body
    }
}

/// Runs the Job's per-Sentinel step (and the quorum step) over the three Sentinels.
fn sentinel_reconcile(sentinels: &[SentinelReplies], then: &str) -> Run {
    let sh = Sh::new(SENTINEL).expect("dash");
    // The clock is the number of sleeps so far: the waits end after REDISCOVER_SECONDS sleeps.
    let mut body = String::from("REDISCOVER_SECONDS=2\nnow() { sleeps; }\n");
    for s in sentinels {
        body += &s.stubs(&sh);
    }
    body += &format!(
        "(check_topology; for i in 0 1 2; do reconcile_sentinel \"$(pod $i)\"; done; {then}); echo \"rc=$?\"\n\
         grep -E 'sentinel (replicas|reset|set)' \"$STUBS/calls\" | sed -e 's/redis-cli //' -e 's/\\.redis-sentinel-headless[^ ]*//'"
    );
    sh.run("reconcile.sh", &body)
}

/// After a scale-down from 5 pods to 3: the Sentinel of pod 0 still lists the removed pod 3's
/// replica (s_down) and pod 1's the removed pod 4's Sentinel. Each is reset in turn, and pod
/// 1's reset waits until pod 0 lists exactly the live pods again (its second answer after the
/// reset); pod 2's Sentinel matches and is left alone.
#[test]
fn sentinels_that_know_removed_pods_are_reset_one_at_a_time() {
    if !dash_available() {
        return;
    }
    let live = || replicas_reply(&[(1, "slave"), (2, "slave")]);
    let mut p0 = SentinelReplies::matching(0);
    p0.replicas = vec![
        replicas_reply(&[(1, "slave"), (2, "slave"), (3, "s_down,slave,disconnected")]),
        replicas_reply(&[(1, "slave")]), // rediscovering
        live(),
    ];
    p0.sentinels = vec![
        sentinels_reply(&[(1, "sentinel"), (2, "sentinel")]),
        sentinels_reply(&[]),
        sentinels_reply(&[(1, "sentinel"), (2, "sentinel")]),
    ];
    let mut p1 = SentinelReplies::matching(1);
    p1.sentinels = vec![
        sentinels_reply(&[(0, "sentinel"), (2, "sentinel"), (4, "sentinel")]),
        sentinels_reply(&[(0, "sentinel"), (2, "sentinel")]),
    ];
    let p2 = SentinelReplies::matching(2);
    let run = sentinel_reconcile(&[p0, p1, p2], "set_quorum");
    let calls: Vec<&str> = run.out().lines().collect();
    assert_eq!(calls.first(), Some(&"rc=0"), "{}", run.context());
    let resets: Vec<usize> = (0..calls.len())
        .filter(|&n| calls[n].contains("reset"))
        .collect();
    assert_eq!(resets.len(), 2, "{}", run.context());
    assert!(
        calls[resets[0]].starts_with("redis-sentinel-0 "),
        "{calls:#?}"
    );
    assert!(
        calls[resets[1]].starts_with("redis-sentinel-1 "),
        "{calls:#?}"
    );
    // Pod 0 asked three times (before, rediscovering, rediscovered) before pod 1 is reset.
    let p0_asked: Vec<usize> = (0..calls.len())
        .filter(|&n| calls[n].starts_with("redis-sentinel-0 26379 sentinel replicas"))
        .collect();
    assert!(p0_asked.len() >= 3 && p0_asked[2] < resets[1], "{calls:#?}");
    assert!(
        run.stderr.contains("redis-sentinel-3.") && run.stderr.contains("(removed pod)"),
        "{}",
        run.context()
    );
    assert!(run.stderr.contains("rediscovered"), "{}", run.context());
    assert!(
        run.stderr
            .contains("redis-sentinel-2.redis-sentinel-headless.redis.svc.cluster.local matches"),
        "{}",
        run.context()
    );
    assert!(
        !run.out().contains(" set "),
        "quorum already 2\n{}",
        run.context()
    );
}

/// A reconciled deployment: a re-run resets nothing and sets nothing.
#[test]
fn a_reconciled_deployment_is_left_alone() {
    if !dash_available() {
        return;
    }
    let run = sentinel_reconcile(
        &[
            SentinelReplies::matching(0),
            SentinelReplies::matching(1),
            SentinelReplies::matching(2),
        ],
        "set_quorum",
    );
    assert_eq!(run.out().lines().next(), Some("rc=0"), "{}", run.context());
    assert!(
        !run.out().contains("reset") && !run.out().contains(" set "),
        "{}",
        run.context()
    );
    assert_eq!(
        run.stderr.matches(" matches: ").count(),
        3,
        "{}",
        run.context()
    );
}

/// A quorum that differs is set, on that Sentinel only.
#[test]
fn a_differing_quorum_is_set() {
    if !dash_available() {
        return;
    }
    let mut p1 = SentinelReplies::matching(1);
    p1.master = vec![master_reply(3, "master")];
    let run = sentinel_reconcile(
        &[
            SentinelReplies::matching(0),
            p1,
            SentinelReplies::matching(2),
        ],
        "set_quorum",
    );
    let calls: Vec<&str> = run.out().lines().collect();
    assert_eq!(calls[0], "rc=0", "{}", run.context());
    let sets: Vec<&&str> = calls.iter().filter(|c| c.contains(" set ")).collect();
    assert_eq!(
        sets,
        [&"redis-sentinel-1 26379 sentinel set mymaster quorum 2"],
        "{}",
        run.context()
    );
}

/// A Sentinel whose lists give no clean answer (NOAUTH, LOADING, no answer, ...) is neither
/// "matches" nor "stale": the Job waits, resets nothing, and exits 1 for a retry. So is one
/// that sees the master down (a failover may be under way).
#[test]
fn an_unclean_sentinel_answer_is_never_matches_nor_reset() {
    if !dash_available() {
        return;
    }
    let mut cases: Vec<(String, SentinelReplies)> = Vec::new();
    for bad in UNCLEAN {
        let mut s = SentinelReplies::matching(0);
        s.replicas = vec![bad.to_string()];
        cases.push((format!("replicas {bad}"), s));
        let mut s = SentinelReplies::matching(0);
        s.sentinels = vec![bad.to_string()];
        cases.push((format!("sentinels {bad}"), s));
        let mut s = SentinelReplies::matching(0);
        s.master = vec![bad.to_string()];
        cases.push((format!("master {bad}"), s));
    }
    let mut s = SentinelReplies::matching(0);
    s.master = vec![master_reply(2, "s_down,o_down,master")];
    s.replicas = vec![replicas_reply(&[
        (1, "slave"),
        (2, "slave"),
        (3, "s_down,slave"),
    ])];
    cases.push(("master down".into(), s));
    for (what, s) in cases {
        let run = sentinel_reconcile(&[s], "");
        assert_eq!(
            run.out().lines().next(),
            Some("rc=1"),
            "{what}\n{}",
            run.context()
        );
        assert!(!run.out().contains("reset"), "{what}\n{}", run.context());
        assert!(
            run.stderr
                .contains("is not reconciled after 2s and was not reset"),
            "{what}\n{}",
            run.context()
        );
    }
}

/// peer_list: a clean empty list is empty; no answer, an error or a cut entry is `unknown`.
#[test]
fn sentinel_peer_lists_tell_empty_from_no_answer() {
    let Some(sh) = Sh::new(SENTINEL) else { return };
    let mut body = String::new();
    for f in [
        "sentinel-replicas-7.0-two.txt",
        "sentinel-sentinels-7.0-one-sdown.txt",
        "sentinel-replicas-7.0-none.txt",
        "sentinel-no-such-master-7.0.txt",
        "sentinel-noauth-7.0.txt",
        "-no-answer-",
    ] {
        body += &format!(
            "reply h 26379 sentinel replicas mymaster -- {f}\necho \"[$(peer_list h replicas)]\"\n"
        );
    }
    body += "reply h 26379 sentinel replicas mymaster -- '=name' '=x'\necho \"[$(peer_list h replicas)]\"\n";
    let run = sh.run("reconcile.sh", &body);
    assert_eq!(
        run.out(),
        "[127.0.0.1 slave\n127.0.0.1 slave]\n[127.0.0.1 sentinel\n127.0.0.1 s_down,sentinel,disconnected]\n\
         []\n[unknown]\n[unknown]\n[unknown]\n[unknown]",
        "{}",
        run.context()
    );
}

/// The open slots of an interrupted move show only in the two nodes' own views, which
/// `redis-cli --cluster check` collects: its report (real, with its colour codes) is what the
/// Job reads. A healthy report has no open slot and agreeing nodes; no report is neither.
#[test]
fn the_reconcile_job_reads_open_slots_and_agreement_from_cluster_check() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let run = sh.run(
        "reconcile.sh",
        r#"for f in ok open-slot; do
          CHECK_OUT=$(cat "$FIXTURES/cluster-check-7.0-$f.txt")
          if has_open_slots; then echo "$f open"; else echo "$f closed"; fi
          if nodes_agree; then echo "$f agree"; else echo "$f differ"; fi
        done
        CHECK_OUT="Could not connect to Redis at 10.1.0.1:6379: Connection refused"
        if has_open_slots; then echo "none open"; else echo "none closed"; fi
        if nodes_agree; then echo "none agree"; else echo "none differ"; fi"#,
    );
    assert_eq!(
        run.out(),
        "ok closed\nok agree\nopen-slot open\nopen-slot agree\nnone closed\nnone differ",
        "{}",
        run.context()
    );
}

/// Retiring: a node that still owns slots is never reset or forgotten; one the members no
/// longer list but that still holds keys (a run killed between its forgets and its reset, in
/// the order of an earlier version) is reset; the reset comes before any FORGET.
#[test]
fn retire_resets_before_forgetting_and_never_touches_a_slot_owner() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let setup = r#"MEMBERS=5 PODS=6 RETIRING=1 SETTLE_BUDGET_SECONDS=10
        for i in 0 1 2 3 4; do
          reply "$(pod $i)" 6379 cluster nodes -- cluster-nodes-7.0-formed.txt
          reply "$(pod $i)" 6379 cluster forget 9e1de2a49b7fb5342c54a83925762f226a82d56f -- =OK
        done
        reply "$(pod 5)" 6379 cluster reset hard -- reply-7.0-loading.txt =OK
        reply "$(pod 5)" 6379 cluster info -- cluster-info-7.0-alone.txt
        reply "$(pod 5)" 6379 dbsize -- dbsize-7.0-zero.txt"#;
    // Pod 5 (a replica in the fixture) retires: LOADING first, then OK; then the forgets.
    let run = sh.run(
        "reconcile.sh",
        &format!("{setup}\nTABLE=$(node_table < \"$FIXTURES/cluster-nodes-7.0-formed.txt\")\nsnapshot() {{ TABLE=$(node_table < \"$FIXTURES/cluster-nodes-7.0-pod5-alone.txt\" | grep -v .); REF_HOST=$(pod 0); }}\nretire"),
    );
    assert_eq!(run.code, 0, "{}", run.context());
    let calls: Vec<&str> = run
        .calls
        .lines()
        .filter(|l| l.contains("reset") || l.contains("forget"))
        .collect();
    assert_eq!(calls.len(), 2 + 5, "{}", run.context());
    assert!(calls[0].ends_with("cluster reset hard") && calls[1].ends_with("cluster reset hard"));
    assert!(calls[2..]
        .iter()
        .all(|c| c.contains("cluster forget 9e1de2a4")));
    // A retiring master that owns slots: nothing is reset or forgotten.
    let run = sh.run(
        "reconcile.sh",
        &format!("{setup}\nMEMBERS=2 PODS=3\nTABLE=$(node_table < \"$FIXTURES/cluster-nodes-7.0-formed.txt\")\nretire"),
    );
    assert_eq!(run.code, 1, "{}", run.context());
    assert!(
        run.stderr.contains("still owns 5461 slots"),
        "{}",
        run.context()
    );
    assert!(
        !run.calls.contains("reset") && !run.calls.contains("forget"),
        "{}",
        run.context()
    );
}

/// A retiring master whose replica is retiring too (kept with `cluster-allow-replica-migration
/// no`): that replica cannot forget its master ("Can't forget my master!"), and need not: its
/// own reset forgets every node. A member refusing the same stops the Job.
#[test]
fn a_retiring_replica_may_refuse_to_forget_its_retiring_master() {
    let Some(sh) = Sh::new(CLUSTER) else { return };
    let fixture = "cluster-nodes-7.0-retiring-master-with-replica.hand.txt";
    let run = sh.run(
        "reconcile.sh",
        &format!(
            r#"MEMBERS=4 PODS=6 RETIRING=2 SETTLE_BUDGET_SECONDS=10
        TABLE=$(node_table < "$FIXTURES/{fixture}")
        for i in 0 1 2 3; do
          reply "$(pod $i)" 6379 cluster forget 93882e1b610ceb9245999227765f12f50465d0b8 -- =OK
          reply "$(pod $i)" 6379 cluster forget 9e1de2a49b7fb5342c54a83925762f226a82d56f -- =OK
        done
        reply "$(pod 5)" 6379 cluster forget 93882e1b610ceb9245999227765f12f50465d0b8 -- "=ERR Can't forget my master!"
        reply "$(pod 4)" 6379 cluster forget 9e1de2a49b7fb5342c54a83925762f226a82d56f -- "=ERR Unknown node 9e1de2a49b7fb5342c54a83925762f226a82d56f"
        for i in 4 5; do
          reply "$(pod $i)" 6379 cluster reset hard -- =OK
          reply "$(pod $i)" 6379 cluster info -- cluster-info-7.0-alone.txt
          reply "$(pod $i)" 6379 dbsize -- dbsize-7.0-zero.txt
        done
        snapshot() {{ REF_HOST=$(pod 0); }}
        retire"#
        ),
    );
    assert_eq!(run.code, 0, "{}", run.context());
    assert_eq!(
        run.calls.matches("cluster reset hard").count(),
        2,
        "{}",
        run.context()
    );
    // A member that refuses is not a retiring replica: the Job stops.
    let run = sh.run(
        "reconcile.sh",
        &format!(
            r#"MEMBERS=4 PODS=6 RETIRING=2 SETTLE_BUDGET_SECONDS=10
        TABLE=$(node_table < "$FIXTURES/{fixture}")
        reply "$(pod 0)" 6379 cluster forget 93882e1b610ceb9245999227765f12f50465d0b8 -- "=ERR Can't forget my master!"
        reply "$(pod 4)" 6379 cluster reset hard -- =OK
        retire"#
        ),
    );
    assert_eq!(run.code, 1, "{}", run.context());
    assert!(run.stderr.contains("did not forget"), "{}", run.context());
}
