//! Every object name and label of a release, decided once.

use std::collections::BTreeMap;

/// Object names. Objects of one release share the release name as a prefix; the cluster-wide
/// ones (PersistentVolumes) also carry the namespace.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub(crate) release: String,
    namespace: String,
    pub(crate) statefulset: String,
    pub(crate) headless_service: String,
    /// Clients' entry point: the Redis port (cluster) or the Sentinel port (sentinel).
    pub(crate) client_service: String,
    pub(crate) config_map: String,
    /// The Secret redkube renders (not an `existing-secret`).
    pub(crate) owned_secret: String,
    pub(crate) pdb: String,
    pub(crate) network_policy: String,
    pub(crate) reconcile_network_policy: String,
    pub(crate) data_claim_template: String,
    reconcile_job_base: String,
}

/// Suffix of the reconcile Job's name, before its hash: the longest generated name.
pub(crate) const RECONCILE_JOB_SUFFIX: &str = "-reconcile-";
/// Hex digits of the hash in the reconcile Job's name (`render::hash::short_hash`).
pub(crate) const JOB_HASH_LEN: usize = 8;

impl Names {
    pub(crate) fn new(release: &str, namespace: &str, sentinel_mode: bool) -> Self {
        Names {
            release: release.to_string(),
            namespace: namespace.to_string(),
            statefulset: release.to_string(),
            headless_service: format!("{release}-headless"),
            client_service: if sentinel_mode {
                // Named for what it serves: Sentinel clients ask it for the master.
                format!("{release}-sentinel")
            } else {
                release.to_string()
            },
            config_map: format!("{release}-config"),
            owned_secret: format!("{release}-auth"),
            pdb: release.to_string(),
            network_policy: release.to_string(),
            reconcile_network_policy: format!("{release}-reconcile"),
            data_claim_template: "data".to_string(),
            reconcile_job_base: format!("{release}{}", RECONCILE_JOB_SUFFIX.trim_end_matches('-')),
        }
    }

    pub(crate) fn pod(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.statefulset)
    }

    /// The PVC a StatefulSet creates for `ordinal`: `<template>-<statefulset>-<ordinal>`.
    pub(crate) fn claim(&self, ordinal: u32) -> String {
        format!("{}-{}", self.data_claim_template, self.pod(ordinal))
    }

    /// PV names are cluster-wide, so they carry the namespace as well as the release.
    pub(crate) fn persistent_volume(&self, ordinal: u32) -> String {
        format!("redkube-{}-{}-{ordinal}", self.namespace, self.release)
    }

    /// The Job's name carries a hash of its spec and script (see `render::cluster`).
    pub(crate) fn reconcile_job(&self, hash: &str) -> String {
        format!("{}-{hash}", self.reconcile_job_base)
    }
}

/// What a labelled object belongs to: the Redis pods, or the cluster's reconcile Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    Redis,
    Reconcile,
}

impl Component {
    fn as_str(self) -> &'static str {
        match self {
            Component::Redis => "redis",
            Component::Reconcile => "reconcile",
        }
    }
}

/// Recommended labels (`app.kubernetes.io/*`). Selectors use only the stable subset.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    pub(crate) release: String,
    /// The image tag, when the reference has one.
    pub(crate) version: Option<String>,
    pub(crate) extra: BTreeMap<String, String>,
}

impl Labels {
    /// Selects one component's pods; never includes version or user labels, because a
    /// StatefulSet's selector is immutable.
    pub(crate) fn selector(&self, component: Component) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), "redis".to_string()),
            (
                "app.kubernetes.io/instance".to_string(),
                self.release.clone(),
            ),
            (
                "app.kubernetes.io/component".to_string(),
                component.as_str().to_string(),
            ),
        ])
    }

    /// All labels of an object or pod of `component`.
    pub(crate) fn full(&self, component: Component) -> BTreeMap<String, String> {
        let mut labels = self.extra.clone();
        labels.extend(self.selector(component));
        labels.insert("app.kubernetes.io/managed-by".into(), "redkube".into());
        labels.insert("app.kubernetes.io/part-of".into(), self.release.clone());
        if let Some(v) = &self.version {
            labels.insert("app.kubernetes.io/version".into(), v.clone());
        }
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_never_carry_the_version() {
        let labels = Labels {
            release: "r".into(),
            version: Some("7.2.7".into()),
            extra: BTreeMap::from([("team".into(), "a".into())]),
        };
        let sel = labels.selector(Component::Redis);
        assert!(!sel.contains_key("app.kubernetes.io/version"));
        assert!(!sel.contains_key("team"));
        assert_eq!(
            labels.full(Component::Redis)["app.kubernetes.io/version"],
            "7.2.7"
        );
    }

    #[test]
    fn generated_names() {
        let n = Names::new("r", "ns", false);
        assert_eq!(n.claim(2), "data-r-2");
        assert_eq!(n.persistent_volume(0), "redkube-ns-r-0");
        assert_eq!(n.reconcile_job("0123abcd"), "r-reconcile-0123abcd");
        assert_eq!(Names::new("r", "ns", true).client_service, "r-sentinel");
    }
}
