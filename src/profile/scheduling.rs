//! Where pods run: anti-affinity, topology spread, node selector, tolerations, priority.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::names::{check_metadata, is_object_name, is_qualified_name};
use crate::model::{self, Scheduling};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SchedulingProfile {
    pub(crate) anti_affinity: AntiAffinity,
    /// Topology key for pod anti-affinity.
    pub(crate) topology_key: String,
    pub(crate) topology_spread: Option<TopologySpread>,
    pub(crate) node_selector: BTreeMap<String, String>,
    pub(crate) tolerations: Vec<Toleration>,
    pub(crate) priority_class_name: Option<String>,
}

impl Default for SchedulingProfile {
    fn default() -> Self {
        Self {
            anti_affinity: AntiAffinity::default(),
            topology_key: "kubernetes.io/hostname".into(),
            topology_spread: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            priority_class_name: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AntiAffinity {
    None,
    /// Preferred: spread pods when the scheduler can.
    #[default]
    Soft,
    /// Required: never two pods in one topology domain.
    Hard,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct TopologySpread {
    pub(crate) topology_key: String,
    pub(crate) max_skew: u32,
    pub(crate) when_unsatisfiable: WhenUnsatisfiable,
}

impl Default for TopologySpread {
    fn default() -> Self {
        TopologySpread {
            topology_key: "topology.kubernetes.io/zone".into(),
            max_skew: 1,
            when_unsatisfiable: WhenUnsatisfiable::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum WhenUnsatisfiable {
    #[default]
    ScheduleAnyway,
    DoNotSchedule,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Toleration {
    pub(crate) key: Option<String>,
    #[serde(default)]
    pub(crate) operator: TolerationOperator,
    pub(crate) value: Option<String>,
    pub(crate) effect: Option<TaintEffect>,
    pub(crate) toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum TolerationOperator {
    #[default]
    Equal,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

fn path(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

impl SchedulingProfile {
    pub(super) fn resolve(&self, out: &mut Vec<Finding>) -> Scheduling {
        if !is_qualified_name(&self.topology_key) {
            out.push(
                Finding::error(
                    path("scheduling.topology-key"),
                    format!("`{}` is not a label key", self.topology_key),
                )
                .help("use a node label such as `kubernetes.io/hostname`"),
            );
        }
        if let Some(spread) = &self.topology_spread {
            spread.check(out);
        }
        check_metadata(
            &path("scheduling.node-selector"),
            &self.node_selector,
            true,
            out,
        );
        for (i, t) in self.tolerations.iter().enumerate() {
            t.check(path("scheduling.tolerations").index(i), out);
        }
        if let Some(pc) = &self.priority_class_name {
            if !is_object_name(pc) {
                out.push(
                    Finding::error(
                        path("scheduling.priority-class-name"),
                        format!("`{pc}` is not a PriorityClass name"),
                    )
                    .help("PriorityClass names are DNS subdomains"),
                );
            }
        }
        Scheduling {
            anti_affinity: match self.anti_affinity {
                AntiAffinity::None => None,
                AntiAffinity::Soft => Some(model::AntiAffinity::Preferred),
                AntiAffinity::Hard => Some(model::AntiAffinity::Required),
            },
            topology_key: self.topology_key.clone(),
            topology_spread: self
                .topology_spread
                .as_ref()
                .map(|t| model::TopologySpread {
                    topology_key: t.topology_key.clone(),
                    max_skew: t.max_skew,
                    when_unsatisfiable: match t.when_unsatisfiable {
                        WhenUnsatisfiable::ScheduleAnyway => "ScheduleAnyway",
                        WhenUnsatisfiable::DoNotSchedule => "DoNotSchedule",
                    },
                }),
            node_selector: self.node_selector.clone(),
            tolerations: self.tolerations.iter().map(Toleration::resolve).collect(),
            priority_class_name: self.priority_class_name.clone(),
        }
    }
}

impl TopologySpread {
    fn check(&self, out: &mut Vec<Finding>) {
        if self.max_skew == 0 {
            out.push(
                Finding::error(
                    path("scheduling.topology-spread.max-skew"),
                    "max-skew must be at least 1",
                )
                .help("1 spreads pods evenly"),
            );
        }
        if !is_qualified_name(&self.topology_key) {
            out.push(
                Finding::error(
                    path("scheduling.topology-spread.topology-key"),
                    format!("`{}` is not a label key", self.topology_key),
                )
                .help("use a node label such as `topology.kubernetes.io/zone`"),
            );
        }
    }
}

impl Toleration {
    fn check(&self, at: FieldPath, out: &mut Vec<Finding>) {
        if self.operator == TolerationOperator::Exists && self.value.is_some() {
            out.push(
                Finding::error(at.clone().key("value"), "operator `Exists` takes no value")
                    .help("remove `value`, or use operator `Equal`"),
            );
        }
        if self.operator == TolerationOperator::Equal && self.key.is_none() {
            out.push(
                Finding::error(at.clone().key("key"), "operator `Equal` needs a key")
                    .help("set `key`, or use operator `Exists` to tolerate every taint"),
            );
        }
        if self.toleration_seconds.is_some() && self.effect != Some(TaintEffect::NoExecute) {
            out.push(
                Finding::error(
                    at.key("toleration-seconds"),
                    "toleration-seconds applies only to effect `NoExecute`",
                )
                .help("set `effect = \"NoExecute\"` or remove toleration-seconds"),
            );
        }
    }

    fn resolve(&self) -> model::Toleration {
        model::Toleration {
            key: self.key.clone(),
            operator: match self.operator {
                TolerationOperator::Equal => "Equal",
                TolerationOperator::Exists => "Exists",
            },
            value: self.value.clone(),
            effect: self.effect.map(|e| match e {
                TaintEffect::NoSchedule => "NoSchedule",
                TaintEffect::PreferNoSchedule => "PreferNoSchedule",
                TaintEffect::NoExecute => "NoExecute",
            }),
            toleration_seconds: self.toleration_seconds,
        }
    }
}
