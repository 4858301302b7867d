//! Storage for each pod's data directory: claims from a StorageClass, static NFS volumes, or
//! an emptyDir.

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::names::is_dns_subdomain;
use super::pod::check_quantity;
use crate::model::Storage;

/// Storage for each pod's data directory. `kind` selects which sub-table applies.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
// Persistent kinds need a size; `nfs` needs its table; each sub-table fits only its kind.
#[schemars(extend("allOf" = [
    { "if": { "properties": { "kind": { "const": "ephemeral" } } }, "else": { "required": ["size"] } },
    { "if": { "properties": { "kind": { "const": "nfs" } } },
      "then": { "required": ["nfs"] }, "else": { "not": { "required": ["nfs"] } } },
    { "if": { "properties": { "kind": { "const": "claim" } } },
      "else": { "not": { "required": ["claim"] } } }
]))]
pub(crate) struct StorageProfile {
    pub(crate) kind: StorageKind,
    /// Size of each pod's volume (a Kubernetes quantity). For `ephemeral`, the emptyDir size limit.
    pub(crate) size: Option<String>,
    pub(crate) claim: Option<ClaimStorage>,
    pub(crate) nfs: Option<NfsStorage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum StorageKind {
    /// PersistentVolumeClaims from a StorageClass.
    Claim,
    /// Static NFS PersistentVolumes, one per pod.
    Nfs,
    /// emptyDir: data does not survive a pod restart. For caches only.
    Ephemeral,
}

impl StorageKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StorageKind::Claim => "claim",
            StorageKind::Nfs => "nfs",
            StorageKind::Ephemeral => "ephemeral",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ClaimStorage {
    /// StorageClass name; unset uses the cluster's default class.
    pub(crate) storage_class: Option<String>,
    pub(crate) access_modes: Vec<AccessMode>,
}

impl Default for ClaimStorage {
    fn default() -> Self {
        ClaimStorage {
            storage_class: None,
            access_modes: vec![AccessMode::ReadWriteOnce],
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct NfsStorage {
    pub(crate) server: String,
    /// Export path per pod. Must contain `{ordinal}` (0-based) or `{ordinal+1}` (1-based), so
    /// that no two pods share a directory (they would share nodes.conf and crash).
    #[schemars(regex(pattern = r"^/.*\{ordinal(\+1)?\}"))]
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) reclaim_policy: ReclaimPolicy,
    #[serde(default)]
    pub(crate) mount_options: Vec<String>,
    #[serde(default = "read_write_once")]
    pub(crate) access_modes: Vec<AccessMode>,
    /// NFS ignores fsGroup, so each export must be owned by uid 10001. With this on, an init
    /// container running as root (with only the CHOWN and FOWNER capabilities) chowns the data
    /// directory before Redis starts. Off by default: it is the one root container redkube
    /// would render, and checkov flags it.
    #[serde(default)]
    pub(crate) fix_ownership: bool,
}

fn read_write_once() -> Vec<AccessMode> {
    ClaimStorage::default().access_modes
}

/// Kubernetes' own names, so they share its `Read` prefix.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum AccessMode {
    ReadWriteOnce,
    ReadWriteOncePod,
    ReadWriteMany,
    ReadOnlyMany,
}

impl AccessMode {
    fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
            AccessMode::ReadWriteMany => "ReadWriteMany",
            AccessMode::ReadOnlyMany => "ReadOnlyMany",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum ReclaimPolicy {
    #[default]
    Retain,
    Delete,
}

impl ReclaimPolicy {
    fn as_str(self) -> &'static str {
        match self {
            ReclaimPolicy::Retain => "Retain",
            ReclaimPolicy::Delete => "Delete",
        }
    }
}

/// The placeholders an NFS path may use for the pod's ordinal.
const ORDINAL_PLACEHOLDERS: [&str; 2] = ["{ordinal}", "{ordinal+1}"];

/// The export path of one ordinal: `{ordinal}` is 0-based, `{ordinal+1}` 1-based (seed 000's
/// `pv1..pv6`).
fn nfs_path(template: &str, ordinal: u32) -> String {
    let [zero, one] = ORDINAL_PLACEHOLDERS;
    template
        .replace(one, &(ordinal + 1).to_string())
        .replace(zero, &ordinal.to_string())
}

fn path(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

/// Where the release's NFS PVs live: a class name no provisioner serves.
pub(super) struct NfsClass<'a> {
    pub(super) namespace: &'a str,
    pub(super) release: &'a str,
}

impl StorageProfile {
    /// `pods`: the StatefulSet's size, when the topology resolved (NFS has a PV per pod).
    pub(super) fn resolve(
        &self,
        pods: Option<u32>,
        class: NfsClass<'_>,
        out: &mut Vec<Finding>,
    ) -> Option<Storage> {
        let before = out.len();
        self.check_tables(out);
        let size = match (&self.size, self.kind) {
            (Some(size), _) => {
                check_quantity(size, path("storage.size"), "size", out);
                Some(size.clone())
            }
            (None, StorageKind::Ephemeral) => None,
            (None, _) => {
                out.push(
                    Finding::error(path("storage"), "`size` is required for persistent storage")
                        .help("add e.g. `size = \"20Gi\"` under `[storage]`"),
                );
                None
            }
        };
        let storage = match self.kind {
            StorageKind::Claim => {
                let claim = self.claim.clone().unwrap_or_default();
                if self.claim.is_some() {
                    check_claim(&claim, out);
                }
                Storage::Claim {
                    size: size.clone().unwrap_or_default(),
                    storage_class: claim.storage_class,
                    access_modes: access_modes(&claim.access_modes),
                }
            }
            StorageKind::Nfs => match &self.nfs {
                None => {
                    out.push(
                        Finding::error(path("storage"), "kind `nfs` needs a `[storage.nfs]` table")
                            .help("add `[storage.nfs]` with `server` and `path = \"/exports/redis/pv{ordinal+1}\"`"),
                    );
                    return None;
                }
                Some(nfs) => {
                    check_nfs(nfs, out);
                    Storage::Nfs {
                        size: size.clone().unwrap_or_default(),
                        server: nfs.server.clone(),
                        paths: (0..pods.unwrap_or(0))
                            .map(|o| nfs_path(&nfs.path, o))
                            .collect(),
                        reclaim_policy: nfs.reclaim_policy.as_str(),
                        mount_options: nfs.mount_options.clone(),
                        access_modes: access_modes(&nfs.access_modes),
                        storage_class: format!("redkube-nfs-{}-{}", class.namespace, class.release),
                        fix_ownership: nfs.fix_ownership,
                    }
                }
            },
            StorageKind::Ephemeral => {
                out.push(
                    Finding::warning(
                        path("storage.kind"),
                        "ephemeral storage: the data lives as long as the pod; it survives a \
                         container restart, not the pod's deletion, eviction or move to another node",
                    )
                    .help("fine for a cache; use `claim` or `nfs` for data you keep"),
                );
                Storage::Ephemeral {
                    size_limit: self.size.clone(),
                }
            }
        };
        super::topology::no_new_errors(out, before).then_some(storage)
    }

    /// A sub-table for another kind is a mistake, not a harmless extra.
    fn check_tables(&self, out: &mut Vec<Finding>) {
        for (table, present, wanted) in [
            ("claim", self.claim.is_some(), StorageKind::Claim),
            ("nfs", self.nfs.is_some(), StorageKind::Nfs),
        ] {
            if present && self.kind != wanted {
                out.push(
                    Finding::error(
                        path("storage").key(table),
                        format!(
                            "`[storage.{table}]` does not apply to kind `{}`",
                            self.kind.as_str()
                        ),
                    )
                    .help(format!("remove it, or set `kind = \"{table}\"`")),
                );
            }
        }
    }
}

fn access_modes(modes: &[AccessMode]) -> Vec<&'static str> {
    modes.iter().map(|m| m.as_str()).collect()
}

fn check_claim(claim: &ClaimStorage, out: &mut Vec<Finding>) {
    if let Some(class) = &claim.storage_class {
        if !is_dns_subdomain(class) {
            out.push(
                Finding::error(
                    path("storage.claim.storage-class"),
                    format!("`{class}` is not a StorageClass name"),
                )
                .help("StorageClass names are DNS subdomains; omit the key for the default class"),
            );
        }
    }
    check_access_modes(&claim.access_modes, path("storage.claim.access-modes"), out);
}

fn check_access_modes(modes: &[AccessMode], at: FieldPath, out: &mut Vec<Finding>) {
    if modes.is_empty() {
        out.push(Finding::error(at, "no access mode is set").help("use `[\"ReadWriteOnce\"]`"));
    } else if modes == [AccessMode::ReadOnlyMany] {
        out.push(
            Finding::error(at, "Redis must write its data directory")
                .help("use `ReadWriteOnce` (or `ReadWriteMany` for NFS)"),
        );
    }
}

fn check_nfs(nfs: &NfsStorage, out: &mut Vec<Finding>) {
    if nfs.server.is_empty() || nfs.server.contains(char::is_whitespace) {
        out.push(
            Finding::error(
                path("storage.nfs.server"),
                "the NFS server is empty or has spaces",
            )
            .help("write a host name or IP address, e.g. `192.168.0.222`"),
        );
    }
    if !ORDINAL_PLACEHOLDERS.iter().any(|p| nfs.path.contains(p)) {
        out.push(
            Finding::error(path("storage.nfs.path"), "the path does not contain the pod ordinal")
                .help("every pod needs its own directory, or they share nodes.conf and crash: \
                       write e.g. `/usr/local/k8s/redis/pv{ordinal+1}` (1-based) or `…/{ordinal}` (0-based)"),
        );
    }
    if !nfs.path.starts_with('/') {
        out.push(
            Finding::error(path("storage.nfs.path"), "an NFS export path is absolute")
                .help("start the path with `/`"),
        );
    }
    check_access_modes(&nfs.access_modes, path("storage.nfs.access-modes"), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfs_paths_follow_the_ordinal() {
        assert_eq!(nfs_path("/x/pv{ordinal+1}", 0), "/x/pv1");
        assert_eq!(nfs_path("/x/{ordinal}/d", 5), "/x/5/d");
    }

    #[test]
    fn the_ephemeral_warning_says_what_survives() {
        let s: StorageProfile = toml::from_str("kind = \"ephemeral\"").unwrap();
        let mut out = Vec::new();
        s.resolve(
            Some(3),
            NfsClass {
                namespace: "n",
                release: "r",
            },
            &mut out,
        );
        assert!(out[0].message.contains("survives a container restart"));
        assert!(!out[0].message.contains("whenever a pod restarts"));
    }

    #[test]
    fn claim_defaults_agree_whether_the_table_is_written_or_not() {
        let written: ClaimStorage = toml::from_str("").unwrap();
        assert_eq!(written.access_modes, ClaimStorage::default().access_modes);
    }
}
