//! What applying a new render onto an earlier one does, known before `kubectl apply` runs.
//!
//! `render -o DIR` compares the new render with the one redkube wrote in DIR and stops on a
//! change the API server would refuse (`immutable`), and `redkube diff` prints the whole
//! comparison (`diff`). A cluster-mode scale-in that skips the retiring step is refused too
//! (`scale`): Kubernetes accepts it, and it loses data. Both warn when the Redis image moves across RDB formats (`version`).
//! Renders are compared as parsed YAML (`objects`), field by field (`fields`), keyed as
//! `kubectl apply` keys them: kind, namespace, name. Stdout mode has no earlier render to
//! compare with; only a folder or `diff` can know it.

mod diff;
mod fields;
mod immutable;
mod objects;
mod scale;
mod version;

pub(crate) use diff::plan;
pub(crate) use objects::Objects;
