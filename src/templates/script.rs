//! The registry of ConfigMap files: each one's key, template and invocation. No script name or
//! probe argument is written anywhere else; the templates receive them through the context.

use crate::model::paths;

/// A file of the ConfigMap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    /// Cluster mode: redis.conf, included by the start script's per-pod config.
    ClusterRedisConf,
    /// Cluster mode: the Redis container's command.
    ClusterStart,
    /// Cluster mode: startup, liveness and readiness probes.
    ClusterProbe,
    /// Cluster mode: the reconcile Job's command.
    ClusterReconcile,
    /// Cluster mode: the Redis container's preStop hand-over (`CLUSTER FAILOVER`).
    ClusterPreStop,
    /// Cluster mode: the shape (pods, masters, replicas), read by the scripts when they run.
    ClusterTopology,
    /// Sentinel mode: redis.conf.
    SentinelRedisConf,
    /// Sentinel mode: the Redis container's command.
    SentinelRedisStart,
    /// Sentinel mode: the Sentinel container's command.
    SentinelStart,
    /// Sentinel mode: probes of both containers.
    SentinelProbe,
    /// Sentinel mode: the Redis container's preStop hand-over.
    SentinelPreStop,
    /// Sentinel mode: the shape (pods, quorum), read by the scripts when they run.
    SentinelTopology,
    /// Sentinel mode: the reconcile Job's command (Sentinels forget removed pods, quorum).
    SentinelReconcile,
}

/// The ConfigMap key of either mode's topology file (read by the Job's render and by
/// `apply` in an earlier render).
pub(crate) const TOPOLOGY_KEY: &str = "topology";

impl Script {
    pub(crate) const CLUSTER: [Script; 6] = [
        Script::ClusterRedisConf,
        Script::ClusterStart,
        Script::ClusterProbe,
        Script::ClusterReconcile,
        Script::ClusterPreStop,
        Script::ClusterTopology,
    ];
    pub(crate) const SENTINEL: [Script; 7] = [
        Script::SentinelRedisConf,
        Script::SentinelRedisStart,
        Script::SentinelStart,
        Script::SentinelProbe,
        Script::SentinelPreStop,
        Script::SentinelTopology,
        Script::SentinelReconcile,
    ];

    /// Whether a change of this file must restart the Redis pods, which read it only when
    /// they start. The topology is read by the scripts when they run, and the Jobs' scripts
    /// run in the Jobs only (whose names carry their own hash): a changed count or Job script
    /// rolls no pod.
    pub(crate) fn restarts_pods(self) -> bool {
        !matches!(
            self,
            Script::ClusterTopology
                | Script::SentinelTopology
                | Script::ClusterReconcile
                | Script::SentinelReconcile
        )
    }

    /// The key in the ConfigMap, which is also the file name under the config mount.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Script::ClusterRedisConf | Script::SentinelRedisConf => "redis.conf",
            Script::ClusterStart | Script::SentinelRedisStart => "start.sh",
            Script::ClusterProbe | Script::SentinelProbe => "probe.sh",
            Script::ClusterReconcile => "reconcile.sh",
            Script::SentinelStart => "sentinel.sh",
            Script::ClusterPreStop | Script::SentinelPreStop => "prestop.sh",
            Script::ClusterTopology | Script::SentinelTopology => TOPOLOGY_KEY,
            Script::SentinelReconcile => "reconcile.sh",
        }
    }

    /// The template it is rendered from.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Script::ClusterRedisConf => "cluster/redis.conf.j2",
            Script::ClusterStart => "cluster/start.sh.j2",
            Script::ClusterProbe => "cluster/probe.sh.j2",
            Script::ClusterReconcile => "cluster/reconcile.sh.j2",
            Script::ClusterPreStop => "cluster/prestop.sh.j2",
            Script::SentinelRedisConf => "sentinel/redis.conf.j2",
            Script::SentinelRedisStart => "sentinel/redis-start.sh.j2",
            Script::SentinelStart => "sentinel/sentinel-start.sh.j2",
            Script::SentinelProbe => "sentinel/probe.sh.j2",
            Script::SentinelPreStop => "sentinel/prestop.sh.j2",
            Script::ClusterTopology => "cluster/topology.j2",
            Script::SentinelTopology => "sentinel/topology.j2",
            Script::SentinelReconcile => "sentinel/reconcile.sh.j2",
        }
    }

    /// Where a container finds it.
    pub(crate) fn path(self) -> String {
        format!("{}/{}", paths::CONFIG_DIR, self.key())
    }

    /// The command that runs it.
    pub(crate) fn command(self) -> Vec<String> {
        vec!["sh".to_string(), self.path()]
    }

    /// The command of a probe script for one kind of probe.
    pub(crate) fn probe_command(self, mode: ProbeMode) -> Vec<String> {
        let mut cmd = self.command();
        cmd.push(mode.as_str().to_string());
        cmd
    }
}

/// The argument of the probe script: which check to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeMode {
    Startup,
    Liveness,
    Readiness,
    /// The Sentinel sidecar answers (Sentinel mode).
    Sentinel,
}

impl ProbeMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProbeMode::Startup => "startup",
            ProbeMode::Liveness => "liveness",
            ProbeMode::Readiness => "readiness",
            ProbeMode::Sentinel => "sentinel",
        }
    }
}
