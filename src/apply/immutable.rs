//! Changes the API server refuses on update, found before `kubectl apply` meets them.
//!
//! The rules follow the API server's update validation (Kubernetes 1.29 to 1.33):
//! - StatefulSet (`ValidateStatefulSetUpdate`): only `replicas`, `ordinals`, `template`,
//!   `updateStrategy`, `persistentVolumeClaimRetentionPolicy` and `minReadySeconds` may change;
//!   every other field of the spec (`selector`, `serviceName`, `podManagementPolicy`,
//!   `volumeClaimTemplates`, …) is refused. (1.35 also frees `revisionHistoryLimit`; redkube
//!   does not render it, so the stricter, older rule is kept.)
//! - PersistentVolume (`ValidatePersistentVolumeUpdate`): the volume source (`nfs`, `csi`, …)
//!   and `volumeMode` are fixed, and `nodeAffinity` once set. Capacity, access modes, class,
//!   reclaim policy, mount options and `claimRef` may change.
//! - Service: `clusterIP` (and `clusterIPs`) is fixed unless the type moves to or from
//!   ExternalName; headless (`None`) to an allocated address, or back, is refused.
//! - Job (`ValidateJobUpdate`): the pod template, selector, completions, completion mode and
//!   failure policies are fixed; `parallelism`, `activeDeadlineSeconds`, `backoffLimit`,
//!   `suspend` and `ttlSecondsAfterFinished` may change.
//! - ConfigMap and Secret marked `immutable: true`: their data and the mark itself.
//! - PodDisruptionBudget: nothing; its selector and budgets have been mutable since 1.15.

use serde_json::Value;

use super::fields::{changes, FieldChange, FieldPath};
use super::objects::{Key, Object, Objects};
use crate::profile::parse_k8s_quantity;

/// A change the API server refuses, with the reason and the way around it.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) key: Key,
    /// The refused fields, old and new.
    pub(crate) changes: Vec<FieldChange>,
    /// Why the API server refuses it.
    pub(crate) why: String,
    /// Shell lines (comments and commands) that make the change happen anyway.
    pub(crate) recipe: Recipe,
}

/// A recipe in three parts, so that refusals of one kind (a PersistentVolume per pod) share
/// one recipe: `before` and `after` once, `each` for every object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Recipe {
    pub(crate) before: Vec<String>,
    pub(crate) each: Vec<String>,
    pub(crate) after: Vec<String>,
}

impl Recipe {
    fn each(lines: Vec<String>) -> Self {
        Self {
            each: lines,
            ..Self::default()
        }
    }

    /// Whether `other` can be printed as part of this recipe (same frame).
    pub(crate) fn same_frame(&self, other: &Recipe) -> bool {
        self.before == other.before && self.after == other.after
    }
}

/// How the recipes apply the new render (`kubectl apply -k DIR`, or what `diff` suggests).
pub(crate) struct Context<'a> {
    /// Writes the new render over a refusal (`--force`) and applies it.
    pub(crate) apply: &'a str,
    /// Renders and applies without overriding a refusal: a later step of a recipe.
    pub(crate) apply_checked: &'a str,
    /// The earlier render: the scale-in guard reads its counts.
    pub(crate) old: &'a Objects,
    /// The new render: recipes name its StatefulSet and know whether its volumes are static.
    pub(crate) new: &'a Objects,
}

const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// The PersistentVolume spec fields that are not its volume source; of these only
/// `volumeMode` and a set `nodeAffinity` are fixed.
const PV_NOT_SOURCE: &[&str] = &[
    "accessModes",
    "capacity",
    "claimRef",
    "mountOptions",
    "nodeAffinity",
    "persistentVolumeReclaimPolicy",
    "storageClassName",
    "volumeAttributesClassName",
    "volumeMode",
];

const JOB_MUTABLE: &[&str] = &[
    "parallelism",
    "activeDeadlineSeconds",
    "backoffLimit",
    "suspend",
    "ttlSecondsAfterFinished",
];

/// The refusal an update from `old` to `new` (same key) would meet, if any.
pub(crate) fn check(old: &Object, new: &Object, cx: &Context<'_>) -> Option<Refusal> {
    match old.key.kind.as_str() {
        "StatefulSet" => statefulset(old, new, cx),
        "PersistentVolume" => persistent_volume(old, new, cx),
        "Service" => service(old, new, cx),
        "Job" => job(old, new, cx),
        "ConfigMap" | "Secret" => immutable_data(old, new, cx),
        _ => None,
    }
}

/// The spec of each side without `keep`'s keys: what is left must not change.
fn fixed_spec_changes(old: &Object, new: &Object, except: &[&str]) -> Vec<FieldChange> {
    let strip = |o: &Object| {
        let mut spec = o.value.get("spec").cloned().unwrap_or(Value::Null);
        if let Value::Object(map) = &mut spec {
            map.retain(|k, _| !except.contains(&k.as_str()));
        }
        spec
    };
    let (a, b) = (strip(old), strip(new));
    changes(&FieldPath::of(&["spec"]), Some(&a), Some(&b))
}

fn ns_flag(key: &Key) -> String {
    key.namespace
        .as_ref()
        .map_or(String::new(), |ns| format!(" -n {ns}"))
}

fn statefulset(old: &Object, new: &Object, cx: &Context<'_>) -> Option<Refusal> {
    let changed = fixed_spec_changes(old, new, STATEFULSET_MUTABLE);
    if changed.is_empty() {
        return None;
    }
    let key = &old.key;
    let name = &key.name;
    let ns = ns_flag(key);
    let touched = |keys: &[&str]| changed.iter().any(|c| c.path.starts_with(keys));
    let mut recipe = Vec::new();

    if touched(&["spec", "volumeClaimTemplates"]) {
        claim_recipe(old, new, cx, &mut recipe);
    }
    recipe.push(
        "# replace the StatefulSet object only: its pods and their claims stay and are adopted"
            .into(),
    );
    recipe.push(format!(
        "kubectl delete statefulset {name} --cascade=orphan{ns}"
    ));
    recipe.push(format!("{}   # or let your GitOps tool sync", cx.apply));
    if touched(&["spec", "selector"]) {
        let last = replicas(old).saturating_sub(1);
        recipe.push(
            "# the orphaned pods do not match the new selector, so the new StatefulSet cannot \
             adopt them: delete them one at a time, highest ordinal first, each Ready before \
             the next"
                .into(),
        );
        recipe.push(format!(
            "for i in $(seq {last} -1 0); do kubectl delete pod {name}-$i{ns}; until kubectl \
             wait --for=condition=Ready pod/{name}-$i{ns} --timeout=10m 2>/dev/null; do sleep \
             2; done; done"
        ));
    }
    if touched(&["spec", "serviceName"]) {
        recipe.push(
            "# running pods keep the old DNS subdomain until they are recreated: roll them".into(),
        );
        recipe.push(format!("kubectl rollout restart statefulset {name}{ns}"));
    }
    Some(Refusal {
        key: key.clone(),
        changes: changed,
        why: "a StatefulSet's spec may change only in replicas, ordinals, template, \
              updateStrategy, persistentVolumeClaimRetentionPolicy and minReadySeconds: its \
              volumeClaimTemplates, selector, serviceName and podManagementPolicy are fixed \
              at creation, and the API server answers `spec: Forbidden`"
            .into(),
        recipe: Recipe::each(recipe),
    })
}

fn replicas(sts: &Object) -> u64 {
    sts.at(&["spec", "replicas"])
        .and_then(Value::as_u64)
        .unwrap_or(1)
}

/// The claim templates of a StatefulSet.
fn claim_templates(sts: &Object) -> Vec<&Value> {
    sts.at(&["spec", "volumeClaimTemplates"])
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default()
}

fn template_field<'a>(template: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(template, |v, k| v.get(k))
}

/// What to do with the existing claims when a claim template changed: grow them (when the
/// size grew and the class allows expansion), or say what stays as it is.
fn claim_recipe(old: &Object, new: &Object, cx: &Context<'_>, recipe: &mut Vec<String>) {
    let name = &old.key.name;
    let ns = ns_flag(&old.key);
    let last = replicas(old).saturating_sub(1);
    let static_volumes = cx.new.of_kind("PersistentVolume").next().is_some();
    let new_templates = claim_templates(new);
    for old_t in claim_templates(old) {
        let claim = template_field(old_t, &["metadata", "name"])
            .and_then(Value::as_str)
            .unwrap_or("data");
        let Some(new_t) = new_templates
            .iter()
            .find(|t| template_field(t, &["metadata", "name"]) == Some(&Value::from(claim)))
        else {
            recipe.push(format!(
                "# the claim template `{claim}` is gone from the new render: its claims \
                 ({claim}-{name}-N) stay, unused, until you delete them"
            ));
            continue;
        };
        let size_path = ["spec", "resources", "requests", "storage"];
        let size = |t: &Value| {
            template_field(t, &size_path)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (old_size, new_size) = (size(old_t), size(new_t));
        let bytes = |s: &Option<String>| s.as_deref().and_then(parse_k8s_quantity);
        if let (Some(from), Some(to), Some(new_size)) =
            (bytes(&old_size), bytes(&new_size), new_size.as_deref())
        {
            let old_size = old_size.as_deref().unwrap_or("?");
            if to > from && static_volumes {
                recipe.push(format!(
                    "# the claims are bound to static PersistentVolumes (NFS): their size is \
                     nominal (the export's free space is what counts). The PVs' capacity \
                     changes in place; the claims keep asking for {old_size}"
                ));
            } else if to > from {
                let class =
                    template_field(new_t, &["spec", "storageClassName"]).and_then(Value::as_str);
                let check = match class {
                    Some(c) => format!(
                        "kubectl get storageclass {c} -o jsonpath='{{.allowVolumeExpansion}}'"
                    ),
                    None => "kubectl get storageclass   # the one marked (default)".into(),
                };
                recipe.push(format!(
                    "# grow each claim from {old_size} to {new_size}, only if its StorageClass \
                     has allowVolumeExpansion: true (without it, keep {old_size} or move the \
                     data to new claims):"
                ));
                recipe.push(check);
                recipe.push(format!(
                    "for i in $(seq 0 {last}); do kubectl patch pvc {claim}-{name}-$i{ns} -p \
                     '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{new_size}\"}}}}}}}}'; done"
                ));
            } else if to < from {
                recipe.push(format!(
                    "# a claim cannot shrink: the existing claims stay at {old_size} whatever \
                     the template says; only claims created later (new ordinals) get {new_size}"
                ));
            }
        }
        for (field, what) in [
            ("storageClassName", "storage class"),
            ("accessModes", "access modes"),
        ] {
            let path = ["spec", field];
            if template_field(old_t, &path) != template_field(new_t, &path) {
                recipe.push(format!(
                    "# existing claims keep their {what} (fixed on a claim too): the new \
                     template applies only to claims created later. Moving the data to the new \
                     {what} means new claims (a new release) and a copy"
                ));
            }
        }
    }
}

fn persistent_volume(old: &Object, new: &Object, cx: &Context<'_>) -> Option<Refusal> {
    let mut changed = fixed_spec_changes(old, new, PV_NOT_SOURCE);
    let spec_field = |o: &Object, f: &str| o.at(&["spec", f]).cloned();
    if spec_field(old, "volumeMode") != spec_field(new, "volumeMode") {
        changed.extend(changes(
            &FieldPath::of(&["spec", "volumeMode"]),
            old.at(&["spec", "volumeMode"]),
            new.at(&["spec", "volumeMode"]),
        ));
    }
    if old.at(&["spec", "nodeAffinity"]).is_some() {
        changed.extend(changes(
            &FieldPath::of(&["spec", "nodeAffinity"]),
            old.at(&["spec", "nodeAffinity"]),
            new.at(&["spec", "nodeAffinity"]),
        ));
    }
    if changed.is_empty() {
        return None;
    }
    let pv = &old.key.name;
    let claim_ns = old
        .at(&["spec", "claimRef", "namespace"])
        .and_then(Value::as_str);
    let claim = old
        .at(&["spec", "claimRef", "name"])
        .and_then(Value::as_str);
    let sts = cx.new.of_kind("StatefulSet").next();
    let mut recipe = Recipe::default();
    if let Some(sts) = sts {
        let ns = ns_flag(&sts.key);
        recipe
            .before
            .push("# stop the pods that use these volumes".into());
        recipe.before.push(format!(
            "kubectl scale statefulset {} --replicas=0{ns}",
            sts.key.name
        ));
    }
    recipe.before.push(
        "# delete each claim and its volume (with reclaim policy Retain, the files on the \
         export stay) and copy the data to the new location"
            .into(),
    );
    if let Some(claim) = claim {
        let ns = claim_ns.map_or(String::new(), |n| format!(" -n {n}"));
        recipe.each.push(format!("kubectl delete pvc {claim}{ns}"));
    }
    recipe.each.push(format!("kubectl delete pv {pv}"));
    recipe
        .after
        .push(format!("{}   # or let your GitOps tool sync", cx.apply));
    if let Some(sts) = sts {
        recipe.after.push(format!(
            "kubectl scale statefulset {} --replicas={}{}",
            sts.key.name,
            replicas(sts),
            ns_flag(&sts.key)
        ));
    }
    Some(Refusal {
        key: old.key.clone(),
        changes: changed,
        why: "a PersistentVolume's source (nfs.server, nfs.path, …) and volumeMode are fixed at \
              creation: the API server answers `spec.persistentvolumesource: Forbidden: is \
              immutable after creation`"
            .into(),
        recipe,
    })
}

fn service(old: &Object, new: &Object, cx: &Context<'_>) -> Option<Refusal> {
    let external_name = |o: &Object| o.at(&["spec", "type"]) == Some(&Value::from("ExternalName"));
    if external_name(old) || external_name(new) {
        return None;
    }
    let mut changed = Vec::new();
    for field in ["clusterIP", "clusterIPs"] {
        changed.extend(changes(
            &FieldPath::of(&["spec", field]),
            old.at(&["spec", field]),
            new.at(&["spec", field]),
        ));
    }
    if changed.is_empty() {
        return None;
    }
    let ns = ns_flag(&old.key);
    Some(Refusal {
        key: old.key.clone(),
        changes: changed,
        why: "a Service's clusterIP is fixed at creation (only a move to or from ExternalName \
              frees it): a headless Service (`None`) cannot get an address, nor the reverse"
            .into(),
        recipe: Recipe::each(vec![
            "# recreate the Service: its name does not resolve between the two commands".into(),
            format!("kubectl delete service {}{ns}", old.key.name),
            format!("{}   # or let your GitOps tool sync", cx.apply),
        ]),
    })
}

fn job(old: &Object, new: &Object, cx: &Context<'_>) -> Option<Refusal> {
    // The API server fills in the selector and the template's controller labels; both
    // renders lack them alike, so comparing the renders is what the apply would change.
    let changed = fixed_spec_changes(old, new, JOB_MUTABLE);
    if changed.is_empty() {
        return None;
    }
    let ns = ns_flag(&old.key);
    Some(Refusal {
        key: old.key.clone(),
        changes: changed,
        why: "a Job's pod template, selector, completions and failure policies are fixed at \
              creation: a Job runs once, as created"
            .into(),
        recipe: Recipe::each(vec![
            "# delete the Job and apply: it runs again (redkube's reconcile Job skips a formed \
             cluster)"
                .into(),
            format!("kubectl delete job {}{ns}", old.key.name),
            format!("{}   # or let your GitOps tool sync", cx.apply),
        ]),
    })
}

fn immutable_data(old: &Object, new: &Object, cx: &Context<'_>) -> Option<Refusal> {
    if old.at(&["immutable"]) != Some(&Value::Bool(true)) {
        return None;
    }
    let mut changed = Vec::new();
    for field in ["data", "binaryData", "stringData", "immutable"] {
        changed.extend(changes(
            &FieldPath::of(&[field]),
            old.at(&[field]),
            new.at(&[field]),
        ));
    }
    if changed.is_empty() {
        return None;
    }
    let ns = ns_flag(&old.key);
    let kind = old.key.kind.to_lowercase();
    Some(Refusal {
        key: old.key.clone(),
        changes: changed,
        why: format!(
            "this {} is marked `immutable: true`: its data cannot change, nor the mark",
            old.key.kind
        ),
        recipe: Recipe::each(vec![
            "# recreate it; pods that mount it see the new content once restarted".into(),
            format!("kubectl delete {kind} {}{ns}", old.key.name),
            format!("{}   # or let your GitOps tool sync", cx.apply),
        ]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(kind: &str, value: Value) -> Object {
        let mut value = value;
        value["kind"] = json!(kind);
        value["metadata"] = json!({"name": "x", "namespace": "ns"});
        Object {
            key: Key {
                kind: kind.into(),
                namespace: Some("ns".into()),
                name: "x".into(),
            },
            value,
        }
    }

    fn refused_paths(kind: &str, old: Value, new: Value) -> Vec<String> {
        let new_render = Objects::default();
        let cx = Context {
            apply: "kubectl apply -k deploy",
            apply_checked: "kubectl apply -k deploy",
            old: &new_render,
            new: &new_render,
        };
        check(&object(kind, old), &object(kind, new), &cx)
            .map(|r| r.changes.iter().map(|c| c.path.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn statefulset_template_replicas_and_strategy_may_change() {
        let old = json!({"spec": {"replicas": 3, "template": {"a": 1},
            "updateStrategy": {"type": "RollingUpdate"}, "serviceName": "h",
            "podManagementPolicy": "Parallel"}});
        let new = json!({"spec": {"replicas": 6, "template": {"a": 2},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            "serviceName": "h", "podManagementPolicy": "OrderedReady"}});
        assert_eq!(
            refused_paths("StatefulSet", old, new),
            ["spec.podManagementPolicy"]
        );
    }

    #[test]
    fn a_persistent_volume_keeps_its_source_but_not_its_capacity() {
        let old = json!({"spec": {"capacity": {"storage": "1Gi"},
            "nfs": {"server": "a", "path": "/p0"}, "volumeMode": "Filesystem",
            "claimRef": {"name": "data-x-0", "namespace": "ns"}}});
        let mut new = old.clone();
        new["spec"]["capacity"]["storage"] = json!("2Gi");
        new["spec"]["claimRef"]["namespace"] = json!("other");
        assert!(refused_paths("PersistentVolume", old.clone(), new.clone()).is_empty());
        new["spec"]["nfs"]["path"] = json!("/p1");
        assert_eq!(
            refused_paths("PersistentVolume", old, new),
            ["spec.nfs.path"]
        );
    }

    #[test]
    fn services_jobs_and_immutable_data() {
        let headless = json!({"spec": {"clusterIP": "None", "ports": [1]}});
        let allocated = json!({"spec": {"ports": [1]}});
        assert_eq!(
            refused_paths("Service", headless.clone(), allocated),
            ["spec.clusterIP"]
        );
        let mut more_ports = headless.clone();
        more_ports["spec"]["ports"] = json!([1, 2]);
        assert!(refused_paths("Service", headless, more_ports).is_empty());

        let job = json!({"spec": {"backoffLimit": 6, "template": {"image": "a"}}});
        let mut retried = job.clone();
        retried["spec"]["backoffLimit"] = json!(10);
        assert!(refused_paths("Job", job.clone(), retried).is_empty());
        let mut other = job.clone();
        other["spec"]["template"]["image"] = json!("b");
        assert_eq!(refused_paths("Job", job, other), ["spec.template.image"]);

        let frozen = json!({"immutable": true, "data": {"k": "1"}});
        let thawed = json!({"immutable": true, "data": {"k": "2"}});
        assert_eq!(
            refused_paths("ConfigMap", frozen, thawed.clone()),
            ["data.k"]
        );
        let mutable = json!({"data": {"k": "1"}});
        assert!(refused_paths("ConfigMap", mutable, thawed).is_empty());
        let pdb = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}}});
        let pdb2 = json!({"spec": {"selector": {"matchLabels": {"a": "2"}}}});
        assert!(refused_paths("PodDisruptionBudget", pdb, pdb2).is_empty());
    }
}
