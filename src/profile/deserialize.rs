//! TOML text -> typed [`Profile`], reporting every type error, unknown key and missing key in
//! one run. serde stops at the first error, so each one is recorded, the document is repaired
//! at that path (a wrong or unknown value removed, a missing required value given a harmless
//! placeholder), and deserialized again, a bounded number of times.

use std::ops::Range;

use toml_edit::{DocumentMut, Item};

use super::diagnostics::{backticked, path_at, suggestion, FieldPath, Finding, Seg};
use super::Profile;

/// More errors than this in one file are not worth listing one by one.
const MAX_REPAIRS: usize = 32;

use super::TOP_LEVEL_SCALARS;

/// The typed profile when some version of the document deserialized, every deserialization
/// error (with its span in the original text when it is the first), and the paths repaired on
/// the way: checks on those paths would judge a placeholder, not the user's text.
pub(super) struct Deserialized {
    pub(super) profile: Option<Profile>,
    pub(super) errors: Vec<(Finding, Option<Range<usize>>)>,
    pub(super) repaired: Vec<FieldPath>,
    /// Whether a placeholder stands in for a missing value: checks of the whole profile would
    /// then judge redkube's placeholder (a storage kind, a memory limit), so they are skipped.
    pub(super) filled: bool,
}

pub(super) fn deserialize(text: &str) -> Deserialized {
    let mut out = Deserialized {
        profile: None,
        errors: Vec::new(),
        repaired: Vec::new(),
        filled: false,
    };
    let mut current = text.to_string();
    for round in 0..MAX_REPAIRS {
        let err = match toml::from_str::<Profile>(&current) {
            Ok(profile) => {
                out.profile = Some(profile);
                return out;
            }
            Err(e) => e,
        };
        let Ok(doc) = toml_edit::Document::parse(current.clone()) else {
            return out;
        };
        let (finding, missing) = describe(&err, &doc);
        let path = finding.path.clone();
        // A required value removed for its type now shows as missing: already reported.
        let removed_before = missing && out.repaired.contains(&path);
        if !removed_before {
            // Only the first error's span is in the original text; later ones go by path.
            let span = (round == 0).then(|| err.span()).flatten();
            out.errors.push((finding, span));
        }
        let Ok(mut editable) = current.parse::<DocumentMut>() else {
            return out;
        };
        let repaired = if missing {
            out.filled = true;
            insert_placeholder(&mut editable, &path)
        } else {
            remove(&mut editable, &path)
        };
        match repaired {
            Some(p) if removed_before => debug_assert_eq!(p, path),
            Some(p) if !out.repaired.contains(&p) => out.repaired.push(p),
            // Nothing to repair, or the same path again: stop rather than loop.
            _ => return more_may_follow(out),
        }
        current = editable.to_string();
    }
    more_may_follow(out)
}

/// The list stopped before the file was read to its end: say so.
fn more_may_follow(mut out: Deserialized) -> Deserialized {
    let finding = Finding::error(
        FieldPath::default(),
        "more problems may follow the ones listed: redkube stopped reading the file here",
    )
    .help("fix the errors above and run again");
    out.errors.push((finding, None));
    out
}

/// The finding for one serde error, and whether it is a missing key.
fn describe(err: &toml::de::Error, doc: &toml_edit::Document<String>) -> (Finding, bool) {
    let message = err.message().trim().to_string();
    let missing = message.starts_with("missing field");
    // A key missing at the top level comes with an empty span at 0; anything else with the
    // span of the table that lacks it.
    let mut field = match err.span() {
        Some(span) if !(missing && span.is_empty()) => path_at(doc, span.start),
        _ => FieldPath::default(),
    };
    // serde names the offending key for unknown and missing fields; the span alone points at
    // the enclosing table (or, at the top level, at whatever key comes first).
    if missing || message.starts_with("unknown field") {
        if missing {
            while !field.0.is_empty() && !is_table(doc, &field) {
                field.0.pop();
            }
        }
        if let Some(name) = backticked(&message).next() {
            if !field.0.last().is_some_and(|s| *s == Seg::Key(name.into())) {
                field = field.key(name);
            }
        }
    }
    let help = top_level_hint(&field)
        .or_else(|| suggestion(&message))
        .or_else(|| type_hint(&message));
    let mut finding = Finding::error(field, message);
    finding.help = help;
    (finding, missing)
}

fn item_at<'a>(doc: &'a toml_edit::Document<String>, path: &FieldPath) -> Option<&'a Item> {
    let mut item = doc.as_item();
    for seg in &path.0 {
        item = match seg {
            Seg::Key(k) => item.get(k.as_str())?,
            Seg::Index(i) => item.get(*i)?,
        };
    }
    Some(item)
}

fn is_table(doc: &toml_edit::Document<String>, path: &FieldPath) -> bool {
    item_at(doc, path).is_some_and(|i| i.is_table_like())
}

/// `port = 6380` written under `[annotations]` lands in that table: say where it belongs.
fn top_level_hint(path: &FieldPath) -> Option<String> {
    match path.0.as_slice() {
        [Seg::Key(table), Seg::Key(key)] if TOP_LEVEL_SCALARS.contains(&key.as_str()) => Some(
            format!("`{key}` is a top-level setting: move it above the first `[table]` header (here it belongs to `[{table}]`)"),
        ),
        _ => None,
    }
}

/// A hint for serde's type errors, which say what they got but not how to write it.
fn type_hint(message: &str) -> Option<String> {
    if message.contains("expected u16") || message.contains("expected u32") {
        Some("write a whole, non-negative number without quotes".into())
    } else if message.contains("expected a string") || message.contains("expected string") {
        Some("put the value in double quotes".into())
    } else if message.contains("expected a boolean") {
        Some("write `true` or `false` without quotes".into())
    } else if message.starts_with("missing field") {
        Some("add the field; `redkube init` prints a complete starter profile".into())
    } else {
        None
    }
}

/// The table-like item at `path` in an editable document.
fn table_at<'a>(
    doc: &'a mut DocumentMut,
    path: &[Seg],
) -> Option<&'a mut dyn toml_edit::TableLike> {
    let mut item = doc.as_item_mut();
    for seg in path {
        item = match seg {
            Seg::Key(k) => item.get_mut(k.as_str())?,
            Seg::Index(i) => item.get_mut(*i)?,
        };
    }
    item.as_table_like_mut()
}

/// Remove the value at `path` (an array element: the whole array, so no index shifts). Returns
/// the path removed.
fn remove(doc: &mut DocumentMut, path: &FieldPath) -> Option<FieldPath> {
    let mut segs = path.0.clone();
    while matches!(segs.last(), Some(Seg::Index(_))) {
        segs.pop();
    }
    let Some(Seg::Key(key)) = segs.pop() else {
        return None;
    };
    table_at(doc, &segs)?.remove(&key)?;
    segs.push(Seg::Key(key));
    Some(FieldPath(segs))
}

/// Give a missing required key a placeholder that passes every check, so the rest of the file
/// can be deserialized. Returns the path filled.
fn insert_placeholder(doc: &mut DocumentMut, path: &FieldPath) -> Option<FieldPath> {
    let (Seg::Key(key), parent) = path.0.split_last()? else {
        return None;
    };
    let placeholder = match key.as_str() {
        "mode" if doc.get("sentinel").is_some() => "\"sentinel\"",
        "mode" => "\"cluster\"",
        "name" => "\"placeholder\"",
        "auth" => "{ existing-secret = { name = \"placeholder\" } }",
        "storage" => "{ kind = \"ephemeral\" }",
        "kind" => "\"ephemeral\"",
        "masters" => "3",
        "server" => "\"placeholder\"",
        "path" => "\"/placeholder/{ordinal}\"",
        "cpu" => "\"1\"",
        "memory" => "\"1Gi\"",
        "cidr" => "\"10.0.0.0/8\"",
        _ => return None,
    };
    let value: toml_edit::Value = placeholder.parse().ok()?;
    table_at(doc, parent)?.insert(key, Item::Value(value));
    Some(path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<String> {
        deserialize(text)
            .errors
            .iter()
            .map(|(f, _)| format!("{} {}", f.path, f.message))
            .collect()
    }

    #[test]
    fn every_missing_table_in_one_run_at_the_top_level() {
        let got = fields("name = \"x\"\nmode = \"cluster\"\n[cluster]\nmasters = 3\n");
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("auth missing field"), "{got:?}");
        assert!(got[1].starts_with("storage missing field"), "{got:?}");
    }

    #[test]
    fn a_type_error_does_not_hide_the_next() {
        let got = fields(
            "mode = \"cluster\"\nname = \"x\"\n[cluster]\nmasters = \"three\"\n[auth]\nexisting-secret = { name = \"s\" }\n[storage]\nkind = \"claim\"\nsize = 10\n",
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("cluster.masters"), "{got:?}");
        assert!(got[1].starts_with("storage.size"), "{got:?}");
    }

    #[test]
    fn a_file_that_starts_with_a_table_still_misses_its_top_level_keys_at_the_top() {
        let got = fields("[image]\nreference = \"redis:7.2.7\"\n");
        assert!(got.iter().all(|g| !g.starts_with("image.")), "{got:?}");
        for key in ["mode", "name", "auth", "storage"] {
            assert!(
                got.iter().any(|g| g.starts_with(&format!("{key} missing"))),
                "{key}: {got:?}"
            );
        }
    }

    #[test]
    fn a_required_value_without_placeholder_says_more_may_follow() {
        let d = deserialize(
            "mode = \"cluster\"\n[network-policy]\nclients = [{ ip-block = { except = [] } }]\n",
        );
        assert!(d
            .errors
            .iter()
            .any(|(f, _)| f.path.to_string() == "network-policy.clients[0].ip-block.cidr"));
        assert!(d.filled);
    }

    #[test]
    fn a_scalar_after_a_table_header_is_pointed_back_up() {
        let d = deserialize("mode = \"cluster\"\n[annotations]\nport = 6380\n");
        let (f, _) = &d.errors[0];
        assert_eq!(f.path.to_string(), "annotations.port");
        assert!(f.help.as_deref().unwrap().contains("top-level setting"));
    }
}
