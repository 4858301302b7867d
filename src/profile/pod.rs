//! The pod: resources of the Redis container, grace and startup time, service account.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::names::{check_metadata, is_object_name};
use super::quantity::parse_k8s_quantity;
use crate::model::{Amounts, PodSettings, Resources};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ResourcesProfile {
    pub(crate) requests: ResourceAmounts,
    /// Unset limits default to the requests (Guaranteed QoS: Redis is latency sensitive and must
    /// not be the first to be evicted). `cpu` may be left out for a memory-only limit.
    pub(crate) limits: Option<LimitAmounts>,
}

/// Limits: memory always (the kernel kills at it, so maxmemory is checked against it), CPU
/// optional (without it Redis may burst, and checkov's CKV_K8S_11 flags the pod).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LimitAmounts {
    pub(crate) cpu: Option<String>,
    pub(crate) memory: String,
}

impl Default for ResourcesProfile {
    fn default() -> Self {
        Self {
            requests: ResourceAmounts {
                cpu: "250m".into(),
                memory: "256Mi".into(),
            },
            limits: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ResourceAmounts {
    pub(crate) cpu: String,
    pub(crate) memory: String,
}

impl ResourcesProfile {
    /// The memory limit as written (the requests' when no limits are set).
    pub(super) fn memory_limit(&self) -> &str {
        self.limits
            .as_ref()
            .map_or(&self.requests.memory, |l| &l.memory)
    }

    pub(super) fn resolve(&self, out: &mut Vec<Finding>) -> Option<Resources> {
        let at = FieldPath::parse("resources");
        let (req_cpu, req_mem) = check_both(&self.requests, &at.clone().key("requests"), out);
        let Some(limits) = &self.limits else {
            let requests = amounts(&self.requests, req_cpu.zip(req_mem))?;
            return Some(Resources {
                limits: requests.clone(),
                requests,
            });
        };
        let lim_at = at.clone().key("limits");
        let lim_cpu = limits
            .cpu
            .as_ref()
            .map(|cpu| check_quantity(cpu, lim_at.clone().key("cpu"), "CPU amount", out));
        let lim_mem = check_quantity(
            &limits.memory,
            lim_at.clone().key("memory"),
            "memory amount",
            out,
        );
        let mut ok = lim_cpu != Some(None) && lim_mem.is_some();
        for (req, lim, field) in [
            (req_cpu, lim_cpu.flatten(), "cpu"),
            (req_mem, lim_mem, "memory"),
        ] {
            if let (Some(req), Some(lim)) = (req, lim) {
                if lim < req {
                    ok = false;
                    out.push(
                        Finding::error(
                            at.clone().key("limits").key(field),
                            format!("the {field} limit is below the request"),
                        )
                        .help("a limit must be at least the request"),
                    );
                }
            }
        }
        Some(Resources {
            requests: amounts(&self.requests, req_cpu.zip(req_mem))?,
            limits: Amounts {
                cpu: limits.cpu.clone(),
                memory: limits.memory.clone(),
            },
        })
        .filter(|_| ok)
    }
}

fn amounts(a: &ResourceAmounts, parsed: Option<(f64, f64)>) -> Option<Amounts> {
    parsed.map(|_| Amounts {
        cpu: Some(a.cpu.clone()),
        memory: a.memory.clone(),
    })
}

fn check_both(
    a: &ResourceAmounts,
    at: &FieldPath,
    out: &mut Vec<Finding>,
) -> (Option<f64>, Option<f64>) {
    (
        check_quantity(&a.cpu, at.clone().key("cpu"), "CPU amount", out),
        check_quantity(&a.memory, at.clone().key("memory"), "memory amount", out),
    )
}

/// A CPU and memory pair at `at`, checked.
pub(super) fn check_amounts(
    a: &ResourceAmounts,
    at: &FieldPath,
    out: &mut Vec<Finding>,
) -> Option<Amounts> {
    let (cpu, memory) = check_both(a, at, out);
    amounts(a, cpu.zip(memory))
}

/// A positive Kubernetes quantity, or a finding at `at`.
pub(super) fn check_quantity(
    value: &str,
    at: FieldPath,
    what: &str,
    out: &mut Vec<Finding>,
) -> Option<f64> {
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

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct PodProfile {
    /// Time for Redis to finish an AOF fsync / RDB save on SIGTERM.
    #[schemars(range(min = 10, max = 86400))]
    pub(crate) termination_grace_period_seconds: u32,
    /// How long a starting pod may take to answer PING at all (it tolerates LOADING afterwards).
    /// Default: 300, or longer when the start script's own waits need it.
    #[schemars(range(min = 30, max = 86400))]
    pub(crate) startup_timeout_seconds: Option<u32>,
    /// Service account name (its token is never mounted).
    pub(crate) service_account_name: Option<String>,
    /// Annotations on the pods only (the Redis pods and the Job's), beside the top-level
    /// `annotations` that every object gets.
    pub(crate) annotations: BTreeMap<String, String>,
    /// Secrets with registry credentials for pulling the image.
    pub(crate) image_pull_secrets: Vec<String>,
}

impl Default for PodProfile {
    fn default() -> Self {
        Self {
            termination_grace_period_seconds: 60,
            startup_timeout_seconds: None,
            service_account_name: None,
            annotations: BTreeMap::new(),
            image_pull_secrets: Vec::new(),
        }
    }
}

/// A day: no wait a profile sets may be longer.
const MAX_SECONDS: u32 = 86_400;
/// The startup budget when the profile sets none and the scripts need less.
const DEFAULT_STARTUP_SECONDS: u32 = 300;
/// Time Redis needs after the start script's waits, before it answers PING (a fork, a load).
const STARTUP_MARGIN_SECONDS: u32 = 30;

impl PodProfile {
    /// `pre_listen_seconds`: the longest the start script may wait before Redis listens (see
    /// `model::timing`), when the topology resolved; the startup probe must outlast it.
    pub(super) fn resolve(
        &self,
        pre_listen_seconds: Option<(u32, &'static str)>,
        out: &mut Vec<Finding>,
    ) -> PodSettings {
        let path = FieldPath::parse;
        let startup = self
            .startup_timeout_seconds
            .unwrap_or(DEFAULT_STARTUP_SECONDS);
        if self.termination_grace_period_seconds > MAX_SECONDS || startup > MAX_SECONDS {
            let field = if self.termination_grace_period_seconds > MAX_SECONDS {
                "pod.termination-grace-period-seconds"
            } else {
                "pod.startup-timeout-seconds"
            };
            out.push(
                Finding::error(path(field), "more than a day").help("use at most 86400 seconds"),
            );
        }
        if self.termination_grace_period_seconds < 10 {
            out.push(
                Finding::error(
                    path("pod.termination-grace-period-seconds"),
                    "less than 10 s cuts off the final fsync",
                )
                .help("Redis flushes the AOF and may save an RDB on SIGTERM; 60 is a safe default"),
            );
        }
        if startup < 30 {
            out.push(
                Finding::error(
                    path("pod.startup-timeout-seconds"),
                    "less than 30 s kills pods still starting",
                )
                .help("the start script waits for peers to resolve before Redis listens"),
            );
        }
        let needed = pre_listen_seconds.map(|(wait, why)| (wait + STARTUP_MARGIN_SECONDS, why));
        let startup = match (self.startup_timeout_seconds, needed) {
            (Some(set), Some((needed, why))) if set < needed => {
                out.push(
                    Finding::error(
                        path("pod.startup-timeout-seconds"),
                        format!(
                            "{set} s is shorter than the start script may wait before Redis \
                             listens ({why}) plus {STARTUP_MARGIN_SECONDS} s: {needed} s"
                        ),
                    )
                    .help(format!(
                        "the startup probe would kill a pod that is waiting on purpose; set at \
                         least {needed}, or leave it unset to have it derived"
                    )),
                );
                set
            }
            (None, Some((needed, _))) => startup.max(needed),
            _ => startup,
        };
        if let Some(sa) = &self.service_account_name {
            if !is_object_name(sa) {
                out.push(
                    Finding::error(
                        path("pod.service-account-name"),
                        format!("`{sa}` is not a ServiceAccount name"),
                    )
                    .help("ServiceAccount names are DNS subdomains"),
                );
            }
        }
        check_metadata(&path("pod.annotations"), &self.annotations, false, out);
        for (i, name) in self.image_pull_secrets.iter().enumerate() {
            if !is_object_name(name) {
                out.push(
                    Finding::error(
                        path("pod.image-pull-secrets").index(i),
                        format!("`{name}` is not a Secret name"),
                    )
                    .help(
                        "a Secret name is a DNS subdomain: lower-case letters, digits, `-` and `.`",
                    ),
                );
            }
        }
        PodSettings {
            annotations: self.annotations.clone(),
            image_pull_secrets: self.image_pull_secrets.clone(),
            termination_grace_period_seconds: self.termination_grace_period_seconds,
            startup_timeout_seconds: startup,
            service_account_name: self.service_account_name.clone(),
        }
    }
}
