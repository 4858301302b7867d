//! Field-level differences between two versions of an object: which paths changed, and from
//! what to what, in a form a reviewer reads (`spec.template.spec.containers[0].image`).

use std::fmt;

use serde_json::Value;

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// Where a field is: `spec.volumeClaimTemplates[0].spec.resources.requests.storage`. Keys that
/// are not plain words (`redkube.io/config-hash`, `redis.conf`) are written `["…"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(pub(crate) Vec<Step>);

impl FieldPath {
    pub(crate) fn of(keys: &[&str]) -> Self {
        Self(keys.iter().map(|k| Step::Key((*k).to_string())).collect())
    }

    /// Whether the path starts with these keys.
    pub(crate) fn starts_with(&self, keys: &[&str]) -> bool {
        keys.len() <= self.0.len()
            && keys
                .iter()
                .zip(&self.0)
                .all(|(k, s)| matches!(s, Step::Key(key) if key == k))
    }

    fn with(&self, step: Step) -> Self {
        let mut p = self.clone();
        p.0.push(step);
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::Key(k)
                    if !k.is_empty()
                        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Step::Key(k) => write!(f, "[{}]", Value::String(k.clone()))?,
            }
        }
        Ok(())
    }
}

/// A field whose value differs: `None` on a side where it is absent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldChange {
    pub(crate) path: FieldPath,
    pub(crate) old: Option<Value>,
    pub(crate) new: Option<Value>,
}

impl FieldChange {
    /// Whether the values are a Secret's data, never to be printed.
    pub(crate) fn is_secret_data(&self, kind: &str) -> bool {
        kind == "Secret"
            && (self.path.starts_with(&["data"]) || self.path.starts_with(&["stringData"]))
    }

    /// `path: old -> new`, the values shown only when short and not secret.
    pub(crate) fn describe(&self, hide_values: bool) -> String {
        if hide_values {
            return match (&self.old, &self.new) {
                (None, Some(_)) => format!("{} (added)", self.path),
                (Some(_), None) => format!("{} (removed)", self.path),
                _ => format!("{} (value not shown)", self.path),
            };
        }
        match (show(self.old.as_ref()), show(self.new.as_ref())) {
            (Some(old), Some(new)) => format!("{}: {old} -> {new}", self.path),
            _ => self.path.to_string(),
        }
    }
}

/// A value as a reviewer wants it in one line, or `None` when it does not fit one.
fn show(value: Option<&Value>) -> Option<String> {
    const WIDTH: usize = 60;
    let text = match value {
        None => "(absent)".to_string(),
        // A script or a config file: its path says enough.
        Some(Value::String(s)) if s.contains('\n') => return None,
        Some(Value::String(s)) if !s.is_empty() && s.trim() == s => s.clone(),
        Some(v) => v.to_string(),
    };
    (text.len() <= WIDTH && !text.contains('\n')).then_some(text)
}

/// Every leaf where `old` and `new` differ, under `base`, in document order. Maps are compared
/// key by key, lists item by item (an added item shows as its index).
pub(crate) fn changes(
    base: &FieldPath,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(base, old, new, &mut out);
    out
}

fn walk(path: &FieldPath, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&path.with(Step::Key(k.clone())), a.get(k), b.get(k), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                walk(&path.with(Step::Index(i)), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange {
            path: path.clone(),
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_are_named_like_kubectl_paths() {
        let old = json!({"spec": {"template": {"metadata": {"annotations": {"redkube.io/config-hash": "a"}}},
            "containers": [{"image": "redis:7.2.7"}], "gone": 1}});
        let new = json!({"spec": {"template": {"metadata": {"annotations": {"redkube.io/config-hash": "b"}}},
            "containers": [{"image": "redis:7.4.2"}, {"image": "x"}]}});
        let got: Vec<String> = changes(&FieldPath::default(), Some(&old), Some(&new))
            .iter()
            .map(|c| c.describe(false))
            .collect();
        assert_eq!(
            got,
            [
                "spec.containers[0].image: redis:7.2.7 -> redis:7.4.2",
                r#"spec.containers[1]: (absent) -> {"image":"x"}"#,
                "spec.gone: 1 -> (absent)",
                r#"spec.template.metadata.annotations["redkube.io/config-hash"]: a -> b"#,
            ]
        );
    }

    #[test]
    fn long_and_secret_values_are_not_shown() {
        let c = FieldChange {
            path: FieldPath::of(&["data", "redis.conf"]),
            old: Some(json!("a\nb")),
            new: Some(json!("a\nc")),
        };
        assert_eq!(c.describe(false), r#"data["redis.conf"]"#);
        assert_eq!(c.describe(true), r#"data["redis.conf"] (value not shown)"#);
    }
}
