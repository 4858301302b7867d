//! What `kubectl apply` of a new render onto an earlier one does, object by object: the plan
//! that `redkube diff` prints and `render -o` checks before writing.

use std::fmt::Write as _;

use serde_json::Value;

use super::fields::{changes, FieldChange, FieldPath};
use super::immutable::{self, Context, Refusal};
use super::objects::{Key, Object, Objects};
use super::scale;
use super::version::{self, VersionNote};

/// At most this many changed paths are listed per object; the rest are counted.
const MAX_PATHS: usize = 20;

/// What happens to one object.
#[derive(Debug, Clone)]
pub(crate) enum Status {
    Created,
    Changed(Vec<FieldChange>),
    Unchanged,
    /// In the earlier render only: `kubectl apply` leaves it in the cluster.
    LeftAlone,
}

/// Consequences worth a reviewer's attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flag {
    /// The StatefulSet's pod template changed: its pods are replaced one by one.
    RollsPods { partition: u64, on_delete: bool },
    /// The replica count changed.
    Scales { from: u64, to: u64 },
    /// A new Job: Kubernetes starts it at once, while the StatefulSet rolls.
    JobRunsAtOnce,
    /// The API server refuses the update (see the refusals).
    Refused,
    /// Kubernetes accepts it, redkube refuses it: a scale-in that loses data (see the guards).
    Guarded,
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::RollsPods {
                on_delete: true, ..
            } => f.write_str("pods take it when deleted (OnDelete)"),
            Flag::RollsPods { partition: 0, .. } => f.write_str("rolls pods"),
            Flag::RollsPods { partition, .. } => {
                write!(f, "rolls pods (ordinals {partition} and up)")
            }
            Flag::Scales { from, to } => write!(f, "scales {from} -> {to} pods"),
            Flag::JobRunsAtOnce => f.write_str("new Job runs at once"),
            Flag::Refused => f.write_str("refused by Kubernetes"),
            Flag::Guarded => f.write_str("refused by redkube"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) status: Status,
    pub(crate) flags: Vec<Flag>,
}

/// The whole comparison.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) entries: Vec<Entry>,
    /// What the API server refuses.
    pub(crate) refusals: Vec<Refusal>,
    /// What redkube refuses though Kubernetes accepts it (`scale`): same exit code and
    /// `--force`, told apart in the text.
    pub(crate) guards: Vec<Refusal>,
    pub(crate) versions: Vec<VersionNote>,
}

/// Compare `old` (an earlier render) with `new`: the new render's objects in its order, then
/// the objects only the earlier one has, in its order.
pub(crate) fn plan(old: &Objects, new: &Objects, apply: &str, apply_checked: &str) -> Plan {
    let cx = Context {
        apply,
        apply_checked,
        old,
        new,
    };
    let mut entries = Vec::new();
    let mut refusals = Vec::new();
    let mut guards = Vec::new();
    for n in new.iter() {
        let Some(o) = old.get(&n.key) else {
            let flags = if n.key.kind == "Job" {
                vec![Flag::JobRunsAtOnce]
            } else {
                Vec::new()
            };
            entries.push(Entry {
                key: n.key.clone(),
                status: Status::Created,
                flags,
            });
            continue;
        };
        let changed = changes(&FieldPath::default(), Some(&o.value), Some(&n.value));
        if changed.is_empty() {
            entries.push(Entry {
                key: n.key.clone(),
                status: Status::Unchanged,
                flags: Vec::new(),
            });
            continue;
        }
        let mut flags = consequences(o, n, &changed);
        if let Some(r) = immutable::check(o, n, &cx) {
            flags.push(Flag::Refused);
            refusals.push(r);
        }
        if let Some(r) = scale::check(o, n, &cx) {
            flags.push(Flag::Guarded);
            guards.push(r);
        }
        entries.push(Entry {
            key: n.key.clone(),
            status: Status::Changed(changed),
            flags,
        });
    }
    for o in old.iter().filter(|o| new.get(&o.key).is_none()) {
        entries.push(Entry {
            key: o.key.clone(),
            status: Status::LeftAlone,
            flags: Vec::new(),
        });
    }
    Plan {
        entries,
        refusals,
        guards,
        versions: version::notes(old, new),
    }
}

/// What a change does beyond itself: a StatefulSet's template rolls its pods (the config hash
/// annotation on the template makes a ConfigMap change show here too), its replicas scale.
fn consequences(old: &Object, new: &Object, changed: &[FieldChange]) -> Vec<Flag> {
    let mut flags = Vec::new();
    if old.key.kind != "StatefulSet" {
        return flags;
    }
    let count = |o: &Object| o.at(&["spec", "replicas"]).and_then(Value::as_u64);
    if let (Some(from), Some(to)) = (count(old), count(new)) {
        if from != to {
            flags.push(Flag::Scales { from, to });
        }
    }
    if changed
        .iter()
        .any(|c| c.path.starts_with(&["spec", "template"]))
    {
        let strategy = |k: &[&str]| {
            let mut path = vec!["spec", "updateStrategy"];
            path.extend_from_slice(k);
            new.at(&path).cloned()
        };
        flags.push(Flag::RollsPods {
            partition: strategy(&["rollingUpdate", "partition"])
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            on_delete: strategy(&["type"]) == Some(Value::from("OnDelete")),
        });
    }
    flags
}

impl Plan {
    pub(crate) fn is_refused(&self) -> bool {
        !self.refusals.is_empty() || !self.guards.is_empty()
    }

    /// The API server's refusals as text, one block per object; consecutive refusals with the
    /// same reason and frame (one PersistentVolume per pod) share one recipe.
    pub(crate) fn refusals_text(&self, indent: &str) -> String {
        let mut s = blocks(&self.refusals, indent);
        if self
            .refusals
            .iter()
            .any(|r| r.key.kind != self.refusals[0].key.kind)
        {
            let _ = writeln!(
                s,
                "{indent}(several kinds are refused: kubectl apply fails on each until all of \
                 them are done; do every recipe's deletions first, then apply once)"
            );
        }
        s
    }

    /// redkube's own refusals (the scale-in guard) as text, in the same form.
    pub(crate) fn guards_text(&self, indent: &str) -> String {
        blocks(&self.guards, indent)
    }

    /// The report of `redkube diff`: deterministic, meant to be pasted in a pull request.
    pub(crate) fn report(&self, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{title}");
        let _ = writeln!(s);
        let (mut created, mut changed, mut unchanged, mut left) = (0, 0, 0, 0);
        for e in &self.entries {
            let (word, note) = match &e.status {
                Status::Created => {
                    created += 1;
                    ("create", "")
                }
                Status::Changed(_) => {
                    changed += 1;
                    ("change", "")
                }
                Status::Unchanged => {
                    unchanged += 1;
                    ("unchanged", "")
                }
                Status::LeftAlone => {
                    left += 1;
                    (
                        "left alone",
                        "  (only in the earlier render: kubectl apply leaves it in the cluster; \
                         delete it by hand if it should go)",
                    )
                }
            };
            let flags: Vec<String> = e.flags.iter().map(|f| format!("[{f}]")).collect();
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!("  {}", flags.join(" "))
            };
            let _ = writeln!(s, "{word:<11}{}{flags}{note}", e.key);
            if let Status::Changed(paths) = &e.status {
                for c in paths.iter().take(MAX_PATHS) {
                    let hide = c.is_secret_data(&e.key.kind);
                    let _ = writeln!(s, "             {}", c.describe(hide));
                }
                if paths.len() > MAX_PATHS {
                    let _ = writeln!(
                        s,
                        "             … and {} more paths",
                        paths.len() - MAX_PATHS
                    );
                }
            }
        }
        if !self.refusals.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "refused by Kubernetes ({}): kubectl apply fails on these",
                self.refusals.len()
            );
            s.push_str(&self.refusals_text("  "));
        }
        if !self.guards.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "refused by redkube ({}): Kubernetes accepts these; the scale-in guard does not",
                self.guards.len()
            );
            s.push_str(&self.guards_text("  "));
        }
        if !self.versions.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "warnings:");
            for v in &self.versions {
                let _ = writeln!(s, "  {v}");
            }
        }
        let rolls = self
            .entries
            .iter()
            .any(|e| e.flags.iter().any(|f| matches!(f, Flag::RollsPods { .. })));
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "summary: {created} to create, {changed} to change{}, {unchanged} unchanged, {left} \
             left alone, {} refused, {} warning(s)",
            if rolls { " (pods roll)" } else { "" },
            self.refusals.len() + self.guards.len(),
            self.versions.len()
        );
        s
    }
}

/// Refusals as text blocks: the object and its fields, why, the recipe. Consecutive refusals
/// with the same reason and frame share one recipe.
fn blocks(refusals: &[Refusal], indent: &str) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < refusals.len() {
        let first = &refusals[i];
        let mut group = vec![first];
        while let Some(next) = refusals.get(i + group.len()) {
            if next.why == first.why && next.recipe.same_frame(&first.recipe) {
                group.push(next);
            } else {
                break;
            }
        }
        for r in &group {
            let _ = writeln!(s, "{indent}{}", r.key);
            for c in &r.changes {
                let hide = c.is_secret_data(&r.key.kind);
                let _ = writeln!(s, "{indent}  {}", c.describe(hide));
            }
        }
        let _ = writeln!(s, "{indent}  why: {}", first.why);
        let _ = writeln!(s, "{indent}  recipe:");
        let lines = first
            .recipe
            .before
            .iter()
            .chain(group.iter().flat_map(|r| &r.recipe.each))
            .chain(&first.recipe.after);
        for line in lines {
            let _ = writeln!(s, "{indent}    {line}");
        }
        i += group.len();
    }
    s
}
