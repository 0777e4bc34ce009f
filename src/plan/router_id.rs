//! BIRD's router ID: the node's IPv4 address, or `CALICO_ROUTER_ID` (an address, or `hash`).

use std::net::{IpAddr, Ipv4Addr};

use sha2::{Digest, Sha256};

/// An operator-chosen router ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterIdOverride {
    /// Use this IPv4 address.
    Address(Ipv4Addr),
    /// Derive a stable ID from the node name, as Calico's `hash` does (IPv6-only nodes).
    Hash,
}

impl std::str::FromStr for RouterIdOverride {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "hash" {
            return Ok(RouterIdOverride::Hash);
        }
        s.parse()
            .map(RouterIdOverride::Address)
            .map_err(|_| format!("router ID {s:?} must be an IPv4 address or \"hash\""))
    }
}

/// Calico's `hashToIPv4`: the first four bytes of SHA-256(node name); a first octet above
/// 223 (multicast/reserved, which BIRD refuses as an identifier) is lowered by 32.
pub(crate) fn hash_to_ipv4(node: &str) -> Ipv4Addr {
    let digest = Sha256::digest(node.as_bytes());
    let mut b = [digest[0], digest[1], digest[2], digest[3]];
    if b[0] > 223 {
        b[0] -= 32;
    }
    Ipv4Addr::from(b)
}

/// The router ID to render, or None when there is nothing to derive it from.
pub(crate) fn router_id(
    node: &str,
    ipv4: Option<IpAddr>,
    over: Option<&RouterIdOverride>,
) -> Option<String> {
    match over {
        Some(RouterIdOverride::Address(a)) => Some(a.to_string()),
        Some(RouterIdOverride::Hash) => Some(hash_to_ipv4(node).to_string()),
        None => ipv4.map(|ip| ip.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calico_hash_example() {
        assert_eq!(hash_to_ipv4("kube-master").to_string(), "25.79.212.8");
    }

    #[test]
    fn hashed_ids_avoid_reserved_space() {
        for i in 0..2000 {
            assert!(hash_to_ipv4(&format!("node-{i}")).octets()[0] <= 223);
        }
    }
}
