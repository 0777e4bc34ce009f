//! Channel blocks of `show protocols all`: state, filters, route counts and the route change
//! stats table, whose columns are mapped by the header's names (BIRD 3 adds `RX limit` and
//! `limit`).

use std::collections::BTreeMap;

use serde::Serialize;

/// One channel block.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Channel {
    /// Channel name after `Channel ` (`ipv4`); empty for BIRD 1.6's protocol-level data.
    pub name: String,
    /// `State:` (`UP`, `DOWN`, `START`, `FLUSHING`).
    pub state: Option<String>,
    /// `Import state:` (3.x).
    pub import_state: Option<String>,
    /// `Export state:` (3.x).
    pub export_state: Option<String>,
    /// `Table:` (`master4`).
    pub table: Option<String>,
    /// `Preference:`.
    pub preference: Option<u32>,
    /// `Input filter:` (`ACCEPT`, `REJECT`, a filter name or `(unnamed)`).
    pub input_filter: Option<String>,
    /// `Output filter:`.
    pub output_filter: Option<String>,
    /// `Routes:` counts (present only when the channel is not DOWN).
    pub routes: Option<RouteCounts>,
    /// `Import updates:` row of the route change stats.
    pub import_updates: Option<ChangeStats>,
    /// `Import withdraws:` row.
    pub import_withdraws: Option<ChangeStats>,
    /// `Export updates:` row.
    pub export_updates: Option<ChangeStats>,
    /// `Export withdraws:` row.
    pub export_withdraws: Option<ChangeStats>,
    /// `BGP Next hop:` (`<global> <link-local>` for IPv6).
    pub bgp_next_hop: Option<String>,
    /// Other `key: value` lines (`IGP IPv4 table`, `Neighbor GR`, limits, …).
    pub other: BTreeMap<String, String>,
}

/// `Routes: 3 imported, [1 filtered, ]2 exported, 3 preferred`; a missing count is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RouteCounts {
    /// Routes imported from the protocol.
    pub imported: u64,
    /// Routes rejected by the import filter but kept (`import keep filtered`).
    pub filtered: u64,
    /// Routes exported to the protocol.
    pub exported: u64,
    /// Imported routes that are the best in their table.
    pub preferred: u64,
}

/// One `Route change stats` row, mapped by the header's column names; `---` or a column the
/// BIRD version lacks is `None` (`rx_limit` and `limit` exist in 3.x only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChangeStats {
    /// `received` column.
    pub received: Option<u64>,
    /// `rejected` column.
    pub rejected: Option<u64>,
    /// `filtered` column.
    pub filtered: Option<u64>,
    /// `ignored` column.
    pub ignored: Option<u64>,
    /// `RX limit` column (3.x).
    pub rx_limit: Option<u64>,
    /// `limit` column (3.x).
    pub limit: Option<u64>,
    /// `accepted` column.
    pub accepted: Option<u64>,
}

/// The 2.x column header, used when a stats row arrives without one.
pub(super) const DEFAULT_STATS_COLUMNS: &[&str] =
    &["received", "rejected", "filtered", "ignored", "accepted"];

/// Stores one `key: value` line of a channel block; unparsable values land in `other`.
pub(super) fn push_channel_value(
    channel: &mut Channel,
    columns: &mut Vec<String>,
    key: &str,
    value: &str,
) {
    let owned = || Some(value.to_string());
    match key {
        "State" => channel.state = owned(),
        "Import state" => channel.import_state = owned(),
        "Export state" => channel.export_state = owned(),
        "Table" => channel.table = owned(),
        "Input filter" => channel.input_filter = owned(),
        "Output filter" => channel.output_filter = owned(),
        "BGP Next hop" => channel.bgp_next_hop = owned(),
        "Preference" if value.parse::<u32>().is_ok() => channel.preference = value.parse().ok(),
        "Routes" if parse_route_counts(value).is_some() => {
            channel.routes = parse_route_counts(value);
        }
        // Columns are separated by runs of spaces; `RX limit` holds a single one.
        "Route change stats" => {
            *columns = value
                .split("  ")
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| name.to_ascii_lowercase().replace(' ', "_"))
                .collect();
        }
        "Import updates" => channel.import_updates = Some(parse_change_stats(columns, value)),
        "Import withdraws" => channel.import_withdraws = Some(parse_change_stats(columns, value)),
        "Export updates" => channel.export_updates = Some(parse_change_stats(columns, value)),
        "Export withdraws" => channel.export_withdraws = Some(parse_change_stats(columns, value)),
        _ => {
            channel.other.insert(key.to_string(), value.to_string());
        }
    }
}

/// Parses `3 imported, 1 filtered, 2 exported, 3 preferred`; `None` if no count is recognised.
fn parse_route_counts(value: &str) -> Option<RouteCounts> {
    let mut counts = RouteCounts::default();
    let mut recognised = false;
    for part in value.split(',') {
        let mut words = part.split_whitespace();
        let (Some(number), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse() else {
            continue;
        };
        let slot = match kind {
            "imported" => &mut counts.imported,
            "filtered" => &mut counts.filtered,
            "exported" => &mut counts.exported,
            "preferred" => &mut counts.preferred,
            _ => continue,
        };
        *slot = number;
        recognised = true;
    }
    recognised.then_some(counts)
}

/// Maps a stats row's values onto the header's column names.
fn parse_change_stats(columns: &[String], value: &str) -> ChangeStats {
    let mut stats = ChangeStats::default();
    for (column, cell) in columns.iter().zip(value.split_whitespace()) {
        let number = cell.parse().ok();
        match column.as_str() {
            "received" => stats.received = number,
            "rejected" => stats.rejected = number,
            "filtered" => stats.filtered = number,
            "ignored" => stats.ignored = number,
            "rx_limit" => stats.rx_limit = number,
            "limit" => stats.limit = number,
            "accepted" => stats.accepted = number,
            _ => {}
        }
    }
    stats
}
