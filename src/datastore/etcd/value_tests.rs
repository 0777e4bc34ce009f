//! Tests of the pure key/value conversions.

use serde_json::json;

use super::value::*;
use crate::resources::{Kind, Resource, ResourceId};
use crate::snapshot::Event;

const PEER_KEY: &str = "/calico/resources/v3/projectcalico.org/bgppeers/rack1-tor";

#[test]
fn a_stored_peer_becomes_an_upsert_with_its_mod_revision() {
    let value = br#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"rack1-tor","uid":"u"},"spec":{"peerIP":"10.0.0.1","asNumber":65001}}"#;
    let Some(Event::Upsert(Resource::BgpPeer(p))) = put_event(PEER_KEY, value, 42, "node-a") else {
        panic!("expected an upsert")
    };
    assert_eq!(p.metadata.name, "rack1-tor");
    assert_eq!(p.metadata.resource_version.as_deref(), Some("42"));
    assert_eq!(p.spec.as_number.map(|a| a.get()), Some(65001));
}

#[test]
fn undecodable_values_name_the_key() {
    for (value, why) in [
        (&b"{not json"[..], "value is not JSON"),
        (
            br#"{"kind":"Node","metadata":{"name":"rack1-tor"}}"#,
            "holds kind \"Node\"",
        ),
        (
            br#"{"kind":"BGPPeer","metadata":{"name":"other"}}"#,
            "does not match the key",
        ),
        (
            br#"{"kind":"BGPPeer","metadata":{"name":"rack1-tor"},"spec":{"asNumber":"x"}}"#,
            "spec.asNumber",
        ),
    ] {
        let Some(Event::Undecodable { key, id, message }) = put_event(PEER_KEY, value, 7, "n")
        else {
            panic!("expected undecodable for {value:?}")
        };
        assert_eq!(key, PEER_KEY);
        assert_eq!(id, Some(ResourceId::new(Kind::BgpPeer, "rack1-tor")));
        assert!(
            message.contains(PEER_KEY) && message.contains(why),
            "{message}"
        );
    }
}

#[test]
fn only_this_nodes_affinities_and_known_kinds_are_read() {
    let mine = "/calico/ipam/v2/host/node-a/ipv4/block/10.65.0.0-26";
    let Some(Event::Upsert(Resource::BlockAffinity(a))) = put_event(
        mine,
        br#"{"state":"confirmed","deleted":false}"#,
        3,
        "node-a",
    ) else {
        panic!("expected an affinity")
    };
    assert_eq!(
        (a.spec.cidr.as_str(), a.spec.state.as_str()),
        ("10.65.0.0/26", "confirmed")
    );
    let other = "/calico/ipam/v2/host/node-b/ipv4/block/10.65.0.64-26";
    assert!(put_event(other, b"{}", 3, "node-a").is_none());
    let felix = "/calico/resources/v3/projectcalico.org/felixconfigurations/default";
    assert!(put_event(felix, b"{}", 3, "node-a").is_none());
    assert!(matches!(
        delete_event(mine, "node-a"),
        Some(Event::Delete(id)) if id.kind == Kind::BlockAffinity
    ));
    assert!(delete_event(other, "node-a").is_none());
    assert_eq!(list_prefixes("node-a").len(), 7);
}

#[test]
fn prepare_stores_what_calico_stores() {
    let given = json!({
        "apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
        "metadata": {"name": "p", "resourceVersion": "12", "labels": {"a": "b"}},
        "spec": {"peerIP": "10.0.0.1", "asNumber": "1.10", "futureField": [1]},
    });
    let (resource, stored) = prepare(&given).unwrap();
    assert_eq!(resource.name(), "p");
    assert_eq!(
        stored["spec"]["asNumber"],
        json!(65546),
        "AS numbers are stored as numbers"
    );
    assert_eq!(
        stored["spec"]["futureField"],
        json!([1]),
        "unknown fields are kept"
    );
    assert!(stored["metadata"].get("resourceVersion").is_none());
    let text = encode(&stored);
    assert!(
        text.starts_with(r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":"#),
        "{text}"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        stored
    );
}

#[test]
fn prepare_keeps_a_nodes_status_and_refuses_invalid_resources() {
    let node = json!({"kind": "Node", "metadata": {"name": "n"}, "spec": {}, "status": {"podCIDRs": ["10.0.0.0/24"]}});
    let (_, stored) = prepare(&node).unwrap();
    assert_eq!(stored["status"]["podCIDRs"][0], "10.0.0.0/24");
    let bad =
        json!({"kind": "BGPPeer", "metadata": {"name": "x"}, "spec": {"peerIP": "not-an-ip"}});
    let err = prepare(&bad).unwrap_err();
    assert!(err.to_string().starts_with("BGPPeer \"x\": "), "{err}");
    let affinity = json!({"kind": "BlockAffinity", "metadata": {"name": "x"}, "spec": {}});
    let err = prepare(&affinity).unwrap_err();
    assert!(matches!(err, PrepareError::IpamManaged { .. }), "{err:?}");
    assert!(err.to_string().contains("IPAM"), "{err}");
    let err = prepare(&json!({"kind": "BGPPeer", "spec": {}})).unwrap_err();
    assert!(matches!(err, PrepareError::Undecodable(_)), "{err:?}");
}

#[test]
fn identity_is_stamped_on_create_and_kept_on_update() {
    let (_, mut stored) = prepare(
        &json!({"kind": "IPPool", "metadata": {"name": "p"}, "spec": {"cidr": "10.0.0.0/16"}}),
    )
    .unwrap();
    stamp_created(&mut stored, "uid-1", "2026-01-01T00:00:00Z");
    let (_, mut replaced) = prepare(
        &json!({"kind": "IPPool", "metadata": {"name": "p"}, "spec": {"cidr": "10.1.0.0/16"}}),
    )
    .unwrap();
    keep_identity(&mut replaced, &stored);
    assert_eq!(replaced["metadata"]["uid"], "uid-1");
    assert_eq!(
        replaced["metadata"]["creationTimestamp"],
        "2026-01-01T00:00:00Z"
    );
}

#[test]
fn timestamps_and_uuids_have_calicos_formats() {
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339_utc(1_795_637_164), "2026-11-25T20:06:04Z");
    let u = uuid_v4([0xff; 16]);
    assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

#[test]
fn every_nodes_affinities_are_read_and_deleted_with_all_nodes() {
    let other = "/calico/ipam/v2/host/node-b/ipv4/block/10.65.0.64-26";
    let value = br#"{"state":"confirmed","deleted":false}"#;
    assert!(put_event(other, value, 7, ALL_NODES).is_some());
    assert!(delete_event(other, ALL_NODES).is_some());
    assert!(delete_event(other, "node-a").is_none());
    assert_eq!(affinities_prefix(ALL_NODES), "/calico/ipam/v2/host/");
    assert_eq!(affinities_prefix("node-a"), "/calico/ipam/v2/host/node-a/");
}
