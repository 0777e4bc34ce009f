//! `show route`: one line per route (`NET TYPE [PROTO TIME (from ADDR)] [*] (PREF) [ATTRS]`),
//! with the next hop on the following line (`\tvia GW on IFACE` or `\tdev IFACE`). A route
//! line without a network continues the previous network (several routes for one net).

use serde::Serialize;

use super::super::reply::Reply;
use super::{ParseError, check_final};

/// One route of `show route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteEntry {
    pub table: String,
    pub network: String,
    /// `unicast`, `blackhole`, `unreachable`, `prohibit`, …
    pub kind: String,
    /// The protocol that brought the route (`static4`, `Mesh_10_0_0_2`, `kernel4`, …).
    pub protocol: String,
    /// `from ADDR` (the BGP neighbor), when shown.
    pub from: Option<String>,
    /// `*`: the route is the best one, i.e. the one exported to the kernel (FIB).
    pub primary: bool,
    pub gateway: Option<String>,
    pub interface: Option<String>,
}

/// Parses a `show route` reply.
pub fn parse_show_route(reply: &Reply) -> Result<Vec<RouteEntry>, ParseError> {
    check_final(reply, "show route", &[0])?;
    let mut out: Vec<RouteEntry> = Vec::new();
    let mut table = String::new();
    let mut network = String::new();
    for line in reply.lines.iter().filter(|l| l.code == 1007) {
        let text = line.text.as_str();
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
        let mut tokens = text.split_whitespace().peekable();
        let Some(first) = tokens.peek().copied() else {
            continue;
        };
        if first.contains('/') {
            network = first.to_owned();
            tokens.next();
        }
        let Some(kind) = tokens.next() else { continue };
        let rest: Vec<&str> = tokens.collect();
        let joined = rest.join(" ");
        let (protocol, from) = match (joined.find('['), joined.find(']')) {
            (Some(a), Some(b)) if a < b => {
                let inside: Vec<&str> = joined[a + 1..b].split_whitespace().collect();
                let from = inside
                    .iter()
                    .position(|t| *t == "from")
                    .and_then(|i| inside.get(i + 1))
                    .map(|s| s.to_string());
                (
                    inside.first().map(|s| s.to_string()).unwrap_or_default(),
                    from,
                )
            }
            _ => (String::new(), None),
        };
        let after = joined.find(']').map_or("", |b| &joined[b + 1..]);
        out.push(RouteEntry {
            table: table.clone(),
            network: network.clone(),
            kind: kind.to_owned(),
            protocol,
            from,
            primary: after.split_whitespace().next() == Some("*"),
            gateway: None,
            interface: None,
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
}
