//! The shape of the deployment: a Redis Cluster's masters and replicas, or Sentinel mode's
//! Redis pods and Sentinels, with their timing.

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::pod::{check_amounts, ResourceAmounts};
use super::quantity::{parse_k8s_quantity, parse_redis_memory};
use super::storage::StorageKind;
use super::{Mode, Profile};
use crate::model::{ClusterTiming, ClusterTopology, SentinelTiming, SentinelTopology, Topology};

/// Redis Cluster has 16384 hash slots; every master needs at least one.
const MAX_MASTERS: u32 = 16384;
/// The most replicas per master; more add replication load without adding availability.
const MAX_REPLICAS_PER_MASTER: u32 = 5;
/// The most pods one scale-in step may retire.
const MAX_RETIRING_PODS: u32 = 1000;
/// The most Redis pods of one master set; beyond this, replication fan-out dominates.
const MAX_SENTINEL_PODS: u32 = 15;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ClusterProfile {
    /// Number of masters (shards), at least 3.
    #[schemars(range(min = 3, max = 16384))]
    pub(crate) masters: u32,
    /// Replicas of each master.
    #[serde(default = "default_replicas")]
    #[schemars(range(max = 5))]
    pub(crate) replicas_per_master: u32,
    /// `cluster-node-timeout` in milliseconds: how long a node may be unreachable before failover.
    #[serde(default = "default_node_timeout")]
    #[schemars(range(min = 1000, max = 600000))]
    pub(crate) node_timeout_ms: u32,
    /// Scale-in, step 1: the pods above the new `masters x (1 + replicas-per-master)` that the
    /// StatefulSet keeps while the reconcile Job moves their slots away, detaches them and
    /// resets them. Equal to the pods being removed; remove the line in step 2.
    #[serde(default)]
    #[schemars(range(max = 1000))]
    pub(crate) retiring_pods: u32,
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
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SentinelProfile {
    /// Redis pods (and so Sentinels): at least 2.
    #[schemars(range(min = 2, max = 15))]
    pub(crate) redis_pods: u32,
    /// Sentinels. A Sentinel runs beside each Redis pod, so this always equals `redis-pods`;
    /// state it to have that checked (and the odd-count rule reported here).
    pub(crate) sentinels: Option<u32>,
    /// Sentinels that must agree a master is down. Default: a majority.
    #[schemars(range(min = 1, max = 15))]
    pub(crate) quorum: Option<u32>,
    /// Fewer than 3, or an even number of, Sentinels cannot survive the loss of one and keep a
    /// majority; set this to accept that.
    pub(crate) accept_fewer_sentinels: bool,
    /// The master set's name, as clients ask for it.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    pub(crate) master_set: String,
    #[schemars(range(min = 1000, max = 600000))]
    pub(crate) down_after_ms: u32,
    #[schemars(range(min = 2000, max = 3600000))]
    pub(crate) failover_timeout_ms: u32,
    #[schemars(range(min = 1))]
    pub(crate) parallel_syncs: u32,
    /// A master accepts writes only while this many replicas are connected and at most
    /// `min-replicas-max-lag-seconds` behind (Redis's `min-replicas-to-write`), so a master cut
    /// off from its replicas stops acknowledging writes the failover would discard. 0 turns it
    /// off. The price: with fewer healthy replicas, writes fail until one is back. Default: 1,
    /// or 0 with a single replica (where 1 would stop writes whenever that replica restarts).
    pub(crate) min_replicas_to_write: Option<u32>,
    /// How far behind (seconds since its last ack) a replica may be and still count.
    pub(crate) min_replicas_max_lag_seconds: u32,
    /// The Sentinel port.
    #[schemars(range(min = 1))]
    pub(crate) port: u16,
    /// Resources of each Sentinel container.
    pub(crate) resources: ResourceAmounts,
}

impl Default for SentinelProfile {
    fn default() -> Self {
        SentinelProfile {
            redis_pods: 3,
            sentinels: None,
            quorum: None,
            accept_fewer_sentinels: false,
            master_set: "mymaster".into(),
            down_after_ms: 5000,
            failover_timeout_ms: 60000,
            parallel_syncs: 1,
            min_replicas_to_write: None,
            min_replicas_max_lag_seconds: 10,
            port: 26379,
            resources: ResourceAmounts {
                cpu: "100m".into(),
                memory: "64Mi".into(),
            },
        }
    }
}

fn path(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

/// The mode's table, checked and resolved; the other mode's table is a mistake.
pub(super) fn resolve(p: &Profile, out: &mut Vec<Finding>) -> Option<Topology> {
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
    match (p.mode, &p.cluster, &p.sentinel) {
        (Mode::Cluster, Some(c), _) => c
            .resolve(
                p.storage.kind,
                p.pod.termination_grace_period_seconds,
                data_bytes_per_master(p),
                out,
            )
            .map(Topology::Cluster),
        (Mode::Sentinel, _, Some(s)) => s
            .resolve(p.port, p.pod.termination_grace_period_seconds, out)
            .map(Topology::Sentinel),
        (Mode::Cluster, None, _) => {
            out.push(
                Finding::error(path("cluster"), "mode `cluster` needs a `[cluster]` table")
                    .help("add `[cluster]` with `masters = 3` and `replicas-per-master = 1`"),
            );
            None
        }
        (Mode::Sentinel, _, None) => {
            out.push(
                Finding::error(
                    path("sentinel"),
                    "mode `sentinel` needs a `[sentinel]` table",
                )
                .help("add `[sentinel]` with `redis-pods = 3`"),
            );
            None
        }
    }
}

/// The most data one master can hold: `maxmemory`, or else the memory limit (unparsable
/// sizes are reported by their own checks; 1 GiB stands in for them here).
fn data_bytes_per_master(p: &Profile) -> u64 {
    p.redis
        .maxmemory
        .as_deref()
        .and_then(parse_redis_memory)
        .or_else(|| parse_k8s_quantity(p.resources.memory_limit()).map(|b| b as u64))
        .unwrap_or(1 << 30)
}

impl ClusterProfile {
    fn resolve(
        &self,
        storage: StorageKind,
        grace_seconds: u32,
        data_bytes_per_master: u64,
        out: &mut Vec<Finding>,
    ) -> Option<ClusterTopology> {
        let before = out.len();
        if self.masters < 3 {
            out.push(
                Finding::error(
                    path("cluster.masters"),
                    format!("{} masters cannot form a Redis Cluster", self.masters),
                )
                .help("Redis Cluster needs at least 3 masters to reach a failover majority; set `masters = 3`"),
            );
        }
        if self.masters > MAX_MASTERS {
            out.push(
                Finding::error(
                    path("cluster.masters"),
                    format!("{} masters exceed the 16384 hash slots", self.masters),
                )
                .help("every master needs at least one of the 16384 slots"),
            );
        }
        if self.replicas_per_master > MAX_REPLICAS_PER_MASTER {
            out.push(
                Finding::error(
                    path("cluster.replicas-per-master"),
                    format!(
                        "{} replicas per master is more than redkube supports",
                        self.replicas_per_master
                    ),
                )
                .help("use 0 to 5; more replicas add replication load without adding availability"),
            );
        }
        if self.replicas_per_master == 0 && storage == StorageKind::Ephemeral {
            out.push(
                Finding::warning(
                    path("cluster.replicas-per-master"),
                    "no replicas and ephemeral storage: a pod restart loses its slots' data for good",
                )
                .help("set `replicas-per-master = 1` so a replica can take over"),
            );
        }
        if self.retiring_pods > MAX_RETIRING_PODS {
            out.push(
                Finding::error(
                    path("cluster.retiring-pods"),
                    format!("{} retiring pods is more than {MAX_RETIRING_PODS}", self.retiring_pods),
                )
                .help("set it to the number of pods the scale-in removes: the old pod count minus masters x (1 + replicas-per-master)"),
            );
        }
        if !(1000..=600_000).contains(&self.node_timeout_ms) {
            out.push(
                Finding::error(
                    path("cluster.node-timeout-ms"),
                    format!("{} ms is outside 1000-600000", self.node_timeout_ms),
                )
                .help("a shorter timeout fails over on every GC pause or network blip; 5000-15000 is usual"),
            );
        }
        no_new_errors(out, before).then(|| ClusterTopology {
            masters: self.masters,
            replicas_per_master: self.replicas_per_master,
            node_timeout_ms: self.node_timeout_ms,
            retiring_pods: self.retiring_pods,
            timing: ClusterTiming::new(
                self.node_timeout_ms,
                grace_seconds,
                data_bytes_per_master.saturating_mul(u64::from(self.masters)),
            ),
        })
    }
}

impl SentinelProfile {
    fn resolve(
        &self,
        redis_port: u16,
        grace_seconds: u32,
        out: &mut Vec<Finding>,
    ) -> Option<SentinelTopology> {
        let before = out.len();
        self.check_counts(out);
        let n = self.redis_pods;
        if self.quorum == Some(1) && n > 1 {
            out.push(
                Finding::warning(
                    path("sentinel.quorum"),
                    "quorum 1: one Sentinel that loses sight of the master is enough to declare it down",
                )
                .help(format!(
                    "a single partitioned Sentinel then starts failover elections; leave quorum unset for a majority ({})",
                    n / 2 + 1
                )),
            );
        }
        if let Some(q) = self.quorum {
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
        let set_ok = !self.master_set.is_empty()
            && self.master_set.len() <= 64
            && self
                .master_set
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !set_ok {
            out.push(
                Finding::error(
                    path("sentinel.master-set"),
                    format!("`{}` is not a usable master set name", self.master_set),
                )
                .help("use letters, digits, `-`, `_` and `.`, e.g. `mymaster`"),
            );
        }
        self.check_timing(out);
        self.check_min_replicas(out);
        if self.port == 0 || self.port == redis_port {
            let free = if redis_port == 26379 { 26380 } else { 26379 };
            let (message, help) = if self.port == 0 {
                (
                    "port 0 is not a port".to_string(),
                    format!("use e.g. {free}"),
                )
            } else {
                (
                    format!("port {} is also the Redis port", self.port),
                    format!("the Sentinel listens beside Redis in every pod: use another port, e.g. {free}"),
                )
            };
            out.push(Finding::error(path("sentinel.port"), message).help(help));
        }
        let resources = check_amounts(&self.resources, &path("sentinel.resources"), out);
        let resources = resources.filter(|_| no_new_errors(out, before))?;
        Some(SentinelTopology {
            redis_pods: n,
            quorum: self.quorum.unwrap_or(n / 2 + 1),
            master_set: self.master_set.clone(),
            down_after_ms: self.down_after_ms,
            failover_timeout_ms: self.failover_timeout_ms,
            parallel_syncs: self.parallel_syncs,
            min_replicas_to_write: self.min_replicas_to_write(),
            min_replicas_max_lag_seconds: self.min_replicas_max_lag_seconds,
            port: self.port,
            resources,
            timing: SentinelTiming::new(
                self.down_after_ms,
                self.failover_timeout_ms,
                grace_seconds,
                n,
            ),
        })
    }

    /// Redis pods, the Sentinel count that follows them, and the majority rule.
    fn check_counts(&self, out: &mut Vec<Finding>) {
        let n = self.redis_pods;
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
        } else if let Some(k) = self.sentinels.filter(|&k| k != n) {
            out.push(
                Finding::error(
                    path("sentinel.sentinels"),
                    format!("{k} Sentinels, but a Sentinel runs beside each of the {n} Redis pods"),
                )
                .help(format!(
                    "the Sentinel count follows `redis-pods`: set `redis-pods = {k}`, or drop `sentinels`"
                )),
            );
        } else if (n < 3 || n % 2 == 0) && !self.accept_fewer_sentinels {
            let field = if self.sentinels.is_some() {
                "sentinel.sentinels"
            } else {
                "sentinel.redis-pods"
            };
            let message = if n < 3 {
                format!("{n} Sentinels (one per Redis pod) cannot keep a majority after losing one")
            } else {
                // An even count costs a pod without surviving more failures.
                format!(
                    "{n} Sentinels (one per Redis pod) survive no more failures than {}: a failover \
                     needs a majority, {} of {n}",
                    n - 1,
                    n / 2 + 1
                )
            };
            out.push(
                Finding::error(path(field), message)
                    .help("use an odd number of at least 3, or set `accept-fewer-sentinels = true` to accept the risk"),
            );
        }
    }

    /// The profile's value, or the default: 1 when there are two replicas or more.
    fn min_replicas_to_write(&self) -> u32 {
        self.min_replicas_to_write
            .unwrap_or(u32::from(self.redis_pods > 2))
    }

    fn check_min_replicas(&self, out: &mut Vec<Finding>) {
        let replicas = self.redis_pods.saturating_sub(1);
        let want = self.min_replicas_to_write();
        if want > replicas {
            out.push(
                Finding::error(
                    path("sentinel.min-replicas-to-write"),
                    format!("{want} replicas to write, but there are only {replicas}"),
                )
                .help(format!(
                    "the master would refuse every write; use at most {replicas} (1 is usual), or 0 to turn it off"
                )),
            );
        } else if want > 0 && want == replicas {
            out.push(
                Finding::warning(
                    path("sentinel.min-replicas-to-write"),
                    format!("{want} replicas to write is every replica: one replica down stops all writes"),
                )
                .help(if replicas == 1 {
                    "with one replica this trades availability (writes stop while it restarts, and \
                     after every failover until the old master is back) for safety (a partitioned \
                     master stops acknowledging writes); 0 keeps writing"
                } else {
                    "1 is usual: it stops a partitioned master, and tolerates a replica's restart"
                }),
            );
        }
        if want > 0 && !(1..=3600).contains(&self.min_replicas_max_lag_seconds) {
            out.push(
                Finding::error(
                    path("sentinel.min-replicas-max-lag-seconds"),
                    format!("{} s is outside 1-3600", self.min_replicas_max_lag_seconds),
                )
                .help("replicas ack every second; 10 is the Redis default"),
            );
        }
    }

    fn check_timing(&self, out: &mut Vec<Finding>) {
        if !(1000..=600_000).contains(&self.down_after_ms) {
            out.push(
                Finding::error(
                    path("sentinel.down-after-ms"),
                    format!("{} ms is outside 1000-600000", self.down_after_ms),
                )
                .help("a shorter window fails over on every blip; 5000-30000 is usual"),
            );
        }
        if u64::from(self.failover_timeout_ms) < 2 * u64::from(self.down_after_ms)
            || self.failover_timeout_ms > 3_600_000
        {
            out.push(
                Finding::error(
                    path("sentinel.failover-timeout-ms"),
                    format!(
                        "{} ms is not between twice down-after-ms ({} ms) and one hour",
                        self.failover_timeout_ms, self.down_after_ms
                    ),
                )
                .help("a failover that times out before it can finish is retried forever; 60000 is the Redis default"),
            );
        }
        if self.parallel_syncs == 0 {
            out.push(
                Finding::error(
                    path("sentinel.parallel-syncs"),
                    "parallel-syncs must be at least 1",
                )
                .help("1 resyncs replicas one at a time after a failover"),
            );
        }
    }
}

/// Whether the findings pushed since `before` are all warnings.
pub(super) fn no_new_errors(out: &[Finding], before: usize) -> bool {
    !out[before..].iter().any(Finding::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentinel(edit: impl FnOnce(&mut SentinelProfile)) -> Vec<Finding> {
        let mut s = SentinelProfile::default();
        edit(&mut s);
        let mut out = Vec::new();
        s.resolve(6379, 60, &mut out);
        out
    }

    #[test]
    fn min_replicas_defaults_to_off_with_a_single_replica() {
        let s = SentinelProfile {
            redis_pods: 2,
            accept_fewer_sentinels: true,
            ..SentinelProfile::default()
        };
        assert_eq!(s.min_replicas_to_write(), 0);
        assert_eq!(SentinelProfile::default().min_replicas_to_write(), 1);
        let out = sentinel(|s| {
            s.redis_pods = 2;
            s.accept_fewer_sentinels = true;
            s.min_replicas_to_write = Some(1);
        });
        assert!(out
            .iter()
            .any(|f| !f.is_error() && f.message.contains("every replica")));
    }

    #[test]
    fn quorum_1_is_warned() {
        let out = sentinel(|s| s.quorum = Some(1));
        assert_eq!(out.len(), 1);
        assert!(!out[0].is_error());
        assert!(out[0].message.contains("quorum 1"));
        assert!(sentinel(|s| s.quorum = Some(2)).is_empty());
    }

    #[test]
    fn a_port_clash_suggests_a_free_port() {
        let mut out = Vec::new();
        let s = SentinelProfile::default();
        s.resolve(26379, 60, &mut out);
        let help = out[0].help.as_deref().unwrap();
        assert!(out[0].message.contains("also the Redis port"));
        assert!(help.contains("26380") && !help.contains("26379"), "{help}");
    }

    #[test]
    fn four_sentinels_are_told_what_is_true_of_them() {
        let out = sentinel(|s| s.redis_pods = 4);
        assert!(
            out[0]
                .message
                .contains("survive no more failures than 3: a failover needs a majority, 3 of 4"),
            "{}",
            out[0].message
        );
    }
}
