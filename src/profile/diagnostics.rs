//! Diagnostics that point into the profile: file, line, column, field, and a hint.
//!
//! Validation works on typed structs and reports a field *path* (`cluster.masters`); this module
//! turns a path into a source span by walking a span-preserving parse of the same text
//! (`toml_edit`), so the typed structs need no span wrappers.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode};
use toml_edit::Item;

/// One step of a field path: a key, or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A dotted field path such as `scheduling.tolerations[1].operator`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(pub(crate) Vec<Seg>);

impl FieldPath {
    /// `a.b[2].c` -> keys and indices. An index is written `[n]` right after its key.
    pub(crate) fn parse(dotted: &str) -> Self {
        let mut segs = Vec::new();
        for part in dotted.split('.').filter(|s| !s.is_empty()) {
            let mut rest = part;
            let key_end = rest.find('[').unwrap_or(rest.len());
            if key_end > 0 {
                segs.push(Seg::Key(rest[..key_end].to_string()));
            }
            rest = &rest[key_end..];
            while let Some(inner) = rest.strip_prefix('[') {
                let Some((n, after)) = inner.split_once(']') else {
                    break;
                };
                match n.parse() {
                    Ok(i) => segs.push(Seg::Index(i)),
                    Err(_) => segs.push(Seg::Key(n.to_string())),
                }
                rest = after;
            }
        }
        FieldPath(segs)
    }

    pub(crate) fn key(mut self, key: &str) -> Self {
        self.0.push(Seg::Key(key.to_string()));
        self
    }

    /// Whether `prefix` is this path or one of its ancestors.
    pub(crate) fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    pub(crate) fn index(mut self, index: usize) -> Self {
        self.0.push(Seg::Index(index));
        self
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(profile)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A problem found in a profile, before it is placed in the source.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) path: FieldPath,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

impl Finding {
    pub(crate) fn error(path: FieldPath, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            path,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn warning(path: FieldPath, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(path, message)
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A finding placed in its file: what the user sees.
#[derive(Debug, Clone)]
pub struct ProfileDiagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
    pub help: Option<String>,
    span: Range<usize>,
    source: Arc<NamedSource<String>>,
}

impl ProfileDiagnostic {
    pub(crate) fn new(
        source: &Arc<NamedSource<String>>,
        span: Range<usize>,
        finding: Finding,
    ) -> Self {
        let text = source.inner();
        let span = clamp_span(text, span);
        let (line, column) = line_column(text, span.start);
        ProfileDiagnostic {
            severity: finding.severity,
            file: source.name().to_string(),
            line,
            column,
            field: finding.path.to_string(),
            message: finding.message,
            help: finding.help,
            span,
            source: Arc::clone(source),
        }
    }
}

impl fmt::Display for ProfileDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: field `{}`: {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

impl std::error::Error for ProfileDiagnostic {}

impl Diagnostic for ProfileDiagnostic {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source.as_ref())
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_with_span(Some(self.field.clone()), self.span.clone());
        Some(Box::new(std::iter::once(label)))
    }
}

/// Every error found in one profile (warnings travel separately, see `load`).
#[derive(Debug)]
pub struct ProfileErrors {
    pub file: String,
    pub errors: Vec<ProfileDiagnostic>,
}

impl fmt::Display for ProfileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{}: invalid profile ({n} error{})",
            self.file,
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ProfileErrors {}

impl Diagnostic for ProfileErrors {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}

fn clamp_span(text: &str, span: Range<usize>) -> Range<usize> {
    let start = char_boundary(text, span.start);
    let end = char_boundary(text, span.end.max(start));
    start..end
}

/// The nearest char boundary at or before `offset`, within `text`: spans come from parsers
/// that may point into a malformed multi-byte sequence, and slicing there would panic.
pub(crate) fn char_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The source span of the value at `path`, or of its nearest ancestor that exists in the file
/// (a missing key is reported at the table that should hold it).
pub(crate) fn locate(doc: &toml_edit::Document<String>, path: &FieldPath) -> Range<usize> {
    let mut item = doc.as_item();
    let mut best: Option<Range<usize>> = None;
    for seg in &path.0 {
        let next: Option<(Option<&toml_edit::Key>, &Item)> = match seg {
            Seg::Key(k) => item
                .as_table_like()
                .and_then(|t| t.get_key_value(k))
                .map(|(key, it)| (Some(key), it)),
            // Array elements have no key of their own.
            Seg::Index(i) => item.get(*i).map(|it| (None, it)),
        };
        match next {
            Some((key, next_item)) => {
                if let Some(span) = item_span(next_item).or_else(|| key.and_then(|k| k.span())) {
                    best = Some(span);
                }
                item = next_item;
            }
            None => break,
        }
    }
    best.unwrap_or(0..0)
}

fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Table(t) => t.span(),
        other => other.span(),
    }
}

/// The field path whose key or value contains `offset` (deepest match), for errors that come
/// from deserialization and carry only a span.
pub(crate) fn path_at(doc: &toml_edit::Document<String>, offset: usize) -> FieldPath {
    let mut path = FieldPath::default();
    descend(doc.as_item(), offset, &mut path);
    path
}

fn descend(item: &Item, offset: usize, path: &mut FieldPath) {
    if let Some(table) = item.as_table_like() {
        for (key, child) in table.iter() {
            let key_span = table.key(key).and_then(|k| k.span());
            let inside = |s: &Option<Range<usize>>| s.as_ref().is_some_and(|s| s.contains(&offset));
            if inside(&key_span) || inside(&item_span(child)) || child_contains(child, offset) {
                path.0.push(Seg::Key(key.to_string()));
                descend(child, offset, path);
                return;
            }
        }
    } else if let Some(array) = item.as_array() {
        for (i, value) in array.iter().enumerate() {
            if value.span().is_some_and(|s| s.contains(&offset)) {
                path.0.push(Seg::Index(i));
                if let Some(inline) = value.as_inline_table() {
                    descend_inline(inline, offset, path);
                }
                return;
            }
        }
    } else if let Some(tables) = item.as_array_of_tables() {
        for (i, table) in tables.iter().enumerate() {
            let wrapped = Item::Table(table.clone());
            if child_contains(&wrapped, offset) {
                path.0.push(Seg::Index(i));
                descend(&wrapped, offset, path);
                return;
            }
        }
    }
}

fn descend_inline(table: &toml_edit::InlineTable, offset: usize, path: &mut FieldPath) {
    let item = Item::Value(toml_edit::Value::InlineTable(table.clone()));
    descend(&item, offset, path);
}

/// Whether any key or value below `item` contains `offset` (a `[table]` header's span covers
/// only the header, not its body).
fn child_contains(item: &Item, offset: usize) -> bool {
    if item_span(item).is_some_and(|s| s.contains(&offset)) {
        return true;
    }
    match item {
        Item::Table(t) => t.iter().any(|(k, child)| {
            t.key(k)
                .and_then(|k| k.span())
                .is_some_and(|s| s.contains(&offset))
                || child_contains(child, offset)
        }),
        Item::ArrayOfTables(a) => a
            .iter()
            .any(|t| child_contains(&Item::Table(t.clone()), offset)),
        _ => false,
    }
}

/// "did you mean" for serde's `unknown field`/`unknown variant` messages, which list the
/// accepted names as `` expected one of `a`, `b` ``.
pub(crate) fn suggestion(message: &str) -> Option<String> {
    let got = backticked(message).next()?;
    let expected_part = message.split("expected").nth(1)?;
    let candidates: Vec<&str> = backticked(expected_part).collect();
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(got, c), *c))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, name)) => Some(format!("did you mean `{name}`?")),
        None if !candidates.is_empty() => Some(format!(
            "expected one of: {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => None,
    }
}

/// The texts between backticks, in order.
pub(crate) fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_field() {
        let msg = "unknown field `mastres`, expected one of `masters`, `replicas-per-master`";
        assert_eq!(suggestion(msg).as_deref(), Some("did you mean `masters`?"));
    }

    #[test]
    fn lists_choices_when_nothing_is_close() {
        let msg = "unknown variant `zzz`, expected one of `aof`, `rdb`";
        assert_eq!(
            suggestion(msg).as_deref(),
            Some("expected one of: `aof`, `rdb`")
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("a\nbcd\n", 4), (2, 3));
        assert_eq!(line_column("héllo", 3), (1, 3));
    }

    #[test]
    fn paths_are_located_and_found_back() {
        let text = "name = \"x\"\n[cluster]\nmasters = 2\n[[t]]\na = 1\n".to_string();
        let doc = toml_edit::Document::parse(text.clone()).unwrap();
        let span = locate(&doc, &FieldPath::parse("cluster.masters"));
        assert_eq!(&text[span.clone()], "2");
        assert_eq!(path_at(&doc, span.start).to_string(), "cluster.masters");
        let missing = locate(&doc, &FieldPath::parse("cluster.nothere"));
        assert!(text[missing].contains("cluster"));
    }

    #[test]
    fn indices_in_a_dotted_path_are_split() {
        let p = FieldPath::parse("network-policy.clients[1].pod-labels");
        assert_eq!(
            p.0,
            [
                Seg::Key("network-policy".into()),
                Seg::Key("clients".into()),
                Seg::Index(1),
                Seg::Key("pod-labels".into()),
            ]
        );
        assert_eq!(p.to_string(), "network-policy.clients[1].pod-labels");
    }
}
