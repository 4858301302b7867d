//! Kubernetes objects read back from YAML: an earlier render (a folder or a stream) and the new
//! one, parsed the same way so that they compare field by field.
//!
//! Objects are generic JSON values, not typed structs: an earlier render may come from another
//! redkube version (or by hand) and hold fields today's types would drop or refuse.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::output::{known_files, HEADER, KUSTOMIZATION};
use crate::render::Rendered;

/// How `kubectl apply` tells objects apart: kind, namespace (none for cluster-wide objects such
/// as PersistentVolumes) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) kind: String,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One object: its key and its whole document.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub(crate) key: Key,
    pub(crate) value: Value,
}

impl Object {
    /// The value at a path of keys (`["spec", "replicas"]`), if every step is there.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.value, |v, k| v.get(k))
    }
}

/// The objects of one render, in document order, each key once (a later document with the
/// same key replaces the earlier one, as a second apply would).
#[derive(Debug, Default)]
pub(crate) struct Objects {
    objects: Vec<Object>,
    index: BTreeMap<Key, usize>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name}: document {document} is not YAML redkube can read: {message}")]
    Yaml {
        source_name: String,
        document: usize,
        message: String,
    },
}

impl Objects {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Object> {
        self.objects.iter()
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&Object> {
        self.index.get(key).map(|&i| &self.objects[i])
    }

    pub(crate) fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> {
        self.objects.iter().filter(move |o| o.key.kind == kind)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    fn push(&mut self, object: Object) {
        match self.index.get(&object.key) {
            Some(&i) => self.objects[i] = object,
            None => {
                self.index.insert(object.key.clone(), self.objects.len());
                self.objects.push(object);
            }
        }
    }

    /// Add every object of a multi-document YAML stream. Documents that are not Kubernetes
    /// objects (no kind or no `metadata.name`: a Kustomization, comments only) are skipped.
    pub(crate) fn add_stream(&mut self, source_name: &str, stream: &str) -> Result<(), ReadError> {
        let mut n = 0;
        for doc in split_documents(stream) {
            if !doc
                .lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            {
                continue;
            }
            n += 1;
            let value: Value = serde_saphyr::from_str(doc).map_err(|e| ReadError::Yaml {
                source_name: source_name.to_string(),
                document: n,
                message: e.to_string(),
            })?;
            if let Some(key) = key_of(&value) {
                self.push(Object { key, value });
            }
        }
        Ok(())
    }

    /// The new render's objects, parsed from its YAML exactly as an earlier render is.
    pub(crate) fn from_rendered(documents: &[Rendered]) -> Result<Self, ReadError> {
        let mut objects = Self::default();
        for d in documents {
            objects.add_stream(d.concern.file_name(), &d.yaml)?;
        }
        Ok(objects)
    }

    /// The earlier render that `render -o DIR` is about to replace: the files redkube wrote
    /// there (its file names, starting with its header), in apply order. Other files are not
    /// redkube's render; the folder write refuses to replace them without `--force`.
    pub(crate) fn earlier_render_in(dir: &Path) -> Result<Self, ReadError> {
        let mut objects = Self::default();
        for name in known_files().filter(|n| *n != KUSTOMIZATION) {
            let path = dir.join(name);
            // A link is refused by the folder write; reading through it would compare
            // against a file somewhere else.
            if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                continue;
            }
            let text = read(&path)?;
            if let Some(body) = text.strip_prefix(HEADER) {
                objects.add_stream(&path.display().to_string(), body)?;
            }
        }
        Ok(objects)
    }

    /// Any earlier render for `redkube diff`: a folder (every `*.yaml`/`*.yml` file in it, by
    /// name) or one file holding a stream (`redkube render p.toml > old.yaml`).
    pub(crate) fn read(path: &Path) -> Result<Self, ReadError> {
        let mut objects = Self::default();
        let meta = std::fs::metadata(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            objects.add_stream(&path.display().to_string(), &read(path)?)?;
            return Ok(objects);
        }
        let entries = std::fs::read_dir(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && std::fs::metadata(p).is_ok_and(|m| m.is_file())
            })
            .collect();
        files.sort();
        for file in files {
            objects.add_stream(&file.display().to_string(), &read(&file)?)?;
        }
        Ok(objects)
    }
}

fn read(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn key_of(value: &Value) -> Option<Key> {
    let kind = value.get("kind")?.as_str()?;
    let metadata = value.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    Some(Key {
        kind: kind.to_string(),
        namespace: metadata
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_string),
        name: name.to_string(),
    })
}

/// Split a stream at lines that are exactly `---` (a `---` inside a block scalar is indented,
/// so it never matches). Splitting here, rather than asking the YAML parser for every document
/// at once, keeps each parse small: a static-NFS render has one PV document per pod.
fn split_documents(stream: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in stream.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == "---" {
            docs.push(&stream[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    docs.push(&stream[start..]);
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_keyed_and_non_objects_skipped() {
        let mut objects = Objects::default();
        objects
            .add_stream(
                "s",
                "# header\n---\nkind: Service\nmetadata:\n  name: a\n  namespace: ns\n---\n\
                 kind: Kustomization\nresources: [x]\n---\nkind: PersistentVolume\n\
                 metadata:\n  name: pv\n---\nkind: ConfigMap\nmetadata:\n  name: c\n\
                 data:\n  s: |\n    ---\n    x\n",
            )
            .unwrap();
        let keys: Vec<String> = objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(keys, ["Service ns/a", "PersistentVolume pv", "ConfigMap c"]);
        let c = objects.iter().last().unwrap();
        assert_eq!(c.at(&["data", "s"]).unwrap(), "---\nx\n");
    }

    #[test]
    fn a_broken_document_is_named() {
        let err = Objects::default()
            .add_stream("old.yaml", "---\nkind: [\n")
            .unwrap_err();
        assert!(err.to_string().starts_with("old.yaml: document 1"), "{err}");
    }
}
