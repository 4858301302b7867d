//! A Redis Cluster scale-in that skips the retiring step: Kubernetes accepts it, redkube
//! refuses it, because it loses data.
//!
//! A lower `spec.replicas` makes the StatefulSet delete its highest ordinals, and in a Redis
//! Cluster those pods may be masters with slots: their keys go with them. redkube scales in in
//! two steps (`cluster.retiring-pods`). Step 1 lowers the counts and sets `retiring-pods` to
//! the pods being removed, so the StatefulSet keeps its pod count while the reconcile Job moves
//! the slots off the pods above the members and resets them; step 2 removes the line, and the
//! StatefulSet shrinks. Each render's counts are read from the `topology` file of the ConfigMap
//! its pods mount (`pods=`, `members=`: cluster mode only). Sentinel mode has no guard: a
//! removed pod's preStop hands the master over (the Sentinels forgetting removed pods is
//! the Sentinel reconcile Job's part, still a stub).

use serde_json::Value;

use super::fields::{changes, FieldPath};
use super::immutable::{Context, Recipe, Refusal};
use super::objects::{Key, Object, Objects};
use crate::templates::TOPOLOGY_KEY;

/// A render's counts, from its ConfigMap's `topology` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    pods: u64,
    /// Ordinals 0 to members - 1 hold the cluster; absent in Sentinel mode.
    members: Option<u64>,
    masters: Option<u64>,
    replicas_per_master: Option<u64>,
}

impl Shape {
    fn parse(text: &str) -> Option<Self> {
        let mut shape = Shape {
            pods: 0,
            members: None,
            masters: None,
            replicas_per_master: None,
        };
        let mut pods = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().parse::<u64>().ok();
            match key.trim() {
                "pods" => pods = value,
                "members" => shape.members = value,
                "masters" => shape.masters = value,
                "replicas-per-master" => shape.replicas_per_master = value,
                _ => {}
            }
        }
        shape.pods = pods?;
        Some(shape)
    }

    fn retiring(&self) -> u64 {
        self.members.map_or(0, |m| self.pods.saturating_sub(m))
    }

    /// `masters = 3, replicas-per-master = 1` as the profile says it, when known.
    fn counts(&self) -> String {
        match (self.masters, self.replicas_per_master) {
            (Some(m), Some(r)) => format!("masters = {m}, replicas-per-master = {r}"),
            _ => "the new masters and replicas-per-master".into(),
        }
    }
}

/// The shape in the `topology` file of a ConfigMap that the StatefulSet's pods mount.
fn shape_of(render: &Objects, sts: &Object) -> Option<Shape> {
    let volumes = sts
        .at(&["spec", "template", "spec", "volumes"])
        .and_then(Value::as_array)?;
    volumes
        .iter()
        .filter_map(|v| v.get("configMap")?.get("name")?.as_str())
        .find_map(|name| {
            let key = Key {
                kind: "ConfigMap".into(),
                namespace: sts.key.namespace.clone(),
                name: name.into(),
            };
            Shape::parse(render.get(&key)?.at(&["data", TOPOLOGY_KEY])?.as_str()?)
        })
}

fn replicas(sts: &Object) -> u64 {
    sts.at(&["spec", "replicas"])
        .and_then(Value::as_u64)
        .unwrap_or(1)
}

/// The pods a shrink from `from` to `to` deletes: `r-6`, or `r-6 to r-7`.
fn ordinals(sts: &Object, from: u64, to: u64) -> String {
    let name = &sts.key.name;
    if from - to == 1 {
        format!("{name}-{to}")
    } else {
        format!("{name}-{to} to {name}-{}", from - 1)
    }
}

fn ns_flag(key: &Key) -> String {
    key.namespace
        .as_ref()
        .map_or(String::new(), |ns| format!(" -n {ns}"))
}

/// The refusal a change of a cluster-mode StatefulSet's replicas meets, if any: a shrink
/// whose pods the earlier render did not retire, or a step 1 whose `retiring-pods` is not the
/// pods being removed.
pub(crate) fn check(old: &Object, new: &Object, cx: &Context<'_>) -> Option<Refusal> {
    if old.key.kind != "StatefulSet" {
        return None;
    }
    let now = shape_of(cx.new, new)?;
    let members = now.members?;
    let (from, to) = (replicas(old), replicas(new));
    if now.retiring() > 0 && from != to {
        return Some(wrong_step_one(old, new, cx, now, from, to));
    }
    if to >= from {
        return None;
    }
    let before = shape_of(cx.old, old);
    let retired = before.map_or(0, |b| b.retiring());
    if retired == from - to && before.and_then(|b| b.members) == Some(members) {
        return None; // step 2: the pods that go were retired by the earlier render
    }
    Some(naive_shrink(old, new, cx, before, now, from, to))
}

fn replicas_change(old: &Object, new: &Object) -> Vec<super::fields::FieldChange> {
    changes(
        &FieldPath::of(&["spec", "replicas"]),
        old.at(&["spec", "replicas"]),
        new.at(&["spec", "replicas"]),
    )
}

fn naive_shrink(
    old: &Object,
    new: &Object,
    cx: &Context<'_>,
    before: Option<Shape>,
    now: Shape,
    from: u64,
    to: u64,
) -> Refusal {
    let k = from - to;
    let going = ordinals(old, from, to);
    let earlier = match before {
        Some(b) if b.members.is_some() && b.retiring() == 0 => format!(
            "the earlier render retires no pod (its topology: pods={}, members={})",
            b.pods,
            b.members.unwrap_or(0)
        ),
        Some(b) if b.members.is_some() => format!(
            "the earlier render retires {} pod(s) above {} members (its topology: pods={}), \
             not these {k} above {to}",
            b.retiring(),
            b.members.unwrap_or(0),
            b.pods
        ),
        _ => "the earlier render retires no pod (it has no cluster topology)".into(),
    };
    Refusal {
        key: old.key.clone(),
        changes: replicas_change(old, new),
        why: format!(
            "this scale-in goes from {from} to {to} pods in one step: the StatefulSet deletes \
             the highest ordinals ({going}) at once, and they may be masters with slots. A \
             master whose replicas go with it takes its keys along, and the whole cluster \
             answers CLUSTERDOWN (cluster-require-full-coverage) until someone re-assigns those \
             slots, empty, by hand; a master whose replica stays fails over after node-timeout \
             and loses the writes not yet replicated. Kubernetes accepts it; redkube refuses it \
             because {earlier}: a scale-in first lets the reconcile Job move the slots off the \
             pods that go"
        ),
        recipe: Recipe {
            each: two_steps(cx, old, now, from, to),
            ..Recipe::default()
        },
    }
}

fn wrong_step_one(
    old: &Object,
    new: &Object,
    cx: &Context<'_>,
    now: Shape,
    from: u64,
    to: u64,
) -> Refusal {
    let members = now.members.unwrap_or(0);
    let effect = if to < from {
        format!(
            "shrink now, deleting {} before the reconcile Job has moved a slot off the pods \
             that go (a master's keys would be lost)",
            ordinals(old, from, to)
        )
    } else if from > members {
        format!("grow by {} pod(s) only to retire them", to - from)
    } else {
        "scale out and retire pods at once, with nothing to retire".into()
    };
    let mut recipe = Vec::new();
    if from > members {
        recipe.push(format!(
            "# step 1 keeps the StatefulSet at its {from} pods: retiring-pods is the pods being \
             removed, {from} - {members} members = {}",
            from - members
        ));
        recipe.extend(two_steps(cx, old, now, from, members).into_iter().skip(1));
    } else {
        recipe.push(format!(
            "# this is no scale-in ({from} pods now, {members} members in the new profile): \
             remove the retiring-pods line under [cluster], then render and apply"
        ));
        recipe.push(cx.apply_checked.to_string());
    }
    Refusal {
        key: old.key.clone(),
        changes: replicas_change(old, new),
        why: format!(
            "the new render retires {} pod(s) above its {members} members, so its StatefulSet \
             has {to} pods, but the earlier one has {from}: step 1 of a scale-in must keep the \
             pod count, and retiring-pods must equal the pods being removed. This one would \
             {effect}",
            now.retiring()
        ),
        recipe: Recipe {
            each: recipe,
            ..Recipe::default()
        },
    }
}

/// The two-step scale-in from `from` to `to` pods, as shell comments and commands.
fn two_steps(cx: &Context<'_>, sts: &Object, now: Shape, from: u64, to: u64) -> Vec<String> {
    let k = from - to;
    let ns = ns_flag(&sts.key);
    let mut lines = vec![
        format!(
            "# scale in two steps, so that the reconcile Job moves the slots off the {k} \
             pod(s) before they go"
        ),
        format!(
            "# step 1: in the profile, keep the new counts ({}) and add under [cluster]: \
             retiring-pods = {k}",
            now.counts()
        ),
        cx.apply_checked.to_string(),
        "# wait until the new reconcile Job completes: it moves their slots to the members, \
         then every node forgets them and they are reset (its log then says that the retiring \
         pods hold no slot and no key)"
            .into(),
    ];
    let job = cx.new.of_kind("Job").find(|j| {
        j.key.namespace == sts.key.namespace
            && j.at(&["metadata", "labels", "app.kubernetes.io/component"])
                == Some(&Value::from("reconcile"))
    });
    match job.and_then(|j| j.at(&["metadata", "labels", "app.kubernetes.io/instance"])) {
        Some(Value::String(instance)) => {
            let selector = format!(
                "app.kubernetes.io/component=reconcile,app.kubernetes.io/instance={instance}"
            );
            let timeout = job
                .and_then(|j| j.at(&["spec", "activeDeadlineSeconds"]))
                .and_then(Value::as_u64)
                .map_or_else(|| "1h".to_string(), |s| format!("{}s", s + 60));
            lines.push(format!(
                "kubectl wait --for=condition=complete job/$(kubectl get jobs -l {selector}{ns} \
                 --sort-by=.metadata.creationTimestamp -o jsonpath='{{.items[-1:].metadata.name}}')\
                 {ns} --timeout={timeout}"
            ));
        }
        _ => lines.push(format!(
            "kubectl get jobs{ns} -w   # the newest reconcile Job: COMPLETIONS 1/1"
        )),
    }
    lines.push(format!(
        "# step 2: remove the retiring-pods line, render and apply: the StatefulSet shrinks to \
         {to} pods"
    ));
    lines.push(cx.apply_checked.to_string());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(replicas: u64, topology: &str) -> Objects {
        let mut objects = Objects::default();
        let stream = format!(
            "kind: StatefulSet\nmetadata:\n  name: r\n  namespace: ns\nspec:\n  replicas: \
             {replicas}\n  template:\n    spec:\n      volumes:\n      - name: c\n        \
             configMap:\n          name: r-config\n---\nkind: ConfigMap\nmetadata:\n  name: \
             r-config\n  namespace: ns\ndata:\n  topology: |\n    # shape\n{}",
            topology
                .split(' ')
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        objects.add_stream("s", &stream).unwrap();
        objects
    }

    /// The refusal's first words, or "" when the change passes.
    fn verdict(old: &Objects, new: &Objects) -> String {
        let cx = Context {
            apply: "apply --force",
            apply_checked: "apply",
            old,
            new,
        };
        let sts = |o: &Objects| o.of_kind("StatefulSet").next().unwrap().clone();
        check(&sts(old), &sts(new), &cx)
            .map(|r| r.why.split(':').next().unwrap().to_string())
            .unwrap_or_default()
    }

    const NAIVE: &str = "this scale-in goes from 9 to 6 pods in one step";

    #[test]
    fn a_cluster_shrinks_only_after_retiring_exactly_the_pods_that_go() {
        let nine = render(9, "pods=9 members=9 masters=3 replicas-per-master=2");
        let six = render(6, "pods=6 members=6 masters=3 replicas-per-master=1");
        let step1 = render(9, "pods=9 members=6 masters=3 replicas-per-master=1");
        assert_eq!(verdict(&nine, &six), NAIVE);
        assert_eq!(verdict(&nine, &step1), "");
        assert_eq!(verdict(&step1, &step1), "");
        assert_eq!(verdict(&step1, &six), "");
        assert_eq!(verdict(&six, &nine), "", "a scale-out passes");
        // Retiring fewer pods than go, or members other than those kept, is no step 1.
        let two_retiring = render(9, "pods=9 members=7 masters=7 replicas-per-master=0");
        assert_eq!(verdict(&two_retiring, &six), NAIVE);
        // An earlier render without a topology file (or with another shape) retires nothing.
        let mut bare = Objects::default();
        bare.add_stream(
            "s",
            "kind: StatefulSet\nmetadata:\n  name: r\n  namespace: ns\nspec:\n  replicas: 9\n",
        )
        .unwrap();
        assert_eq!(verdict(&bare, &six), NAIVE);
    }

    #[test]
    fn step_one_keeps_the_pod_count_and_sentinel_mode_is_free() {
        let nine = render(9, "pods=9 members=9 masters=3 replicas-per-master=2");
        let short = render(8, "pods=8 members=6 masters=3 replicas-per-master=1");
        let long = render(10, "pods=10 members=6 masters=3 replicas-per-master=1");
        for wrong in [&short, &long] {
            let cx = Context {
                apply: "apply --force",
                apply_checked: "apply",
                old: &nine,
                new: wrong,
            };
            let sts = |o: &Objects| o.of_kind("StatefulSet").next().unwrap().clone();
            let r = check(&sts(&nine), &sts(wrong), &cx).expect("refused");
            assert!(r.why.starts_with("the new render retires"), "{}", r.why);
            assert!(
                r.recipe.each.iter().any(|l| l.contains("= 3")),
                "{:?}",
                r.recipe
            );
        }
        // Retiring pods on a scale-out: nothing to retire, the line goes.
        let six = render(6, "pods=6 members=6 masters=3 replicas-per-master=1");
        let out = render(9, "pods=9 members=8 masters=4 replicas-per-master=1");
        assert_eq!(verdict(&six, &out), "the new render retires 1 pod(s) above its 8 members, so its StatefulSet has 9 pods, but the earlier one has 6");
        let sentinel = |n| render(n, &format!("pods={n} quorum=2"));
        assert_eq!(verdict(&sentinel(5), &sentinel(3)), "");
    }
}
