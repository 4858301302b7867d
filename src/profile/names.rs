//! Names and metadata: the release name, namespace and cluster domain, and the grammar of DNS
//! names, label keys and label values that every other topic checks against.

use std::collections::BTreeMap;

use super::diagnostics::{FieldPath, Finding};
use super::Profile;
use crate::model::names::{JOB_HASH_LEN, RECONCILE_JOB_SUFFIX};
use crate::model::{Labels, Names};

/// The longest release name: `<name>-reconcile-<8 hex>` (the Job, also its pods' `job-name`
/// label) must fit in a 63-character label.
pub const MAX_NAME_LEN: usize = 63 - RECONCILE_JOB_SUFFIX.len() - JOB_HASH_LEN;

/// A DNS-1123 label: lower-case alphanumerics and `-`, starting and ending alphanumeric.
pub(crate) fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain as Kubernetes checks object names: dot-separated parts of lower-case
/// alphanumerics and `-`, at most 253 characters in all (no 63-character limit per part).
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(|l| is_dns_label(l, 253))
}

/// A non-empty DNS subdomain: what Kubernetes accepts as the name of most objects.
pub(crate) fn is_object_name(s: &str) -> bool {
    !s.is_empty() && is_dns_subdomain(s)
}

/// Label and annotation keys: an optional DNS-subdomain prefix and a name of at most 63 chars.
pub(crate) fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    name_ok && prefix.is_none_or(is_dns_subdomain)
}

fn is_label_value(v: &str) -> bool {
    v.is_empty() || (is_qualified_name(v) && !v.contains('/'))
}

/// The release name, namespace and cluster domain.
pub(super) fn check_release(p: &Profile, out: &mut Vec<Finding>) {
    let name = &p.name;
    if !is_dns_label(name, MAX_NAME_LEN) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        let msg = if name.len() > MAX_NAME_LEN {
            format!(
                "`{name}` is {} characters; the longest allowed is {MAX_NAME_LEN}",
                name.len()
            )
        } else {
            format!("`{name}` is not a DNS-1035 label")
        };
        out.push(Finding::error(FieldPath::parse("name"), msg).help(format!(
            "use lower-case letters, digits and `-`, starting with a letter, at most {MAX_NAME_LEN} \
             characters (the reconcile Job appends `-reconcile-<hash>` and must stay within 63)"
        )));
    }
    if !is_dns_label(&p.namespace, 63) {
        out.push(
            Finding::error(
                FieldPath::parse("namespace"),
                format!("`{}` is not a valid namespace", p.namespace),
            )
            .help(
                "a namespace is a DNS-1123 label: lower-case letters, digits and `-`, at most 63",
            ),
        );
    }
    if !is_dns_subdomain(&p.cluster_domain) {
        out.push(
            Finding::error(
                FieldPath::parse("cluster-domain"),
                format!("`{}` is not a DNS domain", p.cluster_domain),
            )
            .help("use the kubelet's --cluster-domain, usually `cluster.local`"),
        );
    }
}

/// Keys (and, for labels, values) of a label or annotation map at `at`.
pub(super) fn check_metadata(
    at: &FieldPath,
    map: &BTreeMap<String, String>,
    values_are_labels: bool,
    out: &mut Vec<Finding>,
) {
    let field = at.to_string();
    for (key, value) in map {
        let at = at.clone().key(key);
        if !is_qualified_name(key) {
            out.push(
                Finding::error(at.clone(), format!("`{key}` is not a valid {field} key"))
                    .help("keys are `[prefix/]name`: name at most 63 alphanumerics, `-`, `_`, `.`"),
            );
        }
        if super::TOP_LEVEL_SCALARS.contains(&key.as_str()) {
            out.push(
                Finding::warning(
                    at.clone(),
                    format!("`{key}` here is a key of `{field}`, not the top-level setting"),
                )
                .help(format!(
                    "if you meant the top-level `{key}`, move it above the first `[table]` header"
                )),
            );
        }
        if key.starts_with("app.kubernetes.io/") && values_are_labels {
            out.push(
                Finding::error(at.clone(), format!("`{key}` is set by redkube"))
                    .help("redkube writes the recommended app.kubernetes.io labels itself"),
            );
        }
        if values_are_labels && !is_label_value(value) {
            out.push(
                Finding::error(at, format!("`{value}` is not a valid label value")).help(
                    "at most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric",
                ),
            );
        }
    }
}

pub(super) fn resolve_names(p: &Profile) -> Names {
    Names::new(&p.name, &p.namespace, p.mode == super::Mode::Sentinel)
}

pub(super) fn resolve_labels(p: &Profile, version: Option<String>) -> Labels {
    Labels {
        release: p.name.clone(),
        version,
        extra: p.labels.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns_label("redis-app", 63));
        assert!(!is_dns_label("Redis", 63));
        assert!(!is_dns_label("-a", 63));
        assert!(is_dns_subdomain("cluster.local"));
        assert!(!is_dns_subdomain("cluster..local"));
        assert!(!is_object_name(""));
    }

    #[test]
    fn label_keys() {
        assert!(is_qualified_name("team"));
        assert!(is_qualified_name("example.com/team"));
        assert!(!is_qualified_name("bad key"));
        assert!(!is_qualified_name("/x"));
    }

    #[test]
    fn the_longest_name_leaves_room_for_the_job() {
        assert_eq!(MAX_NAME_LEN, 44);
    }
}
