//! The properties the fuzz targets (`fuzz/fuzz_targets/*`) check, in one place so that the
//! stable regression test (`tests/fuzz_regressions.rs`) replays the found corpus through the
//! very same code without nightly or cargo-fuzz.
//!
//! Each `check_*` function takes the fuzzer's raw bytes and panics when a property fails:
//! - [`check_selector`]: parsing never panics; printing a parsed selector and parsing it
//!   again gives an equal selector that prints the same and matches the same labels.
//! - [`check_documents`]: YAML/JSON decoding never panics; every decoded resource survives
//!   `to_json` → decode unchanged, and every valid one survives the etcd write path.
//! - [`check_etcd_value`]: any bytes under any key become an event, never a panic; a valid
//!   resource read from etcd, prepared and encoded the way perch writes it, reads back equal.
//! - [`check_bird_reply`]: framing and every reply parser never panic; a framed reply
//!   re-encoded the way BIRD writes it frames back equal, line by line or all at once.
//! - [`check_render`]: arbitrary strings in every field that reaches BIRD config are either
//!   refused (by validation or planning) or rendered into a config whose BIRD tokens are
//!   sound (terminated strings without control characters or `\\`, no stray characters, no injected statements) and that holds
//!   the value intact.
//!
//! Pure: no I/O, no clock. Not part of perch's interface.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::bird::parse::{
    parse_bird_time, parse_configure, parse_protocol_row, parse_show_protocols,
    parse_show_protocols_all, parse_show_route, parse_show_status,
};
use crate::bird::reply::{Assembler, Reply, parse_greeting};
use crate::datastore::etcd::value::{encode, prepare, put_event};
use crate::plan::{PlanOptions, plan};
use crate::render::{Templates, build_view};
use crate::resources::decode::{Decoded, decode_documents, decode_resource};
use crate::resources::keys::resource_key;
use crate::resources::validate;
use crate::resources::{Kind, Resource, Secret, Secrets};
use crate::selector::Selector;
use crate::snapshot::{Event, Snapshot};

// ---------------------------------------------------------------- selector

/// Selector parse → print → parse.
pub fn check_selector(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let selector = match Selector::parse(text) {
        Ok(s) => s,
        Err(e) => {
            assert!(
                e.position <= text.chars().count(),
                "error position {} past the end of {text:?}",
                e.position
            );
            return;
        }
    };
    let printed = selector.to_string();
    let again = Selector::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, selector, "{text:?} printed as {printed:?}");
    assert_eq!(again.to_string(), printed, "printing is not stable");
    // The same decisions for labels made of the selector's own words.
    for labels in label_sets(text) {
        assert_eq!(selector.matches(&labels), again.matches(&labels));
        assert!(
            !selector.explain(&labels).is_empty(),
            "explain lists no term"
        );
    }
}

/// A few label sets built from the words of `text`, so that terms can match.
fn label_sets(text: &str) -> Vec<BTreeMap<String, String>> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c)))
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    let mut sets = vec![BTreeMap::new()];
    let mut all = BTreeMap::new();
    for pair in words.windows(2) {
        all.insert(pair[0].to_owned(), pair[1].to_owned());
    }
    for w in &words {
        all.entry((*w).to_owned()).or_insert_with(String::new);
    }
    sets.push(all);
    sets
}

// ---------------------------------------------------------------- resource decoding

/// YAML/JSON text → resources, and each resource's way back.
pub fn check_documents(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(decoded) = decode_documents(text, "fuzz") else {
        return;
    };
    for item in decoded {
        let Decoded::Resource(resource) = item else {
            continue;
        };
        let json = resource.to_json();
        let back = decode_resource(&json)
            .unwrap_or_else(|e| panic!("{json} (from {resource:?}) does not decode: {e}"));
        assert_eq!(back, resource, "to_json → decode changed the resource");
        if validate::check(&resource).is_ok() && resource.kind() != Kind::BlockAffinity {
            etcd_round_trip(&resource);
        }
    }
}

/// Writes a valid resource the way `perch apply` stores it in etcd and reads it back.
fn etcd_round_trip(resource: &Resource) {
    let (prepared, stored) = prepare(&resource.to_json())
        .unwrap_or_else(|e| panic!("valid {resource:?} is refused by prepare: {e}"));
    let bytes = encode(&stored);
    let key = resource_key(prepared.kind(), prepared.name());
    match put_event(&key, bytes.as_bytes(), 7, "node") {
        Some(Event::Upsert(read)) => {
            let mut expected = prepared.to_json();
            let mut got = read.to_json();
            for v in [&mut expected, &mut got] {
                if let Some(Value::Object(meta)) = v.get_mut("metadata") {
                    meta.remove("resourceVersion");
                }
            }
            assert_eq!(got, expected, "etcd write → read changed {key}");
        }
        other => panic!("{key} = {bytes} reads back as {other:?}"),
    }
}

// ---------------------------------------------------------------- etcd values

/// `data[0]` picks the key, the rest is the stored value.
pub fn check_etcd_value(data: &[u8]) {
    let Some((&selector, value)) = data.split_first() else {
        return;
    };
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| *k != Kind::BlockAffinity)
        .collect();
    let index = usize::from(selector) % (kinds.len() + 1);
    let key = match kinds.get(index) {
        Some(kind) => resource_key(*kind, "fuzz-name"),
        None => "/calico/ipam/v2/host/node/ipv4/block/10.0.0.0-26".to_owned(),
    };
    let event = put_event(&key, value, 5, "node")
        .unwrap_or_else(|| panic!("{key} is a key perch reads, yet gave no event"));
    match event {
        Event::Upsert(resource) => {
            if validate::check(&resource).is_ok() && resource.kind() != Kind::BlockAffinity {
                etcd_round_trip(&resource);
            }
        }
        Event::Undecodable { key: k, .. } => assert_eq!(k, key),
        other => panic!("a put gave {other:?}"),
    }
}

// ---------------------------------------------------------------- BIRD replies

/// Bytes from BIRD's control socket → framing → every parser.
pub fn check_bird_reply(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(first) = text.lines().next()
        && let Ok(version) = parse_greeting(first)
    {
        let line = format!("0001 BIRD {version} ready.");
        assert_eq!(parse_greeting(&line).as_deref(), Ok(version.as_str()));
    }
    // Line by line, as the client reads the socket.
    let mut assembler = Assembler::new();
    let mut streamed = Vec::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        match assembler.push_line(&String::from_utf8_lossy(line)) {
            Ok(Some(reply)) => streamed.push(reply),
            Ok(None) => {}
            Err(_) => assembler.discard_partial(),
        }
    }
    let _ = assembler.take_async_lines();
    for reply in &streamed {
        run_parsers(reply);
        let wire = to_wire(reply);
        let again = Reply::from_bytes(&wire).unwrap_or_else(|e| {
            panic!(
                "{reply:?} encoded as {:?} does not frame: {e}",
                String::from_utf8_lossy(&wire)
            )
        });
        assert_eq!(&again, reply, "BIRD's encoding does not frame back equal");
    }
    // All at once, as the tests and `Reply::from_bytes` callers do.
    if let Ok(reply) = Reply::from_bytes(data) {
        run_parsers(&reply);
        assert!(!reply.lines.is_empty(), "an empty reply");
    }
}

/// Every reply parser, and the line-level ones on every line; properties where there are any.
fn run_parsers(reply: &Reply) {
    if let Ok(rows) = parse_show_protocols(reply) {
        for row in rows {
            assert!(!row.name.is_empty(), "a protocol row without a name");
            assert!(!row.name.contains(char::is_whitespace));
        }
    }
    let _ = parse_show_protocols_all(reply);
    let _ = parse_show_status(reply);
    let _ = parse_show_route(reply);
    let _ = parse_configure(reply);
    for line in &reply.lines {
        let _ = parse_protocol_row(&line.text);
        if let Some(time) = parse_bird_time(&line.text) {
            for offset in [0, 3600, -19_800, 86_399, i32::MIN, i32::MAX] {
                let _ = time.to_rfc3339(offset);
            }
        }
    }
}

/// A reply as BIRD writes it: `DDDD-` on a code change, a space when the code repeats,
/// `DDDD ` on the final line.
pub(crate) fn to_wire(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    let mut previous = None;
    for (index, line) in reply.lines.iter().enumerate() {
        if index + 1 == reply.lines.len() {
            out.extend(format!("{:04} {}\n", line.code, line.text).bytes());
        } else if previous == Some(line.code) {
            out.extend(format!(" {}\n", line.text).bytes());
        } else {
            out.extend(format!("{:04}-{}\n", line.code, line.text).bytes());
        }
        previous = Some(line.code);
    }
    out
}

// ---------------------------------------------------------------- render

/// The fields of [`check_render`]'s cluster, in input order (NUL-separated), with the value
/// used when the input has fewer fields.
pub const RENDER_FIELDS: &[(&str, &str)] = &[
    ("node name", "node-a"),
    ("node ipv4Address", "10.0.0.1/24"),
    ("node asNumber", "64512"),
    ("peer peerIP", "10.0.0.9"),
    ("peer asNumber", "64513"),
    ("password", "s3cret-pw"),
    ("ignoredInterfaces item", "eth9"),
    ("filter rule interface", "eth*"),
    ("community value", "65000:100"),
    ("prefixAdvertisement community", "c1"),
    ("prefixAdvertisement cidr", "10.0.0.0/24"),
    ("routeReflectorClusterID", ""),
    ("logSeverityScreen", "Info"),
    ("BGPFilter name", "f1"),
    ("filter rule cidr", "44.0.0.0/16"),
    ("BGPPeer name", "peer-1"),
    ("BGPPeer nodeSelector", "all()"),
    ("IPPool cidr", "192.168.0.0/16"),
    ("keepaliveTime", "30s"),
    ("bindMode", "None"),
    ("listenPort", "179"),
    ("block affinity cidr", "192.168.3.0/26"),
    ("serviceClusterIPs cidr", "10.96.0.0/12"),
    ("node ipv6Address", "fd00::1/64"),
    ("BGPPeer sourceAddress", "UseNodeIP"),
    ("BGPPeer maxRestartTime", "120s"),
    ("BGPPeer ttlSecurity", "0"),
    ("filter rule matchOperator", "In"),
    ("node label value", "r1"),
    ("second node ipv4Address", "10.0.0.2/24"),
    ("filter rule prefixLength min", "20"),
    ("filter rule prefixLength max", "24"),
    ("BGPPeer numAllowedLocalASNumbers", "1"),
];

/// What [`check_render`] rendered, for the regression test to hand to `bird -p`.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The BIRD config text.
    pub config: String,
    /// Passwords and interface names that reached the config and must read back intact.
    pub strings: Vec<String>,
}

/// Arbitrary strings in every rendered field: refused, or a sound config that holds them.
/// Returns the config when one was rendered.
pub fn check_render(data: &[u8]) -> Option<Rendered> {
    let given: Vec<String> = data
        .split(|&b| b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let field = |i: usize| -> String {
        given
            .get(i)
            .cloned()
            .unwrap_or_else(|| RENDER_FIELDS[i].1.to_owned())
    };
    // Numbers where the text is one (as YAML would give), strings otherwise.
    let scalar = |i: usize| -> Value {
        let f = field(i);
        match f.parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => json!(f),
        }
    };
    let node = field(0);
    let values = [
        json!({"kind": "Node", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": node, "labels": {"rack": field(28)}},
            "spec": {"bgp": {"ipv4Address": field(1), "ipv6Address": field(23),
                "asNumber": scalar(2), "routeReflectorClusterID": field(11)}}}),
        json!({"kind": "Node", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "node-b"},
            "spec": {"bgp": {"ipv4Address": field(29)}}}),
        json!({"kind": "BGPConfiguration", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "default"},
            "spec": {"nodeToNodeMeshEnabled": true, "asNumber": 64512,
                "logSeverityScreen": field(12), "bindMode": field(19),
                "listenPort": scalar(20),
                "ignoredInterfaces": [field(6)],
                "serviceClusterIPs": [{"cidr": field(22)}],
                "nodeMeshPassword": {"secretKeyRef": {"name": "bgp", "key": "pw"}},
                "communities": [{"name": field(9), "value": field(8)}],
                "prefixAdvertisements": [{"cidr": field(10),
                    "communities": [field(9), field(8)]}]}}),
        json!({"kind": "BGPPeer", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": field(15)},
            "spec": {"nodeSelector": field(16), "peerIP": field(3), "asNumber": scalar(4),
                "keepaliveTime": field(18), "maxRestartTime": field(25),
                "sourceAddress": field(24), "ttlSecurity": scalar(26),
                "numAllowedLocalASNumbers": scalar(32),
                "password": {"secretKeyRef": {"name": "bgp", "key": "pw"}},
                "filters": [field(13)]}}),
        json!({"kind": "BGPFilter", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": field(13)},
            "spec": {
                "exportV4": [{"action": "Accept", "interface": field(7)},
                    {"action": "Reject", "cidr": field(14), "matchOperator": field(27),
                        "prefixLength": {"min": scalar(30), "max": scalar(31)}}],
                "importV4": [{"action": "Reject", "interface": field(7), "cidr": field(14),
                    "matchOperator": field(27)}],
                "importV6": [{"action": "Accept", "interface": field(7)}]}}),
        json!({"kind": "IPPool", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "pool"},
            "spec": {"cidr": field(17), "ipipMode": "CrossSubnet"}}),
        json!({"kind": "BlockAffinity", "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "block"},
            "spec": {"node": node, "cidr": field(21), "state": "confirmed"}}),
    ];
    let mut snapshot = Snapshot::new();
    for value in &values {
        // Refused by decoding or validation: the resource is skipped, as perch does.
        if let Ok(resource) = decode_resource(value) {
            snapshot.apply(Event::Upsert(resource));
        }
    }
    let mut secrets = Secrets::new();
    secrets.insert("bgp", "pw", Secret::new(field(5)));
    snapshot.apply(Event::Secrets(secrets));

    let plan = plan(&snapshot, &node, &PlanOptions::default());
    let view = build_view(&plan, &snapshot);
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    let config = TEMPLATES
        .get_or_init(Templates::builtin)
        .render(&view)
        .unwrap_or_else(|e| panic!("the built-in templates failed: {e}"));
    let tokens = lex_bird(&config).unwrap_or_else(|e| panic!("{e}\n{config}"));

    // No statement was injected: the keywords occur as often as the view has items
    // (`protocol` also in `timeformat protocol`).
    let count = |word: &str| tokens.iter().filter(|t| **t == Token::Word(word)).count();
    assert_eq!(
        count("protocol"),
        7 + view.peers.len(),
        "protocols injected\n{config}"
    );
    assert_eq!(
        count("function"),
        10 + view.filter_functions.len(),
        "functions injected\n{config}"
    );
    let passwords: Vec<&String> = view
        .peers
        .iter()
        .filter_map(|p| p.password.as_ref())
        .collect();
    assert_eq!(
        count("password"),
        passwords.len(),
        "passwords injected\n{config}"
    );
    assert_eq!(count("router"), usize::from(view.router_id.is_some()));

    // Every password reads back intact right after its keyword; interfaces are strings.
    let mut strings = Vec::new();
    let after_password: Vec<&str> = tokens
        .windows(2)
        .filter(|w| w[0] == Token::Word("password"))
        .map(|w| match w[1] {
            Token::Str(s) => s,
            other => panic!("password followed by {other:?}\n{config}"),
        })
        .collect();
    for p in &passwords {
        assert!(
            after_password.contains(&p.as_str()),
            "password {p:?} not intact\n{config}"
        );
        strings.push((*p).clone());
    }
    let texts: Vec<&str> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Str(s) => Some(*s),
            _ => None,
        })
        .collect();
    let interface = field(7);
    let filter_uses_interface = view
        .filter_functions
        .iter()
        .any(|f| f.rules.iter().any(|r| r.contains("ifname ~")));
    for i in view
        .ignored_interfaces
        .iter()
        .chain(filter_uses_interface.then_some(&interface))
    {
        assert!(
            texts.contains(&i.as_str()),
            "interface {i:?} not intact\n{config}"
        );
        strings.push(i.clone());
    }
    Some(Rendered { config, strings })
}

/// A token of BIRD's config language, as far as the invariants need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A keyword or unquoted symbol.
    Word(&'a str),
    /// The contents of a `"…"` string.
    Str(&'a str),
    /// The contents of a `'…'` symbol.
    Symbol(&'a str),
    /// Numbers, addresses, prefixes (digits, hex, `.`, `:`, `/`).
    Literal(&'a str),
    /// One punctuation character.
    Punct(char),
}

/// Splits config text the way BIRD 2's lexer does (`cf-lex.l`): `#` comments to the end of
/// the line, `"…"` strings with no escapes and no newline, `'…'` symbols of letters, digits,
/// `_`, `.` and `-`. Anything BIRD's lexer would refuse is an error here.
pub fn lex_bird(text: &str) -> Result<Vec<Token<'_>>, String> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let rest = &text[i..];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'#' => i += rest.find('\n').unwrap_or(rest.len()),
            b'/' if rest.starts_with("/*") => {
                return Err(format!("a block comment at byte {i}"));
            }
            b'"' => {
                let end = rest[1..]
                    .find(['"', '\n'])
                    .filter(|&e| rest.as_bytes()[1 + e] == b'"')
                    .ok_or_else(|| format!("an unterminated string at byte {i}"))?;
                let s = &rest[1..1 + end];
                // BIRD keeps the bytes as they are (UTF-8 included); `\\` starts an escape
                // in newer BIRDs, so it never reaches a string.
                if s.chars().any(|c| c.is_control() || c == '\\') {
                    return Err(format!("a string with a control character or '\\': {s:?}"));
                }
                tokens.push(Token::Str(s));
                i += end + 2;
            }
            b'\'' => {
                let end = rest[1..]
                    .find('\'')
                    .ok_or_else(|| format!("an unterminated symbol at byte {i}"))?;
                let s = &rest[1..1 + end];
                if s.is_empty()
                    || !s
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
                {
                    return Err(format!("a quoted symbol BIRD cannot read: {s:?}"));
                }
                tokens.push(Token::Symbol(s));
                i += end + 2;
            }
            b'0'..=b'9' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_hexdigit() || ".:/x".contains(c)))
                    .unwrap_or(rest.len());
                tokens.push(Token::Literal(&rest[..len]));
                i += len;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let word = &rest[..len];
                // IPv6 addresses that start with a letter (`fd00::1`).
                if rest[len..].starts_with(':') && word.bytes().all(|c| c.is_ascii_hexdigit()) {
                    let len = rest
                        .find(|c: char| !(c.is_ascii_hexdigit() || ".:/".contains(c)))
                        .unwrap_or(rest.len());
                    tokens.push(Token::Literal(&rest[..len]));
                    i += len;
                } else {
                    tokens.push(Token::Word(word));
                    i += len;
                }
            }
            b'{' | b'}' | b'(' | b')' | b'[' | b']' | b';' | b',' | b'=' | b'!' | b'~' | b'<'
            | b'>' | b'&' | b'|' | b'-' | b'+' | b'*' | b'.' | b':' | b'/' => {
                tokens.push(Token::Punct(char::from(b)));
                i += 1;
            }
            _ => {
                let c = rest.chars().next().unwrap_or('?');
                return Err(format!("a character BIRD cannot read: {c:?} at byte {i}"));
            }
        }
    }
    Ok(tokens)
}
