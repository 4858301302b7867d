//! The resolved model: what the profile means, with every default applied and every name,
//! label and ordinal decided. Renderers read only this, never the profile, so a name is chosen
//! in exactly one place.

use std::collections::BTreeMap;

use crate::profile::validate::{parse_image, ORDINAL_PLACEHOLDERS};
use crate::profile::{self, Mode, Profile, StorageKind};

/// Mount points and file names shared by the objects and the scripts that run in them.
pub mod paths {
    /// The ConfigMap (redis.conf and scripts).
    pub const CONFIG_DIR: &str = "/etc/redkube";
    /// The Secret, with the password in the file `password`.
    pub const SECRET_DIR: &str = "/etc/redkube-secret";
    pub const SECRET_FILE: &str = "password";
    /// A memory-backed emptyDir for the per-pod config that start.sh assembles.
    pub const RUNTIME_DIR: &str = "/run/redkube";
    /// The data volume (the official image's working directory).
    pub const DATA_DIR: &str = "/data";
    pub const TMP_DIR: &str = "/tmp";
}

/// The uid/gid Redis runs as. Not the image's `redis` user (999): low ids collide with system
/// users on nodes, and checkov's CKV_K8S_40 asks for 10000 or more. Redis needs no passwd
/// entry; fsGroup makes claim volumes writable (NFS exports must be owned by this id).
pub const RUN_AS_ID: i64 = 10001;

#[derive(Debug, Clone)]
pub struct Model {
    pub names: Names,
    pub namespace: String,
    pub cluster_domain: String,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub image: Image,
    pub port: u16,
    pub topology: Topology,
    pub redis: profile::RedisProfile,
    pub auth: Auth,
    pub storage: Storage,
    pub scheduling: profile::SchedulingProfile,
    pub resources: profile::ResourcesProfile,
    pub service: profile::ServiceProfile,
    pub network_policy: profile::NetworkPolicyProfile,
    pub pod: profile::PodProfile,
}

/// Every object name, decided once.
#[derive(Debug, Clone)]
pub struct Names {
    pub release: String,
    pub statefulset: String,
    pub headless_service: String,
    /// Clients' entry point: the Redis port (cluster) or the Sentinel port (sentinel).
    pub client_service: String,
    pub config_map: String,
    pub pdb: String,
    pub network_policy: String,
    /// The Job's name without its spec hash (see `render::job`).
    pub bootstrap_job_base: String,
    pub data_claim_template: String,
}

impl Names {
    fn new(release: &str, mode: Mode) -> Self {
        Names {
            release: release.to_string(),
            statefulset: release.to_string(),
            headless_service: format!("{release}-headless"),
            client_service: match mode {
                Mode::Cluster => release.to_string(),
                // Named for what it serves: Sentinel clients ask it for the master.
                Mode::Sentinel => format!("{release}-sentinel"),
            },
            config_map: format!("{release}-config"),
            pdb: release.to_string(),
            network_policy: release.to_string(),
            bootstrap_job_base: format!("{release}-bootstrap"),
            data_claim_template: "data".to_string(),
        }
    }

    pub fn pod(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.statefulset)
    }

    /// The PVC a StatefulSet creates for `ordinal`: `<template>-<statefulset>-<ordinal>`.
    pub fn claim(&self, ordinal: u32) -> String {
        format!("{}-{}", self.data_claim_template, self.pod(ordinal))
    }
}

/// Recommended labels (`app.kubernetes.io/*`). Selectors use only the stable subset.
#[derive(Debug, Clone)]
pub struct Labels {
    pub release: String,
    pub version: Option<String>,
    pub extra: BTreeMap<String, String>,
}

pub const COMPONENT_REDIS: &str = "redis";
pub const COMPONENT_BOOTSTRAP: &str = "bootstrap";

impl Labels {
    /// Selects one component's pods; never includes version or user labels, because a
    /// StatefulSet's selector is immutable.
    pub fn selector(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), "redis".to_string()),
            (
                "app.kubernetes.io/instance".to_string(),
                self.release.clone(),
            ),
            (
                "app.kubernetes.io/component".to_string(),
                component.to_string(),
            ),
        ])
    }

    /// All labels of an object or pod of `component`.
    pub fn full(&self, component: &str) -> BTreeMap<String, String> {
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

#[derive(Debug, Clone)]
pub struct Image {
    pub reference: String,
    pub pull_policy: &'static str,
    pub pinned: bool,
}

#[derive(Debug, Clone)]
pub enum Topology {
    Cluster {
        masters: u32,
        replicas_per_master: u32,
        node_timeout_ms: u32,
    },
    /// One master set; every Redis pod runs a Sentinel beside it.
    Sentinel(SentinelTopology),
}

#[derive(Debug, Clone)]
pub struct SentinelTopology {
    pub redis_pods: u32,
    pub quorum: u32,
    pub master_set: String,
    pub down_after_ms: u32,
    pub failover_timeout_ms: u32,
    pub parallel_syncs: u32,
    pub port: u16,
    pub resources: profile::ResourceAmounts,
}

impl Topology {
    /// Number of Redis pods in the StatefulSet.
    pub fn pods(&self) -> u32 {
        match self {
            Topology::Cluster {
                masters,
                replicas_per_master,
                ..
            } => masters * (1 + replicas_per_master),
            Topology::Sentinel(s) => s.redis_pods,
        }
    }

    pub fn sentinel(&self) -> Option<&SentinelTopology> {
        match self {
            Topology::Sentinel(s) => Some(s),
            Topology::Cluster { .. } => None,
        }
    }
}

/// Where the password lives at run time. The value is kept only when redkube renders the Secret.
#[derive(Debug, Clone)]
pub struct Auth {
    pub secret_name: String,
    pub secret_key: String,
    /// `Some` when redkube owns the Secret.
    pub owned_password: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Storage {
    Claim {
        size: String,
        storage_class: Option<String>,
        access_modes: Vec<&'static str>,
    },
    /// One static PV per ordinal, bound only to that ordinal's claim.
    Nfs {
        size: String,
        server: String,
        /// Export path of each ordinal, in ordinal order.
        paths: Vec<String>,
        reclaim_policy: &'static str,
        mount_options: Vec<String>,
        access_modes: Vec<&'static str>,
        /// A class name no provisioner serves, so no other claim can take these PVs.
        storage_class: String,
    },
    Ephemeral {
        size_limit: Option<String>,
    },
}

impl Model {
    pub fn resolve(p: &Profile, env_password: Option<String>) -> Model {
        let names = Names::new(&p.name, p.mode);
        let image_ref = parse_image(&p.image.reference).expect("validated");
        let version = image_ref.tag.map(str::to_string);
        let pinned = image_ref.digest.is_some();
        let topology = resolve_topology(p);
        let auth = resolve_auth(p, &names, env_password);
        let storage = resolve_storage(p, topology.pods());
        Model {
            namespace: p.namespace.clone(),
            cluster_domain: p.cluster_domain.clone(),
            labels: Labels {
                release: p.name.clone(),
                version,
                extra: p.labels.clone(),
            },
            annotations: p.annotations.clone(),
            image: Image {
                reference: p.image.reference.clone(),
                pull_policy: p.image.pull_policy.as_str(),
                pinned,
            },
            port: p.port,
            topology,
            redis: p.redis.clone(),
            auth,
            storage,
            scheduling: p.scheduling.clone(),
            resources: p.resources.clone(),
            service: p.service.clone(),
            network_policy: p.network_policy.clone(),
            pod: p.pod.clone(),
            names,
        }
    }

    /// The cluster bus port (cluster mode).
    pub fn bus_port(&self) -> u16 {
        self.port + 10000
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self.topology, Topology::Cluster { .. })
    }

    pub fn pods(&self) -> u32 {
        self.topology.pods()
    }
}

fn resolve_topology(p: &Profile) -> Topology {
    match p.mode {
        Mode::Cluster => {
            let c = p
                .cluster
                .as_ref()
                .expect("validated: cluster mode has [cluster]");
            Topology::Cluster {
                masters: c.masters,
                replicas_per_master: c.replicas_per_master,
                node_timeout_ms: c.node_timeout_ms,
            }
        }
        Mode::Sentinel => {
            let s = p
                .sentinel
                .as_ref()
                .expect("validated: sentinel mode has [sentinel]");
            Topology::Sentinel(SentinelTopology {
                redis_pods: s.redis_pods,
                quorum: s.quorum.unwrap_or(s.redis_pods / 2 + 1),
                master_set: s.master_set.clone(),
                down_after_ms: s.down_after_ms,
                failover_timeout_ms: s.failover_timeout_ms,
                parallel_syncs: s.parallel_syncs,
                port: s.port,
                resources: s.resources.clone(),
            })
        }
    }
}

fn resolve_auth(p: &Profile, names: &Names, env_password: Option<String>) -> Auth {
    match (&p.auth.existing_secret, &p.auth.password, env_password) {
        (Some(existing), _, _) => Auth {
            secret_name: existing.name.clone(),
            secret_key: existing.key.clone(),
            owned_password: None,
        },
        (None, literal, from_env) => Auth {
            secret_name: format!("{}-auth", names.release),
            secret_key: profile::default_secret_key(),
            owned_password: Some(
                literal
                    .clone()
                    .or(from_env)
                    .expect("validated: one password source"),
            ),
        },
    }
}

fn resolve_storage(p: &Profile, pods: u32) -> Storage {
    let s = &p.storage;
    let size = || {
        s.size
            .clone()
            .expect("validated: persistent storage has a size")
    };
    match s.kind {
        StorageKind::Claim => {
            let claim = s.claim.clone().unwrap_or_default();
            Storage::Claim {
                size: size(),
                storage_class: claim.storage_class,
                access_modes: access_modes(if claim.access_modes.is_empty() {
                    &[profile::AccessMode::ReadWriteOnce]
                } else {
                    &claim.access_modes
                }),
            }
        }
        StorageKind::Nfs => {
            let nfs = s.nfs.as_ref().expect("validated: nfs has [storage.nfs]");
            Storage::Nfs {
                size: size(),
                server: nfs.server.clone(),
                paths: (0..pods).map(|o| nfs_path(&nfs.path, o)).collect(),
                reclaim_policy: nfs.reclaim_policy.as_str(),
                mount_options: nfs.mount_options.clone(),
                access_modes: access_modes(&nfs.access_modes),
                storage_class: format!("redkube-nfs-{}-{}", p.namespace, p.name),
            }
        }
        StorageKind::Ephemeral => Storage::Ephemeral {
            size_limit: s.size.clone(),
        },
    }
}

fn access_modes(modes: &[profile::AccessMode]) -> Vec<&'static str> {
    modes.iter().map(|m| m.as_str()).collect()
}

/// The export path of one ordinal: `{ordinal}` is 0-based, `{ordinal+1}` 1-based (seed 000's
/// `pv1..pv6`).
pub fn nfs_path(template: &str, ordinal: u32) -> String {
    let [zero, one] = ORDINAL_PLACEHOLDERS;
    template
        .replace(one, &(ordinal + 1).to_string())
        .replace(zero, &ordinal.to_string())
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
    fn selectors_never_carry_the_version() {
        let labels = Labels {
            release: "r".into(),
            version: Some("7.2.7".into()),
            extra: BTreeMap::from([("team".into(), "a".into())]),
        };
        let sel = labels.selector(COMPONENT_REDIS);
        assert!(!sel.contains_key("app.kubernetes.io/version"));
        assert!(!sel.contains_key("team"));
        assert_eq!(
            labels.full(COMPONENT_REDIS)["app.kubernetes.io/version"],
            "7.2.7"
        );
    }
}
