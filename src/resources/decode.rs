//! Text → resources: YAML or JSON, one or many documents, `kind: List` and `<Kind>List`.
//!
//! Two kinds of failure, handled differently by callers:
//! - [`DecodeError`]: the text is not YAML/JSON at all (a file that cannot be read as a whole);
//! - a [`Warning`]: one document or list item is not a resource perch can use; it is skipped
//!   and named (`BGPPeer "x": spec.asNumber: …`) while the others are kept.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::resource::{Kind, Resource, ResourceId, Warning};

/// The text could not be parsed as YAML or JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {document}: {message}")]
pub struct DecodeError {
    /// 1-based document number within the text.
    pub document: usize,
    /// The parser's message.
    pub message: String,
}

/// One YAML/JSON document as a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 1-based position in the text.
    pub index: usize,
    /// The document's content.
    pub value: Value,
}

/// Parses every document of `text` into JSON values. Empty documents are dropped.
/// Plain YAML scalars `yes`/`no`/`on`/`off`/`y`/`n` become booleans, as calicoctl's
/// YAML 1.1 reader makes them; quoted ones stay strings.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, DecodeError> {
    check_depth(text, MAX_DEPTH)?;
    if let Some(docs) = json_documents(text) {
        return Ok(docs);
    }
    let mut out = Vec::new();
    for (i, doc) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let seed = YamlValue { source: text };
        let value = seed.deserialize(doc).map_err(|e| DecodeError {
            document: i + 1,
            message: e.to_string(),
        })?;
        if !value.is_null() {
            out.push(Document {
                index: i + 1,
                value,
            });
        }
    }
    Ok(out)
}

/// Text that is JSON (one or more values), read by a JSON parser: YAML's reader refuses
/// JSON's surrogate-pair escapes (`"\ud83e\udd80"`), which are valid JSON. None when the
/// text is not JSON; it is then read as YAML.
fn json_documents(text: &str) -> Option<Vec<Document>> {
    let start = text.trim_start();
    if !(start.starts_with('{') || start.starts_with('[')) {
        return None;
    }
    let values: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect();
    let docs = values
        .ok()?
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document {
            index: i + 1,
            value,
        })
        .collect();
    Some(docs)
}

/// The deepest `[`/`{` nesting accepted. Calico resources nest less than 10 deep; the YAML
/// parser's time grows with the square of the depth, so deeper text is refused by a linear
/// pre-scan before it is parsed.
pub const MAX_DEPTH: usize = 100;

/// Refuses text whose flow collections (`[`, `{`) nest deeper than `max`, in one pass.
/// Brackets inside quoted strings and comments do not count; block (indented) nesting is
/// bounded by the text's size and left to the parser.
pub fn check_depth(text: &str, max: usize) -> Result<(), DecodeError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut document = 1;
    let mut at_line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start && bytes[i..].starts_with(b"---") {
            document += 1;
            depth = 0;
        }
        at_line_start = false;
        match b {
            b'\n' => at_line_start = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(DecodeError {
                        document,
                        message: format!(
                            "nested deeper than {max} levels of [ and {{; refused before parsing"
                        ),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' => {
                // Skip to the closing quote; a backslash escapes the next byte.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'\'' if i == 0 || !bytes[i - 1].is_ascii_alphanumeric() => {
                // YAML single quotes: '' is an escaped quote inside.
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// What one item of a document became.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A resource perch understands, decoded.
    Resource(Resource),
    /// An item perch skipped (unknown kind, invalid), and why.
    Skipped(Warning),
}

/// Parses `text` and decodes every resource in it. `origin` names the text in warnings
/// (a file path); syntax errors are returned as a whole.
pub fn decode_documents(text: &str, origin: &str) -> Result<Vec<Decoded>, DecodeError> {
    Ok(decode_documents_at(text, origin)?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}

/// Like [`decode_documents`], each item with its place (`<origin> document N [item M]`),
/// for warnings about duplicates.
pub fn decode_documents_at(
    text: &str,
    origin: &str,
) -> Result<Vec<(String, Decoded)>, DecodeError> {
    let mut out = Vec::new();
    for doc in parse_documents(text)? {
        for (pos, item) in expand_lists(doc.value).into_iter().enumerate() {
            let place = if pos == 0 {
                format!("{origin} document {}", doc.index)
            } else {
                format!("{origin} document {} item {pos}", doc.index)
            };
            let decoded = match decode_resource(&item) {
                Ok(r) => Decoded::Resource(r),
                Err(w) => Decoded::Skipped(w.located(&place)),
            };
            out.push((place, decoded));
        }
    }
    Ok(out)
}

/// Flattens `kind: List` / `kind: BGPPeerList` documents into their items.
pub fn expand_lists(value: Value) -> Vec<Value> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"));
    match value {
        Value::Object(mut m) if is_list => {
            let list_kind = m
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let item_kind = list_kind.strip_suffix("List").unwrap_or("").to_owned();
            match m.remove("items") {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .map(|mut item| {
                        // `BGPPeerList` items may omit their kind.
                        if let Value::Object(o) = &mut item
                            && !o.contains_key("kind")
                            && !item_kind.is_empty()
                        {
                            o.insert("kind".into(), Value::String(item_kind.clone()));
                        }
                        item
                    })
                    .collect(),
                _ => Vec::new(),
            }
        }
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// Why one item could not be decoded, before it is located in a file or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// The resource, when its kind and name could be read.
    pub id: Option<ResourceId>,
    /// What is wrong, in words.
    pub message: String,
}

impl ItemError {
    /// A warning naming the resource if known, else `place`.
    pub fn located(self, place: &str) -> Warning {
        match self.id {
            Some(id) => Warning::new(id, self.message),
            None => Warning::new(place, self.message),
        }
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}", Warning::new(id, self.message.clone())),
            None => f.write_str(&self.message),
        }
    }
}

/// Decodes one JSON value (with `kind`) into a typed resource.
pub fn decode_resource(value: &Value) -> Result<Resource, ItemError> {
    let kind_text = value.get("kind").and_then(Value::as_str);
    let name = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(kind_text) = kind_text else {
        return Err(ItemError {
            id: None,
            message: "has no kind".into(),
        });
    };
    let Some(kind) = Kind::from_kind_field(kind_text) else {
        let shown = name.as_deref().unwrap_or("(no name)");
        return Err(ItemError {
            id: None,
            message: format!(
                "{kind_text}/{shown}: kind {kind_text:?} is not a Calico BGP resource perch reads; skipped"
            ),
        });
    };
    if let Some(not_text) = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .filter(|n| n.is_boolean() || n.is_number())
    {
        return Err(ItemError {
            id: None,
            message: format!(
                "{kind_text} metadata.name: YAML read it as the {} {not_text}, not as text; {QUOTE_HINT}",
                if not_text.is_boolean() {
                    "boolean"
                } else {
                    "number"
                }
            ),
        });
    }
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(ItemError {
            id: None,
            message: format!("{kind_text} has no metadata.name"),
        });
    };
    let id = Some(ResourceId::new(kind, name));
    if let Some(api) = value.get("apiVersion").and_then(Value::as_str)
        && !(api.starts_with("projectcalico.org/") || api.starts_with("crd.projectcalico.org/"))
    {
        return Err(ItemError {
            id,
            message: format!("apiVersion {api:?} is not projectcalico.org/v3"),
        });
    }
    fn typed<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, String> {
        serde_path_to_error::deserialize(v).map_err(|e| {
            let path = e.path().to_string();
            let mut message = e.inner().to_string();
            // A YAML 1.1 boolean (`y`, `no`, `on`) or a number (`0123`) where text belongs.
            let scalar = [
                "invalid type: boolean",
                "invalid type: integer",
                "invalid type: floating point",
            ]
            .iter()
            .any(|t| message.contains(t));
            if scalar && message.contains("expected a string") {
                message.push_str("; ");
                message.push_str(QUOTE_HINT);
            }
            if path == "." {
                message
            } else {
                format!("{path}: {message}")
            }
        })
    }
    // Go reads `null` as the zero value: `spec:` with nothing under it is an empty spec.
    let value = &without_nulls(value.clone());
    let decoded = match kind {
        Kind::Node => typed(value).map(Resource::Node),
        Kind::BgpConfiguration => typed(value).map(Resource::BgpConfiguration),
        Kind::BgpPeer => typed(value).map(Resource::BgpPeer),
        Kind::IpPool => typed(value).map(Resource::IpPool),
        Kind::BgpFilter => typed(value).map(Resource::BgpFilter),
        Kind::CalicoNodeStatus => typed(value).map(Resource::CalicoNodeStatus),
        Kind::BlockAffinity => typed(value).map(Resource::BlockAffinity),
    };
    decoded.map_err(|message| ItemError {
        id,
        message: without_passwords(value, message),
    })
}

/// Whether a field holds a password (`password`, `nodeMeshPassword`, …).
fn is_password_field(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// `message` with every value found under a password field replaced by `<redacted>`, in the
/// forms serde quotes values in (`string "…"`, `integer 5`, …). A password of the wrong type
/// (`password: "s3cret"` where a `secretKeyRef` is expected) must not be echoed into
/// warnings, `/plan` or CLI errors.
fn without_passwords(value: &Value, mut message: String) -> String {
    let mut secrets = Vec::new();
    collect_password_values(value, false, &mut secrets);
    for s in secrets {
        let forms = match &s {
            Value::String(t) if !t.is_empty() => vec![format!("{t:?}"), t.clone()],
            Value::Number(n) => vec![
                format!("integer {n}"),
                format!("integer `{n}`"),
                format!("floating point {n}"),
                format!("floating point `{n}`"),
            ],
            Value::Bool(b) => vec![format!("boolean {b}"), format!("boolean `{b}`")],
            _ => vec![],
        };
        for form in forms {
            let shown = if form.starts_with('"') {
                "\"<redacted>\"".to_owned()
            } else if let Some((kind, _)) = form.rsplit_once(' ') {
                format!("{kind} <redacted>")
            } else {
                "<redacted>".to_owned()
            };
            // A bare string value is replaced only when it is long enough not to be an
            // ordinary word of the message.
            if !form.starts_with('"') && matches!(&s, Value::String(_)) && form.len() < 4 {
                continue;
            }
            message = message.replace(&form, &shown);
        }
    }
    message
}

/// The scalar values at or under password fields.
fn collect_password_values(value: &Value, under: bool, out: &mut Vec<Value>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                collect_password_values(v, under || is_password_field(k), out);
            }
        }
        Value::Array(a) => {
            for v in a {
                collect_password_values(v, under, out);
            }
        }
        scalar if under => out.push(scalar.clone()),
        _ => {}
    }
}

/// What to do about a YAML boolean or number where text is expected.
const QUOTE_HINT: &str = "quote it (YAML reads unquoted y, n, yes, no, on, off, true and false as \
                          booleans, and unquoted digits such as 0123 as numbers): name: \"0123\"";

/// Drops `null` members of objects, recursively.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Deserializes any YAML document into a JSON value, resolving YAML 1.1 booleans.
struct YamlValue<'s> {
    source: &'s str,
}

impl YamlValue<'_> {
    /// Whether `s` borrows from the source text and is not quoted there.
    fn is_plain(&self, s: &str) -> bool {
        let start = self.source.as_ptr() as usize;
        let at = s.as_ptr() as usize;
        if at <= start || at + s.len() > start + self.source.len() {
            return false;
        }
        let before = self.source.as_bytes()[at - start - 1];
        before != b'\'' && before != b'"'
    }
}

fn yaml11_bool(word: &str) -> Option<bool> {
    match word {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// A plain `0123` is the octal number 83 in YAML 1.1 (calicoctl's reader), a string in
/// YAML 1.2: read it as calicoctl does, so a name written that way is refused with a hint
/// to quote it, as Calico refuses it.
fn yaml11_octal(word: &str) -> Option<i64> {
    let (negative, digits) = match word.as_bytes().first()? {
        b'-' => (true, &word[1..]),
        b'+' => (false, &word[1..]),
        _ => (false, word),
    };
    let rest = digits.strip_prefix('0')?;
    if rest.is_empty() || !rest.bytes().all(|b| matches!(b, b'0'..=b'7' | b'_')) {
        return None;
    }
    let n = i64::from_str_radix(&rest.replace('_', ""), 8).ok()?;
    Some(if negative { -n } else { n })
}

impl<'de> DeserializeSeed<'de> for YamlValue<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for YamlValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value, E> {
        if !self.is_plain(v) {
            return Ok(Value::String(v.to_owned()));
        }
        if let Some(b) = yaml11_bool(v) {
            return Ok(Value::Bool(b));
        }
        if let Some(n) = yaml11_octal(v) {
            return Ok(Value::Number(n.into()));
        }
        Ok(Value::String(v.to_owned()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(YamlValue {
            source: self.source,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key_seed(YamlValue {
            source: self.source,
        })? {
            let key = match k {
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let v = map.next_value_seed(YamlValue {
                source: self.source,
            })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(text: &str) -> Vec<Decoded> {
        decode_documents(text, "t.yaml").unwrap()
    }

    #[test]
    fn multi_document_yaml_and_yaml11_labels() {
        let text = "kind: Node\napiVersion: projectcalico.org/v3\nmetadata:\n  name: a\n  labels:\n    rr: yes\n    q: 'yes'\n    t: true\n---\n---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: '1.10'}\n";
        let got = resources(text);
        assert_eq!(got.len(), 2);
        let Decoded::Resource(Resource::Node(n)) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(n.metadata.labels["rr"], "true");
        assert_eq!(n.metadata.labels["q"], "yes");
        assert_eq!(n.metadata.labels["t"], "true");
        let Decoded::Resource(Resource::BgpPeer(p)) = &got[1] else {
            panic!()
        };
        assert_eq!(p.spec.as_number.unwrap().get(), 65546);
    }

    #[test]
    fn lists_and_json() {
        let text = r#"{"kind":"BGPPeerList","apiVersion":"projectcalico.org/v3","items":[{"metadata":{"name":"a"},"spec":{"peerIP":"10.0.0.1","asNumber":65001}},{"kind":"IPPool","metadata":{"name":"b"},"spec":{"cidr":"10.1.0.0/16"}}]}"#;
        let got = resources(text);
        let ids: Vec<_> = got
            .iter()
            .map(|d| match d {
                Decoded::Resource(r) => r.id().to_string(),
                Decoded::Skipped(w) => w.to_string(),
            })
            .collect();
        assert_eq!(ids, ["BGPPeer/a", "IPPool/b"]);
        let list = "kind: List\napiVersion: v1\nitems:\n- kind: Node\n  apiVersion: projectcalico.org/v3\n  metadata: {name: n1}\n";
        assert!(matches!(
            &resources(list)[0],
            Decoded::Resource(Resource::Node(_))
        ));
    }

    #[test]
    fn bad_items_are_named_warnings() {
        let text = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: rack1-tor}\nspec: {asNumber: 4294967296}\n---\nkind: Deployment\nmetadata: {name: x}\n---\nkind: Node\n";
        let got = resources(text);
        let msgs: Vec<String> = got
            .iter()
            .map(|d| match d {
                Decoded::Skipped(w) => w.to_string(),
                Decoded::Resource(r) => format!("ok {}", r.id()),
            })
            .collect();
        assert!(
            msgs[0].starts_with("BGPPeer \"rack1-tor\": spec.asNumber: AS number 4294967296"),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[1].contains("t.yaml document 2") && msgs[1].contains("Deployment"),
            "{}",
            msgs[1]
        );
        assert!(
            msgs[2].contains("t.yaml document 3") && msgs[2].contains("no metadata.name"),
            "{}",
            msgs[2]
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = "[".repeat(1_000_000);
        let err = parse_documents(&format!("kind: Node\n---\na: {deep}")).unwrap_err();
        assert_eq!(err.document, 2, "{err}");
        assert!(err.message.contains("nested deeper than 100"), "{err}");
        let json = format!("{{\"a\": {}", "{\"b\": ".repeat(200));
        assert!(parse_documents(&json).is_err());
        // At the limit, and brackets in strings and comments, are fine.
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_documents(&ok).is_ok());
        let quoted = format!(
            "a: \"{}\"\nb: '{}'\n# {}\nc: it's [x]\n",
            "[".repeat(500),
            "{".repeat(500),
            "[".repeat(500)
        );
        assert!(
            parse_documents(&quoted).is_ok(),
            "{:?}",
            parse_documents(&quoted)
        );
    }

    #[test]
    fn a_password_of_the_wrong_type_is_never_quoted() {
        for (spec, secret) in [
            ("password: PWD-plain-1", "PWD-plain-1"),
            ("password: 'PWD-quoted-2'", "PWD-quoted-2"),
            ("password: 98765431", "98765431"),
            ("password: [PWD-in-a-list]", "PWD-in-a-list"),
            ("password: {secretKeyRef: PWD-ref-3}", "PWD-ref-3"),
            (
                "password: {secretKeyRef: {name: [PWD-name-4]}}",
                "PWD-name-4",
            ),
        ] {
            let text = format!(
                "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: p}}\n\
                 spec: {{peerIP: 10.0.0.1, asNumber: 65001, {spec}}}\n"
            );
            let got = resources(&text);
            let Decoded::Skipped(w) = &got[0] else {
                panic!("{spec}: decoded {got:?}")
            };
            let shown = w.to_string();
            assert!(!shown.contains(secret), "{spec}: {shown}");
            assert!(
                shown.contains("password"),
                "{spec}: names the field: {shown}"
            );
        }
        let text = "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\n\
                    metadata: {name: default}\nspec: {nodeMeshPassword: PWD-mesh-5}\n";
        let got = resources(text);
        let Decoded::Skipped(w) = &got[0] else {
            panic!("{got:?}")
        };
        assert!(!w.to_string().contains("PWD-mesh-5"), "{w}");
        // The same value through etcd's JSON.
        let json: Value = serde_json::from_str(
            r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"p"},
                "spec":{"peerIP":"10.0.0.1","asNumber":65001,"password":"PWD-json-6"}}"#,
        )
        .unwrap();
        let err = decode_resource(&json).unwrap_err();
        assert!(!err.to_string().contains("PWD-json-6"), "{err}");
    }

    #[test]
    fn json_surrogate_pairs_are_read() {
        let text = r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"n1","labels":{"crab":"\ud83e\udd80"}}}"#;
        let got = resources(text);
        let Decoded::Resource(Resource::Node(n)) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(n.metadata.labels["crab"], "🦀");
    }

    #[test]
    fn yaml_booleans_and_numbers_where_text_belongs_say_to_quote_them() {
        for value in ["y", "no", "On", "0123", "12"] {
            let text = format!(
                "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: {value}}}\nspec: {{}}\n"
            );
            let got = resources(&text);
            let Decoded::Skipped(w) = &got[0] else {
                panic!("{value}: {got:?}")
            };
            let shown = w.to_string();
            assert!(
                shown.contains("quote it") && shown.contains("metadata.name"),
                "{value}: {shown}"
            );
        }
        let text = "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\n\
                    spec: {peerIP: 10.0.0.1, asNumber: 65001, peerSelector: yes}\n";
        let got = resources(text);
        let Decoded::Skipped(w) = &got[0] else {
            panic!("{got:?}")
        };
        assert!(w.to_string().contains("quote it"), "{w}");
    }

    #[test]
    fn an_unknown_kind_is_named_with_its_name() {
        let got = resources("kind: Deployment\nmetadata: {name: web}\n");
        let Decoded::Skipped(w) = &got[0] else {
            panic!("{got:?}")
        };
        assert!(w.to_string().contains("Deployment/web"), "{w}");
    }

    #[test]
    fn syntax_errors_name_the_document() {
        let err = decode_documents("kind: Node\n---\nmetadata: [\n", "f").unwrap_err();
        assert_eq!(err.document, 2, "{err}");
    }
}
