//! Names at the boundary: the longest allowed release name (44) in the longest namespace (63)
//! still yields valid names for every object, every pod hostname, every PVC a
//! volumeClaimTemplate creates, the hashed Job name, and every label value (63).

mod common;

use common::*;
use redkube::profile::MAX_NAME_LEN;
use serde_json::Value;

// The API server's own rules, written here independently of redkube's validator.

/// DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most `max` characters.
fn is_dns_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= max
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

/// DNS-1123 subdomain as the API server checks object names: dot-separated labels, at most 253
/// characters in all (the API server sets no 63-character limit per part).
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(|l| is_dns_label(l, 253))
}

fn docs(fixture: &str) -> Vec<Value> {
    let stream = render_file(&root().join("tests/fixtures").join(fixture));
    documents(&stream)
        .into_iter()
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect()
}

fn check_labels(labels: &Value, at: &str, problems: &mut Vec<String>) {
    for (k, v) in labels.as_object().into_iter().flatten() {
        let v = v.as_str().unwrap_or_default();
        if v.len() > 63 {
            problems.push(format!("{at}: label {k}={v} is {} > 63", v.len()));
        }
    }
}

fn check(fixture: &str) {
    let mut problems = Vec::new();
    for doc in docs(fixture) {
        let kind = doc["kind"].as_str().unwrap().to_string();
        let name = doc["metadata"]["name"].as_str().unwrap().to_string();
        // Services (and so DNS), StatefulSets (pod hostnames), Jobs (job-name label) need
        // DNS labels; everything else a DNS subdomain.
        let label_kinds = ["Service", "StatefulSet", "Job"];
        let ok = if label_kinds.contains(&kind.as_str()) {
            is_dns_label(&name, 63)
        } else {
            is_dns_subdomain(&name)
        };
        if !ok {
            problems.push(format!("{kind} name {name} ({} chars)", name.len()));
        }
        check_labels(
            &doc["metadata"]["labels"],
            &format!("{kind}/{name}"),
            &mut problems,
        );
        let template = &doc["spec"]["template"]["metadata"]["labels"];
        check_labels(
            template,
            &format!("{kind}/{name} pod template"),
            &mut problems,
        );
        if kind == "StatefulSet" {
            let replicas = doc["spec"]["replicas"].as_u64().unwrap();
            let last_pod = format!("{name}-{}", replicas - 1);
            // The controller adds `controller-revision-hash: <name>-<10 char hash>`.
            let revision_label = format!("{name}-{}", "x".repeat(10));
            for (what, value) in [
                ("pod hostname", &last_pod),
                ("controller-revision-hash", &revision_label),
            ] {
                if !is_dns_label(value, 63) {
                    problems.push(format!("{what} {value} ({} chars)", value.len()));
                }
            }
            let headless = doc["spec"]["serviceName"].as_str().unwrap();
            let namespace = doc["metadata"]["namespace"].as_str().unwrap();
            let fqdn = format!("{last_pod}.{headless}.{namespace}.svc.cluster.local");
            if !is_dns_subdomain(&fqdn) {
                problems.push(format!("pod DNS name {fqdn} ({} chars)", fqdn.len()));
            }
            for template in doc["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let claim = format!(
                    "{}-{last_pod}",
                    template["metadata"]["name"].as_str().unwrap()
                );
                if !is_dns_subdomain(&claim) {
                    problems.push(format!("PVC {claim}"));
                }
            }
        }
        if kind == "Job" {
            // Job pods get generateName `<job>-` plus 5 characters; the API server truncates
            // the base, but the job-name label must fit as is.
            check_labels(
                &serde_json::json!({ "job-name": name }),
                "Job pods",
                &mut problems,
            );
        }
    }
    assert!(problems.is_empty(), "{fixture}:\n{}", problems.join("\n"));
}

#[test]
fn the_longest_names_are_valid_in_cluster_mode() {
    check("longest-names-cluster.toml");
}

#[test]
fn the_longest_names_are_valid_in_sentinel_mode() {
    check("longest-names-sentinel.toml");
}

#[test]
fn the_fixture_sits_exactly_at_the_limit() {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/longest-names-cluster.toml")).unwrap();
    let name_line = text.lines().find(|l| l.starts_with("name = ")).unwrap();
    assert_eq!(
        name_line
            .trim_start_matches("name = ")
            .trim_matches('"')
            .len(),
        MAX_NAME_LEN
    );
    // One more character is rejected (tests/invalid/name-too-long.toml pins the message).
    let longer = text.replace("name = \"r", "name = \"rr");
    assert!(redkube::profile::load_str("x.toml", &longer, &test_env).is_err());
}
