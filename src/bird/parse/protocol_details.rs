//! `show protocols all`: a 1002 row per protocol, followed by its 1006 detail lines.
//!
//! Protocols are delimited by the next 1002 row or the end of the reply, never by blank lines.
//! Detail lines are `key: value` split at the first `:` (values may be IPv6 addresses);
//! `Channel <name>` opens a channel block that runs to the end of the protocol. BIRD 1.6 has no
//! channel blocks: its channel-like lines (preference, filters, routes, stats) are collected
//! into one channel with an empty name.

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::reply::Reply;
use super::channel::{Channel, DEFAULT_STATS_COLUMNS, push_channel_value};
use super::common::{ParseError, check_final, indent_of, split_key_value};
use super::protocols::{ProtocolRow, parse_protocol_row};

/// One protocol of `show protocols all`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtocolDetails {
    /// The protocol's table row.
    #[serde(flatten)]
    pub row: ProtocolRow,
    /// `Description:` from the config.
    pub description: Option<String>,
    /// `Message:` given to `disable`/`restart`, or received in a shutdown notification.
    pub message: Option<String>,
    /// BGP session details (BGP protocols only).
    pub bgp: Option<BgpDetails>,
    /// Channel blocks in order (`ipv4`, `ipv6`, `ipv4 multicast`, …).
    pub channels: Vec<Channel>,
    /// Other protocol-level `key: value` lines (`Error wait`, `Connect delay`, `Router ID`, …).
    pub other: BTreeMap<String, String>,
}

/// BGP-specific detail lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BgpDetails {
    /// `BGP state:` (`Established`, `Active`, …, `Down`).
    pub state: Option<String>,
    /// `Neighbor address:` (or `Neighbor range:` for dynamic BGP); may carry `%iface`.
    pub neighbor_address: Option<String>,
    /// `Neighbor port:`, shown only when it is not 179 and the outgoing connection won.
    pub neighbor_port: Option<u16>,
    /// `Neighbor AS:`.
    pub neighbor_as: Option<u32>,
    /// `Local AS:` (absent in 1.6).
    pub local_as: Option<u32>,
    /// `Neighbor ID:` (session up only).
    pub neighbor_id: Option<String>,
    /// `Session:`, e.g. `external multihop AS4`.
    pub session: Option<String>,
    /// `Source address:` (session up only).
    pub source_address: Option<String>,
    /// `Hold timer:` as printed, `remaining/negotiated` (`62.095/90`).
    pub hold_timer: Option<String>,
    /// `Keepalive timer:` as printed (`13.879/30`).
    pub keepalive_timer: Option<String>,
    /// `Last error:`, same text as the Info column's error.
    pub last_error: Option<String>,
    /// `Neighbor graceful restart active` was shown.
    pub neighbor_graceful_restart_active: bool,
    /// Capability names under `Local capabilities` (sub-lines such as `AF announced` dropped).
    pub local_capabilities: Vec<String>,
    /// Capability names under `Neighbor capabilities`.
    pub neighbor_capabilities: Vec<String>,
}

/// Keys that belong to a channel even outside a `Channel` block (BIRD 1.6 layout).
const LEGACY_CHANNEL_KEYS: &[&str] = &[
    "Preference",
    "Input filter",
    "Output filter",
    "Routes",
    "Route change stats",
    "Import updates",
    "Import withdraws",
    "Export updates",
    "Export withdraws",
    "Route limit",
    "Receive limit",
    "Import limit",
    "Export limit",
];

/// Parses a `show protocols all` reply.
pub fn parse_show_protocols_all(reply: &Reply) -> Result<Vec<ProtocolDetails>, ParseError> {
    check_final(reply, "show protocols all", &[])?;
    let mut protocols = Vec::new();
    let mut current: Option<DetailsBuilder> = None;
    for line in &reply.lines[..reply.lines.len().saturating_sub(1)] {
        match line.code {
            1002 => {
                protocols.extend(current.take().map(DetailsBuilder::finish));
                current = Some(DetailsBuilder::new(parse_protocol_row(&line.text)?));
            }
            1006 => {
                if let Some(builder) = current.as_mut() {
                    builder.push_detail(&line.text);
                }
            }
            _ => {}
        }
    }
    protocols.extend(current.map(DetailsBuilder::finish));
    Ok(protocols)
}

/// Where the next key-less capability line goes.
#[derive(Clone, Copy)]
enum CapabilityList {
    Local,
    Neighbor,
}

struct DetailsBuilder {
    details: ProtocolDetails,
    /// Index of the channel receiving lines, and whether it was opened by a `Channel` line.
    channel: Option<(usize, bool)>,
    stats_columns: Vec<String>,
    /// Open capability block: list and the indent of its heading.
    capabilities: Option<(CapabilityList, usize)>,
}

impl DetailsBuilder {
    fn new(row: ProtocolRow) -> Self {
        let bgp = row.is_bgp().then(BgpDetails::default);
        DetailsBuilder {
            details: ProtocolDetails {
                row,
                description: None,
                message: None,
                bgp,
                channels: Vec::new(),
                other: BTreeMap::new(),
            },
            channel: None,
            stats_columns: DEFAULT_STATS_COLUMNS
                .iter()
                .map(|c| c.to_string())
                .collect(),
            capabilities: None,
        }
    }

    fn finish(self) -> ProtocolDetails {
        self.details
    }

    fn push_detail(&mut self, text: &str) {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return;
        }
        let indent = indent_of(text);
        if let Some((list, heading_indent)) = self.capabilities {
            if indent > heading_indent {
                self.push_capability(list, heading_indent, indent, trimmed);
                return;
            }
            self.capabilities = None;
        }
        if let Some(name) = trimmed.strip_prefix("Channel ")
            && !trimmed.contains(':')
        {
            self.details.channels.push(Channel {
                name: name.trim().to_string(),
                ..Channel::default()
            });
            self.channel = Some((self.details.channels.len() - 1, true));
            return;
        }
        match split_key_value(trimmed) {
            Some((key, value)) => self.push_key_value(key, value),
            None => self.push_flag(trimmed, indent),
        }
    }

    fn push_capability(&mut self, list: CapabilityList, heading: usize, indent: usize, text: &str) {
        let Some(bgp) = self.details.bgp.as_mut() else {
            return;
        };
        let names = match list {
            CapabilityList::Local => &mut bgp.local_capabilities,
            CapabilityList::Neighbor => &mut bgp.neighbor_capabilities,
        };
        // Capability names sit two columns right of the heading; deeper lines are details.
        if indent <= heading + 2 {
            names.push(text.to_string());
        }
    }

    fn push_flag(&mut self, text: &str, indent: usize) {
        match (text, self.details.bgp.as_mut()) {
            ("Local capabilities", Some(_)) => {
                self.capabilities = Some((CapabilityList::Local, indent));
            }
            ("Neighbor capabilities", Some(_)) => {
                self.capabilities = Some((CapabilityList::Neighbor, indent));
            }
            ("Neighbor graceful restart active", Some(bgp)) => {
                bgp.neighbor_graceful_restart_active = true;
            }
            _ => {
                self.details.other.insert(text.to_string(), String::new());
            }
        }
    }

    fn push_key_value(&mut self, key: &str, value: &str) {
        if let Some((index, explicit)) = self.channel
            && (explicit || LEGACY_CHANNEL_KEYS.contains(&key))
        {
            let channel = &mut self.details.channels[index];
            push_channel_value(channel, &mut self.stats_columns, key, value);
            return;
        }
        if LEGACY_CHANNEL_KEYS.contains(&key) {
            self.details.channels.push(Channel {
                table: Some(self.details.row.table.clone()),
                ..Channel::default()
            });
            self.channel = Some((self.details.channels.len() - 1, false));
            let channel = self.details.channels.last_mut().expect("just pushed");
            push_channel_value(channel, &mut self.stats_columns, key, value);
            return;
        }
        let details = &mut self.details;
        let owned = || Some(value.to_string());
        match (key, details.bgp.as_mut()) {
            ("Description", _) => details.description = owned(),
            ("Message", _) => details.message = owned(),
            ("BGP state", Some(bgp)) => bgp.state = owned(),
            ("Neighbor address" | "Neighbor range", Some(bgp)) => bgp.neighbor_address = owned(),
            ("Neighbor ID", Some(bgp)) => bgp.neighbor_id = owned(),
            ("Session", Some(bgp)) => bgp.session = owned(),
            ("Source address", Some(bgp)) => bgp.source_address = owned(),
            ("Hold timer", Some(bgp)) => bgp.hold_timer = owned(),
            ("Keepalive timer", Some(bgp)) => bgp.keepalive_timer = owned(),
            ("Last error", Some(bgp)) => bgp.last_error = owned(),
            ("Neighbor port", Some(bgp)) if value.parse::<u16>().is_ok() => {
                bgp.neighbor_port = value.parse().ok();
            }
            ("Neighbor AS", Some(bgp)) if value.parse::<u32>().is_ok() => {
                bgp.neighbor_as = value.parse().ok();
            }
            ("Local AS", Some(bgp)) if value.parse::<u32>().is_ok() => {
                bgp.local_as = value.parse().ok();
            }
            _ => {
                details.other.insert(key.to_string(), value.to_string());
            }
        }
    }
}

#[cfg(test)]
#[path = "protocol_details_tests.rs"]
mod tests;
