//! `show route [filtered] [all] [where …]`: one line per route
//! (`NET TYPE [PROTO TIME (from ADDR)] [*] (PREF) [ATTRS]`), with the next hop on the
//! following line (`\tvia GW on IFACE` or `\tdev IFACE`). A route line without a network
//! continues the previous network (several routes for one net). With `all`, code 1008
//! (`Type:`) and 1012 (attributes) lines follow each route; `BGP.next_hop` is kept.
//! [`route_query`] builds the command that asks for a set of prefixes and what lies inside.

use ipnet::IpNet;
use serde::Serialize;

use super::super::reply::Reply;
use super::common::{ParseError, check_final};

/// One route of `show route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteEntry {
    /// The routing table (`master4`, `master6`, …).
    pub table: String,
    /// The prefix, as BIRD prints it.
    pub network: String,
    /// `unicast`, `blackhole`, `unreachable`, `prohibit`, …
    pub kind: String,
    /// The protocol that brought the route (`static4`, `Mesh_10_0_0_2`, `kernel4`, …).
    pub protocol: String,
    /// `from ADDR` (the BGP neighbor), when shown.
    pub from: Option<String>,
    /// `*`: the route is the best one, i.e. the one exported to the kernel (FIB).
    pub primary: bool,
    /// `via ADDR`, when shown.
    pub gateway: Option<String>,
    /// `on IFACE` or `dev IFACE`, when shown.
    pub interface: Option<String>,
    /// The `BGP.next_hop` attribute (`show route all` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp_next_hop: Option<String>,
}

/// The longest command perch sends (BIRD drops the connection for a line over about 1 KiB).
const MAX_COMMAND: usize = 990;

/// `show route [filtered] all where net ~ [ P+, … ] || net ~ [ Q+, … ]`: the routes of every
/// prefix in `prefixes` and inside it, one prefix set per family (BIRD refuses mixed sets).
/// When that command would be too long for BIRD's line limit, the whole table is asked for
/// (`show route [filtered] all`) and the caller keeps what it needs.
pub fn route_query(filtered: bool, prefixes: &[IpNet]) -> String {
    let head = if filtered {
        "show route filtered all"
    } else {
        "show route all"
    };
    let set = |v4: bool| {
        let items: Vec<String> = prefixes
            .iter()
            .filter(|p| p.addr().is_ipv4() == v4)
            .map(|p| format!("{}+", p.trunc()))
            .collect();
        (!items.is_empty()).then(|| format!("net ~ [ {} ]", items.join(", ")))
    };
    let sets: Vec<String> = [set(true), set(false)].into_iter().flatten().collect();
    if sets.is_empty() {
        return head.to_owned();
    }
    let command = format!("{head} where {}", sets.join(" || "));
    if command.len() > MAX_COMMAND {
        head.to_owned()
    } else {
        command
    }
}

/// The first whitespace-separated token of `text` and what follows it.
fn next_token(text: &str) -> Option<(&str, &str)> {
    let start = text.trim_start();
    if start.is_empty() {
        return None;
    }
    let end = start.find(char::is_whitespace).unwrap_or(start.len());
    Some((&start[..end], &start[end..]))
}

/// Parses a `show route` reply.
pub fn parse_show_route(reply: &Reply) -> Result<Vec<RouteEntry>, ParseError> {
    check_final(reply, "show route", &[0])?;
    let mut out: Vec<RouteEntry> = Vec::new();
    let mut table = String::new();
    let mut network = String::new();
    for line in &reply.lines {
        let text = line.text.as_str();
        if line.code == 1012 {
            if let (Some(v), Some(last)) =
                (text.trim().strip_prefix("BGP.next_hop:"), out.last_mut())
            {
                // Several next hops (IPv6 global + link-local): the first is the global one.
                last.bgp_next_hop = v.split_whitespace().next().map(str::to_owned);
            }
            continue;
        }
        if line.code != 1007 {
            continue;
        }
        if let Some(t) = text.strip_prefix("Table ") {
            table = t.trim_end_matches(':').trim().to_owned();
            continue;
        }
        if text.starts_with('\t') || text.starts_with("  \t") {
            let hop = text.trim();
            if let Some(last) = out.last_mut() {
                if let Some(rest) = hop.strip_prefix("via ") {
                    let mut parts = rest.split_whitespace();
                    last.gateway = parts.next().map(str::to_owned);
                    if parts.next() == Some("on") {
                        last.interface = parts.next().map(str::to_owned);
                    }
                } else if let Some(dev) = hop.strip_prefix("dev ") {
                    last.interface = dev.split_whitespace().next().map(str::to_owned);
                }
            }
            continue;
        }
        // Scanned in place: the tokens are slices of the line, no per-route Vec or String
        // besides the entry's own fields.
        let Some((first, after_first)) = next_token(text) else {
            continue;
        };
        let (kind, rest) = if first.contains('/') {
            network.clear();
            network.push_str(first);
            match next_token(after_first) {
                Some(t) => t,
                None => continue,
            }
        } else {
            (first, after_first)
        };
        let (protocol, from) = match (rest.find('['), rest.find(']')) {
            (Some(a), Some(b)) if a < b => {
                let mut inside = rest[a + 1..b].split_whitespace();
                let protocol = inside.next().unwrap_or_default().to_owned();
                let mut inside = rest[a + 1..b].split_whitespace();
                let from = inside
                    .position(|t| t == "from")
                    .and_then(|_| inside.next())
                    .map(str::to_owned);
                (protocol, from)
            }
            _ => (String::new(), None),
        };
        let after = rest.find(']').map_or("", |b| &rest[b + 1..]);
        out.push(RouteEntry {
            table: table.clone(),
            network: network.clone(),
            kind: kind.to_owned(),
            protocol,
            from,
            primary: after.split_whitespace().next() == Some("*"),
            gateway: None,
            interface: None,
            bgp_next_hop: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Reply {
        Reply::from_bytes(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bird/show_route.raw"
        )))
        .unwrap()
    }

    fn capture(name: &str) -> Vec<RouteEntry> {
        let path = format!("{}/tests/fixtures/bird/{name}", env!("CARGO_MANIFEST_DIR"));
        parse_show_route(&Reply::from_bytes(&std::fs::read(path).unwrap()).unwrap()).unwrap()
    }

    fn summary(routes: &[RouteEntry]) -> Vec<String> {
        routes
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {} gw={} if={} nh={}",
                    r.network,
                    r.kind,
                    r.protocol,
                    if r.primary { "*" } else { "-" },
                    r.gateway.as_deref().unwrap_or("-"),
                    r.interface.as_deref().unwrap_or("-"),
                    r.bgp_next_hop.as_deref().unwrap_or("-"),
                )
            })
            .collect()
    }

    #[test]
    fn show_route_all_where_pools_keeps_bgp_next_hops() {
        let routes = capture("show_route_all_where_pools.raw");
        assert_eq!(
            summary(&routes),
            [
                "10.244.1.0/26 blackhole static4 * gw=- if=- nh=-",
                "10.244.2.0/26 unicast Mesh_10_77_0_2 * gw=10.77.0.2 if=va26553 nh=10.77.0.2",
                "10.96.0.0/12 blackhole static4 * gw=- if=- nh=-",
                "10.244.1.7/32 unicast kernel4 * gw=- if=va26553 nh=-",
                "10.244.9.0/26 unicast Mesh_10_77_0_2 * gw=10.77.0.2 if=va26553 nh=10.77.0.2",
            ]
        );
        assert!(routes.iter().all(|r| r.table == "master4"));
    }

    #[test]
    fn the_short_form_has_the_same_routes_without_attributes() {
        let all = capture("show_route_all_where_pools.raw");
        let short = capture("show_route_where_pools.raw");
        let strip = |r: &RouteEntry| RouteEntry {
            bgp_next_hop: None,
            ..r.clone()
        };
        assert_eq!(short, all.iter().map(strip).collect::<Vec<_>>());
    }

    #[test]
    fn a_disabled_session_takes_its_routes_away() {
        let routes = capture("show_route_all_where_pools_disabled.raw");
        assert_eq!(
            routes
                .iter()
                .map(|r| r.network.as_str())
                .collect::<Vec<_>>(),
            ["10.244.1.0/26", "10.96.0.0/12", "10.244.1.7/32"]
        );
    }

    #[test]
    fn filtered_routes_name_the_session_whose_filter_rejected_them() {
        for name in [
            "show_route_filtered_all_where_pools.raw",
            "show_route_filtered_where_pools.raw",
        ] {
            let routes = capture(name);
            assert_eq!(routes.len(), 1, "{name}");
            assert_eq!(
                (routes[0].network.as_str(), routes[0].protocol.as_str()),
                ("10.244.2.64/26", "Mesh_10_77_0_2")
            );
        }
    }

    #[test]
    fn queries_ask_one_prefix_set_per_family_and_fall_back_to_the_table() {
        let nets: Vec<IpNet> = ["10.244.0.0/16", "fd00:244::/48", "10.96.0.0/12"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(
            route_query(false, &nets),
            "show route all where net ~ [ 10.244.0.0/16+, 10.96.0.0/12+ ] || net ~ [ fd00:244::/48+ ]"
        );
        assert_eq!(
            route_query(true, &nets[..1]),
            "show route filtered all where net ~ [ 10.244.0.0/16+ ]"
        );
        assert_eq!(route_query(false, &[]), "show route all");
        let many: Vec<IpNet> = (0..100)
            .map(|i| format!("10.{i}.0.0/16").parse().unwrap())
            .collect();
        assert_eq!(route_query(false, &many), "show route all");
    }

    #[test]
    fn routes_with_next_hops() {
        let routes = parse_show_route(&fixture()).unwrap();
        assert_eq!(routes.len(), 6);
        let bh = &routes[0];
        assert_eq!(
            (
                bh.network.as_str(),
                bh.kind.as_str(),
                bh.protocol.as_str(),
                bh.primary
            ),
            ("10.244.1.0/26", "blackhole", "static4", true)
        );
        assert_eq!(bh.gateway, None);
        let bgp = &routes[1];
        assert_eq!(bgp.protocol, "Mesh_10_99_0_2");
        assert_eq!(
            (bgp.gateway.as_deref(), bgp.interface.as_deref()),
            (Some("10.99.0.2"), Some("rlva"))
        );
        let direct = &routes[2];
        assert_eq!(
            (direct.gateway.as_deref(), direct.interface.as_deref()),
            (None, Some("rlva"))
        );
        let not_best = &routes[3];
        assert!(!not_best.primary);
        assert_eq!(not_best.from.as_deref(), Some("10.99.0.9"));
        assert_eq!(routes[4].kind, "unreachable");
        assert_eq!(
            (routes[5].table.as_str(), routes[5].network.as_str()),
            ("master6", "fd00:244:1::/122")
        );
    }

    proptest::proptest! {
        /// Routes written the way BIRD writes `show route all` parse back to themselves.
        #[test]
        fn routes_round_trip_through_birds_format(
            routes in proptest::collection::vec(
                (0u8..255, 24u8..33, 0usize..3, proptest::bool::ANY, proptest::option::of(0u8..255), proptest::bool::ANY),
                0..20,
            )
        ) {
            let mut wire = String::from("1007-Table master4:\n");
            let mut want = Vec::new();
            for (i, (third, len, kind, primary, gw, same_net)) in routes.iter().enumerate() {
                let network = if *same_net && !want.is_empty() {
                    None
                } else {
                    Some(format!("10.{third}.{i}.0/{len}"))
                };
                let net_text = network.clone().unwrap_or_else(|| {
                    let last: &RouteEntry = want.last().unwrap();
                    last.network.clone()
                });
                let kind = ["unicast", "blackhole", "unreachable"][*kind];
                let gw = gw.filter(|_| kind == "unicast").map(|g| format!("10.99.0.{g}"));
                let protocol = if gw.is_some() { format!("Mesh_{i}") } else { "static4".into() };
                let star = if *primary { " *" } else { "" };
                wire += &format!(
                    "1007-{:20} {kind} [{protocol} 19:25:38.745]{star} (100) [i]\n",
                    network.as_deref().unwrap_or("")
                );
                if let Some(g) = &gw {
                    wire += &format!(" \tvia {g} on eth0\n1008-\tType: BGP univ\n");
                    wire += &format!("1012-\tBGP.origin: IGP\n \tBGP.next_hop: {g}\n \tBGP.local_pref: 100\n");
                } else {
                    wire += "1008-\tType: static univ\n";
                }
                want.push(RouteEntry {
                    table: "master4".into(),
                    network: net_text,
                    kind: kind.into(),
                    protocol,
                    from: None,
                    primary: *primary,
                    gateway: gw.clone(),
                    interface: gw.as_ref().map(|_| "eth0".into()),
                    bgp_next_hop: gw,
                });
            }
            wire += "0000 \n";
            let reply = Reply::from_bytes(wire.as_bytes()).unwrap();
            proptest::prop_assert_eq!(parse_show_route(&reply).unwrap(), want);
        }
    }
}
