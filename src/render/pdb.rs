//! PodDisruptionBudget: at most one Redis pod voluntarily down at a time, so a node drain never
//! takes a master and its replica together.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta;
use crate::model::{Component, Model};

pub(super) fn pod_disruption_budget(m: &Model) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta::namespaced(m, &m.names.pdb, Component::Redis),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(meta::selector(m, Component::Redis)),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}
