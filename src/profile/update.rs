//! How a changed StatefulSet reaches its pods: always `RollingUpdate` (highest ordinal first,
//! one pod at a time, each Ready before the next), with an optional `partition` for staged
//! upgrades (only ordinals >= partition take the new template).

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use crate::model::UpdateStrategy;

/// `[update]`: the StatefulSet's rolling update.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct UpdateProfile {
    /// Only pods with an ordinal at or above this take a new template; the others keep the old
    /// one until the partition is lowered. 0 (the default) updates every pod. Must be below the
    /// pod count. Used to stage an upgrade: replicas first, then the rest.
    pub(crate) partition: u32,
}

impl UpdateProfile {
    /// `pods`: the StatefulSet's pod count, when the topology resolved.
    pub(super) fn resolve(&self, pods: Option<u32>, out: &mut Vec<Finding>) -> UpdateStrategy {
        if let Some(pods) = pods {
            if self.partition >= pods {
                out.push(
                    Finding::error(
                        FieldPath::parse("update.partition"),
                        format!(
                            "partition {} leaves no pod to update: the StatefulSet has {pods} \
                             pods (ordinals 0 to {})",
                            self.partition,
                            pods - 1
                        ),
                    )
                    .help(format!(
                        "set a partition below {pods}: pods with an ordinal at or above it take \
                         the new template; 0 updates every pod"
                    )),
                );
            }
        }
        UpdateStrategy {
            partition: self.partition,
        }
    }
}
