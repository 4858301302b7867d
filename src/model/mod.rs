//! The resolved model: what a profile means, with every default applied and every name, label,
//! ordinal and budget decided. Renderers and templates read only this, never the profile; the
//! profile's topic modules build it in one pass (`profile::resolve`).

pub(crate) mod names;
pub(crate) mod paths;
mod timing;

use std::collections::BTreeMap;

pub(crate) use names::{Component, Labels, Names};
pub(crate) use timing::{ClusterTiming, SentinelTiming};

/// The uid/gid Redis runs as. Not the image's `redis` user (999): low ids collide with system
/// users on nodes, and checkov's CKV_K8S_40 asks for 10000 or more. Redis needs no passwd
/// entry; fsGroup makes claim volumes writable (NFS exports must be owned by this id).
pub(crate) const RUN_AS_ID: i64 = 10001;

#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) names: Names,
    pub(crate) namespace: String,
    pub(crate) cluster_domain: String,
    pub(crate) labels: Labels,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) image: Image,
    pub(crate) port: u16,
    pub(crate) topology: Topology,
    pub(crate) redis: RedisConfig,
    pub(crate) auth: Auth,
    pub(crate) storage: Storage,
    pub(crate) scheduling: Scheduling,
    pub(crate) resources: Resources,
    pub(crate) service: ClientService,
    /// `None`: no NetworkPolicy is rendered.
    pub(crate) network_policy: Option<NetworkPolicy>,
    pub(crate) pod: PodSettings,
    pub(crate) update: UpdateStrategy,
}

impl Model {
    /// The cluster bus port (cluster mode).
    pub(crate) fn bus_port(&self) -> u16 {
        self.port + 10000
    }

    pub(crate) fn pods(&self) -> u32 {
        self.topology.pods()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) reference: String,
    pub(crate) pull_policy: &'static str,
}

/// The two modes, each with what only it needs.
#[derive(Debug, Clone)]
pub(crate) enum Topology {
    Cluster(ClusterTopology),
    /// One master set; every Redis pod runs a Sentinel beside it.
    Sentinel(SentinelTopology),
}

#[derive(Debug, Clone)]
pub(crate) struct ClusterTopology {
    pub(crate) masters: u32,
    pub(crate) replicas_per_master: u32,
    /// Pods kept above the members while the reconcile Job empties them (scale-in, step 1).
    pub(crate) retiring_pods: u32,
    pub(crate) node_timeout_ms: u32,
    pub(crate) timing: ClusterTiming,
}

impl ClusterTopology {
    /// The pods that hold the cluster once reconciled: ordinals 0 to members - 1.
    pub(crate) fn members(&self) -> u32 {
        self.masters * (1 + self.replicas_per_master)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SentinelTopology {
    pub(crate) redis_pods: u32,
    pub(crate) quorum: u32,
    pub(crate) master_set: String,
    pub(crate) down_after_ms: u32,
    pub(crate) failover_timeout_ms: u32,
    pub(crate) parallel_syncs: u32,
    /// `min-replicas-to-write` (0: off) and `min-replicas-max-lag`.
    pub(crate) min_replicas_to_write: u32,
    pub(crate) min_replicas_max_lag_seconds: u32,
    pub(crate) port: u16,
    pub(crate) resources: Amounts,
    pub(crate) timing: SentinelTiming,
}

impl Topology {
    /// See `ClusterTiming::pre_listen_seconds`.
    pub(crate) fn pre_listen_seconds(&self) -> (u32, &'static str) {
        match self {
            Topology::Cluster(c) => c.timing.pre_listen_seconds(),
            Topology::Sentinel(s) => s.timing.pre_listen_seconds(),
        }
    }

    /// Number of Redis pods in the StatefulSet: the members and, in cluster mode, the pods
    /// being retired.
    pub(crate) fn pods(&self) -> u32 {
        match self {
            Topology::Cluster(c) => c.members() + c.retiring_pods,
            Topology::Sentinel(s) => s.redis_pods,
        }
    }
}

/// What redis.conf says beyond addresses and auth.
#[derive(Debug, Clone)]
pub(crate) struct RedisConfig {
    pub(crate) aof: bool,
    pub(crate) rdb: bool,
    pub(crate) maxmemory: Option<String>,
    pub(crate) maxmemory_policy: Option<&'static str>,
    pub(crate) maxclients: Option<u32>,
    /// `extra-config`, one (directive, value) per line, in key order.
    pub(crate) extra_config: Vec<(String, String)>,
}

/// Where the password lives at run time, and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub(crate) secret_name: String,
    pub(crate) secret_key: String,
    pub(crate) source: AuthSource,
}

#[derive(Debug, Clone)]
pub(crate) enum AuthSource {
    /// Written in the profile; redkube renders the Secret.
    Literal(String),
    /// Read from an environment variable at render time; redkube renders the Secret.
    Env(String),
    /// A Secret that exists in the cluster; redkube renders none.
    ExistingSecret,
}

impl Auth {
    /// The password, when redkube renders the Secret.
    pub(crate) fn owned_password(&self) -> Option<&str> {
        match &self.source {
            AuthSource::Literal(p) | AuthSource::Env(p) => Some(p),
            AuthSource::ExistingSecret => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Storage {
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
        /// Chown the data directory to `RUN_AS_ID` as root before Redis starts.
        fix_ownership: bool,
    },
    Ephemeral {
        size_limit: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Scheduling {
    pub(crate) anti_affinity: Option<AntiAffinity>,
    pub(crate) topology_key: String,
    pub(crate) topology_spread: Option<TopologySpread>,
    pub(crate) node_selector: BTreeMap<String, String>,
    pub(crate) tolerations: Vec<Toleration>,
    pub(crate) priority_class_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AntiAffinity {
    /// Spread pods when the scheduler can.
    Preferred,
    /// Never two pods in one topology domain.
    Required,
}

#[derive(Debug, Clone)]
pub(crate) struct TopologySpread {
    pub(crate) topology_key: String,
    pub(crate) max_skew: u32,
    pub(crate) when_unsatisfiable: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Toleration {
    pub(crate) key: Option<String>,
    pub(crate) operator: &'static str,
    pub(crate) value: Option<String>,
    pub(crate) effect: Option<&'static str>,
    pub(crate) toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Amounts {
    /// `None` only in limits: no CPU limit.
    pub(crate) cpu: Option<String>,
    pub(crate) memory: String,
}

/// The Redis container's resources, limits resolved.
#[derive(Debug, Clone)]
pub(crate) struct Resources {
    pub(crate) requests: Amounts,
    pub(crate) limits: Amounts,
}

/// The client Service.
#[derive(Debug, Clone)]
pub(crate) struct ClientService {
    pub(crate) type_: &'static str,
    /// NodePort or LoadBalancer: meant to be reached from outside the namespace.
    pub(crate) external: bool,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) node_port: Option<u16>,
    pub(crate) load_balancer_source_ranges: Vec<String>,
    pub(crate) external_traffic_policy: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) struct NetworkPolicy {
    /// Who may reach the client port besides the release's own pods.
    pub(crate) clients: Vec<ClientSelector>,
}

#[derive(Debug, Clone)]
pub(crate) enum ClientSelector {
    Pods {
        pod_labels: BTreeMap<String, String>,
        /// `None`: the release's namespace only.
        namespace_labels: Option<BTreeMap<String, String>>,
    },
    IpBlock {
        cidr: String,
        except: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct PodSettings {
    /// Pod-only annotations, on top of the release's.
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) image_pull_secrets: Vec<String>,
    pub(crate) termination_grace_period_seconds: u32,
    pub(crate) startup_timeout_seconds: u32,
    pub(crate) service_account_name: Option<String>,
}

/// The StatefulSet's rolling update: always `RollingUpdate`, one pod at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpdateStrategy {
    /// Ordinals below this keep the old template (0: every pod updates).
    pub(crate) partition: u32,
}
