//! The profile: what a user writes in TOML, and its resolution into the [`Model`].
//!
//! One module per topic (`names`, `image`, `topology`, `auth`, `storage`, `scheduling`,
//! `redis`, `service`, `pod`, `update`), each holding its TOML types with their one `Default`, its
//! checks, and its resolution into a part of the model, side by side. Deserialization rejects
//! unknown keys and wrong types (with spans, through `toml`); [`resolve`] is the one pass that
//! checks everything else and builds the model, or returns every finding.

mod auth;
mod deserialize;
pub(crate) mod diagnostics;
mod directives;
mod image;
mod load;
pub(crate) mod names;
mod pod;
mod quantity;
mod redis;
mod scheduling;
mod service;
mod storage;
mod topology;
mod update;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

pub use diagnostics::{ProfileDiagnostic, ProfileErrors};
pub(crate) use image::{server, Product, Server};
pub use load::{load_bytes, load_file, load_str, process_env, EnvLookup, Loaded};
pub use names::MAX_NAME_LEN;
pub(crate) use quantity::parse_k8s_quantity;
pub(crate) use storage::StorageKind;

use crate::model::{Model, Topology};
use diagnostics::{FieldPath, Finding};

/// A redkube profile: one Redis deployment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
// The mode's table is required, and the other mode's is a mistake (as `resolve` checks).
#[schemars(extend("allOf" = [
    {
        "if": { "properties": { "mode": { "const": "cluster" } }, "required": ["mode"] },
        "then": { "required": ["cluster"], "not": { "required": ["sentinel"] } }
    },
    {
        "if": { "properties": { "mode": { "const": "sentinel" } }, "required": ["mode"] },
        "then": { "required": ["sentinel"], "not": { "required": ["cluster"] } }
    }
]))]
pub(crate) struct Profile {
    /// `cluster`: sharded Redis Cluster (masters x replicas). `sentinel`: one master, replicas,
    /// and a Sentinel beside each Redis.
    pub(crate) mode: Mode,
    /// Release name: names every object. A DNS-1035 label of at most 44 characters, so that the
    /// longest generated name (the reconcile Job) still fits the 63-character limit.
    #[schemars(length(max = 44), regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub(crate) name: String,
    /// Namespace written into namespaced objects (a kustomize `namespace:` overlay may change it).
    #[serde(default = "default_namespace")]
    #[schemars(length(max = 63), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub(crate) namespace: String,
    /// The cluster's DNS domain, used in the hostname each pod announces.
    #[serde(default = "default_cluster_domain")]
    pub(crate) cluster_domain: String,
    /// Extra labels on every object and pod (never in selectors).
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, String>,
    /// Extra annotations on every object and pod.
    #[serde(default)]
    pub(crate) annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) image: image::ImageProfile,
    /// The Redis client port. The cluster bus uses port + 10000.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 55535))]
    pub(crate) port: u16,
    /// Topology of a Redis Cluster (required when `mode = "cluster"`).
    pub(crate) cluster: Option<topology::ClusterProfile>,
    /// Topology and timing of Redis with Sentinel (required when `mode = "sentinel"`).
    pub(crate) sentinel: Option<topology::SentinelProfile>,
    #[serde(default)]
    pub(crate) redis: redis::RedisProfile,
    pub(crate) auth: auth::AuthProfile,
    pub(crate) storage: storage::StorageProfile,
    #[serde(default)]
    pub(crate) scheduling: scheduling::SchedulingProfile,
    #[serde(default)]
    pub(crate) resources: pod::ResourcesProfile,
    #[serde(default)]
    pub(crate) service: service::ServiceProfile,
    #[serde(default)]
    pub(crate) network_policy: service::NetworkPolicyProfile,
    #[serde(default)]
    pub(crate) pod: pod::PodProfile,
    /// How a changed pod template rolls out (RollingUpdate; `partition` stages it).
    #[serde(default)]
    pub(crate) update: update::UpdateProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    Cluster,
    Sentinel,
}

impl Mode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Cluster => "cluster",
            Mode::Sentinel => "sentinel",
        }
    }
}

/// Top-level settings: written after a `[table]` header, TOML puts them in that table.
pub(super) const TOP_LEVEL_SCALARS: &[&str] =
    &["mode", "name", "namespace", "cluster-domain", "port"];

fn default_namespace() -> String {
    "default".into()
}
fn default_cluster_domain() -> String {
    "cluster.local".into()
}
fn default_port() -> u16 {
    6379
}

/// The JSON Schema of the profile format (`redkube schema`).
pub(crate) fn json_schema() -> schemars::Schema {
    schemars::schema_for!(Profile)
}

/// A model, and the warnings found while building it.
pub(crate) struct Resolved {
    pub(crate) model: Model,
    pub(crate) warnings: Vec<Finding>,
}

/// The one resolution pass: every check, in profile order, and the model built from the
/// checked parts. `Err` carries every finding (errors and warnings) when any is an error.
pub(crate) fn resolve(p: &Profile, env: EnvLookup<'_>) -> Result<Resolved, Vec<Finding>> {
    let mut out = Vec::new();
    names::check_release(p, &mut out);
    names::check_metadata(&FieldPath::parse("labels"), &p.labels, true, &mut out);
    names::check_metadata(
        &FieldPath::parse("annotations"),
        &p.annotations,
        false,
        &mut out,
    );
    let image = p.image.resolve(&mut out);
    check_port(p.port, &mut out);
    let topology = topology::resolve(p, &mut out);
    let redis = p.redis.resolve(
        redis::RedisSurroundings {
            memory_limit: p.resources.memory_limit(),
            storage: p.storage.kind,
            redis_line: p.image.redis_line(),
            sentinel_mode: p.mode == Mode::Sentinel,
        },
        &mut out,
    );
    p.auth.check(&mut out);
    let storage = p.storage.resolve(
        topology.as_ref().map(|t| t.pods()),
        storage::NfsClass {
            namespace: &p.namespace,
            release: &p.name,
        },
        &mut out,
    );
    let scheduling = p.scheduling.resolve(&mut out);
    let resources = p.resources.resolve(&mut out);
    let service = p.service.resolve(p.mode == Mode::Sentinel, &mut out);
    let network_policy = p.network_policy.resolve(service.external, &mut out);
    let pod = p.pod.resolve(
        topology.as_ref().map(Topology::pre_listen_seconds),
        &mut out,
    );
    let update = p
        .update
        .resolve(topology.as_ref().map(Topology::pods), &mut out);
    let names = names::resolve_names(p);
    let auth = p.auth.resolve(&names, env, &mut out);

    if out.iter().any(Finding::is_error) {
        return Err(out);
    }
    let (Some((image, version)), Some(topology), Some(storage), Some(resources), Some(auth)) =
        (image, topology, storage, resources, auth)
    else {
        // Every part that fails to resolve reports an error; reaching here is a redkube bug.
        out.push(Finding::error(
            FieldPath::default(),
            "redkube could not resolve this profile and found no reason (a bug: please report it)",
        ));
        return Err(out);
    };
    let model = Model {
        labels: names::resolve_labels(p, version),
        names,
        namespace: p.namespace.clone(),
        cluster_domain: p.cluster_domain.clone(),
        annotations: p.annotations.clone(),
        image,
        port: p.port,
        topology,
        redis,
        auth,
        storage,
        scheduling,
        resources,
        service,
        network_policy,
        pod,
        update,
    };
    Ok(Resolved {
        model,
        warnings: out,
    })
}

fn check_port(port: u16, out: &mut Vec<Finding>) {
    if port == 0 || port > 55535 {
        out.push(
            Finding::error(
                FieldPath::parse("port"),
                format!("port {port} is out of range"),
            )
            .help("use 1-55535: the cluster bus listens on port + 10000"),
        );
    }
}
