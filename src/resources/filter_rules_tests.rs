use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::resources::{Resource, decode_resource};

fn filter(import_v4: Value) -> BgpFilter {
    let value = json!({"apiVersion": "projectcalico.org/v3", "kind": "BGPFilter",
        "metadata": {"name": "f"}, "spec": {"importV4": import_v4}});
    match decode_resource(&value).unwrap() {
        Resource::BgpFilter(f) => f,
        other => panic!("{other:?}"),
    }
}

fn rule(v: Value) -> BgpFilterRule {
    serde_json::from_value(v).unwrap()
}

/// One invalid rule → (the rule perch uses in its place, what the note must say).
fn cases() -> Vec<(Value, Value, &'static [&'static str])> {
    vec![
        (
            json!({"action": "Accept", "cidr": "10.0.0.0/16", "matchOperator": "In", "prefixLength": {"max": 8}}),
            json!({"action": "Reject", "cidr": "10.0.0.0/16", "matchOperator": "In"}),
            &[
                "spec.importV4[0].prefixLength.max 8 is shorter than the cidr's prefix length 16",
                "this rule rejects routes in 10.0.0.0/16 (any prefix length) instead of accepting",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "10.0.0.0/16", "matchOperator": "In", "prefixLength": {"min": 28, "max": 24}}),
            json!({"action": "Reject", "cidr": "10.0.0.0/16", "matchOperator": "In"}),
            &["spec.importV4[0].prefixLength: min 28 is greater than max 24"],
        ),
        // Without its lengths, NotIn would select less: the whole prefix match goes.
        (
            json!({"action": "Reject", "cidr": "10.0.0.0/16", "matchOperator": "NotIn", "prefixLength": {"max": 40}, "source": "RemotePeers"}),
            json!({"action": "Reject", "source": "RemotePeers"}),
            &[
                "spec.importV4[0].prefixLength.max 40 must be 0..32",
                "this rule rejects routes learned from BGP peers",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "fd00::/8", "matchOperator": "Equal", "peerType": "eBGP"}),
            json!({"action": "Reject", "peerType": "eBGP"}),
            &[
                "spec.importV4[0].cidr \"fd00::/8\" is not an IPv4 CIDR",
                "this rule rejects every route on eBGP sessions (the later rules of spec.importV4 never apply there)",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "10.0.0.0/33", "matchOperator": "In"}),
            json!({"action": "Reject"}),
            &[
                "spec.importV4[0].cidr \"10.0.0.0/33\" is not a CIDR",
                "rejects every route",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "10.0.0.0/8"}),
            json!({"action": "Reject"}),
            &["spec.importV4[0]: matchOperator is required with cidr"],
        ),
        (
            json!({"action": "Accept", "matchOperator": "In", "interface": "eth*"}),
            json!({"action": "Reject", "interface": "eth*"}),
            &[
                "spec.importV4[0]: cidr is required with matchOperator",
                "routes on interface \"eth*\"",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "10.0.0.0/8", "matchOperator": "Within"}),
            json!({"action": "Reject"}),
            &["spec.importV4[0].matchOperator \"Within\" must be Equal, NotEqual, In or NotIn"],
        ),
        (
            json!({"action": "Accept", "prefixLength": {"min": 24}, "priority": 100}),
            json!({"action": "Reject", "priority": 100}),
            &[
                "spec.importV4[0]: prefixLength requires cidr",
                "routes with priority 100",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "10.0.0.0/8", "matchOperator": "In", "source": "Kernel"}),
            json!({"action": "Reject", "cidr": "10.0.0.0/8", "matchOperator": "In"}),
            &["spec.importV4[0].source \"Kernel\" must be RemotePeers"],
        ),
        (
            json!({"action": "Accept", "interface": "a\"b", "communities": {"values": ["65000:1"]}}),
            json!({"action": "Reject", "communities": {"values": ["65000:1"]}}),
            &[
                "spec.importV4[0].interface \"a\\\"b\" must be 1-15 of [a-zA-Z0-9_.*-]",
                "routes with community 65000:1",
            ],
        ),
        (
            json!({"action": "Accept", "peerType": "confed", "asPathPrefix": [65000]}),
            json!({"action": "Reject", "asPathPrefix": [65000]}),
            &[
                "spec.importV4[0].peerType \"confed\" must be eBGP or iBGP",
                "routes whose AS path starts 65000",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "10.1.0.0/16", "matchOperator": "In", "communities": {"values": ["65000:1", "65000:2"]}}),
            json!({"action": "Reject", "cidr": "10.1.0.0/16", "matchOperator": "In"}),
            &["spec.importV4[0].communities.values must hold exactly one community (it has 2)"],
        ),
        (
            json!({"action": "Accept", "communities": {"values": ["65536:1"]}}),
            json!({"action": "Reject"}),
            &["spec.importV4[0].communities.values: \"65536:1\" must be aa:nn"],
        ),
        (
            json!({"action": "Accept", "cidr": "10.1.0.0/16", "matchOperator": "Equal", "priority": 0}),
            json!({"action": "Reject", "cidr": "10.1.0.0/16", "matchOperator": "Equal"}),
            &[
                "spec.importV4[0].priority 0 must be 1..2147483646",
                "routes equal to 10.1.0.0/16",
            ],
        ),
        (
            json!({"action": "Accept", "cidr": "10.1.0.0/16", "matchOperator": "In",
                "operations": (0..11).map(|_| json!({"prependASPath": {"prefix": [1]}})).collect::<Vec<_>>()}),
            json!({"action": "Reject", "cidr": "10.1.0.0/16", "matchOperator": "In"}),
            &[
                "spec.importV4[0].operations has 11 entries; at most 10 are allowed",
                "instead of accepting, without its operations",
            ],
        ),
        (
            json!({"action": "Reject", "cidr": "10.1.0.0/16", "matchOperator": "In",
                "operations": [{"addCommunity": {"value": "1:2"}}]}),
            json!({"action": "Reject", "cidr": "10.1.0.0/16", "matchOperator": "In"}),
            &["spec.importV4[0].operations may only be used with action Accept"],
        ),
        (
            json!({"action": "Accept", "operations": [{"addCommunity": {"value": "x"}},
                {"setPriority": {"value": 0}}, {"prependASPath": {"prefix": []}}]}),
            json!({"action": "Reject"}),
            &[
                "spec.importV4[0].operations[0].addCommunity.value \"x\"",
                "spec.importV4[0].operations[1].setPriority.value 0 must be",
                "spec.importV4[0].operations[2].prependASPath.prefix must hold 1 to 10",
            ],
        ),
        (
            json!({"action": "Allow", "cidr": "10.1.0.0/16", "matchOperator": "NotIn"}),
            json!({"action": "Reject", "cidr": "10.1.0.0/16", "matchOperator": "NotIn"}),
            &[
                "spec.importV4[0].action \"Allow\" must be Accept or Reject",
                "this rule rejects routes not in 10.1.0.0/16",
            ],
        ),
    ]
}

#[test]
fn each_invalid_rule_becomes_a_reject_of_its_valid_matches() {
    for (bad, want, says) in cases() {
        let mut f = filter(json!([bad]));
        let mut errs = Vec::new();
        bgp_filter(&f, &mut errs);
        assert!(!errs.is_empty(), "{bad} must be invalid");
        let notes = salvage_filter(&mut f);
        assert_eq!(f.spec.import_v4, [rule(want.clone())], "{bad}");
        assert_eq!(notes.len(), 1, "{notes:?}");
        for s in says {
            assert!(notes[0].contains(s), "{bad}: {:?} lacks {s:?}", notes[0]);
        }
        let mut errs = Vec::new();
        bgp_filter(&f, &mut errs);
        assert!(errs.is_empty(), "{bad} salvaged is still invalid: {errs:?}");
    }
}

#[test]
fn valid_rules_around_an_invalid_one_are_kept_in_place() {
    let rules = json!([
        {"action": "Accept", "cidr": "192.168.1.0/26", "matchOperator": "Equal",
            "operations": [{"addCommunity": {"value": "65000:1"}}]},
        {"action": "Accept", "cidr": "10.0.0.0/16", "matchOperator": "In", "prefixLength": {"max": 8}},
        {"action": "Accept"},
    ]);
    let mut f = filter(rules.clone());
    let notes = salvage_filter(&mut f);
    let mut want = filter(rules);
    want.spec.import_v4[1] =
        rule(json!({"action": "Reject", "cidr": "10.0.0.0/16", "matchOperator": "In"}));
    assert_eq!(f, want);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].starts_with("spec.importV4[1].prefixLength.max 8"));
}

fn any_rule() -> impl Strategy<Value = BgpFilterRule> {
    let pick = |xs: &'static [&'static str]| {
        proptest::sample::select(xs).prop_map(|s| (!s.is_empty()).then(|| s.to_owned()))
    };
    (
        pick(&["", "Accept", "Reject", "Allow"]),
        pick(&[
            "",
            "10.0.0.0/16",
            "0.0.0.0/0",
            "fd00::/8",
            "10.0.0.0/40",
            "x",
        ]),
        pick(&["", "In", "NotIn", "Equal", "NotEqual", "Within"]),
        proptest::option::of((
            proptest::option::of(-1i64..40),
            proptest::option::of(-1i64..40),
        )),
        pick(&["", "RemotePeers", "Kernel"]),
        pick(&["", "eth0", "bad\"if"]),
        pick(&["", "eBGP", "iBGP", "confed"]),
        proptest::option::of(proptest::collection::vec(
            proptest::sample::select(&["65000:1", "70000:1", "1:2:3"][..]),
            0..3,
        )),
        proptest::option::of(-1i64..3),
        (0usize..12, any::<bool>()),
    )
        .prop_map(
            |(action, cidr, op, pl, source, interface, peer_type, communities, priority, ops)| {
                let mut v = json!({"action": action.unwrap_or_default()});
                let o = v.as_object_mut().unwrap();
                let mut set = |k: &str, x: Option<Value>| {
                    if let Some(x) = x {
                        o.insert(k.into(), x);
                    }
                };
                set("cidr", cidr.map(Value::from));
                set("matchOperator", op.map(Value::from));
                set(
                    "prefixLength",
                    pl.map(|(min, max)| json!({"min": min, "max": max})),
                );
                set("source", source.map(Value::from));
                set("interface", interface.map(Value::from));
                set("peerType", peer_type.map(Value::from));
                set("communities", communities.map(|c| json!({"values": c})));
                set("priority", priority.map(Value::from));
                let (n, good) = ops;
                let op = if good {
                    json!({"prependASPath": {"prefix": [65000]}})
                } else {
                    json!({"setPriority": {"value": 0}})
                };
                set("operations", (n > 0).then(|| json!(vec![op; n])));
                let mut r: BgpFilterRule = serde_json::from_value(v).unwrap();
                // `null` bounds decode as absent.
                if let Some(pl) = &mut r.prefix_length {
                    pl.min = pl.min.filter(|&m| m >= 0);
                    pl.max = pl.max.filter(|&m| m >= 0);
                }
                r
            },
        )
}

proptest! {
    /// Salvage never widens what a rule accepts: an invalid rule ends up a valid Reject
    /// without operations whose every match is one the rule had (prefix lengths dropped
    /// only from an `In` match, which widens it); a valid rule is left alone.
    #[test]
    fn salvage_only_rejects_with_a_subset_of_the_matches(r in any_rule()) {
        let mut f = filter(json!([r]));
        let valid = {
            let mut errs = Vec::new();
            bgp_filter(&f, &mut errs);
            errs.is_empty()
        };
        let notes = salvage_filter(&mut f);
        let s = &f.spec.import_v4[0];
        let mut errs = Vec::new();
        bgp_filter(&f, &mut errs);
        prop_assert!(errs.is_empty(), "{errs:?}");
        if valid {
            prop_assert!(notes.is_empty());
            prop_assert_eq!(s, &r);
            return Ok(());
        }
        prop_assert_eq!(notes.len(), 1);
        prop_assert_eq!(s.action.as_str(), "Reject");
        prop_assert!(s.operations.is_empty());
        let kept = |x: &Option<String>, y: &Option<String>| x.is_none() || x == y;
        prop_assert!(kept(&s.cidr, &r.cidr) && kept(&s.match_operator, &r.match_operator));
        prop_assert!(s.prefix_length.is_none() || s.prefix_length == r.prefix_length);
        if s.cidr.is_some() && s.prefix_length.is_none() && r.prefix_length.is_some() {
            prop_assert_eq!(s.match_operator.as_deref(), Some("In"));
        }
        prop_assert!(kept(&s.source, &r.source) && kept(&s.interface, &r.interface));
        prop_assert!(kept(&s.peer_type, &r.peer_type));
        prop_assert!(s.communities.is_none() || s.communities == r.communities);
        prop_assert!(s.priority.is_none() || s.priority == r.priority);
        prop_assert_eq!(&s.as_path_prefix, &r.as_path_prefix);
    }
}

#[test]
fn an_unknown_spec_field_is_named_and_changes_no_rule() {
    let mut f: BgpFilter = serde_json::from_value(json!({
        "metadata": {"name": "f"},
        "spec": {"importV4": [{"action": "Accept"}], "importVRF": [{"action": "Reject"}]},
    }))
    .unwrap();
    let before = f.spec.import_v4.clone();
    let notes = salvage_filter(&mut f);
    assert_eq!(f.spec.import_v4, before);
    assert_eq!(
        notes,
        ["spec.importVRF is a field perch does not know; ignored (the rules apply as written)"]
    );
}
