//! The profile: what a user writes in TOML, as typed structs.
//!
//! Deserialization rejects unknown keys and wrong types (with spans, through `toml`); everything
//! that needs more than a type (ranges, cross-field rules, formats) lives in [`validate`].
//! Defaults live here, next to the field they belong to, so `redkube schema` shows them.

pub mod load;
pub mod quantity;
pub mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A redkube profile: one Redis deployment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    /// `cluster`: sharded Redis Cluster (masters x replicas). `sentinel`: one master, replicas,
    /// and a Sentinel beside each Redis.
    pub mode: Mode,
    /// Release name: names every object. A DNS-1035 label of at most 44 characters, so that the
    /// longest generated name (the bootstrap Job) still fits the 63-character limit.
    pub name: String,
    /// Namespace written into namespaced objects (a kustomize `namespace:` overlay may change it).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The cluster's DNS domain, used in the hostname each pod announces.
    #[serde(default = "default_cluster_domain")]
    pub cluster_domain: String,
    /// Extra labels on every object and pod (never in selectors).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on every object and pod.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub image: ImageProfile,
    /// The Redis client port. The cluster bus uses port + 10000.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Topology of a Redis Cluster (required when `mode = "cluster"`).
    pub cluster: Option<ClusterProfile>,
    /// Topology and timing of Redis with Sentinel (required when `mode = "sentinel"`).
    pub sentinel: Option<SentinelProfile>,
    #[serde(default)]
    pub redis: RedisProfile,
    pub auth: AuthProfile,
    pub storage: StorageProfile,
    #[serde(default)]
    pub scheduling: SchedulingProfile,
    #[serde(default)]
    pub resources: ResourcesProfile,
    #[serde(default)]
    pub service: ServiceProfile,
    #[serde(default)]
    pub network_policy: NetworkPolicyProfile,
    #[serde(default)]
    pub pod: PodProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Cluster,
    Sentinel,
}

fn default_namespace() -> String {
    "default".into()
}
fn default_cluster_domain() -> String {
    "cluster.local".into()
}
fn default_port() -> u16 {
    6379
}

/// The container image. The default is the official image at a 7.2 tag: the last Redis line
/// under the BSD licence.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageProfile {
    /// `repository[:tag][@sha256:<64 hex>]`, e.g. `redis:7.2.7` or `redis@sha256:…`.
    #[serde(default = "default_image")]
    pub reference: String,
    #[serde(default)]
    pub pull_policy: PullPolicy,
}

pub const DEFAULT_IMAGE: &str = "redis:7.2.7";

fn default_image() -> String {
    DEFAULT_IMAGE.into()
}

impl Default for ImageProfile {
    fn default() -> Self {
        Self {
            reference: default_image(),
            pull_policy: PullPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum PullPolicy {
    /// Always ask the registry (cheap with a digest; required by checkov's CKV_K8S_15).
    #[default]
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterProfile {
    /// Number of masters (shards), at least 3.
    pub masters: u32,
    /// Replicas of each master.
    #[serde(default = "default_replicas")]
    pub replicas_per_master: u32,
    /// `cluster-node-timeout` in milliseconds: how long a node may be unreachable before failover.
    #[serde(default = "default_node_timeout")]
    pub node_timeout_ms: u32,
}

fn default_replicas() -> u32 {
    1
}
fn default_node_timeout() -> u32 {
    5000
}

/// Redis with Sentinel: `redis-pods` pods, one master and the rest replicas. Every pod also runs a
/// Sentinel (a sidecar), so there are as many Sentinels as Redis pods.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SentinelProfile {
    /// Redis pods (and so Sentinels): at least 2.
    #[serde(default = "default_sentinel_pods")]
    pub redis_pods: u32,
    /// Sentinels. A Sentinel runs beside each Redis pod, so this always equals `redis-pods`;
    /// state it to have that checked (and the odd-count rule reported here).
    pub sentinels: Option<u32>,
    /// Sentinels that must agree a master is down. Default: a majority.
    pub quorum: Option<u32>,
    /// Fewer than 3, or an even number of, Sentinels cannot survive the loss of one and keep a
    /// majority; set this to accept that.
    #[serde(default)]
    pub accept_fewer_sentinels: bool,
    /// The master set's name, as clients ask for it.
    #[serde(default = "default_master_set")]
    pub master_set: String,
    #[serde(default = "default_down_after")]
    pub down_after_ms: u32,
    #[serde(default = "default_failover_timeout")]
    pub failover_timeout_ms: u32,
    #[serde(default = "default_parallel_syncs")]
    pub parallel_syncs: u32,
    /// The Sentinel port.
    #[serde(default = "default_sentinel_port")]
    pub port: u16,
    /// Resources of each Sentinel container.
    #[serde(default = "default_sentinel_resources")]
    pub resources: ResourceAmounts,
}

fn default_sentinel_pods() -> u32 {
    3
}
fn default_master_set() -> String {
    "mymaster".into()
}
fn default_down_after() -> u32 {
    5000
}
fn default_failover_timeout() -> u32 {
    60000
}
fn default_parallel_syncs() -> u32 {
    1
}
fn default_sentinel_port() -> u16 {
    26379
}
fn default_sentinel_resources() -> ResourceAmounts {
    ResourceAmounts {
        cpu: "100m".into(),
        memory: "64Mi".into(),
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RedisProfile {
    #[serde(default)]
    pub persistence: Persistence,
    /// `maxmemory` in Redis units, e.g. `100mb`, `2gb` or bytes.
    pub maxmemory: Option<String>,
    pub maxmemory_policy: Option<MaxmemoryPolicy>,
    /// `maxclients`.
    pub maxclients: Option<u32>,
    /// Free-form `redis.conf` directives. A directive that redkube owns (port, cluster-*, requirepass,
    /// dir, …) is rejected. A list value writes the directive once per item.
    #[serde(default)]
    pub extra_config: BTreeMap<String, ConfigValue>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// Append-only file, fsync every second.
    #[default]
    Aof,
    /// RDB snapshots only.
    Rdb,
    /// AOF and RDB snapshots.
    Both,
    /// No persistence (a cache).
    None,
}

impl Persistence {
    pub fn aof(self) -> bool {
        matches!(self, Persistence::Aof | Persistence::Both)
    }
    pub fn rdb(self) -> bool {
        matches!(self, Persistence::Rdb | Persistence::Both)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaxmemoryPolicy {
    Noeviction,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl MaxmemoryPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Noeviction => "noeviction",
            Self::AllkeysLru => "allkeys-lru",
            Self::AllkeysLfu => "allkeys-lfu",
            Self::AllkeysRandom => "allkeys-random",
            Self::VolatileLru => "volatile-lru",
            Self::VolatileLfu => "volatile-lfu",
            Self::VolatileRandom => "volatile-random",
            Self::VolatileTtl => "volatile-ttl",
        }
    }
}

/// One value or a list of values for a repeatable directive.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ConfigValue {
    One(String),
    Many(Vec<String>),
}

impl ConfigValue {
    pub fn values(&self) -> Vec<&str> {
        match self {
            ConfigValue::One(v) => vec![v.as_str()],
            ConfigValue::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// Where the password comes from: exactly one of `password`, `password-env`, `existing-secret`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthProfile {
    /// A literal password. It lands in the rendered Secret (and so in your Git history).
    pub password: Option<String>,
    /// Name of an environment variable read at render time.
    pub password_env: Option<String>,
    /// An existing Secret; redkube then renders no Secret.
    pub existing_secret: Option<ExistingSecret>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExistingSecret {
    pub name: String,
    #[serde(default = "default_secret_key")]
    pub key: String,
}

pub fn default_secret_key() -> String {
    "password".into()
}

/// Storage for each pod's data directory. `kind` selects which sub-table applies.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageProfile {
    pub kind: StorageKind,
    /// Size of each pod's volume (a Kubernetes quantity). For `ephemeral`, the emptyDir size limit.
    pub size: Option<String>,
    pub claim: Option<ClaimStorage>,
    pub nfs: Option<NfsStorage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StorageKind {
    /// PersistentVolumeClaims from a StorageClass.
    Claim,
    /// Static NFS PersistentVolumes, one per pod.
    Nfs,
    /// emptyDir: data does not survive a pod restart. For caches only.
    Ephemeral,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClaimStorage {
    /// StorageClass name; unset uses the cluster's default class.
    pub storage_class: Option<String>,
    #[serde(default = "default_claim_modes")]
    pub access_modes: Vec<AccessMode>,
}

fn default_claim_modes() -> Vec<AccessMode> {
    vec![AccessMode::ReadWriteOnce]
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NfsStorage {
    pub server: String,
    /// Export path per pod. Must contain `{ordinal}` (0-based) or `{ordinal+1}` (1-based), so
    /// that no two pods share a directory (they would share nodes.conf and crash).
    pub path: String,
    #[serde(default)]
    pub reclaim_policy: ReclaimPolicy,
    #[serde(default)]
    pub mount_options: Vec<String>,
    #[serde(default = "default_nfs_modes")]
    pub access_modes: Vec<AccessMode>,
}

fn default_nfs_modes() -> Vec<AccessMode> {
    vec![AccessMode::ReadWriteOnce]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum AccessMode {
    ReadWriteOnce,
    ReadWriteOncePod,
    ReadWriteMany,
    ReadOnlyMany,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
            AccessMode::ReadWriteMany => "ReadWriteMany",
            AccessMode::ReadOnlyMany => "ReadOnlyMany",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ReclaimPolicy {
    #[default]
    Retain,
    Delete,
}

impl ReclaimPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReclaimPolicy::Retain => "Retain",
            ReclaimPolicy::Delete => "Delete",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SchedulingProfile {
    #[serde(default)]
    pub anti_affinity: AntiAffinity,
    /// Topology key for pod anti-affinity.
    #[serde(default = "default_topology_key")]
    pub topology_key: String,
    pub topology_spread: Option<TopologySpread>,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    pub priority_class_name: Option<String>,
}

impl Default for SchedulingProfile {
    fn default() -> Self {
        Self {
            anti_affinity: AntiAffinity::default(),
            topology_key: default_topology_key(),
            topology_spread: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            priority_class_name: None,
        }
    }
}

fn default_topology_key() -> String {
    "kubernetes.io/hostname".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AntiAffinity {
    None,
    /// Preferred: spread pods when the scheduler can.
    #[default]
    Soft,
    /// Required: never two pods in one topology domain.
    Hard,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TopologySpread {
    #[serde(default = "default_zone_key")]
    pub topology_key: String,
    #[serde(default = "default_max_skew")]
    pub max_skew: u32,
    #[serde(default)]
    pub when_unsatisfiable: WhenUnsatisfiable,
}

fn default_zone_key() -> String {
    "topology.kubernetes.io/zone".into()
}
fn default_max_skew() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum WhenUnsatisfiable {
    #[default]
    ScheduleAnyway,
    DoNotSchedule,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Toleration {
    pub key: Option<String>,
    #[serde(default)]
    pub operator: TolerationOperator,
    pub value: Option<String>,
    pub effect: Option<TaintEffect>,
    pub toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum TolerationOperator {
    #[default]
    Equal,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ResourcesProfile {
    #[serde(default = "default_requests")]
    pub requests: ResourceAmounts,
    /// Unset limits default to the requests (Guaranteed QoS: Redis is latency sensitive and must
    /// not be the first to be evicted).
    pub limits: Option<ResourceAmounts>,
}

impl Default for ResourcesProfile {
    fn default() -> Self {
        Self {
            requests: default_requests(),
            limits: None,
        }
    }
}

fn default_requests() -> ResourceAmounts {
    ResourceAmounts {
        cpu: "250m".into(),
        memory: "256Mi".into(),
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ResourceAmounts {
    pub cpu: String,
    pub memory: String,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceProfile {
    #[serde(default, rename = "type")]
    pub type_: ServiceType,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Fixed node port (NodePort and LoadBalancer only), 30000-32767.
    pub node_port: Option<u16>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetworkPolicyProfile {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Who may reach the client port besides the release's own pods. Empty: every pod in the
    /// namespace (ClusterIP) or any source (NodePort, LoadBalancer).
    #[serde(default)]
    pub clients: Vec<ClientSelector>,
}

impl Default for NetworkPolicyProfile {
    fn default() -> Self {
        Self {
            enabled: true,
            clients: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClientSelector {
    #[serde(default)]
    pub pod_labels: BTreeMap<String, String>,
    /// Unset: the release's namespace only.
    pub namespace_labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PodProfile {
    /// Time for Redis to finish an AOF fsync / RDB save on SIGTERM.
    #[serde(default = "default_grace")]
    pub termination_grace_period_seconds: u32,
    /// How long a starting pod may take to answer PING at all (it tolerates LOADING afterwards).
    #[serde(default = "default_startup")]
    pub startup_timeout_seconds: u32,
    /// Service account name (its token is never mounted).
    pub service_account_name: Option<String>,
}

impl Default for PodProfile {
    fn default() -> Self {
        Self {
            termination_grace_period_seconds: default_grace(),
            startup_timeout_seconds: default_startup(),
            service_account_name: None,
        }
    }
}

fn default_grace() -> u32 {
    60
}
fn default_startup() -> u32 {
    300
}
