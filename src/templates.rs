//! The files that live inside the ConfigMap (redis.conf and the scripts) are minijinja templates
//! from `templates/`, embedded in the binary. Undefined variables are errors and nothing is
//! escaped: these are shell and redis.conf, not HTML.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::model::{paths, Model, Topology};

/// The ConfigMap's files, by key.
const CONFIG_TEMPLATES: &[(&str, &str)] = &[
    ("redis.conf", include_str!("../templates/redis.conf.j2")),
    ("start.sh", include_str!("../templates/start.sh.j2")),
    ("probe.sh", include_str!("../templates/probe.sh.j2")),
    ("bootstrap.sh", include_str!("../templates/bootstrap.sh.j2")),
];

/// Other embedded templates.
const OTHER_TEMPLATES: &[(&str, &str)] =
    &[("starter.toml", include_str!("../templates/starter.toml.j2"))];

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
        for (name, source) in CONFIG_TEMPLATES.iter().chain(OTHER_TEMPLATES) {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("embedded template {name} does not parse: {e}"));
        }
        env
    })
}

/// Everything a template may refer to; built from the model only.
#[derive(Debug, Serialize)]
struct Context<'a> {
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
    peer_wait_seconds: u32,
    ping_budget_seconds: u32,
    health_budget_seconds: u32,
}

#[derive(Debug, Serialize)]
struct Directive<'a> {
    name: &'a str,
    value: &'a str,
}

/// How long the bootstrap Job waits for every pod to answer, then for the cluster to be healthy.
/// Their sum stays below the Job's activeDeadlineSeconds (see `render::job`).
pub const PING_BUDGET_SECONDS: u32 = 300;
pub const HEALTH_BUDGET_SECONDS: u32 = 180;
/// How long a restarting pod waits for its peers' DNS names before repairing nodes.conf.
pub const PEER_WAIT_SECONDS: u32 = 15;

fn context(m: &Model) -> Context<'_> {
    let Topology::Cluster {
        masters,
        replicas_per_master,
        node_timeout_ms,
    } = m.topology;
    Context {
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
        peer_wait_seconds: PEER_WAIT_SECONDS,
        ping_budget_seconds: PING_BUDGET_SECONDS,
        health_budget_seconds: HEALTH_BUDGET_SECONDS,
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
    CONFIG_TEMPLATES
        .iter()
        .map(|(name, _)| (*name, render(name, &ctx)))
        .collect()
}
