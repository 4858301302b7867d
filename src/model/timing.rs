//! Every wait budget of the scripts and the Job, in one place. The scripts receive them as
//! `NAME_SECONDS=` lines (see `templates::context`), which is also where the e2e harness reads
//! them, so no copy of a number lives anywhere else.

use serde::Serialize;

/// How long the reconcile Job waits for every pod to answer, then for the cluster to be healthy.
const PING_BUDGET_SECONDS: u32 = 300;
const HEALTH_BUDGET_SECONDS: u32 = 180;
/// The Job's deadline: its wait budgets plus a margin for the create step itself.
const JOB_DEADLINE_MARGIN_SECONDS: u32 = 120;
/// How long a restarting pod waits for its peers' DNS names before repairing nodes.conf.
const PEER_WAIT_SECONDS: u32 = 15;
/// How long a pod that started without nodes.conf looks for a cluster that remembers it.
const REJOIN_BUDGET_SECONDS: u32 = 300;
/// How long every pod must stay empty and unjoined before the first pod forms the cluster
/// itself: well beyond the seconds a running reconcile Job takes to act on that state.
const SELF_FORM_WAIT_SECONDS: u32 = 30;
/// How long a never-joined first pod keeps watching for that state.
const SELF_FORM_BUDGET_SECONDS: u32 = 1800;
/// How long `redis-cli --cluster create` may take, in the Job or the first pod.
const CREATE_BUDGET_SECONDS: u32 = 120;
/// How long a claim on pod 0 (CLUSTER SET-CONFIG-EPOCH 1) must stay unchanged on empty pods
/// before another creator takes it over: longer than any creation takes.
const STALE_CLAIM_MARGIN_SECONDS: u32 = 30;
/// How long the Job watches a mixed state (some pods empty, some joined) settle, in case a
/// creation by the first pod is passing through it.
const MIXED_STATE_WAIT_SECONDS: u32 = 15;
/// The slot-move rate the reconcile Job's deadline assumes, in bytes a second. Measured on 2
/// cores (README "Scaling: Measured", bench/rebalance-results.md): 1.6 to 3.3 MB/s with
/// 1 KB values, 0.3 to 0.4 MB/s with 100-byte ones (per-slot round trips dominate). The
/// budget counts all the data the masters can hold while one move carries a share of it
/// (a quarter from 3 to 4 masters), and a run that runs out is resumed by the next.
const MIGRATE_FLOOR_BYTES_PER_SECOND: u64 = 1024 * 1024;
/// The slot moves' fixed part: connecting, planning, the cluster agreeing on each slot.
const MIGRATE_BASE_SECONDS: u32 = 300;
/// `redis-cli --cluster rebalance --cluster-pipeline`: keys per MIGRATE call.
const MIGRATE_PIPELINE: u32 = 100;
/// The longest allowed for slot moves, whatever the data: a retry resumes after it.
const MAX_MIGRATE_SECONDS: u32 = 6 * 3600;
/// How long the background steps of a starting pod wait for its own Redis to answer.
const REDIS_UP_WAIT_SECONDS: u32 = 60;
/// How long a rejoining pod retries `CLUSTER REPLICATE` while the cluster learns of it.
const REPLICATE_WAIT_SECONDS: u32 = 30;

/// What a preStop hand-over leaves of the grace period for Redis's own shutdown (the save, and
/// with replicas Redis's `shutdown-timeout`, 10 s by default).
const SHUTDOWN_MARGIN_SECONDS: u32 = 10;
/// The shortest preStop budget, whatever the grace period.
const MIN_PRESTOP_WAIT_SECONDS: u32 = 5;
/// How long a cluster preStop waits for one replica's `CLUSTER FAILOVER` to take over: Redis
/// aborts a manual failover after 5 s (CLUSTER_MF_TIMEOUT), plus a second to see the outcome.
const MANUAL_FAILOVER_SECONDS: u32 = 6;
/// How long a Sentinel-mode preStop, with writes paused, waits at most for every replica to
/// reach the master's offset: replicas linked to it are normally milliseconds behind.
const CATCH_UP_SECONDS: u32 = 10;

/// The budget of a preStop hand-over: the grace period less the margin for Redis's shutdown.
fn prestop_wait_seconds(grace_seconds: u32) -> u32 {
    grace_seconds
        .saturating_sub(SHUTDOWN_MARGIN_SECONDS)
        .max(MIN_PRESTOP_WAIT_SECONDS)
}

/// How long a starting Redis asks the Sentinels before the first pod may start as master.
const SENTINEL_ASK_SECONDS: u32 = 30;
/// How long a Sentinel waits for the names in its config to resolve.
const SENTINEL_RESOLVE_SECONDS: u32 = 30;
/// How long a Sentinel, after `SENTINEL RESET`, may take to list every other Sentinel (they
/// announce themselves every 2 s) and every replica (the master's INFO, every 10 s) again.
const REDISCOVER_SECONDS: u32 = 60;
/// How long a Sentinel without state asks its peers for the master before it monitors the
/// first pod.
const NEW_SENTINEL_ASK_SECONDS: u32 = 5;

/// How long moving `data_bytes` may take at the floor rate, bounded.
fn migrate_budget_seconds(data_bytes: u64) -> u32 {
    let seconds = data_bytes / MIGRATE_FLOOR_BYTES_PER_SECOND;
    MIGRATE_BASE_SECONDS
        + u32::try_from(seconds)
            .unwrap_or(u32::MAX)
            .min(MAX_MIGRATE_SECONDS)
}

/// Budgets of a Redis Cluster's scripts and reconcile Job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ClusterTiming {
    pub(crate) ping_budget_seconds: u32,
    pub(crate) health_budget_seconds: u32,
    pub(crate) job_deadline_seconds: u32,
    pub(crate) peer_wait_seconds: u32,
    pub(crate) rejoin_budget_seconds: u32,
    pub(crate) self_form_wait_seconds: u32,
    pub(crate) self_form_budget_seconds: u32,
    pub(crate) create_budget_seconds: u32,
    pub(crate) empty_master_wait_seconds: u32,
    pub(crate) mixed_state_wait_seconds: u32,
    pub(crate) stale_claim_seconds: u32,
    pub(crate) redis_up_wait_seconds: u32,
    pub(crate) replicate_wait_seconds: u32,
    /// The preStop hand-over's whole budget, from the grace period.
    pub(crate) prestop_wait_seconds: u32,
    /// The preStop's wait for one replica's manual failover.
    pub(crate) manual_failover_seconds: u32,
    /// How long the reconcile Job waits for the cluster to settle (no node failing).
    pub(crate) settle_budget_seconds: u32,
    /// How long the reconcile Job's slot moves may take: grows with the data the masters can
    /// hold (see `migrate_budget_seconds`).
    pub(crate) migrate_budget_seconds: u32,
    pub(crate) migrate_pipeline: u32,
}

impl ClusterTiming {
    /// The longest a start script waits before Redis listens, and why: the peers' names, then
    /// the empty-master guard.
    pub(crate) fn pre_listen_seconds(&self) -> (u32, &'static str) {
        (
            self.peer_wait_seconds + self.empty_master_wait_seconds,
            "peers' DNS names, then 3 x cluster.node-timeout-ms + 30 s for a replica's promotion",
        )
    }

    /// `data_bytes`: the most data the cluster can hold (each master's maxmemory, or its
    /// memory limit, times the masters), which bounds what one reconcile run moves.
    pub(crate) fn new(node_timeout_ms: u32, grace_seconds: u32, data_bytes: u64) -> Self {
        let settle_budget_seconds = (node_timeout_ms / 1000) * 3 + 60;
        let migrate_budget_seconds = migrate_budget_seconds(data_bytes);
        ClusterTiming {
            settle_budget_seconds,
            migrate_budget_seconds,
            migrate_pipeline: MIGRATE_PIPELINE,
            ping_budget_seconds: PING_BUDGET_SECONDS,
            health_budget_seconds: HEALTH_BUDGET_SECONDS,
            // The Job may watch a stale claim for its whole window before it creates.
            job_deadline_seconds: PING_BUDGET_SECONDS
                + HEALTH_BUDGET_SECONDS
                + CREATE_BUDGET_SECONDS
                + STALE_CLAIM_MARGIN_SECONDS
                + 8 * settle_budget_seconds
                // One run may move slots twice: closing an interrupted move, then the rebalance.
                + 2 * migrate_budget_seconds
                + JOB_DEADLINE_MARGIN_SECONDS,
            peer_wait_seconds: PEER_WAIT_SECONDS,
            rejoin_budget_seconds: REJOIN_BUDGET_SECONDS,
            self_form_wait_seconds: SELF_FORM_WAIT_SECONDS,
            self_form_budget_seconds: SELF_FORM_BUDGET_SECONDS,
            create_budget_seconds: CREATE_BUDGET_SECONDS,
            mixed_state_wait_seconds: MIXED_STATE_WAIT_SECONDS,
            stale_claim_seconds: CREATE_BUDGET_SECONDS + STALE_CLAIM_MARGIN_SECONDS,
            redis_up_wait_seconds: REDIS_UP_WAIT_SECONDS,
            replicate_wait_seconds: REPLICATE_WAIT_SECONDS,
            prestop_wait_seconds: prestop_wait_seconds(grace_seconds),
            manual_failover_seconds: MANUAL_FAILOVER_SECONDS,
            // The cluster marks a silent master failed after node-timeout, then a replica wins
            // an election: three node-timeouts and a margin.
            empty_master_wait_seconds: (node_timeout_ms / 1000) * 3 + 30,
        }
    }
}

/// Budgets of the Sentinel-mode scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SentinelTiming {
    pub(crate) sentinel_ask_seconds: u32,
    pub(crate) sentinel_resolve_seconds: u32,
    pub(crate) new_sentinel_ask_seconds: u32,
    pub(crate) failover_outcome_seconds: u32,
    pub(crate) prestop_wait_seconds: u32,
    /// How long the preStop, with writes paused, waits for every replica to catch up: at most
    /// half its budget, so the failover keeps the other half.
    pub(crate) catch_up_seconds: u32,
    /// How long the preStop pauses writes (`CLIENT PAUSE ... WRITE`): its whole budget and the
    /// shutdown margin, so the pause outlasts the failover; the shutdown that follows the hook
    /// ends it by closing the paused connections.
    pub(crate) write_pause_seconds: u32,
    /// How long the reconcile Job waits for every pod to answer, and for removed pods to go.
    pub(crate) pods_wait_seconds: u32,
    /// How long the Job waits, after `SENTINEL RESET` on one Sentinel, for it to see every
    /// other Sentinel and replica again.
    pub(crate) rediscover_seconds: u32,
    /// The Job's deadline: the pods' wait, then one rediscovery per Sentinel, and a margin.
    pub(crate) job_deadline_seconds: u32,
}

impl SentinelTiming {
    /// The longest a start script waits before Redis listens, and why: asking the Sentinels,
    /// then the outcome of a failover of this pod.
    pub(crate) fn pre_listen_seconds(&self) -> (u32, &'static str) {
        (
            self.sentinel_ask_seconds + self.failover_outcome_seconds,
            "asking the Sentinels, then sentinel.down-after-ms + failover-timeout-ms for a failover",
        )
    }

    pub(crate) fn new(
        down_after_ms: u32,
        failover_timeout_ms: u32,
        grace_seconds: u32,
        redis_pods: u32,
    ) -> Self {
        let pods_wait_seconds = PING_BUDGET_SECONDS + grace_seconds;
        SentinelTiming {
            pods_wait_seconds,
            rediscover_seconds: REDISCOVER_SECONDS,
            job_deadline_seconds: pods_wait_seconds
                + redis_pods * REDISCOVER_SECONDS
                + JOB_DEADLINE_MARGIN_SECONDS,
            sentinel_ask_seconds: SENTINEL_ASK_SECONDS,
            sentinel_resolve_seconds: SENTINEL_RESOLVE_SECONDS,
            new_sentinel_ask_seconds: NEW_SENTINEL_ASK_SECONDS,
            // A failover of this master: Sentinel needs down-after to notice, then the failover.
            failover_outcome_seconds: (down_after_ms + failover_timeout_ms) / 1000,
            // Leave the container time to shut down after the failover.
            prestop_wait_seconds: prestop_wait_seconds(grace_seconds),
            catch_up_seconds: CATCH_UP_SECONDS.min(prestop_wait_seconds(grace_seconds) / 2),
            write_pause_seconds: prestop_wait_seconds(grace_seconds) + SHUTDOWN_MARGIN_SECONDS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_budgets() {
        let c = ClusterTiming::new(5000, 60, 1 << 30);
        assert_eq!(c.empty_master_wait_seconds, 45);
        assert_eq!((c.prestop_wait_seconds, c.manual_failover_seconds), (50, 6));
        assert_eq!(
            ClusterTiming::new(5000, 10, 1 << 30).prestop_wait_seconds,
            5
        );
        assert!(c.job_deadline_seconds > c.ping_budget_seconds + c.health_budget_seconds);
        let s = SentinelTiming::new(5000, 60000, 60, 3);
        assert_eq!(
            (s.failover_outcome_seconds, s.prestop_wait_seconds),
            (65, 50)
        );
        assert_eq!((s.catch_up_seconds, s.write_pause_seconds), (10, 60));
        let short = SentinelTiming::new(5000, 60000, 10, 3);
        assert_eq!(
            (
                short.prestop_wait_seconds,
                short.catch_up_seconds,
                short.write_pause_seconds
            ),
            (5, 2, 15)
        );
    }
}
