//! Address forms used by the resources: node addresses (`10.0.0.1/24` or a bare IP),
//! `peerIP` (`ip`, `ipv4:port`, `[ipv6]:port`), CIDRs.

use std::net::IpAddr;

use ipnet::IpNet;

/// A node's BGP address: the IP and the network it sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeAddress {
    pub ip: IpAddr,
    /// The configured network (`10.0.0.0/24` for `10.0.0.11/24`); a bare IP gives a host route.
    pub network: IpNet,
}

/// Parses `10.0.0.11/24` or `10.0.0.11` (and IPv6 forms).
pub(crate) fn parse_node_address(text: &str) -> Option<NodeAddress> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Some(NodeAddress {
            ip: net.addr(),
            network: net.trunc(),
        });
    }
    let ip: IpAddr = t.parse().ok()?;
    Some(NodeAddress {
        ip,
        network: IpNet::from(ip),
    })
}

/// A parsed `peerIP`: address and optional port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerAddress {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

/// Parses `peerIP` as Calico's validator accepts it: a bare IPv4/IPv6 address,
/// `a.b.c.d:port` or `[v6]:port`, with port 1..65535.
pub(crate) fn parse_peer_ip(text: &str) -> Result<PeerAddress, String> {
    // No trimming: Calico's validator refuses `" 10.0.0.1"`.
    let t = text;
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(PeerAddress { ip, port: None });
    }
    let bad = || format!("{text:?} is not an IP address, IPv4:port or [IPv6]:port");
    let (host, port) = if let Some(rest) = t.strip_prefix('[') {
        // Calico's validator and confd also take an IPv4 address in brackets.
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        let ip: IpAddr = h.parse().map_err(|_| bad())?;
        (ip, p)
    } else {
        let (h, p) = t.rsplit_once(':').ok_or_else(bad)?;
        let ip: IpAddr = h.parse().map_err(|_| bad())?;
        if !ip.is_ipv4() {
            return Err(bad());
        }
        (ip, p)
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match port.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(PeerAddress {
            ip: host,
            port: Some(p as u16),
        }),
        _ => Err(format!("{text:?}: port must be 1..65535")),
    }
}

/// Parses a CIDR strictly (a prefix length is required).
pub(crate) fn parse_cidr(text: &str) -> Option<IpNet> {
    text.trim().parse::<IpNet>().ok()
}

/// A CIDR, or an address alone as a fully masked network (`10.0.0.1` = `10.0.0.1/32`), as
/// Calico's `net`, `netv4` and `netv6` validators read it.
pub(crate) fn parse_cidr_or_ip(text: &str) -> Option<IpNet> {
    parse_cidr(text).or_else(|| text.trim().parse::<IpAddr>().ok().map(IpNet::from))
}

/// The `_`-joined form of an IP used in protocol names: `10_0_0_1`, `fd00__1`.
pub(crate) fn ip_for_name(ip: &IpAddr) -> String {
    ip.to_string().replace(['.', ':'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ips() {
        assert_eq!(parse_peer_ip("10.0.0.1").unwrap().port, None);
        assert_eq!(parse_peer_ip("10.0.0.1:1790").unwrap().port, Some(1790));
        let p = parse_peer_ip("[ac13::57]:50").unwrap();
        assert_eq!((p.ip.to_string(), p.port), ("ac13::57".into(), Some(50)));
        // As Calico's validator (`[<IPv6>]:<port>` allows dots) and confd read it.
        let p = parse_peer_ip("[10.0.0.1]:5").unwrap();
        assert_eq!((p.ip.to_string(), p.port), ("10.0.0.1".into(), Some(5)));
        assert_eq!(
            parse_peer_ip("2001:DB8::1").unwrap().ip.to_string(),
            "2001:db8::1"
        );
        for bad in [
            "10.0.0.1:0",
            "10.0.0.1:70000",
            "fd00::1:x",
            "x",
            "10.0.0.1:",
            "[fd00::1]",
        ] {
            assert!(parse_peer_ip(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn node_addresses() {
        let a = parse_node_address("10.192.0.2/16").unwrap();
        assert_eq!(
            (a.ip.to_string(), a.network.to_string()),
            ("10.192.0.2".into(), "10.192.0.0/16".into())
        );
        let a = parse_node_address("2001::103/64").unwrap();
        assert_eq!(a.network.to_string(), "2001::/64");
        assert_eq!(
            parse_node_address("10.0.0.1").unwrap().network.to_string(),
            "10.0.0.1/32"
        );
        assert!(parse_node_address("nope").is_none());
        assert_eq!(ip_for_name(&"fe0a::3".parse().unwrap()), "fe0a__3");
    }
}
