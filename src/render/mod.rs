//! Model -> typed `k8s-openapi` objects -> YAML documents, grouped by concern (one file each
//! when writing a folder). Objects are built as structs, never as YAML text.
//!
//! What differs between the modes (containers, ports, ConfigMap files, extra objects) is
//! supplied by [`mode::Mode`], implemented in `cluster` and `sentinel`; the other modules
//! build what both modes share.

mod cluster;
mod configmap;
mod hash;
mod job;
mod kustomization;
mod meta;
mod mode;
mod networkpolicy;
mod pdb;
mod pod;
mod pv;
mod secret;
mod sentinel;
mod services;
mod statefulset;

use serde::Serialize;

use crate::model::Model;
use crate::templates::TemplateError;

pub(crate) use kustomization::kustomization;

/// What a group of documents is about; also its file name in folder output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Concern {
    PersistentVolumes,
    Secret,
    ConfigMap,
    Services,
    StatefulSet,
    PodDisruptionBudget,
    NetworkPolicy,
    ReconcileJob,
}

impl Concern {
    pub(crate) const ALL: [Concern; 8] = [
        Concern::PersistentVolumes,
        Concern::Secret,
        Concern::ConfigMap,
        Concern::Services,
        Concern::StatefulSet,
        Concern::PodDisruptionBudget,
        Concern::NetworkPolicy,
        Concern::ReconcileJob,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Concern::PersistentVolumes => "pv.yaml",
            Concern::Secret => "secret.yaml",
            Concern::ConfigMap => "configmap.yaml",
            Concern::Services => "services.yaml",
            Concern::StatefulSet => "statefulset.yaml",
            Concern::PodDisruptionBudget => "pdb.yaml",
            Concern::NetworkPolicy => "networkpolicy.yaml",
            Concern::ReconcileJob => "reconcile-job.yaml",
        }
    }
}

/// One concern's YAML: one or more documents, each starting with `---`.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub concern: Concern,
    pub yaml: String,
}

/// Render every object of the model, in apply order (PVs and Secret before the pods that use
/// them, the Job last).
pub(crate) fn render(m: &Model) -> Result<Vec<Rendered>, TemplateError> {
    let mode = mode::of(m);
    let config = configmap::config_map(m, mode.config_files(m)?);
    let config_hash = configmap::content_hash(&config, mode.scripts());
    let mut out = Vec::with_capacity(Concern::ALL.len());
    let mut push = |concern, yaml: String| {
        if !yaml.is_empty() {
            out.push(Rendered { concern, yaml });
        }
    };
    push(
        Concern::PersistentVolumes,
        documents(pv::persistent_volumes(m)),
    );
    push(Concern::Secret, documents(secret::secret(m)));
    push(Concern::ConfigMap, document(&config));
    push(Concern::Services, documents(services::services(m, &*mode)));
    push(
        Concern::StatefulSet,
        document(&statefulset::statefulset(m, &*mode, &config_hash)),
    );
    push(
        Concern::PodDisruptionBudget,
        document(&pdb::pod_disruption_budget(m)),
    );
    push(
        Concern::NetworkPolicy,
        documents(networkpolicy::network_policies(m, &*mode)),
    );
    push(
        Concern::ReconcileJob,
        document(&job::reconcile_job(m, &*mode, &config)),
    );
    Ok(out)
}

/// All documents as one multi-document stream (stdout form).
pub fn to_stream(rendered: &[Rendered]) -> String {
    let mut s = String::with_capacity(rendered.iter().map(|r| r.yaml.len()).sum());
    for r in rendered {
        s.push_str(&r.yaml);
    }
    s
}

fn document<T: Serialize>(object: &T) -> String {
    let mut s = String::new();
    write_document(&mut s, object);
    s
}

/// Several objects of one concern as consecutive documents in one buffer. Takes any
/// iterator, so objects can be built, serialized and dropped one at a time (the PVs: one per
/// pod) instead of all being held at once.
fn documents<I>(objects: I) -> String
where
    I: IntoIterator,
    I::Item: Serialize,
{
    let mut objects = objects.into_iter();
    let Some(first) = objects.next() else {
        return String::new();
    };
    let mut s = document(&first);
    // With static NFS there is one PV per pod: thousands of documents, all serialized into
    // this one buffer (no String per document, no copies). Objects of one concern serialize
    // to about the same length (the PVs differ only in their ordinal), so the first one sizes
    // the buffer for all, with 1/8 to spare; a wrong guess only costs a regrowth, and spare
    // pages that are never touched do not count in the peak RSS.
    s.reserve(objects.size_hint().0 * (s.len() + s.len() / 8));
    for object in objects {
        write_document(&mut s, &object);
    }
    s
}

/// Append one object as a YAML document, `---` first, straight into `out`.
fn write_document<T: Serialize>(out: &mut String, object: &T) {
    out.push_str("---\n");
    // A long single-line string (an image reference with a registry and a digest) stays one
    // plain scalar: folded (`>-`) it reads as two lines, and grep and reviewers miss it.
    // Multi-line strings (the scripts) are still literal blocks.
    let options = serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX };
    // Typed Kubernetes objects hold only strings, numbers, maps and lists: serde-saphyr has
    // no way to fail on them, and a failure would be a bug in that crate, not an input.
    serde_saphyr::to_fmt_writer_with_options(out, object, options)
        .unwrap_or_else(|e| panic!("a typed Kubernetes object failed to serialize: {e}"));
}
