//! Redis itself: persistence, memory, clients, and free-form `redis.conf` directives.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::quantity::{parse_k8s_quantity, parse_redis_memory};
use super::storage::StorageKind;
use crate::model::RedisConfig;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RedisProfile {
    pub(crate) persistence: Persistence,
    /// `maxmemory` in Redis units, e.g. `100mb`, `2gb` or bytes.
    pub(crate) maxmemory: Option<String>,
    pub(crate) maxmemory_policy: Option<MaxmemoryPolicy>,
    /// `maxclients`.
    pub(crate) maxclients: Option<u32>,
    /// Free-form `redis.conf` directives. A directive that redkube owns (port, cluster-*, requirepass,
    /// dir, …) is rejected. A list value writes the directive once per item.
    pub(crate) extra_config: BTreeMap<String, ConfigValue>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Persistence {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MaxmemoryPolicy {
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
    fn as_str(self) -> &'static str {
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
pub(crate) enum ConfigValue {
    One(String),
    Many(Vec<String>),
}

impl ConfigValue {
    fn values(&self) -> Vec<&str> {
        match self {
            ConfigValue::One(v) => vec![v.as_str()],
            ConfigValue::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// Directives that redkube writes itself; setting them in `extra-config` would break the
/// guarantees the manifests make (addresses, auth, persistence paths, cluster mode).
const OWNED_DIRECTIVES: &[(&str, &str)] = &[
    ("port", "set the top-level `port`"),
    (
        "bind",
        "redkube binds all pod interfaces; restrict access with `[network-policy]`",
    ),
    (
        "protected-mode",
        "auth is always on, so protected mode is off",
    ),
    (
        "daemonize",
        "a container's main process must stay in the foreground",
    ),
    (
        "supervised",
        "a container's main process must stay in the foreground",
    ),
    ("pidfile", "no pid file is needed in a container"),
    ("logfile", "logs go to stdout for `kubectl logs`"),
    ("dir", "the data directory is the mounted volume"),
    (
        "dbfilename",
        "the data directory layout is owned by redkube",
    ),
    ("appendonly", "set `redis.persistence`"),
    (
        "appendfilename",
        "the data directory layout is owned by redkube",
    ),
    (
        "appenddirname",
        "the data directory layout is owned by redkube",
    ),
    ("save", "set `redis.persistence`"),
    ("maxmemory", "set `redis.maxmemory`"),
    ("maxmemory-policy", "set `redis.maxmemory-policy`"),
    ("maxclients", "set `redis.maxclients`"),
    (
        "requirepass",
        "the password comes from `[auth]`, through a Secret file",
    ),
    (
        "masterauth",
        "the password comes from `[auth]`, through a Secret file",
    ),
    ("masteruser", "ACL users are not supported yet"),
    ("aclfile", "ACL users are not supported yet"),
    ("user", "ACL users are not supported yet"),
    ("include", "redkube assembles the configuration itself"),
    (
        "replicaof",
        "replication is set up by the cluster or by Sentinel",
    ),
    (
        "slaveof",
        "replication is set up by the cluster or by Sentinel",
    ),
    ("cluster-enabled", "set `mode`"),
    (
        "cluster-config-file",
        "nodes.conf lives in the data directory",
    ),
    ("cluster-node-timeout", "set `cluster.node-timeout-ms`"),
    (
        "cluster-announce-ip",
        "each pod announces its own IP at start",
    ),
    (
        "cluster-announce-hostname",
        "each pod announces its own DNS name at start",
    ),
    ("cluster-announce-port", "set the top-level `port`"),
    (
        "cluster-announce-bus-port",
        "the bus port is `port` + 10000",
    ),
    ("cluster-announce-tls-port", "TLS is not supported yet"),
    ("cluster-port", "the bus port is `port` + 10000"),
    (
        "replica-announce-ip",
        "each pod announces its own address at start",
    ),
    ("tls-port", "TLS is not supported yet"),
];

fn path(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

/// What the Redis settings depend on elsewhere in the profile.
pub(super) struct RedisSurroundings<'a> {
    /// The Redis container's memory limit, as written.
    pub(super) memory_limit: &'a str,
    pub(super) storage: StorageKind,
}

impl RedisProfile {
    pub(super) fn resolve(
        &self,
        around: RedisSurroundings<'_>,
        out: &mut Vec<Finding>,
    ) -> RedisConfig {
        self.check_memory(around.memory_limit, out);
        self.check_extra_config(out);
        if around.storage == StorageKind::Ephemeral && self.persistence != Persistence::None {
            out.push(
                Finding::warning(
                    path("redis.persistence"),
                    "persistence is on but the storage is ephemeral: files are lost with the pod",
                )
                .help("set `persistence = \"none\"` for a cache, or use `claim`/`nfs` storage"),
            );
        }
        RedisConfig {
            aof: matches!(self.persistence, Persistence::Aof | Persistence::Both),
            rdb: matches!(self.persistence, Persistence::Rdb | Persistence::Both),
            maxmemory: self.maxmemory.clone(),
            maxmemory_policy: self.maxmemory_policy.map(MaxmemoryPolicy::as_str),
            maxclients: self.maxclients,
            extra_config: self
                .extra_config
                .iter()
                .flat_map(|(name, value)| {
                    value
                        .values()
                        .into_iter()
                        .map(move |v| (name.clone(), v.to_string()))
                })
                .collect(),
        }
    }

    fn check_memory(&self, memory_limit: &str, out: &mut Vec<Finding>) {
        let Some(maxmemory) = &self.maxmemory else {
            if self.maxmemory_policy.is_some() {
                out.push(
                    Finding::warning(
                        path("redis.maxmemory-policy"),
                        "a policy without `maxmemory` never applies",
                    )
                    .help("set `redis.maxmemory` too"),
                );
            }
            return;
        };
        let Some(bytes) = parse_redis_memory(maxmemory) else {
            out.push(
                Finding::error(
                    path("redis.maxmemory"),
                    format!("`{maxmemory}` is not a Redis memory size"),
                )
                .help("write a number with an optional unit: `100mb`, `2gb`, `1048576`"),
            );
            return;
        };
        if let Some(limit_bytes) = parse_k8s_quantity(memory_limit) {
            if bytes as f64 >= limit_bytes {
                // The kernel kills the pod at the limit, before Redis would start evicting.
                out.push(
                    Finding::error(
                        path("redis.maxmemory"),
                        format!(
                            "maxmemory {maxmemory} is not below the memory limit {memory_limit}"
                        ),
                    )
                    .help(
                        "the pod is OOM-killed before eviction starts; keep maxmemory at most \
                         80% of `resources.limits.memory` (replication buffers and a fork's \
                         copy-on-write need the rest)",
                    ),
                );
            } else if bytes as f64 > 0.8 * limit_bytes {
                out.push(
                    Finding::warning(
                        path("redis.maxmemory"),
                        format!(
                            "maxmemory {maxmemory} is more than 80% of the memory limit {memory_limit}"
                        ),
                    )
                    .help(
                        "replication buffers and the copy-on-write of a fork need headroom; \
                         the kernel kills the pod at the limit",
                    ),
                );
            }
        }
    }

    fn check_extra_config(&self, out: &mut Vec<Finding>) {
        for (key, value) in &self.extra_config {
            let at = path("redis.extra-config").key(key);
            let lower = key.to_ascii_lowercase();
            if let Some((_, why)) = OWNED_DIRECTIVES.iter().find(|(d, _)| *d == lower) {
                out.push(
                    Finding::error(at.clone(), format!("`{key}` is managed by redkube"))
                        .help(why.to_string()),
                );
            } else if lower.starts_with("tls-") || lower.starts_with("sentinel") {
                out.push(
                    Finding::error(at.clone(), format!("`{key}` is managed by redkube"))
                        .help("TLS and Sentinel settings have their own profile tables"),
                );
            } else if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                out.push(
                    Finding::error(
                        at.clone(),
                        format!("`{key}` is not a redis.conf directive name"),
                    )
                    .help("directive names are letters, digits and `-`"),
                );
            }
            for v in value.values() {
                if v.contains(['\n', '\r']) {
                    out.push(
                        Finding::error(at.clone(), "a directive value cannot span lines")
                            .help("one directive per line; use a list for a repeated directive"),
                    );
                }
            }
        }
    }
}
