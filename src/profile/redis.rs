//! Redis itself: persistence, memory, clients, and free-form `redis.conf` directives.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::directives::{self, Class, Directive, QuoteError, Version};
use super::image::DEFAULT_IMAGE;
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
    /// Free-form `redis.conf` directives of Redis 7.0 to 7.4, checked as Redis reads them (name,
    /// argument grammar, range, quoting). A directive that redkube owns (port, cluster-*,
    /// requirepass, dir, …) or that breaks its scripts or failover is rejected. A list value
    /// writes the directive once per item.
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
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub(crate) enum ConfigValue {
    One(String),
    Many(Vec<String>),
}

/// A string or a list of strings; anything else is refused with the quoted form to write
/// (serde's untagged enums only say that no variant matched).
impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a string as redis.conf has it (`tcp-keepalive = \"60\"`, \
                     `activerehashing = \"yes\"`), or a list of strings",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ConfigValue, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    values.push(v);
                }
                Ok(ConfigValue::Many(values))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
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
    (
        "slave-announce-ip",
        "each pod announces its own address at start",
    ),
    (
        "replica-announce-port",
        "replicas announce the top-level `port`; another one hides them from Sentinel",
    ),
    (
        "slave-announce-port",
        "replicas announce the top-level `port`; another one hides them from Sentinel",
    ),
];

/// Commands that redkube's scripts, its probes, Sentinel or its clients' write acknowledgement
/// send to Redis, and who needs each: `rename-command` may rename any other command.
const SCRIPT_COMMANDS: &[(&str, &str)] = &[
    (
        "AUTH",
        "every script and every Sentinel authenticates with AUTH",
    ),
    (
        "CLIENT",
        "Sentinel names its connections with CLIENT SETNAME and drops clients with CLIENT KILL \
         after a failover",
    ),
    (
        "CLUSTER",
        "the cluster's start, reconcile and probe scripts call CLUSTER INFO, NODES, MEET, \
         REPLICATE and FORGET",
    ),
    (
        "CONFIG",
        "Sentinel saves a failover into the configuration with CONFIG REWRITE",
    ),
    (
        "DBSIZE",
        "the start scripts compare DBSIZE to decide which node keeps its data",
    ),
    (
        "EXEC",
        "Sentinel sends a failover's reconfiguration inside MULTI/EXEC",
    ),
    ("FAILOVER", "a planned switch-over uses FAILOVER"),
    (
        "INFO",
        "the probes, the start scripts and Sentinel read INFO replication",
    ),
    (
        "MULTI",
        "Sentinel sends a failover's reconfiguration inside MULTI/EXEC",
    ),
    ("PING", "the probes and Sentinel send PING"),
    (
        "PUBLISH",
        "Sentinels find each other through PUBLISH and SUBSCRIBE on the Redis they watch",
    ),
    (
        "REPLICAOF",
        "Sentinel turns replicas towards a new master with REPLICAOF",
    ),
    ("SENTINEL", "the scripts ask the Sentinels with SENTINEL"),
    ("SHUTDOWN", "a clean stop of a node uses SHUTDOWN"),
    (
        "SLAVEOF",
        "Sentinel turns replicas towards a new master with SLAVEOF (REPLICAOF's old name)",
    ),
    (
        "SUBSCRIBE",
        "Sentinels find each other through PUBLISH and SUBSCRIBE on the Redis they watch",
    ),
    (
        "WAIT",
        "clients confirm that a write reached a replica with WAIT, which the failover promise \
         rests on",
    ),
];

/// The Redis line of the default image (`redis:7.2.7` -> 7.2): directives a later line added
/// are refused by the image most profiles run.
fn default_image_version() -> Version {
    version_of(super::image::ImageProfile::default().redis_line()).unwrap_or(directives::V7_2)
}

/// A Redis line as the directive table writes it.
fn version_of(line: Option<(u32, u32)>) -> Option<Version> {
    let (major, minor) = line?;
    Some(Version(
        u8::try_from(major).ok()?,
        u8::try_from(minor).ok()?,
    ))
}

fn path(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

/// What the Redis settings depend on elsewhere in the profile.
pub(super) struct RedisSurroundings<'a> {
    /// The Redis container's memory limit, as written.
    pub(super) memory_limit: &'a str,
    pub(super) storage: StorageKind,
    /// The Redis line the image runs, when its tag says so (see `image::redis_line`).
    pub(super) redis_line: Option<(u32, u32)>,
    /// Sentinel mode sets `min-replicas-*` from `[sentinel]`.
    pub(super) sentinel_mode: bool,
}

/// Directives Sentinel mode writes from `[sentinel]` (cluster mode leaves them to extra-config).
const SENTINEL_OWNED: &[&str] = &[
    "min-replicas-to-write",
    "min-slaves-to-write",
    "min-replicas-max-lag",
    "min-slaves-max-lag",
];

impl RedisProfile {
    pub(super) fn resolve(
        &self,
        around: RedisSurroundings<'_>,
        out: &mut Vec<Finding>,
    ) -> RedisConfig {
        self.check_memory(around.memory_limit, out);
        self.check_extra_config(around.redis_line, out);
        if around.sentinel_mode {
            for key in self.extra_config.keys() {
                if SENTINEL_OWNED.contains(&key.to_ascii_lowercase().as_str()) {
                    out.push(
                        Finding::error(
                            path("redis.extra-config").key(key),
                            format!("`{key}` is managed by redkube in Sentinel mode"),
                        )
                        .help("set `sentinel.min-replicas-to-write` and `sentinel.min-replicas-max-lag-seconds`"),
                    );
                }
            }
        }
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

    fn check_extra_config(&self, redis_line: Option<(u32, u32)>, out: &mut Vec<Finding>) {
        // The directives met so far, by canonical name, with the key that set each.
        let mut seen: Vec<(&'static str, &str)> = Vec::new();
        for (key, value) in &self.extra_config {
            let at = path("redis.extra-config").key(key);
            let lower = key.to_ascii_lowercase();
            let mut known = None;
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
            } else if key.is_empty()
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                out.push(
                    Finding::error(
                        at.clone(),
                        format!("`{key}` is not a redis.conf directive name"),
                    )
                    .help("directive names are letters, digits and `-`"),
                );
            } else {
                match directives::lookup(&lower) {
                    Some(d) => known = Some(d),
                    None => out.push(
                        Finding::error(
                            at.clone(),
                            format!("`{key}` is not a directive Redis knows"),
                        )
                        .help(unknown_directive_help(key)),
                    ),
                }
            }
            for v in value.values() {
                if v.contains(['\n', '\r']) {
                    out.push(
                        Finding::error(at.clone(), "a directive value cannot span lines")
                            .help("one directive per line; use a list for a repeated directive"),
                    );
                }
                if let Some(c) = v
                    .chars()
                    .find(|c| c.is_control() && !matches!(c, '\n' | '\r'))
                {
                    out.push(
                        Finding::error(
                            at.clone(),
                            "a directive value cannot contain control characters",
                        )
                        .help(format!(
                            "found {} (U+{:04X}): Redis reads it as part of the value or as a \
                             separator, and refuses or misreads the line; write printable text, \
                             quoted where it has spaces",
                            control_name(c),
                            u32::from(c)
                        )),
                    );
                }
            }
            let Some(d) = known else { continue };
            if !d.repeat {
                match seen.iter().find(|(name, _)| *name == d.name) {
                    Some((_, first)) => out.push(
                        Finding::warning(
                            at.clone(),
                            format!("`{first}` and `{key}` set the same directive"),
                        )
                        .help(format!(
                            "Redis keeps the last line, and redkube writes keys in sorted order: \
                             `{key}` wins; keep one of them"
                        )),
                    ),
                    None => seen.push((d.name, key)),
                }
            }
            check_directive(key, d, value, &at, redis_line, out);
        }
    }
}

/// "did you mean" for a name Redis does not know, and what redkube does with the suggestion.
fn unknown_directive_help(key: &str) -> String {
    let Some(near) = directives::closest(key) else {
        return "redkube knows the directives of Redis 7.0 to 7.4 (Valkey 7.2 and 8 share them); \
                check the spelling against redis.conf"
            .into();
    };
    match OWNED_DIRECTIVES.iter().find(|(d, _)| *d == near) {
        Some((_, why)) => format!("did you mean `{near}`? redkube manages it: {why}"),
        None if near.starts_with("tls-") => format!(
            "did you mean `{near}`? redkube manages it: TLS settings have their own profile table"
        ),
        None => format!("did you mean `{near}`?"),
    }
}

fn control_name(c: char) -> &'static str {
    match c {
        '\t' => "a tab",
        '\u{0b}' => "a vertical tab",
        '\u{0c}' => "a form feed",
        '\0' => "a NUL",
        '\u{1b}' => "an escape",
        _ => "a control character",
    }
}

/// The checks of one known directive: its class and version, list use, each value's quoting and
/// grammar, and what would break redkube's scripts or its failover.
fn check_directive(
    key: &str,
    d: &'static Directive,
    value: &ConfigValue,
    at: &FieldPath,
    redis_line: Option<(u32, u32)>,
    out: &mut Vec<Finding>,
) {
    // The image's own Redis line when its tag says; otherwise the default image's, and then
    // only a warning, since the image may well be newer.
    let image_version = version_of(redis_line).unwrap_or_else(default_image_version);
    let too_new = |what: String, since: Version| match redis_line {
        Some((major, minor)) => {
            Finding::error(at.clone(), format!("{what} needs Redis {since} or later")).help(
                format!(
                    "the image runs Redis {major}.{minor}, which refuses the whole file and never \
                 starts: remove it, or use an image of Redis {since} or later"
                ),
            )
        }
        None => Finding::warning(at.clone(), format!("{what} needs Redis {since} or later")).help(
            format!(
                "the default image ({DEFAULT_IMAGE}) refuses it and never starts; keep it only \
                 with an `image.reference` that runs Redis {since} or later (or Valkey 8)"
            ),
        ),
    };
    match d.class {
        Class::Deprecated => out.push(
            Finding::warning(at.clone(), format!("Redis ignores `{key}` since 7.0"))
                .help("remove it: Redis 7 accepts the line and does nothing with it"),
        ),
        Class::Hidden => out.push(
            Finding::warning(
                at.clone(),
                format!("`{key}` is a knob of Redis's own test suite"),
            )
            .help("it slows down or changes Redis in ways meant for Redis's tests; remove it"),
        ),
        Class::Config | Class::FileOnly => {}
    }
    if d.since > image_version {
        out.push(too_new(format!("`{key}`"), d.since));
    }
    if d.name == "loadmodule" {
        out.push(
            Finding::error(at.clone(), "`loadmodule` is not supported").help(
                "the image may not contain the module, and Redis stops at start when it cannot \
                 load one, so every pod would crash-loop; modules need an image built with them, \
                 which redkube does not manage yet",
            ),
        );
        return;
    }
    if let ConfigValue::Many(values) = value {
        if values.len() > 1 && !d.repeat {
            out.push(
                Finding::error(
                    at.clone(),
                    format!("`{key}` takes one value, not a list of {}", values.len()),
                )
                .help(
                    "a later line replaces an earlier one; only `client-output-buffer-limit` and \
                     `rename-command` may repeat",
                ),
            );
        }
    }
    for v in value.values() {
        if v.chars().any(char::is_control) {
            continue; // reported above
        }
        let args = match directives::split_args(v) {
            Ok(args) => args,
            Err(e) => {
                let (message, help) = match e {
                    QuoteError::Unterminated(q) => (
                        format!("unbalanced quotes in the value of `{key}`: a `{q}` is never closed"),
                        "Redis refuses the whole file: close the quote, or escape a literal one \
                         (`\\\"` inside double quotes, `\\'` inside single quotes)",
                    ),
                    QuoteError::TextAfterQuote(q) => (
                        format!(
                            "unbalanced quotes in the value of `{key}`: text follows a closing `{q}`"
                        ),
                        "Redis refuses the whole file: a closing quote must end its argument; \
                         quote the whole argument instead",
                    ),
                };
                out.push(Finding::error(at.clone(), message).help(help));
                continue;
            }
        };
        if let Err(p) = directives::check_args(key, d, &args) {
            out.push(Finding::error(at.clone(), p.message).help(p.help));
            continue;
        }
        check_promises(key, d, &args, at, out);
        for (name, newer, since) in directives::NEWER_VALUES {
            if d.name == *name
                && *since > image_version
                && args.iter().any(|a| a.eq_ignore_ascii_case(newer))
            {
                out.push(too_new(format!("`{key} {newer}`"), *since));
            }
        }
    }
}

/// What Redis accepts but redkube cannot: a renamed command its scripts or Sentinel send, a
/// replica that may never take over, and commands opened to every client.
fn check_promises(
    key: &str,
    d: &Directive,
    args: &[String],
    at: &FieldPath,
    out: &mut Vec<Finding>,
) {
    let first = args.first().map(String::as_str).unwrap_or_default();
    match d.name {
        "rename-command" => {
            for (i, command) in args.iter().enumerate() {
                let Some((name, why)) = SCRIPT_COMMANDS
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(command))
                else {
                    continue;
                };
                let message = if i == 0 {
                    format!("renaming `{name}` breaks redkube's scripts or Sentinel")
                } else {
                    format!("`{name}` already exists: Redis refuses it as a new name")
                };
                out.push(
                    Finding::error(at.clone(), message)
                        .help(format!("{why}; rename or remove other commands only")),
                );
            }
        }
        "cluster-replica-no-failover" if first.eq_ignore_ascii_case("yes") => out.push(
            Finding::error(
                at.clone(),
                format!("`{key} yes` stops replicas from taking over a failed master"),
            )
            .help(
                "redkube promises automatic failover: every replica must be able to replace its \
                 master; remove it (a manual CLUSTER FAILOVER still works without it)",
            ),
        ),
        "replica-priority" if first == "0" => out.push(
            Finding::error(
                at.clone(),
                format!("`{key} 0` makes a replica never promotable"),
            )
            .help(
                "Sentinel never promotes a replica of priority 0, so with it on every replica a \
                 lost master is never replaced, which breaks redkube's failover promise (in both \
                 modes, since one profile sets every pod); use 1 or more (lower is preferred)",
            ),
        ),
        "enable-debug-command" | "enable-module-command" | "enable-protected-configs"
            if first.eq_ignore_ascii_case("yes") =>
        {
            out.push(
                Finding::warning(
                    at.clone(),
                    format!("`{key} yes` opens it to every client on the network"),
                )
                .help(
                    "DEBUG can crash or stall a node, MODULE LOAD runs code, protected configs \
                     move data files; `local` allows it only from inside the pod (`kubectl \
                     exec … redis-cli`)",
                ),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(entries: &[(&str, ConfigValue)]) -> Vec<Finding> {
        let profile = RedisProfile {
            extra_config: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..RedisProfile::default()
        };
        let mut out = Vec::new();
        profile.check_extra_config(None, &mut out);
        out
    }

    fn one(v: &str) -> ConfigValue {
        ConfigValue::One(v.into())
    }

    fn summary(out: &[Finding]) -> Vec<String> {
        out.iter()
            .map(|f| {
                format!(
                    "{} {}: {} | {}",
                    if f.is_error() { "E" } else { "W" },
                    f.path,
                    f.message,
                    f.help.as_deref().unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn the_default_image_is_a_7_2() {
        assert_eq!(default_image_version(), directives::V7_2);
    }

    #[test]
    fn script_commands_are_known_once_and_in_upper_case() {
        let mut names: Vec<&str> = SCRIPT_COMMANDS.iter().map(|(c, _)| *c).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        names.retain(|c| c.to_ascii_uppercase() != *c);
        assert!(names.is_empty());
    }

    #[test]
    fn every_entry_is_checked_and_every_finding_reported() {
        let out = findings(&[
            ("appendfsync", one("sometimes")),
            ("maxmemroy", one("1gb")),
            ("tcp-keepalve", one("60")),
            ("syslog-ident", one("\"open")),
            ("timeout", one("5\u{b}")),
            (
                "rename-command",
                ConfigValue::Many(vec!["CONFIG x".into(), "INFO \"\"".into()]),
            ),
        ]);
        let s = summary(&out);
        assert_eq!(out.iter().filter(|f| f.is_error()).count(), 7, "{s:#?}");
        let has = |needle: &str| s.iter().any(|l| l.contains(needle));
        assert!(has("redis.extra-config.appendfsync: `appendfsync` does not take `sometimes` | allowed values: `everysec`, `always`, `no`"), "{s:#?}");
        assert!(has("redis.extra-config.tcp-keepalve: `tcp-keepalve` is not a directive Redis knows | did you mean `tcp-keepalive`?"), "{s:#?}");
        assert!(
            has("did you mean `maxmemory`? redkube manages it: set `redis.maxmemory`"),
            "{s:#?}"
        );
        assert!(
            has("unbalanced quotes in the value of `syslog-ident`"),
            "{s:#?}"
        );
        assert!(has("found a vertical tab (U+000B)"), "{s:#?}");
        assert!(has("renaming `CONFIG` breaks"), "{s:#?}");
        assert!(has("renaming `INFO` breaks"), "{s:#?}");
    }

    #[test]
    fn accepted_values_make_no_finding() {
        let out = findings(&[
            ("tcp-keepalive", one("60")),
            ("cluster-replica-no-failover", one("no")),
            ("replica-priority", one("10")),
            (
                "rename-command",
                ConfigValue::Many(vec!["FLUSHALL \"\"".into(), "KEYS k2".into()]),
            ),
            (
                "client-output-buffer-limit",
                ConfigValue::Many(vec!["normal 0 0 0".into(), "pubsub 32mb 8mb 60".into()]),
            ),
            (
                "notify-keyspace-events",
                ConfigValue::Many(vec!["Ex".into()]),
            ),
            ("server_cpulist", one("0-3")),
            ("enable-debug-command", one("local")),
        ]);
        assert!(out.is_empty(), "{:#?}", summary(&out));
    }

    #[test]
    fn warnings_for_what_redis_accepts_but_should_not_see() {
        let out = findings(&[
            ("enable-debug-command", one("yes")),
            ("hide-user-data-from-log", one("yes")),
            ("loglevel", one("nothing")),
            ("lua-replicate-commands", one("yes")),
            ("watchdog-period", one("0")),
            ("replica-lazy-flush", one("yes")),
            ("slave-lazy-flush", one("no")),
        ]);
        let s = summary(&out);
        assert!(out.iter().all(|f| !f.is_error()), "{s:#?}");
        // `loglevel nothing` is 7.2's, like the default image: no warning.
        assert_eq!(out.len(), 5, "{s:#?}");
        let has = |needle: &str| s.iter().any(|l| l.contains(needle));
        assert!(has("`enable-debug-command yes` opens it to every client"));
        assert!(has("`hide-user-data-from-log` needs Redis 7.4 or later"));
        assert!(!has("`loglevel nothing`"));
        assert!(has("Redis ignores `lua-replicate-commands` since 7.0"));
        assert!(has("`watchdog-period` is a knob of Redis's own test suite"));
        assert!(has(
            "`replica-lazy-flush` and `slave-lazy-flush` set the same directive"
        ));
    }

    #[test]
    fn promises_hold_in_every_spelling() {
        for (key, value) in [
            ("cluster-replica-no-failover", "yes"),
            ("cluster-slave-no-failover", "YES"),
            ("replica-priority", "0"),
            ("slave-priority", "0"),
            ("rename-command", "config other"),
            ("rename-command", "flushall PING"),
            ("RENAME-COMMAND", "SENTINEL \"\""),
            ("loadmodule", "/m.so"),
        ] {
            let out = findings(&[(key, one(value))]);
            assert_eq!(
                out.iter().filter(|f| f.is_error()).count(),
                1,
                "{key} {value}: {:#?}",
                summary(&out)
            );
        }
    }
}
