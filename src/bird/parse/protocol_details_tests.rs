//! Tests of the `show protocols all` parser over the captured replies.

use super::super::super::reply::Reply;
use super::super::super::test_fixtures as fx;
use super::super::{ChangeStats, RouteCounts};
use super::*;

fn protocols(bytes: &[u8]) -> Vec<ProtocolDetails> {
    parse_show_protocols_all(&fx::reply(bytes)).unwrap()
}

fn find<'a>(protocols: &'a [ProtocolDetails], name: &str) -> &'a ProtocolDetails {
    protocols.iter().find(|p| p.row.name == name).unwrap()
}

fn bgp(details: &ProtocolDetails) -> &BgpDetails {
    details.bgp.as_ref().unwrap()
}

#[test]
fn parses_an_established_session() {
    let all = protocols(fx::SHOW_PROTOCOLS_ALL);
    assert_eq!(all.len(), 12);
    let peer_b = find(&all, "peer_b");
    assert_eq!(peer_b.row.state, "up");
    assert_eq!(peer_b.row.bgp_state.as_deref(), Some("Established"));
    assert_eq!(
        peer_b.description.as_deref(),
        Some("instance B, should be Established")
    );
    assert_eq!(peer_b.message, None);
    let session = bgp(peer_b);
    assert_eq!(session.state.as_deref(), Some("Established"));
    assert_eq!(session.neighbor_address.as_deref(), Some("127.0.0.2"));
    assert_eq!(session.neighbor_port, None);
    assert_eq!(session.neighbor_as, Some(65002));
    assert_eq!(session.local_as, Some(65001));
    assert_eq!(session.neighbor_id.as_deref(), Some("10.0.0.2"));
    assert_eq!(session.session.as_deref(), Some("external multihop AS4"));
    assert_eq!(session.source_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(session.hold_timer.as_deref(), Some("62.095/90"));
    assert_eq!(session.keepalive_timer.as_deref(), Some("13.879/30"));
    assert_eq!(session.last_error, None);
    assert!(!session.neighbor_graceful_restart_active);
    let capabilities = [
        "Multiprotocol",
        "Route refresh",
        "Graceful restart",
        "4-octet AS numbers",
        "Enhanced refresh",
        "Long-lived graceful restart",
    ];
    assert_eq!(session.local_capabilities, capabilities);
    assert_eq!(session.neighbor_capabilities, capabilities);
    // Capability sub-lines ("Restart time: 120", "AF preserved:") stay out of the details.
    assert!(peer_b.other.is_empty(), "{:?}", peer_b.other);

    assert_eq!(peer_b.channels.len(), 1);
    let ipv4 = &peer_b.channels[0];
    assert_eq!(ipv4.name, "ipv4");
    assert_eq!(ipv4.state.as_deref(), Some("UP"));
    assert_eq!(ipv4.table.as_deref(), Some("master4"));
    assert_eq!(ipv4.preference, Some(100));
    assert_eq!(ipv4.input_filter.as_deref(), Some("ACCEPT"));
    assert_eq!(ipv4.output_filter.as_deref(), Some("export_bgp"));
    assert_eq!(
        ipv4.routes,
        Some(RouteCounts {
            imported: 3,
            filtered: 0,
            exported: 2,
            preferred: 3
        })
    );
    let stats = |received, rejected, filtered, ignored, accepted| ChangeStats {
        received,
        rejected,
        filtered,
        ignored,
        rx_limit: None,
        limit: None,
        accepted,
    };
    assert_eq!(
        ipv4.import_updates,
        Some(stats(Some(3), Some(0), Some(0), Some(0), Some(3)))
    );
    assert_eq!(
        ipv4.import_withdraws,
        Some(stats(Some(0), Some(0), None, Some(0), Some(0)))
    );
    assert_eq!(
        ipv4.export_updates,
        Some(stats(Some(5), Some(3), Some(0), None, Some(2)))
    );
    assert_eq!(
        ipv4.export_withdraws,
        Some(stats(Some(0), None, None, None, Some(0)))
    );
    assert_eq!(ipv4.bgp_next_hop.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        ipv4.other.get("IGP IPv4 table").map(String::as_str),
        Some("master4")
    );
}

#[test]
fn parses_sessions_that_are_not_up() {
    let all = protocols(fx::SHOW_PROTOCOLS_ALL);
    let badas = find(&all, "peer_badas");
    assert_eq!(
        badas.row.last_error.as_deref(),
        Some("BGP Error: Bad peer AS")
    );
    assert_eq!(bgp(badas).state.as_deref(), Some("Idle"));
    assert_eq!(bgp(badas).neighbor_address.as_deref(), Some("127.0.0.4"));
    assert_eq!(bgp(badas).neighbor_as, Some(65099));
    assert_eq!(
        bgp(badas).last_error.as_deref(),
        Some("BGP Error: Bad peer AS")
    );
    assert_eq!(
        badas.other.get("Error wait").map(String::as_str),
        Some("46.705/60")
    );
    assert_eq!(badas.channels[0].state.as_deref(), Some("DOWN"));
    assert_eq!(badas.channels[0].routes, None);
    assert_eq!(badas.channels[0].import_updates, None);

    let refused = find(&all, "peer_refused");
    assert_eq!(
        bgp(refused).last_error.as_deref(),
        Some("Socket: Connection refused")
    );
    assert_eq!(
        refused.other.get("Connect delay").map(String::as_str),
        Some("1.209/5")
    );

    let disabled = find(&all, "peer_disabled");
    assert_eq!(disabled.row.state, "down");
    assert_eq!(bgp(disabled).state.as_deref(), Some("Down"));
    assert_eq!(bgp(disabled).neighbor_as, Some(65005));
    assert_eq!(bgp(disabled).hold_timer, None);
    for (name, state, neighbor) in [
        ("peer_passive", "Passive", "127.0.0.6"),
        ("peer_opensent", "OpenSent", "127.0.0.7"),
        ("peer_openconfirm", "OpenConfirm", "127.0.0.8"),
        ("peer_connect", "Connect", "127.0.0.9"),
    ] {
        let details = find(&all, name);
        assert_eq!(bgp(details).state.as_deref(), Some(state));
        assert_eq!(bgp(details).neighbor_address.as_deref(), Some(neighbor));
        assert_eq!(details.channels.len(), 1);
    }
}

#[test]
fn parses_protocols_without_details_and_non_bgp_channels() {
    let all = protocols(fx::SHOW_PROTOCOLS_ALL);
    let device = find(&all, "device1");
    assert!(device.bgp.is_none() && device.channels.is_empty() && device.other.is_empty());
    let kernel = find(&all, "kernel1");
    assert_eq!(kernel.channels[0].preference, Some(10));
    assert_eq!(kernel.channels[0].export_updates.unwrap().filtered, Some(7));
    let static_bh = find(&all, "static_bh");
    assert_eq!(static_bh.channels[0].routes.unwrap().imported, 2);
    assert_eq!(
        static_bh.channels[0].input_filter.as_deref(),
        Some("ACCEPT")
    );
}

#[test]
fn parses_the_peer_side_of_a_bad_as() {
    let all = protocols(fx::SHOW_PROTOCOLS_ALL_C);
    assert_eq!(all.len(), 2);
    let peer_a = find(&all, "peer_a");
    assert_eq!(
        peer_a.row.last_error.as_deref(),
        Some("Received: Bad peer AS")
    );
    assert_eq!(
        bgp(peer_a).last_error.as_deref(),
        Some("Received: Bad peer AS")
    );
    assert_eq!(bgp(peer_a).local_as, Some(65004));
    assert_eq!(
        peer_a.other.get("Error wait").map(String::as_str),
        Some("46.215/60")
    );
    assert_eq!(peer_a.channels[0].output_filter.as_deref(), Some("REJECT"));
}

#[test]
fn parses_neighbor_port_message_and_flush() {
    let peer_b = &protocols(fx::SHOW_PROTOCOLS_ALL_PEER_B)[0];
    assert_eq!(bgp(peer_b).neighbor_port, Some(1179));
    assert_eq!(bgp(peer_b).hold_timer.as_deref(), Some("81.693/90"));
    assert_eq!(peer_b.channels[0].input_filter.as_deref(), Some("ACCEPT"));

    let flush = &protocols(fx::SHOW_PROTOCOLS_ALL_FLUSH)[0];
    assert_eq!(flush.row.state, "flush");
    assert_eq!(
        (flush.row.bgp_state.as_ref(), flush.row.last_error.as_ref()),
        (None, None)
    );
    assert_eq!(bgp(flush).state.as_deref(), Some("Down"));
    assert_eq!(
        flush.description.as_deref(),
        Some("instance B (renamed description)")
    );
    assert_eq!(flush.channels[0].input_filter.as_deref(), Some("(unnamed)"));

    let message = &protocols(fx::SHOW_PROTOCOLS_ALL_MESSAGE)[0];
    assert_eq!(message.message.as_deref(), Some("maintenance window"));
}

#[test]
fn maps_bird_3_stats_columns_by_name() {
    let reply = Reply::from_bytes(
        b"2002-Name       Proto      Table      State  Since         Info\n\
          1002-peer1      BGP        ---        up     08:46:47.676  Established   \n\
          1006-  Created:            08:46:47.676\n\
          \x20 BGP state:          Established\n\
          \x20   Neighbor address: 2001:db8::1%eth0\n\
          \x20 Channel ipv6\n\
          \x20   State:          UP\n\
          \x20   Import state:   UP\n\
          \x20   Export state:   READY\n\
          \x20   Routes:         1 imported, 4 filtered, 0 exported, 1 preferred\n\
          \x20   Route change stats:     received   rejected   filtered    ignored   RX limit      limit   accepted\n\
          \x20     Import updates:              1          2          3          4          5          6          7\n\
          \x20     Export withdraws:            0        ---        ---          0        ---        ---          0\n\
          \x20   BGP Next hop:   2001:db8::2 fe80::2\n\
          0000 \n",
    )
    .unwrap();
    let all = parse_show_protocols_all(&reply).unwrap();
    let peer1 = &all[0];
    assert_eq!(
        bgp(peer1).neighbor_address.as_deref(),
        Some("2001:db8::1%eth0")
    );
    assert_eq!(
        peer1.other.get("Created").map(String::as_str),
        Some("08:46:47.676")
    );
    let ipv6 = &peer1.channels[0];
    assert_eq!(
        (ipv6.import_state.as_deref(), ipv6.export_state.as_deref()),
        (Some("UP"), Some("READY"))
    );
    assert_eq!(ipv6.routes.unwrap().filtered, 4);
    assert_eq!(
        ipv6.import_updates,
        Some(ChangeStats {
            received: Some(1),
            rejected: Some(2),
            filtered: Some(3),
            ignored: Some(4),
            rx_limit: Some(5),
            limit: Some(6),
            accepted: Some(7),
        })
    );
    assert_eq!(ipv6.export_withdraws.unwrap().ignored, Some(0));
    assert_eq!(ipv6.bgp_next_hop.as_deref(), Some("2001:db8::2 fe80::2"));
}

#[test]
fn collects_bird_1_6_protocol_level_channel_data() {
    let reply = Reply::from_bytes(
        b"1002-R194_42  BGP      master   up     2018-05-31 15:38:40  Established\n\
          1006-  Preference:     100\n\
          \x20 Input filter:   ACCEPT\n\
          \x20 Output filter:  REJECT\n\
          \x20 Routes:         10 imported, 0 exported, 8 preferred\n\
          \x20 BGP state:          Established\n\
          \x20   Neighbor address: 192.0.2.1\n\
          \x20   Neighbor AS:      65001\n\
          \x20   Neighbor caps:    refresh restart-aware AS4\n\
          \x20   Hold timer:       151/180\n\
          0000 \n",
    )
    .unwrap();
    let all = parse_show_protocols_all(&reply).unwrap();
    let legacy = &all[0];
    assert_eq!(legacy.row.since, "2018-05-31 15:38:40");
    assert_eq!(legacy.channels.len(), 1);
    assert_eq!(legacy.channels[0].name, "");
    assert_eq!(legacy.channels[0].table.as_deref(), Some("master"));
    assert_eq!(legacy.channels[0].routes.unwrap().imported, 10);
    assert_eq!(bgp(legacy).state.as_deref(), Some("Established"));
    assert_eq!(bgp(legacy).neighbor_as, Some(65001));
    assert_eq!(bgp(legacy).hold_timer.as_deref(), Some("151/180"));
    assert_eq!(
        legacy.other.get("Neighbor caps").map(String::as_str),
        Some("refresh restart-aware AS4")
    );
}

#[test]
fn keeps_unparsable_values_and_reports_errors() {
    let reply = Reply::from_bytes(
        b"1002-p BGP --- up 10:00:00 Established\n\
          1006-  BGP state: Established\n\
          \x20   Neighbor AS:      not-a-number\n\
          \x20 Channel ipv4\n\
          \x20   Preference:     (100/?)\n\
          0000 \n",
    )
    .unwrap();
    let p = &parse_show_protocols_all(&reply).unwrap()[0];
    assert_eq!(bgp(p).neighbor_as, None);
    assert_eq!(
        p.other.get("Neighbor AS").map(String::as_str),
        Some("not-a-number")
    );
    assert_eq!(p.channels[0].preference, None);
    assert_eq!(
        p.channels[0].other.get("Preference").map(String::as_str),
        Some("(100/?)")
    );
    assert!(matches!(
        parse_show_protocols_all(&fx::reply(fx::DISABLE_NOMATCH)),
        Err(ParseError::ErrorReply { code: 8003, .. })
    ));
}

#[test]
fn serializes_for_the_status_api() {
    let all = protocols(fx::SHOW_PROTOCOLS_ALL);
    let json = serde_json::to_value(find(&all, "peer_badas")).unwrap();
    assert_eq!(json["name"], "peer_badas");
    assert_eq!(json["state"], "start");
    assert_eq!(json["bgp_state"], "Idle");
    assert_eq!(json["last_error"], "BGP Error: Bad peer AS");
    assert_eq!(json["bgp"]["neighbor_as"], 65099);
    assert_eq!(json["bgp"]["neighbor_address"], "127.0.0.4");
    assert_eq!(json["channels"][0]["name"], "ipv4");
    assert_eq!(json["other"]["Error wait"], "46.705/60");

    let since = super::super::parse_bird_time("1795633612").unwrap();
    assert_eq!(
        serde_json::to_value(since).unwrap(),
        serde_json::json!({"epoch": 1_795_633_612})
    );
    let outcome = super::super::ConfigureOutcome::UndoScheduled {
        message: "Undo scheduled in 5 s".into(),
        in_progress: false,
    };
    assert_eq!(
        serde_json::to_value(outcome).unwrap(),
        serde_json::json!({"outcome": "undo_scheduled", "message": "Undo scheduled in 5 s",
            "in_progress": false})
    );
}
