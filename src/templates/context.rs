//! Each mode's typed template context, built from the model only. The part both modes share
//! is flattened into each, so templates see one flat namespace of variables.

use serde::Serialize;

use super::script::{ProbeMode, Script};
use crate::model::{
    paths, ClusterTiming, ClusterTopology, Model, SentinelTiming, SentinelTopology,
};

/// What every mode's templates may refer to.
#[derive(Debug, Serialize)]
struct Common<'a> {
    release: &'a str,
    statefulset: &'a str,
    headless_service: &'a str,
    cluster_domain: &'a str,
    port: u16,
    pods: u32,
    secret_dir: &'static str,
    secret_file: &'static str,
    runtime_dir: &'static str,
    data_dir: &'static str,
    redis_conf_path: String,
    topology_path: String,
    probe_startup: &'static str,
    probe_liveness: &'static str,
    probe_readiness: &'static str,
    // redis.conf
    aof: bool,
    rdb: bool,
    maxmemory: Option<&'a str>,
    maxmemory_policy: Option<&'static str>,
    maxclients: Option<u32>,
    extra_config: Vec<Directive<'a>>,
}

#[derive(Debug, Serialize)]
struct Directive<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> Common<'a> {
    fn new(m: &'a Model, redis_conf: Script, topology: Script) -> Self {
        Common {
            release: &m.names.release,
            statefulset: &m.names.statefulset,
            headless_service: &m.names.headless_service,
            cluster_domain: &m.cluster_domain,
            port: m.port,
            pods: m.pods(),
            secret_dir: paths::SECRET_DIR,
            secret_file: paths::SECRET_FILE,
            runtime_dir: paths::RUNTIME_DIR,
            data_dir: paths::DATA_DIR,
            redis_conf_path: redis_conf.path(),
            topology_path: topology.path(),
            probe_startup: ProbeMode::Startup.as_str(),
            probe_liveness: ProbeMode::Liveness.as_str(),
            probe_readiness: ProbeMode::Readiness.as_str(),
            aof: m.redis.aof,
            rdb: m.redis.rdb,
            maxmemory: m.redis.maxmemory.as_deref(),
            maxmemory_policy: m.redis.maxmemory_policy,
            maxclients: m.redis.maxclients,
            extra_config: m
                .redis
                .extra_config
                .iter()
                .map(|(name, value)| Directive { name, value })
                .collect(),
        }
    }
}

/// The templates of a Redis Cluster.
#[derive(Debug, Serialize)]
pub(crate) struct ClusterContext<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    masters: u32,
    replicas_per_master: u32,
    members: u32,
    node_timeout_ms: u32,
    #[serde(flatten)]
    timing: &'a ClusterTiming,
}

impl<'a> ClusterContext<'a> {
    pub(crate) fn new(m: &'a Model, c: &'a ClusterTopology) -> Self {
        ClusterContext {
            common: Common::new(m, Script::ClusterRedisConf, Script::ClusterTopology),
            masters: c.masters,
            replicas_per_master: c.replicas_per_master,
            members: c.members(),
            node_timeout_ms: c.node_timeout_ms,
            timing: &c.timing,
        }
    }
}

/// The templates of Redis with Sentinel.
#[derive(Debug, Serialize)]
pub(crate) struct SentinelContext<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    master_set: &'a str,
    sentinel_port: u16,
    quorum: u32,
    down_after_ms: u32,
    failover_timeout_ms: u32,
    parallel_syncs: u32,
    min_replicas_to_write: u32,
    min_replicas_max_lag_seconds: u32,
    probe_sentinel: &'static str,
    #[serde(flatten)]
    timing: &'a SentinelTiming,
}

impl<'a> SentinelContext<'a> {
    pub(crate) fn new(m: &'a Model, s: &'a SentinelTopology) -> Self {
        SentinelContext {
            common: Common::new(m, Script::SentinelRedisConf, Script::SentinelTopology),
            master_set: &s.master_set,
            sentinel_port: s.port,
            quorum: s.quorum,
            down_after_ms: s.down_after_ms,
            failover_timeout_ms: s.failover_timeout_ms,
            parallel_syncs: s.parallel_syncs,
            min_replicas_to_write: s.min_replicas_to_write,
            min_replicas_max_lag_seconds: s.min_replicas_max_lag_seconds,
            probe_sentinel: ProbeMode::Sentinel.as_str(),
            timing: &s.timing,
        }
    }
}
