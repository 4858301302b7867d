//! The files that live inside the ConfigMap (redis.conf and the scripts) are minijinja templates
//! from `templates/`, embedded in the binary. Undefined variables are errors and nothing is
//! escaped: these are shell and redis.conf, not HTML.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::model::{paths, Model, Topology};

/// Embedded templates, by template name.
const TEMPLATES: &[(&str, &str)] = &[
    ("redis.conf.j2", include_str!("../templates/redis.conf.j2")),
    (
        "cluster/redis.conf.j2",
        include_str!("../templates/cluster/redis.conf.j2"),
    ),
    (
        "sentinel/redis.conf.j2",
        include_str!("../templates/sentinel/redis.conf.j2"),
    ),
    (
        "lib/common.sh.j2",
        include_str!("../templates/lib/common.sh.j2"),
    ),
    (
        "lib/replica-data.sh.j2",
        include_str!("../templates/lib/replica-data.sh.j2"),
    ),
    (
        "lib/probe.sh.j2",
        include_str!("../templates/lib/probe.sh.j2"),
    ),
    (
        "lib/persistence.sh.j2",
        include_str!("../templates/lib/persistence.sh.j2"),
    ),
    (
        "cluster/lib.sh.j2",
        include_str!("../templates/cluster/lib.sh.j2"),
    ),
    (
        "cluster/start/empty-master-guard.sh.j2",
        include_str!("../templates/cluster/start/empty-master-guard.sh.j2"),
    ),
    (
        "cluster/start/ip-repair.sh.j2",
        include_str!("../templates/cluster/start/ip-repair.sh.j2"),
    ),
    (
        "cluster/start/rejoin.sh.j2",
        include_str!("../templates/cluster/start/rejoin.sh.j2"),
    ),
    (
        "cluster/start/self-form.sh.j2",
        include_str!("../templates/cluster/start/self-form.sh.j2"),
    ),
    (
        "cluster/start.sh.j2",
        include_str!("../templates/cluster/start.sh.j2"),
    ),
    (
        "cluster/probe.sh.j2",
        include_str!("../templates/cluster/probe.sh.j2"),
    ),
    (
        "cluster/bootstrap.sh.j2",
        include_str!("../templates/cluster/bootstrap.sh.j2"),
    ),
    (
        "sentinel/lib.sh.j2",
        include_str!("../templates/sentinel/lib.sh.j2"),
    ),
    (
        "sentinel/redis-start.sh.j2",
        include_str!("../templates/sentinel/redis-start.sh.j2"),
    ),
    (
        "sentinel/sentinel-start.sh.j2",
        include_str!("../templates/sentinel/sentinel-start.sh.j2"),
    ),
    (
        "sentinel/probe.sh.j2",
        include_str!("../templates/sentinel/probe.sh.j2"),
    ),
    (
        "sentinel/prestop.sh.j2",
        include_str!("../templates/sentinel/prestop.sh.j2"),
    ),
    (
        "starter.toml.j2",
        include_str!("../templates/starter.toml.j2"),
    ),
];

/// The ConfigMap of a Redis Cluster: key, template.
const CLUSTER_FILES: &[(&str, &str)] = &[
    ("redis.conf", "cluster/redis.conf.j2"),
    ("start.sh", "cluster/start.sh.j2"),
    ("probe.sh", "cluster/probe.sh.j2"),
    ("bootstrap.sh", "cluster/bootstrap.sh.j2"),
];

/// The ConfigMap of Redis with Sentinel: key, template.
const SENTINEL_FILES: &[(&str, &str)] = &[
    ("redis.conf", "sentinel/redis.conf.j2"),
    ("start.sh", "sentinel/redis-start.sh.j2"),
    ("sentinel.sh", "sentinel/sentinel-start.sh.j2"),
    ("probe.sh", "sentinel/probe.sh.j2"),
    ("prestop.sh", "sentinel/prestop.sh.j2"),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("embedded template {name} does not parse: {e}"));
        }
        env
    })
}

/// Everything a template may refer to; built from the model only.
#[derive(Debug, Serialize)]
struct Context<'a> {
    mode: &'static str,
    release: &'a str,
    statefulset: &'a str,
    headless_service: &'a str,
    cluster_domain: &'a str,
    port: u16,
    pods: u32,
    masters: u32,
    replicas_per_master: u32,
    node_timeout_ms: u32,
    aof: bool,
    rdb: bool,
    maxmemory: Option<&'a str>,
    maxmemory_policy: Option<&'a str>,
    extra_config: Vec<Directive<'a>>,
    config_dir: &'a str,
    secret_dir: &'a str,
    secret_file: &'a str,
    runtime_dir: &'a str,
    data_dir: &'a str,
    redis_conf_path: &'static str,
    // The argument of each probe (see `render::statefulset`): probe.sh dispatches on them.
    probe_liveness: &'static str,
    probe_readiness: &'static str,
    probe_startup: &'static str,
    probe_sentinel: &'static str,
    peer_wait_seconds: u32,
    rejoin_budget_seconds: u32,
    self_form_wait_seconds: u32,
    self_form_budget_seconds: u32,
    create_budget_seconds: u32,
    empty_master_wait_seconds: u32,
    ping_budget_seconds: u32,
    health_budget_seconds: u32,
    maxclients: Option<u32>,
    // Sentinel mode (zero in cluster mode, where no template reads them).
    master_set: &'a str,
    sentinel_port: u16,
    quorum: u32,
    down_after_ms: u32,
    failover_timeout_ms: u32,
    parallel_syncs: u32,
    sentinel_ask_seconds: u32,
    sentinel_resolve_seconds: u32,
    failover_outcome_seconds: u32,
    prestop_wait_seconds: u32,
}

#[derive(Debug, Serialize)]
struct Directive<'a> {
    name: &'a str,
    value: &'a str,
}

/// The shared redis.conf in the ConfigMap (`paths::CONFIG_DIR`), which the per-pod config
/// includes.
const REDIS_CONF_PATH: &str = "/etc/redkube/redis.conf";

/// How long the bootstrap Job waits for every pod to answer, then for the cluster to be healthy.
/// Their sum stays below the Job's activeDeadlineSeconds (see `render::job`).
pub const PING_BUDGET_SECONDS: u32 = 300;
pub const HEALTH_BUDGET_SECONDS: u32 = 180;
/// How long a restarting pod waits for its peers' DNS names before repairing nodes.conf.
pub const PEER_WAIT_SECONDS: u32 = 15;
/// How long a pod that started without nodes.conf looks for a cluster that remembers it.
pub const REJOIN_BUDGET_SECONDS: u32 = 300;
/// How long every pod must stay empty and unjoined before the first pod forms the cluster
/// itself: well beyond the seconds a running bootstrap Job takes to act on that state.
pub const SELF_FORM_WAIT_SECONDS: u32 = 30;
/// How long a never-joined first pod keeps watching for that state.
pub const SELF_FORM_BUDGET_SECONDS: u32 = 1800;
/// How long `redis-cli --cluster create` may take, in the Job or the first pod.
pub const CREATE_BUDGET_SECONDS: u32 = 120;

/// How long a starting Redis asks the Sentinels before the first pod may start as master.
pub const SENTINEL_ASK_SECONDS: u32 = 30;
/// How long a Sentinel waits for the names in its config to resolve.
pub const SENTINEL_RESOLVE_SECONDS: u32 = 30;

fn context(m: &Model) -> Context<'_> {
    let (masters, replicas_per_master, node_timeout_ms) = match &m.topology {
        Topology::Cluster {
            masters,
            replicas_per_master,
            node_timeout_ms,
        } => (*masters, *replicas_per_master, *node_timeout_ms),
        Topology::Sentinel(_) => (1, m.pods() - 1, 0),
    };
    let sentinel = m.topology.sentinel();
    let grace = m.pod.termination_grace_period_seconds;
    Context {
        mode: if m.is_cluster() {
            "cluster"
        } else {
            "sentinel"
        },
        release: &m.names.release,
        statefulset: &m.names.statefulset,
        headless_service: &m.names.headless_service,
        cluster_domain: &m.cluster_domain,
        port: m.port,
        pods: m.pods(),
        masters,
        replicas_per_master,
        node_timeout_ms,
        aof: m.redis.persistence.aof(),
        rdb: m.redis.persistence.rdb(),
        maxmemory: m.redis.maxmemory.as_deref(),
        maxmemory_policy: m.redis.maxmemory_policy.map(|p| p.as_str()),
        extra_config: m
            .redis
            .extra_config
            .iter()
            .flat_map(|(name, value)| {
                value
                    .values()
                    .into_iter()
                    .map(move |value| Directive { name, value })
            })
            .collect(),
        config_dir: paths::CONFIG_DIR,
        secret_dir: paths::SECRET_DIR,
        secret_file: paths::SECRET_FILE,
        runtime_dir: paths::RUNTIME_DIR,
        data_dir: paths::DATA_DIR,
        redis_conf_path: REDIS_CONF_PATH,
        probe_liveness: "liveness",
        probe_readiness: "readiness",
        probe_startup: "startup",
        probe_sentinel: "sentinel",
        peer_wait_seconds: PEER_WAIT_SECONDS,
        rejoin_budget_seconds: REJOIN_BUDGET_SECONDS,
        self_form_wait_seconds: SELF_FORM_WAIT_SECONDS,
        self_form_budget_seconds: SELF_FORM_BUDGET_SECONDS,
        create_budget_seconds: CREATE_BUDGET_SECONDS,
        // The cluster marks a silent master failed after node-timeout, then a replica wins
        // an election: three node-timeouts and a margin.
        empty_master_wait_seconds: (node_timeout_ms / 1000) * 3 + 30,
        ping_budget_seconds: PING_BUDGET_SECONDS,
        health_budget_seconds: HEALTH_BUDGET_SECONDS,
        maxclients: m.redis.maxclients,
        master_set: sentinel.map_or("", |s| s.master_set.as_str()),
        sentinel_port: sentinel.map_or(0, |s| s.port),
        quorum: sentinel.map_or(0, |s| s.quorum),
        down_after_ms: sentinel.map_or(0, |s| s.down_after_ms),
        failover_timeout_ms: sentinel.map_or(0, |s| s.failover_timeout_ms),
        parallel_syncs: sentinel.map_or(0, |s| s.parallel_syncs),
        sentinel_ask_seconds: SENTINEL_ASK_SECONDS,
        sentinel_resolve_seconds: SENTINEL_RESOLVE_SECONDS,
        // A failover of this master: Sentinel needs down-after to notice, then the failover.
        failover_outcome_seconds: sentinel
            .map_or(0, |s| (s.down_after_ms + s.failover_timeout_ms) / 1000),
        // Leave the container time to shut down after the failover.
        prestop_wait_seconds: grace.saturating_sub(10).max(5),
    }
}

/// Render an embedded template. Templates are embedded and tested against every context shape,
/// so a failure here is a redkube bug, not a user error.
pub fn render<S: Serialize>(name: &str, ctx: &S) -> String {
    environment()
        .get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(ctx)))
        .unwrap_or_else(|e| panic!("template {name} failed to render: {e:#}"))
}

/// The ConfigMap's files, in key order.
pub fn config_files(m: &Model) -> Vec<(&'static str, String)> {
    let ctx = context(m);
    let files = if m.is_cluster() {
        CLUSTER_FILES
    } else {
        SENTINEL_FILES
    };
    let mut out: Vec<(&'static str, String)> = files
        .iter()
        .map(|(key, template)| (*key, render(template, &ctx)))
        .collect();
    out.sort_by_key(|(key, _)| *key);
    out
}
