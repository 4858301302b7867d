//! Semantic checks: everything a type alone cannot say. Each check reports the field path, what
//! was expected and how to fix it; all findings are collected, not just the first.

use std::collections::BTreeMap;

use super::quantity::{parse_k8s_quantity, parse_redis_memory};
use super::*;
use crate::diagnostics::{FieldPath, Finding};

/// The longest release name: `<name>-bootstrap-<8 hex>` (the Job, also its pods' `job-name`
/// label) must fit in a 63-character label.
pub const MAX_NAME_LEN: usize = 63 - "-bootstrap-".len() - 8;

/// Redis Cluster has 16384 hash slots; every master needs at least one.
pub const MAX_MASTERS: u32 = 16384;

/// Password bounds: shorter is guessable at Redis' speed of ~100k AUTH/s; longer is pointless.
pub const MIN_PASSWORD_LEN: usize = 16;
pub const MAX_PASSWORD_LEN: usize = 512;

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

pub fn validate(p: &Profile) -> Vec<Finding> {
    let mut out = Vec::new();
    check_names(p, &mut out);
    check_metadata("labels", &p.labels, true, &mut out);
    check_metadata("annotations", &p.annotations, false, &mut out);
    check_image(&p.image, &mut out);
    check_port(p.port, &mut out);
    check_topology(p, &mut out);
    check_redis(p, &mut out);
    check_auth(&p.auth, &mut out);
    check_storage(&p.storage, &mut out);
    check_scheduling(&p.scheduling, &mut out);
    check_resources(&p.resources, &mut out);
    check_service(&p.service, &mut out);
    check_network_policy(&p.network_policy, &mut out);
    check_pod(&p.pod, &mut out);
    out
}

fn path(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

/// A DNS-1123 label: lower-case alphanumerics and `-`, starting and ending alphanumeric.
pub fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain as Kubernetes checks object names: dot-separated parts of lower-case
/// alphanumerics and `-`, at most 253 characters in all (no 63-character limit per part).
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(|l| is_dns_label(l, 253))
}

fn check_names(p: &Profile, out: &mut Vec<Finding>) {
    let name = &p.name;
    if !is_dns_label(name, MAX_NAME_LEN) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        let msg = if name.len() > MAX_NAME_LEN {
            format!(
                "`{name}` is {} characters; the longest allowed is {MAX_NAME_LEN}",
                name.len()
            )
        } else {
            format!("`{name}` is not a DNS-1035 label")
        };
        out.push(Finding::error(path("name"), msg).help(format!(
            "use lower-case letters, digits and `-`, starting with a letter, at most {MAX_NAME_LEN} \
             characters (the bootstrap Job appends `-bootstrap-<hash>` and must stay within 63)"
        )));
    }
    if !is_dns_label(&p.namespace, 63) {
        out.push(
            Finding::error(
                path("namespace"),
                format!("`{}` is not a valid namespace", p.namespace),
            )
            .help(
                "a namespace is a DNS-1123 label: lower-case letters, digits and `-`, at most 63",
            ),
        );
    }
    if !is_dns_subdomain(&p.cluster_domain) {
        out.push(
            Finding::error(
                path("cluster-domain"),
                format!("`{}` is not a DNS domain", p.cluster_domain),
            )
            .help("use the kubelet's --cluster-domain, usually `cluster.local`"),
        );
    }
}

/// Label and annotation keys: an optional DNS-subdomain prefix and a name of at most 63 chars.
fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    name_ok && prefix.is_none_or(is_dns_subdomain)
}

fn is_label_value(v: &str) -> bool {
    v.is_empty() || (is_qualified_name(v) && !v.contains('/'))
}

fn check_metadata(
    field: &str,
    map: &BTreeMap<String, String>,
    values_are_labels: bool,
    out: &mut Vec<Finding>,
) {
    for (key, value) in map {
        let at = path(field).key(key);
        if !is_qualified_name(key) {
            out.push(
                Finding::error(at.clone(), format!("`{key}` is not a valid {field} key"))
                    .help("keys are `[prefix/]name`: name at most 63 alphanumerics, `-`, `_`, `.`"),
            );
        }
        if key.starts_with("app.kubernetes.io/") && values_are_labels {
            out.push(
                Finding::error(at.clone(), format!("`{key}` is set by redkube"))
                    .help("redkube writes the recommended app.kubernetes.io labels itself"),
            );
        }
        if values_are_labels && !is_label_value(value) {
            out.push(
                Finding::error(at, format!("`{value}` is not a valid label value")).help(
                    "at most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric",
                ),
            );
        }
    }
}

/// The parts of `repository[:tag][@sha256:digest]`.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

pub fn parse_image(reference: &str) -> Result<ImageRef<'_>, String> {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => {
            let hex = digest
                .strip_prefix("sha256:")
                .ok_or("a digest must start with `sha256:`")?;
            if hex.len() != 64
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                return Err("a sha256 digest is 64 lower-case hex characters".into());
            }
            (rest, Some(digest))
        }
        None => (reference, None),
    };
    // A tag follows the last `:` that comes after the last `/` (a registry may have a port).
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    let repo_ok = !repository.is_empty()
        && repository
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/:".contains(&b));
    if !repo_ok {
        return Err(format!("`{repository}` is not a valid repository"));
    }
    if let Some(tag) = tag {
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !tag_ok {
            return Err(format!("`{tag}` is not a valid tag"));
        }
    }
    if tag.is_none() && digest.is_none() {
        return Err(
            "the image has neither a tag nor a digest, so every pull may run another Redis".into(),
        );
    }
    if tag == Some("latest") && digest.is_none() {
        return Err(
            "`latest` moves; pods of one StatefulSet could run different Redis versions".into(),
        );
    }
    Ok(ImageRef {
        repository,
        tag,
        digest,
    })
}

fn check_image(image: &ImageProfile, out: &mut Vec<Finding>) {
    if let Err(msg) = parse_image(&image.reference) {
        out.push(Finding::error(path("image.reference"), msg).help(format!(
            "write e.g. `{DEFAULT_IMAGE}` or `redis:7.2.7@sha256:<digest>`"
        )));
    }
}

fn check_port(port: u16, out: &mut Vec<Finding>) {
    if port == 0 || port > 55535 {
        out.push(
            Finding::error(path("port"), format!("port {port} is out of range"))
                .help("use 1-55535: the cluster bus listens on port + 10000"),
        );
    }
}

fn check_topology(p: &Profile, out: &mut Vec<Finding>) {
    // Each mode has its own table; the other one is a mistake, not a harmless extra.
    let (wanted, unwanted) = match p.mode {
        Mode::Cluster => ("cluster", p.sentinel.as_ref().map(|_| "sentinel")),
        Mode::Sentinel => ("sentinel", p.cluster.as_ref().map(|_| "cluster")),
    };
    if let Some(table) = unwanted {
        out.push(
            Finding::error(
                path(table),
                format!("`[{table}]` does not apply to mode `{wanted}`"),
            )
            .help(format!("remove `[{table}]`, or set `mode = \"{table}\"`")),
        );
    }
    match p.mode {
        Mode::Cluster => check_cluster(p, out),
        Mode::Sentinel => check_sentinel(p, out),
    }
}

fn check_cluster(p: &Profile, out: &mut Vec<Finding>) {
    let Some(c) = &p.cluster else {
        out.push(
            Finding::error(path("cluster"), "mode `cluster` needs a `[cluster]` table")
                .help("add `[cluster]` with `masters = 3` and `replicas-per-master = 1`"),
        );
        return;
    };
    if c.masters < 3 {
        out.push(
            Finding::error(
                path("cluster.masters"),
                format!("{} masters cannot form a Redis Cluster", c.masters),
            )
            .help("Redis Cluster needs at least 3 masters to reach a failover majority; set `masters = 3`"),
        );
    }
    if c.masters > MAX_MASTERS {
        out.push(
            Finding::error(
                path("cluster.masters"),
                format!("{} masters exceed the 16384 hash slots", c.masters),
            )
            .help("every master needs at least one of the 16384 slots"),
        );
    }
    if c.replicas_per_master > 5 {
        out.push(
            Finding::error(
                path("cluster.replicas-per-master"),
                format!(
                    "{} replicas per master is more than redkube supports",
                    c.replicas_per_master
                ),
            )
            .help("use 0 to 5; more replicas add replication load without adding availability"),
        );
    }
    if c.replicas_per_master == 0 && p.storage.kind == StorageKind::Ephemeral {
        out.push(
            Finding::warning(
                path("cluster.replicas-per-master"),
                "no replicas and ephemeral storage: a pod restart loses its slots' data for good",
            )
            .help("set `replicas-per-master = 1` so a replica can take over"),
        );
    }
    if !(1000..=600_000).contains(&c.node_timeout_ms) {
        out.push(
            Finding::error(
                path("cluster.node-timeout-ms"),
                format!("{} ms is outside 1000-600000", c.node_timeout_ms),
            )
            .help("a shorter timeout fails over on every GC pause or network blip; 5000-15000 is usual"),
        );
    }
}

/// The most Redis pods of one master set; beyond this, replication fan-out dominates.
pub const MAX_SENTINEL_PODS: u32 = 15;

fn check_sentinel(p: &Profile, out: &mut Vec<Finding>) {
    let Some(s) = &p.sentinel else {
        out.push(
            Finding::error(
                path("sentinel"),
                "mode `sentinel` needs a `[sentinel]` table",
            )
            .help("add `[sentinel]` with `redis-pods = 3`"),
        );
        return;
    };
    let n = s.redis_pods;
    if n < 2 {
        out.push(
            Finding::error(
                path("sentinel.redis-pods"),
                format!("{n} Redis pod(s) leave nothing to fail over to"),
            )
            .help("use at least 2: one master and one replica; 3 is the default"),
        );
    } else if n > MAX_SENTINEL_PODS {
        out.push(
            Finding::error(path("sentinel.redis-pods"), format!("{n} Redis pods is more than {MAX_SENTINEL_PODS}"))
                .help("one master replicating to many replicas saturates its network; use mode `cluster` to scale"),
        );
    } else if let Some(k) = s.sentinels.filter(|&k| k != n) {
        out.push(
            Finding::error(
                path("sentinel.sentinels"),
                format!("{k} Sentinels, but a Sentinel runs beside each of the {n} Redis pods"),
            )
            .help(format!(
                "the Sentinel count follows `redis-pods`: set `redis-pods = {k}`, or drop `sentinels`"
            )),
        );
    } else if (n < 3 || n % 2 == 0) && !s.accept_fewer_sentinels {
        let field = if s.sentinels.is_some() {
            "sentinel.sentinels"
        } else {
            "sentinel.redis-pods"
        };
        out.push(
            Finding::error(
                path(field),
                format!("{n} Sentinels (one per Redis pod) cannot keep a majority after losing one"),
            )
            .help("use an odd number of at least 3, or set `accept-fewer-sentinels = true` to accept the risk"),
        );
    }
    if let Some(q) = s.quorum {
        if q == 0 || q > n {
            out.push(
                Finding::error(
                    path("sentinel.quorum"),
                    format!("quorum {q} is not between 1 and the {n} Sentinels"),
                )
                .help(format!(
                    "leave it unset for a majority ({}), or use 1-{n}",
                    n / 2 + 1
                )),
            );
        }
    }
    let set_ok = !s.master_set.is_empty()
        && s.master_set.len() <= 64
        && s.master_set
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !set_ok {
        out.push(
            Finding::error(
                path("sentinel.master-set"),
                format!("`{}` is not a usable master set name", s.master_set),
            )
            .help("use letters, digits, `-`, `_` and `.`, e.g. `mymaster`"),
        );
    }
    if !(1000..=600_000).contains(&s.down_after_ms) {
        out.push(
            Finding::error(
                path("sentinel.down-after-ms"),
                format!("{} ms is outside 1000-600000", s.down_after_ms),
            )
            .help("a shorter window fails over on every blip; 5000-30000 is usual"),
        );
    }
    if u64::from(s.failover_timeout_ms) < 2 * u64::from(s.down_after_ms)
        || s.failover_timeout_ms > 3_600_000
    {
        out.push(
            Finding::error(
                path("sentinel.failover-timeout-ms"),
                format!(
                    "{} ms is not between twice down-after-ms ({} ms) and one hour",
                    s.failover_timeout_ms, s.down_after_ms
                ),
            )
            .help("a failover that times out before it can finish is retried forever; 60000 is the Redis default"),
        );
    }
    if s.parallel_syncs == 0 {
        out.push(
            Finding::error(
                path("sentinel.parallel-syncs"),
                "parallel-syncs must be at least 1",
            )
            .help("1 resyncs replicas one at a time after a failover"),
        );
    }
    if s.port == 0 || s.port == p.port {
        out.push(
            Finding::error(
                path("sentinel.port"),
                format!("port {} clashes or is invalid", s.port),
            )
            .help("use the default 26379"),
        );
    }
    check_quantity(
        &s.resources.cpu,
        path("sentinel.resources.cpu"),
        "CPU amount",
        out,
    );
    check_quantity(
        &s.resources.memory,
        path("sentinel.resources.memory"),
        "memory amount",
        out,
    );
}

fn check_redis(p: &Profile, out: &mut Vec<Finding>) {
    let r = &p.redis;
    if let Some(maxmemory) = &r.maxmemory {
        match parse_redis_memory(maxmemory) {
            None => out.push(
                Finding::error(
                    path("redis.maxmemory"),
                    format!("`{maxmemory}` is not a Redis memory size"),
                )
                .help("write a number with an optional unit: `100mb`, `2gb`, `1048576`"),
            ),
            Some(bytes) => {
                let limit = p.resources.memory_limit();
                if let Some(limit_bytes) = parse_k8s_quantity(limit) {
                    if bytes as f64 > 0.8 * limit_bytes {
                        out.push(
                            Finding::warning(
                                path("redis.maxmemory"),
                                format!("maxmemory {maxmemory} is more than 80% of the memory limit {limit}"),
                            )
                            .help("replication buffers and the copy-on-write of a fork need headroom; \
                                   the kernel kills the pod at the limit"),
                        );
                    }
                }
            }
        }
    } else if r.maxmemory_policy.is_some() {
        out.push(
            Finding::warning(
                path("redis.maxmemory-policy"),
                "a policy without `maxmemory` never applies",
            )
            .help("set `redis.maxmemory` too"),
        );
    }
    for (key, value) in &r.extra_config {
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
        } else if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
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
    if p.storage.kind == StorageKind::Ephemeral && r.persistence != Persistence::None {
        out.push(
            Finding::warning(
                path("redis.persistence"),
                "persistence is on but the storage is ephemeral: files are lost with the pod",
            )
            .help("set `persistence = \"none\"` for a cache, or use `claim`/`nfs` storage"),
        );
    }
}

fn check_auth(a: &AuthProfile, out: &mut Vec<Finding>) {
    let set = [
        a.password.is_some(),
        a.password_env.is_some(),
        a.existing_secret.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    if set != 1 {
        out.push(
            Finding::error(
                path("auth"),
                if set == 0 {
                    "no password source is set".to_string()
                } else {
                    "more than one password source is set".to_string()
                },
            )
            .help("set exactly one of `password`, `password-env` or `existing-secret = { name = \"…\", key = \"password\" }`"),
        );
    }
    if let Some(pw) = &a.password {
        check_password(pw, path("auth.password"), out);
        out.push(
            Finding::warning(
                path("auth.password"),
                "a literal password lands in the rendered Secret and in Git",
            )
            .help("prefer `password-env` (read at render time) or `existing-secret`"),
        );
    }
    if let Some(var) = &a.password_env {
        if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.push(
                Finding::error(
                    path("auth.password-env"),
                    format!("`{var}` is not an environment variable name"),
                )
                .help("use letters, digits and `_`, e.g. `REDIS_PASSWORD`"),
            );
        }
    }
    if let Some(s) = &a.existing_secret {
        if !is_dns_subdomain(&s.name) || s.name.is_empty() {
            out.push(
                Finding::error(
                    path("auth.existing-secret.name"),
                    format!("`{}` is not a Secret name", s.name),
                )
                .help("a Secret name is a DNS subdomain: lower-case letters, digits, `-` and `.`"),
            );
        }
        let key_ok = !s.key.is_empty()
            && s.key.len() <= 253
            && s.key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !key_ok {
            out.push(
                Finding::error(
                    path("auth.existing-secret.key"),
                    format!("`{}` is not a Secret key", s.key),
                )
                .help("Secret keys are alphanumerics, `-`, `_` and `.`"),
            );
        }
    }
}

/// Checks shared by a literal password and one read from the environment.
pub fn check_password(pw: &str, at: FieldPath, out: &mut Vec<Finding>) {
    let len = pw.chars().count();
    if len < MIN_PASSWORD_LEN {
        out.push(
            Finding::error(at.clone(), format!("the password has {len} characters; at least {MIN_PASSWORD_LEN} are required"))
                .help("Redis answers ~100k AUTH attempts a second; generate one with `openssl rand -base64 24`"),
        );
    }
    if len > MAX_PASSWORD_LEN {
        out.push(
            Finding::error(
                at.clone(),
                format!(
                    "the password has {len} characters; at most {MAX_PASSWORD_LEN} are allowed"
                ),
            )
            .help("use a shorter random password"),
        );
    }
    if pw.chars().any(|c| c.is_control()) {
        out.push(
            Finding::error(
                at,
                "the password contains a control character (newline, tab, …)",
            )
            .help("redis.conf cannot carry it safely; use printable characters"),
        );
    }
}

fn check_quantity(value: &str, at: FieldPath, what: &str, out: &mut Vec<Finding>) -> Option<f64> {
    match parse_k8s_quantity(value) {
        Some(v) if v > 0.0 => Some(v),
        _ => {
            out.push(
                Finding::error(at, format!("`{value}` is not a valid {what}")).help(
                    "use a Kubernetes quantity such as `200M`, `20Gi` (sizes) or `250m`, `1` (CPU)",
                ),
            );
            None
        }
    }
}

fn check_storage(s: &StorageProfile, out: &mut Vec<Finding>) {
    let kind_name = match s.kind {
        StorageKind::Claim => "claim",
        StorageKind::Nfs => "nfs",
        StorageKind::Ephemeral => "ephemeral",
    };
    // A sub-table for another kind is a mistake, not a harmless extra.
    for (table, present, wanted) in [
        ("claim", s.claim.is_some(), StorageKind::Claim),
        ("nfs", s.nfs.is_some(), StorageKind::Nfs),
    ] {
        if present && s.kind != wanted {
            out.push(
                Finding::error(
                    path("storage").key(table),
                    format!("`[storage.{table}]` does not apply to kind `{kind_name}`"),
                )
                .help(format!("remove it, or set `kind = \"{table}\"`")),
            );
        }
    }
    match (&s.size, s.kind) {
        (Some(size), _) => {
            check_quantity(size, path("storage.size"), "size", out);
        }
        (None, StorageKind::Ephemeral) => {}
        (None, _) => out.push(
            Finding::error(path("storage"), "`size` is required for persistent storage")
                .help("add e.g. `size = \"20Gi\"` under `[storage]`"),
        ),
    }
    match s.kind {
        StorageKind::Claim => {
            if let Some(claim) = &s.claim {
                if let Some(class) = &claim.storage_class {
                    if !is_dns_subdomain(class) {
                        out.push(
                            Finding::error(path("storage.claim.storage-class"), format!("`{class}` is not a StorageClass name"))
                                .help("StorageClass names are DNS subdomains; omit the key for the default class"),
                        );
                    }
                }
                check_access_modes(&claim.access_modes, path("storage.claim.access-modes"), out);
            }
        }
        StorageKind::Nfs => match &s.nfs {
            None => out.push(
                Finding::error(path("storage"), "kind `nfs` needs a `[storage.nfs]` table")
                    .help("add `[storage.nfs]` with `server` and `path = \"/exports/redis/pv{ordinal+1}\"`"),
            ),
            Some(nfs) => check_nfs(nfs, out),
        },
        StorageKind::Ephemeral => out.push(
            Finding::warning(path("storage.kind"), "ephemeral storage: data is lost whenever a pod restarts")
                .help("fine for a cache; use `claim` or `nfs` for data you keep"),
        ),
    }
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

/// The placeholders an NFS path may use for the pod's ordinal.
pub const ORDINAL_PLACEHOLDERS: [&str; 2] = ["{ordinal}", "{ordinal+1}"];

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

fn check_scheduling(s: &SchedulingProfile, out: &mut Vec<Finding>) {
    if !is_qualified_name(&s.topology_key) {
        out.push(
            Finding::error(
                path("scheduling.topology-key"),
                format!("`{}` is not a label key", s.topology_key),
            )
            .help("use a node label such as `kubernetes.io/hostname`"),
        );
    }
    if let Some(spread) = &s.topology_spread {
        if spread.max_skew == 0 {
            out.push(
                Finding::error(
                    path("scheduling.topology-spread.max-skew"),
                    "max-skew must be at least 1",
                )
                .help("1 spreads pods evenly"),
            );
        }
        if !is_qualified_name(&spread.topology_key) {
            out.push(
                Finding::error(
                    path("scheduling.topology-spread.topology-key"),
                    format!("`{}` is not a label key", spread.topology_key),
                )
                .help("use a node label such as `topology.kubernetes.io/zone`"),
            );
        }
    }
    check_metadata("scheduling.node-selector", &s.node_selector, true, out);
    for (i, t) in s.tolerations.iter().enumerate() {
        let at = path("scheduling.tolerations").index(i);
        if t.operator == TolerationOperator::Exists && t.value.is_some() {
            out.push(
                Finding::error(at.clone().key("value"), "operator `Exists` takes no value")
                    .help("remove `value`, or use operator `Equal`"),
            );
        }
        if t.operator == TolerationOperator::Equal && t.key.is_none() {
            out.push(
                Finding::error(at.clone().key("key"), "operator `Equal` needs a key")
                    .help("set `key`, or use operator `Exists` to tolerate every taint"),
            );
        }
        if t.toleration_seconds.is_some() && t.effect != Some(TaintEffect::NoExecute) {
            out.push(
                Finding::error(
                    at.key("toleration-seconds"),
                    "toleration-seconds applies only to effect `NoExecute`",
                )
                .help("set `effect = \"NoExecute\"` or remove toleration-seconds"),
            );
        }
    }
    if let Some(pc) = &s.priority_class_name {
        if !is_dns_subdomain(pc) || pc.is_empty() {
            out.push(
                Finding::error(
                    path("scheduling.priority-class-name"),
                    format!("`{pc}` is not a PriorityClass name"),
                )
                .help("PriorityClass names are DNS subdomains"),
            );
        }
    }
}

impl ResourcesProfile {
    pub fn limits(&self) -> &ResourceAmounts {
        self.limits.as_ref().unwrap_or(&self.requests)
    }
    pub fn memory_limit(&self) -> &str {
        &self.limits().memory
    }
}

fn check_resources(r: &ResourcesProfile, out: &mut Vec<Finding>) {
    let req_cpu = check_quantity(
        &r.requests.cpu,
        path("resources.requests.cpu"),
        "CPU amount",
        out,
    );
    let req_mem = check_quantity(
        &r.requests.memory,
        path("resources.requests.memory"),
        "memory amount",
        out,
    );
    if let Some(limits) = &r.limits {
        let lim_cpu = check_quantity(&limits.cpu, path("resources.limits.cpu"), "CPU amount", out);
        let lim_mem = check_quantity(
            &limits.memory,
            path("resources.limits.memory"),
            "memory amount",
            out,
        );
        for (req, lim, field) in [(req_cpu, lim_cpu, "cpu"), (req_mem, lim_mem, "memory")] {
            if let (Some(req), Some(lim)) = (req, lim) {
                if lim < req {
                    out.push(
                        Finding::error(
                            path("resources.limits").key(field),
                            format!("the {field} limit is below the request"),
                        )
                        .help("a limit must be at least the request"),
                    );
                }
            }
        }
    }
}

fn check_service(s: &ServiceProfile, out: &mut Vec<Finding>) {
    check_metadata("service.annotations", &s.annotations, false, out);
    if let Some(port) = s.node_port {
        if s.type_ == ServiceType::ClusterIP {
            out.push(
                Finding::error(
                    path("service.node-port"),
                    "a ClusterIP Service has no node port",
                )
                .help("set `type = \"NodePort\"` or remove `node-port`"),
            );
        } else if !(30000..=32767).contains(&port) {
            out.push(
                Finding::error(
                    path("service.node-port"),
                    format!("node port {port} is outside 30000-32767"),
                )
                .help("use the API server's default --service-node-port-range"),
            );
        }
    }
}

fn check_network_policy(n: &NetworkPolicyProfile, out: &mut Vec<Finding>) {
    for (i, c) in n.clients.iter().enumerate() {
        let at = format!("network-policy.clients[{i}]");
        check_metadata(&format!("{at}.pod-labels"), &c.pod_labels, true, out);
        if let Some(ns) = &c.namespace_labels {
            check_metadata(&format!("{at}.namespace-labels"), ns, true, out);
        }
    }
}

fn check_pod(p: &PodProfile, out: &mut Vec<Finding>) {
    if p.termination_grace_period_seconds > 86_400 || p.startup_timeout_seconds > 86_400 {
        let field = if p.termination_grace_period_seconds > 86_400 {
            "pod.termination-grace-period-seconds"
        } else {
            "pod.startup-timeout-seconds"
        };
        out.push(Finding::error(path(field), "more than a day").help("use at most 86400 seconds"));
    }
    if p.termination_grace_period_seconds < 10 {
        out.push(
            Finding::error(
                path("pod.termination-grace-period-seconds"),
                "less than 10 s cuts off the final fsync",
            )
            .help("Redis flushes the AOF and may save an RDB on SIGTERM; 60 is a safe default"),
        );
    }
    if p.startup_timeout_seconds < 30 {
        out.push(
            Finding::error(
                path("pod.startup-timeout-seconds"),
                "less than 30 s kills pods still starting",
            )
            .help("the start script waits for peers to resolve before Redis listens"),
        );
    }
    if let Some(sa) = &p.service_account_name {
        if !is_dns_subdomain(sa) || sa.is_empty() {
            out.push(
                Finding::error(
                    path("pod.service-account-name"),
                    format!("`{sa}` is not a ServiceAccount name"),
                )
                .help("ServiceAccount names are DNS subdomains"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = parse_image("registry.local:5000/team/redis:7.2.7").unwrap();
        assert_eq!(r.repository, "registry.local:5000/team/redis");
        assert_eq!(r.tag, Some("7.2.7"));
        let digest = format!("redis@sha256:{}", "a".repeat(64));
        assert_eq!(parse_image(&digest).unwrap().tag, None);
        assert!(parse_image("redis").is_err());
        assert!(parse_image("redis:latest").is_err());
        assert!(parse_image("redis@sha256:abc").is_err());
        assert!(parse_image("Redis:7").is_err());
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_label("redis-app", 63));
        assert!(!is_dns_label("Redis", 63));
        assert!(!is_dns_label("-a", 63));
        assert!(is_dns_subdomain("cluster.local"));
        assert!(!is_dns_subdomain("cluster..local"));
    }

    #[test]
    fn label_keys() {
        assert!(is_qualified_name("team"));
        assert!(is_qualified_name("example.com/team"));
        assert!(!is_qualified_name("bad key"));
        assert!(!is_qualified_name("/x"));
    }
}
