//! PodDisruptionBudget: at most one Redis pod voluntarily down at a time, so a node drain never
//! takes a master and its replica together.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::metadata;
use crate::model::{Model, COMPONENT_REDIS};

pub fn pod_disruption_budget(m: &Model) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: metadata(m, &m.names.pdb, COMPONENT_REDIS),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(m.labels.selector(COMPONENT_REDIS)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}
