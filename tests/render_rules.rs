//! Rules a render keeps, checked on the parsed documents: what the snapshots pin byte by byte
//! is asserted here by meaning, so a change that breaks a rule fails with its name.

mod common;

use common::*;
use serde_json::Value;

fn docs(path: &str) -> Vec<Value> {
    let stream = render_file(&root().join(path));
    documents(&stream)
        .into_iter()
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn the_reconcile_job_is_scheduled_like_the_redis_pods() {
    let docs = docs("tests/fixtures/snapshot-cluster-rdb-hard.toml");
    let sts = &kind(&docs, "StatefulSet")[0]["spec"]["template"]["spec"];
    let job = &kind(&docs, "Job")[0]["spec"]["template"]["spec"];
    for field in ["nodeSelector", "tolerations", "priorityClassName"] {
        assert!(!sts[field].is_null(), "the fixture sets {field}");
        assert_eq!(job[field], sts[field], "{field}");
    }
}

#[test]
fn both_modes_admit_their_reconcile_job_and_nothing_reaches_it() {
    for profile in ["profiles/sentinel.toml", "profiles/cluster-nfs.toml"] {
        let docs = docs(profile);
        let policies = kind(&docs, "NetworkPolicy");
        let redis = serde_json::to_string(&policies[0]).unwrap();
        assert!(
            redis.contains("\"app.kubernetes.io/component\":\"reconcile\""),
            "{profile}: {redis}"
        );
        let job = policies
            .iter()
            .find(|p| {
                p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                    == "reconcile"
            })
            .unwrap_or_else(|| panic!("{profile}: no policy for the Job's pod"));
        assert!(job["spec"]["ingress"].is_null(), "{profile}: {job}");
        assert_eq!(kind(&docs, "Job").len(), 1, "{profile}");
    }
}

/// Renders `path` with each (from, to) replacement applied to its text.
fn docs_edited(path: &str, edits: &[(&str, &str)]) -> Vec<Value> {
    let mut text = std::fs::read_to_string(root().join(path)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{path} has no {from}");
        text = text.replace(from, to);
    }
    documents(&render_text(path, &text))
        .into_iter()
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect()
}

/// Scaling is the reconcile Job's work: a changed count changes the StatefulSet's replicas and
/// the Job (a new name runs at once), never the pod template, so no running pod restarts.
#[test]
fn a_changed_count_rolls_no_pod_and_makes_a_new_job() {
    let cases: [(&str, &[(&str, &str)]); 4] = [
        (
            "profiles/cluster-storageclass.toml",
            &[("masters = 3", "masters = 4")],
        ),
        (
            "profiles/cluster-storageclass.toml",
            &[("replicas-per-master = 1", "replicas-per-master = 2")],
        ),
        (
            "profiles/cluster-storageclass.toml",
            &[("masters = 3", "masters = 3\nretiring-pods = 2")],
        ),
        (
            "profiles/sentinel.toml",
            &[
                ("redis-pods = 3", "redis-pods = 5"),
                ("sentinels = 3", "sentinels = 5"),
            ],
        ),
    ];
    for (profile, edits) in cases {
        let before = docs(profile);
        let after = docs_edited(profile, edits);
        let sts = |d: &[Value]| kind(d, "StatefulSet")[0]["spec"].clone();
        assert_eq!(
            sts(&before)["template"],
            sts(&after)["template"],
            "{profile} {edits:?}: the pod template changed"
        );
        assert_ne!(
            sts(&before)["replicas"],
            sts(&after)["replicas"],
            "{profile} {edits:?}"
        );
        let job = |d: &[Value]| kind(d, "Job")[0]["metadata"]["name"].clone();
        assert_ne!(job(&before), job(&after), "{profile} {edits:?}");
    }
}

#[test]
fn a_memory_only_limit_renders_no_cpu_limit() {
    let docs = docs("tests/fixtures/memory-only-limits.toml");
    let redis = &kind(&docs, "StatefulSet")[0]["spec"]["template"]["spec"]["containers"][0];
    let limits = &redis["resources"]["limits"];
    assert_eq!(limits["memory"], "512Mi");
    assert!(limits["cpu"].is_null(), "{limits}");
    assert_eq!(redis["resources"]["requests"]["cpu"], "250m");
}

#[test]
fn pod_annotations_and_pull_secrets_reach_every_pod_only() {
    let docs = docs("tests/fixtures/snapshot-cluster-rdb-hard.toml");
    for (kind_name, pod) in [
        (
            "StatefulSet",
            &kind(&docs, "StatefulSet")[0]["spec"]["template"],
        ),
        ("Job", &kind(&docs, "Job")[0]["spec"]["template"]),
    ] {
        assert_eq!(
            pod["metadata"]["annotations"]["example.com/scrape"], "false",
            "{kind_name}"
        );
        assert_eq!(
            pod["spec"]["imagePullSecrets"][0]["name"], "regcred",
            "{kind_name}"
        );
    }
    for doc in &docs {
        assert!(
            doc["metadata"]["annotations"]["example.com/scrape"].is_null(),
            "pod-only annotation on {}",
            doc["kind"]
        );
    }
}

fn redis_conf(docs: &[Value]) -> String {
    kind(docs, "ConfigMap")[0]["data"]["redis.conf"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_sentinel_master_needs_a_replica_to_acknowledge_writes_by_default() {
    let conf = redis_conf(&docs("profiles/sentinel.toml"));
    assert!(conf.contains("\nmin-replicas-to-write 1\n"), "{conf}");
    assert!(conf.contains("\nmin-replicas-max-lag 10\n"), "{conf}");
    // Cluster mode leaves it to extra-config (a shard's master has its own replicas).
    let conf = redis_conf(&docs("profiles/cluster-nfs.toml"));
    assert!(!conf.contains("min-replicas"), "{conf}");
}

#[test]
fn min_replicas_to_write_0_turns_it_off() {
    let text = std::fs::read_to_string(root().join("profiles/sentinel.toml"))
        .unwrap()
        .replace("[sentinel]\n", "[sentinel]\nmin-replicas-to-write = 0\n");
    let stream = render_text("off.toml", &text);
    assert!(!stream.contains("min-replicas"));
}

#[test]
fn ip_block_clients_and_load_balancer_settings_are_rendered() {
    let docs = docs("tests/fixtures/snapshot-cluster-rdb-hard.toml");
    let client = kind(&docs, "Service")
        .into_iter()
        .find(|s| s["spec"]["type"] == "LoadBalancer")
        .unwrap();
    assert_eq!(client["spec"]["loadBalancerSourceRanges"][0], "10.0.0.0/8");
    assert_eq!(client["spec"]["externalTrafficPolicy"], "Local");
    let np = serde_json::to_string(&kind(&docs, "NetworkPolicy")[0]).unwrap();
    assert!(
        np.contains(r#""ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}"#),
        "{np}"
    );
}

#[test]
fn a_long_image_reference_stays_on_one_line() {
    let image = format!(
        "registry.example.internal:5000/platform/team-caches/redis:7.2.7@sha256:{}",
        "0123456789abcdef".repeat(4)
    );
    let text = std::fs::read_to_string(root().join("profiles/cluster-nfs.toml"))
        .unwrap()
        .replace(
            "reference = \"redis:7.2.7\"",
            &format!("reference = \"{image}\""),
        );
    let stream = render_text("long.toml", &text);
    assert!(stream.contains(&format!("image: {image}\n")), "folded");
    assert!(!stream.contains("image: >"));
}

#[test]
fn nfs_ownership_is_fixed_only_on_request_and_only_with_chown() {
    let plain = docs("profiles/cluster-nfs.toml");
    let sts = &kind(&plain, "StatefulSet")[0]["spec"]["template"]["spec"];
    assert!(sts["initContainers"].is_null());
    let text = std::fs::read_to_string(root().join("profiles/cluster-nfs.toml"))
        .unwrap()
        .replace("[storage.nfs]\n", "[storage.nfs]\nfix-ownership = true\n");
    let stream = render_text("fix.toml", &text);
    let docs: Vec<Value> = documents(&stream)
        .into_iter()
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let init = &kind(&docs, "StatefulSet")[0]["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["command"][0], "chown");
    assert_eq!(init["command"][2], "10001:10001");
    let sc = &init["securityContext"];
    assert_eq!(sc["runAsUser"], 0);
    assert_eq!(sc["capabilities"]["drop"][0], "ALL");
    assert_eq!(
        sc["capabilities"]["add"],
        serde_json::json!(["CHOWN", "FOWNER"])
    );
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(init["volumeMounts"][0]["mountPath"], "/data");
}

#[test]
fn pods_roll_one_at_a_time_and_a_partition_stages_the_roll() {
    for profile in bundled_profiles() {
        let docs = docs(&profile.strip_prefix(root()).unwrap().display().to_string());
        let strategy = &kind(&docs, "StatefulSet")[0]["spec"]["updateStrategy"];
        assert_eq!(strategy["type"], "RollingUpdate", "{}", profile.display());
        assert_eq!(strategy["rollingUpdate"]["partition"], 0);
        // Alpha-gated above 1, and 1 is what keeps a shard's second copy up.
        assert!(strategy["rollingUpdate"]["maxUnavailable"].is_null());
    }
    let docs = docs("tests/fixtures/snapshot-cluster-rdb-hard.toml");
    let strategy = &kind(&docs, "StatefulSet")[0]["spec"]["updateStrategy"];
    assert_eq!(strategy["rollingUpdate"]["partition"], 3);
}

/// The value of the `NAME=<seconds>` line of a ConfigMap script.
fn budget(script: &str, name: &str) -> u32 {
    let prefix = format!("{name}=");
    script
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name}= line"))
        .parse()
        .unwrap()
}

/// Each profile as bundled, and the cluster and Sentinel ones with other grace periods.
fn grace_variants() -> Vec<(String, Vec<Value>)> {
    let mut out: Vec<(String, Vec<Value>)> = bundled_profiles()
        .iter()
        .map(|p| (stem(p), docs(&format!("profiles/{}.toml", stem(p)))))
        .collect();
    for profile in ["cluster-nfs", "sentinel"] {
        for grace in [10, 15, 30, 600] {
            let text = std::fs::read_to_string(root().join(format!("profiles/{profile}.toml")))
                .unwrap()
                + &format!("\n[pod]\ntermination-grace-period-seconds = {grace}\n");
            let stream = render_text(&format!("{profile}-{grace}.toml"), &text);
            let docs = documents(&stream)
                .into_iter()
                .map(|d| serde_saphyr::from_str(d).unwrap())
                .collect();
            out.push((format!("{profile} grace {grace}"), docs));
        }
    }
    out
}

/// Both modes: the Redis container's preStop runs the ConfigMap's prestop.sh, and the hook's
/// budget, plus one bounded redis-cli call (5 s) that may start just before it ends, fits in
/// the grace period, leaving Redis time to shut down.
#[test]
fn every_mode_hands_over_in_a_prestop_that_fits_the_grace_period() {
    for (name, docs) in grace_variants() {
        let spec = &kind(&docs, "StatefulSet")[0]["spec"]["template"]["spec"];
        let redis = &spec["containers"][0];
        assert_eq!(redis["name"], "redis", "{name}");
        assert_eq!(
            redis["lifecycle"]["preStop"]["exec"]["command"],
            serde_json::json!(["sh", "/etc/redkube/prestop.sh"]),
            "{name}"
        );
        let script = kind(&docs, "ConfigMap")[0]["data"]["prestop.sh"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no prestop.sh"))
            .to_string();
        let grace = u32::try_from(spec["terminationGracePeriodSeconds"].as_u64().unwrap()).unwrap();
        let wait = budget(&script, "PRESTOP_WAIT_SECONDS");
        assert!(
            wait + 5 <= grace,
            "{name}: {wait} s + 5 s in a {grace} s grace period"
        );
        if name.starts_with("cluster") {
            // At least one whole manual failover (Redis aborts one after 5 s).
            let mf = budget(&script, "MANUAL_FAILOVER_SECONDS");
            assert!(mf > 5 && mf <= wait.max(6), "{name}: {mf}");
        } else {
            // The write pause outlasts the hook; the catch-up leaves the failover half of it.
            let pause = budget(&script, "WRITE_PAUSE_SECONDS");
            let catch_up = budget(&script, "CATCH_UP_SECONDS");
            assert!(pause > wait, "{name}: pause {pause} s, hook {wait} s");
            assert!(
                catch_up > 0 && 2 * catch_up <= wait,
                "{name}: {catch_up} of {wait}"
            );
        }
    }
}
