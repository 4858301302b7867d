//! The pod: resources of the Redis container, grace and startup time, service account.

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::names::is_object_name;
use super::quantity::parse_k8s_quantity;
use crate::model::{Amounts, PodSettings, Resources};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ResourcesProfile {
    pub(crate) requests: ResourceAmounts,
    /// Unset limits default to the requests (Guaranteed QoS: Redis is latency sensitive and must
    /// not be the first to be evicted).
    pub(crate) limits: Option<ResourceAmounts>,
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
        &self.limits.as_ref().unwrap_or(&self.requests).memory
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
        let (lim_cpu, lim_mem) = check_both(limits, &at.clone().key("limits"), out);
        let mut ok = true;
        for (req, lim, field) in [(req_cpu, lim_cpu, "cpu"), (req_mem, lim_mem, "memory")] {
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
            limits: amounts(limits, lim_cpu.zip(lim_mem))?,
        })
        .filter(|_| ok)
    }
}

fn amounts(a: &ResourceAmounts, parsed: Option<(f64, f64)>) -> Option<Amounts> {
    parsed.map(|_| Amounts {
        cpu: a.cpu.clone(),
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
    pub(crate) termination_grace_period_seconds: u32,
    /// How long a starting pod may take to answer PING at all (it tolerates LOADING afterwards).
    pub(crate) startup_timeout_seconds: u32,
    /// Service account name (its token is never mounted).
    pub(crate) service_account_name: Option<String>,
}

impl Default for PodProfile {
    fn default() -> Self {
        Self {
            termination_grace_period_seconds: 60,
            startup_timeout_seconds: 300,
            service_account_name: None,
        }
    }
}

/// A day: no wait a profile sets may be longer.
const MAX_SECONDS: u32 = 86_400;

impl PodProfile {
    pub(super) fn resolve(&self, out: &mut Vec<Finding>) -> PodSettings {
        let path = FieldPath::parse;
        if self.termination_grace_period_seconds > MAX_SECONDS
            || self.startup_timeout_seconds > MAX_SECONDS
        {
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
        if self.startup_timeout_seconds < 30 {
            out.push(
                Finding::error(
                    path("pod.startup-timeout-seconds"),
                    "less than 30 s kills pods still starting",
                )
                .help("the start script waits for peers to resolve before Redis listens"),
            );
        }
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
        PodSettings {
            termination_grace_period_seconds: self.termination_grace_period_seconds,
            startup_timeout_seconds: self.startup_timeout_seconds,
            service_account_name: self.service_account_name.clone(),
        }
    }
}
