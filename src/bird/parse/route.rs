//! `show route [filtered] [all] [where …]`: one line per route
//! (`NET TYPE [PROTO TIME (from ADDR)] [*] (PREF) [ATTRS]`), with the next hop on the
//! following line (`\tvia GW on IFACE` or `\tdev IFACE`); a multipath route (ECMP: a static
//! route with several `via`, a BGP next hop resolved through a multipath route) has one such
//! line per path, each ending in `weight N`. A route line without a network
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
    /// `via ADDR` of the first path, when shown (a multipath route has more: [`Self::paths`]).
    pub gateway: Option<String>,
    /// `on IFACE` or `dev IFACE` of the first path, when shown.
    pub interface: Option<String>,
    /// Every next hop of a multipath (ECMP) route, in BIRD's order (the first is also in
    /// `gateway` and `interface`); empty for a route with one next hop or none, so that the
    /// common route costs nothing more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<RoutePath>,
    /// The `BGP.next_hop` attribute (`show route all` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp_next_hop: Option<String>,
}

/// One next hop of a route (a line `\tvia GW on IFACE [weight N]` or `\tdev IFACE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutePath {
    /// `via ADDR`; `None` for `dev IFACE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// `on IFACE` or `dev IFACE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `weight N`: BIRD prints it on the paths of a multipath route only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
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

/// One next-hop line: `via GW on IFACE [mpls …] [onlink] [weight N]` or `dev IFACE [weight N]`.
fn parse_path(line: &str) -> Option<RoutePath> {
    let (gateway, rest) = match line.strip_prefix("via ") {
        Some(rest) => {
            let (gw, rest) = next_token(rest)?;
            (Some(gw.to_owned()), rest)
        }
        None => (None, line),
    };
    let mut path = RoutePath {
        gateway,
        interface: None,
        weight: None,
    };
    let mut words = rest.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "on" | "dev" => path.interface = words.next().map(str::to_owned),
            "weight" => path.weight = words.next().and_then(|n| n.parse().ok()),
            _ => {}
        }
    }
    (path.gateway.is_some() || path.interface.is_some()).then_some(path)
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
            if let (Some(last), Some(path)) = (out.last_mut(), parse_path(hop)) {
                let first =
                    last.paths.is_empty() && last.gateway.is_none() && last.interface.is_none();
                if first {
                    last.gateway.clone_from(&path.gateway);
                    last.interface.clone_from(&path.interface);
                    // BIRD writes `weight` on the paths of a multipath route only.
                    if path.weight.is_some() {
                        last.paths.push(path);
                    }
                } else {
                    if last.paths.is_empty() {
                        last.paths.push(RoutePath {
                            gateway: last.gateway.clone(),
                            interface: last.interface.clone(),
                            weight: None,
                        });
                    }
                    last.paths.push(path);
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
            paths: Vec::new(),
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

    /// `via GW on IFACE weight N` of each path.
    fn paths(r: &RouteEntry) -> Vec<String> {
        r.paths
            .iter()
            .map(|p| {
                format!(
                    "{} {} {}",
                    p.gateway.as_deref().unwrap_or("-"),
                    p.interface.as_deref().unwrap_or("-"),
                    p.weight.map_or("-".into(), |w| w.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn a_multipath_route_keeps_every_path() {
        // A BGP route whose next hop (n2's loopback address) BIRD resolved recursively through
        // an ECMP route over two links: one route, two `via … weight 1` lines.
        for name in [
            "show_route_all_where_pools_ecmp.raw",
            "show_route_where_pools_ecmp.raw",
        ] {
            let routes = capture(name);
            assert_eq!(routes.len(), 2, "{name}");
            let ecmp = &routes[1];
            assert_eq!(
                (ecmp.network.as_str(), ecmp.protocol.as_str(), ecmp.primary),
                ("10.244.2.0/26", "Mesh_10_97_0_2", true),
                "{name}"
            );
            assert_eq!(
                paths(ecmp),
                ["10.98.1.2 up1 1", "10.98.2.2 up2 1"],
                "{name}"
            );
            // The single-path fields keep the first path.
            assert_eq!(
                (ecmp.gateway.as_deref(), ecmp.interface.as_deref()),
                (Some("10.98.1.2"), Some("up1")),
                "{name}"
            );
            assert!(routes[0].paths.is_empty(), "a blackhole has no path");
        }
        assert_eq!(
            capture("show_route_all_where_pools_ecmp.raw")[1]
                .bgp_next_hop
                .as_deref(),
            Some("10.97.0.2")
        );
        // A single-path route keeps its one path in `gateway` and `interface` only.
        let single = &capture("show_route_all_where_pools.raw")[1];
        assert!(single.paths.is_empty());
        assert_eq!(single.gateway.as_deref(), Some("10.77.0.2"));
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
                (0u8..255, 24u8..33, 0usize..3, proptest::bool::ANY, proptest::collection::vec((0u8..255, 1u32..300), 0..4), proptest::bool::ANY),
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
                // The paths: none off unicast; `weight N` printed only with several (ECMP).
                let hops: &[(u8, u32)] = if kind == "unicast" { gw } else { &[] };
                let paths: Vec<RoutePath> = hops
                    .iter()
                    .enumerate()
                    .map(|(j, (g, w))| RoutePath {
                        gateway: Some(format!("10.99.{j}.{g}")),
                        interface: Some(format!("eth{j}")),
                        weight: (hops.len() > 1).then_some(*w),
                    })
                    .collect();
                let next_hop = paths.first().and_then(|p| p.gateway.clone());
                let interface = paths.first().and_then(|p| p.interface.clone());
                let protocol = if next_hop.is_some() { format!("Mesh_{i}") } else { "static4".into() };
                let star = if *primary { " *" } else { "" };
                wire += &format!(
                    "1007-{:20} {kind} [{protocol} 19:25:38.745]{star} (100) [i]\n",
                    network.as_deref().unwrap_or("")
                );
                for p in &paths {
                    wire += &format!(
                        " \tvia {} on {}{}\n",
                        p.gateway.as_deref().unwrap(),
                        p.interface.as_deref().unwrap(),
                        p.weight.map_or(String::new(), |w| format!(" weight {w}"))
                    );
                }
                if let Some(g) = &next_hop {
                    wire += "1008-\tType: BGP univ\n";
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
                    gateway: next_hop.clone(),
                    interface,
                    // Kept for a multipath route only.
                    paths: if paths.len() > 1 { paths } else { Vec::new() },
                    bgp_next_hop: next_hop,
                });
            }
            wire += "0000 \n";
            let reply = Reply::from_bytes(wire.as_bytes()).unwrap();
            proptest::prop_assert_eq!(parse_show_route(&reply).unwrap(), want);
        }
    }
}
