//! The kernel's main routing table, read over netlink (`RTM_GETROUTE` dump).
//!
//! Owns: [`read_main_table`] (the one I/O function of [`super`]: a blocking netlink dump of the
//! calling thread's network namespace) and [`KernelEntry`], the plain value the verdict reads.
//! The table perch sees is the one of its own network namespace: it is BIRD's only when perch
//! shares BIRD's network (the DaemonSet's `hostNetwork: true`, or the same namespace in a lab).
//! Must not: change routes, or judge them ([`super::verdict`] does).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteType,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use serde::Serialize;

/// One route of the kernel's main table (one per next hop for a multipath route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelEntry {
    /// The destination.
    pub prefix: IpNet,
    /// `unicast`, `blackhole`, `unreachable`, `prohibit`, `local`, …
    pub kind: String,
    /// `via ADDR`; `None` for a route without a gateway.
    pub gateway: Option<IpAddr>,
    /// `dev NAME`; `None` when the route names no device.
    pub device: Option<String>,
    /// The `onlink` flag: the gateway is taken as directly reachable on `device`.
    pub onlink: bool,
    /// Who installed it: `bird`, `kernel`, `boot`, `static`, or the protocol number.
    pub protocol: String,
}

impl KernelEntry {
    /// The `ip route` form, for evidence: `10.244.2.0/26 via 10.99.0.2 dev eth0 proto bird`.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(80);
        if self.kind != "unicast" {
            s.push_str(&self.kind);
            s.push(' ');
        }
        let _ = write!(s, "{}", self.prefix);
        if let Some(g) = self.gateway {
            let _ = write!(s, " via {g}");
        }
        if let Some(d) = &self.device {
            s.push_str(" dev ");
            s.push_str(d);
        }
        s.push_str(" proto ");
        s.push_str(&self.protocol);
        if self.onlink {
            s.push_str(" onlink");
        }
        s
    }
}

/// Why the kernel's table could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading the kernel's routing table over netlink: {0}")]
pub struct KernelError(String);

/// Reads the main table (254) of this thread's network namespace, both families.
/// Blocking: call it from `spawn_blocking` in async code.
pub fn read_main_table() -> Result<Vec<KernelEntry>, KernelError> {
    let err = |what: &str, e: std::io::Error| KernelError(format!("{what}: {e}"));
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| err("socket", e))?;
    socket.bind_auto().map_err(|e| err("bind", e))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| err("connect", e))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut request = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::GetRoute(RouteMessage::default())),
    );
    request.finalize();
    let mut buf = vec![0; request.header.length as usize];
    request.serialize(&mut buf[..]);
    socket.send(&buf[..], 0).map_err(|e| err("send", e))?;

    let mut out = Vec::new();
    let mut names = Names::default();
    let mut receive = vec![0u8; 1 << 16];
    loop {
        let size = socket
            .recv(&mut &mut receive[..], 0)
            .map_err(|e| err("recv", e))?;
        let mut offset = 0;
        while offset < size {
            let message =
                NetlinkMessage::<RouteNetlinkMessage>::deserialize(&receive[offset..size])
                    .map_err(|e| KernelError(format!("decode: {e}")))?;
            let length = message.header.length as usize;
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => {
                    return Err(KernelError(format!("dump refused: {e:?}")));
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(m)) => {
                    out.extend(entries(&m, &mut |i| names.get(i)));
                }
                _ => {}
            }
            if length == 0 {
                break;
            }
            offset += length;
        }
    }
}

/// Interface names by index, looked up once each.
#[derive(Default)]
struct Names(std::collections::HashMap<u32, Option<String>>);

impl Names {
    fn get(&mut self, index: u32) -> Option<String> {
        self.0
            .entry(index)
            .or_insert_with(|| {
                nix::net::if_::if_indextoname(index)
                    .ok()
                    .map(|c| c.to_string_lossy().into_owned())
            })
            .clone()
    }
}

fn address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn protocol_name(p: RouteProtocol) -> String {
    match p {
        RouteProtocol::Kernel => "kernel".into(),
        RouteProtocol::Boot => "boot".into(),
        RouteProtocol::Static => "static".into(),
        RouteProtocol::Bird => "bird".into(),
        RouteProtocol::Bgp => "bgp".into(),
        other => u8::from(other).to_string(),
    }
}

fn kind_name(k: RouteType) -> &'static str {
    match k {
        RouteType::Unicast => "unicast",
        RouteType::Local => "local",
        RouteType::Broadcast => "broadcast",
        RouteType::Anycast => "anycast",
        RouteType::Multicast => "multicast",
        RouteType::BlackHole => "blackhole",
        RouteType::Unreachable => "unreachable",
        RouteType::Prohibit => "prohibit",
        RouteType::Throw => "throw",
        RouteType::Nat => "nat",
        _ => "other",
    }
}

/// The main-table entries of one netlink route message (pure, apart from `name`, which maps
/// an interface index to its name); none for other tables or families.
pub(crate) fn entries(
    m: &RouteMessage,
    name: &mut dyn FnMut(u32) -> Option<String>,
) -> Vec<KernelEntry> {
    let h: &RouteHeader = &m.header;
    let table = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(h.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return Vec::new();
    }
    let destination = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => address(d),
        _ => None,
    });
    let v4 = matches!(h.address_family, netlink_packet_route::AddressFamily::Inet);
    let destination = match destination {
        Some(d) => d,
        None if v4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None if matches!(h.address_family, netlink_packet_route::AddressFamily::Inet6) => {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        }
        None => return Vec::new(),
    };
    let Ok(prefix) = IpNet::new(destination, h.destination_prefix_length) else {
        return Vec::new();
    };
    let base = KernelEntry {
        prefix,
        kind: kind_name(h.kind).into(),
        gateway: None,
        device: None,
        onlink: h.flags.contains(RouteFlags::Onlink),
        protocol: protocol_name(h.protocol),
    };
    let mut single = base.clone();
    let mut hops = Vec::new();
    for a in &m.attributes {
        match a {
            RouteAttribute::Gateway(g) => single.gateway = address(g),
            RouteAttribute::Oif(i) => single.device = name(*i),
            RouteAttribute::MultiPath(next_hops) => {
                for nh in next_hops {
                    let mut e = base.clone();
                    e.device = name(nh.interface_index);
                    e.onlink = nh.flags.bits() & (RouteFlags::Onlink.bits() as u8) != 0;
                    for na in &nh.attributes {
                        if let RouteAttribute::Gateway(g) = na {
                            e.gateway = address(g);
                        }
                    }
                    hops.push(e);
                }
            }
            _ => {}
        }
    }
    if hops.is_empty() { vec![single] } else { hops }
}
