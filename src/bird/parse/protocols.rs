//! `show protocols`: one row (code 1002) per protocol.
//!
//! Row layout (2.x/3.x): `"%-10s %-10s %-10s %-6s %-12s  %s"` of Name, Proto, Table, State,
//! Since, Info. Widths are minimums, so rows are split on whitespace; an `iso long` Since
//! (`2026-11-25 19:06:52`) spans two tokens and is joined again.

use serde::Serialize;

use super::super::reply::Reply;
use super::common::{ParseError, check_final, split_token};
use super::time::{BirdTime, parse_bird_time};

/// One `show protocols` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolRow {
    /// Protocol name (`peer_b`).
    pub name: String,
    /// Protocol type (`BGP`, `Device`, `Kernel`, …).
    pub proto: String,
    /// Table, or `---` when the protocol has no single main channel (always for BGP in 2.x).
    pub table: String,
    /// `up`, `start`, `stop`, `down`, `flush` (1.6 also `wait`, `feed`); only `up` means up.
    pub state: String,
    /// The Since column as printed (see [`parse_bird_time`]).
    pub since: String,
    /// The Info column, inner spacing kept, surrounding whitespace trimmed.
    pub info: String,
    /// BGP only: the session state from Info (`Established`, `Active`, …); `None` when the
    /// protocol is `down`/`flush` (Info then holds only the last error) or Info is empty.
    pub bgp_state: Option<String>,
    /// BGP only: the last error from Info, `<class><message>` such as
    /// `BGP Error: Bad peer AS` or `Socket: Connection refused`.
    pub last_error: Option<String>,
}

impl ProtocolRow {
    /// True for BGP protocols.
    pub fn is_bgp(&self) -> bool {
        self.proto == "BGP"
    }
}

/// True when `token` is a `YYYY-MM-DD` date and `next` a time of day (an `iso long` Since).
fn is_split_datetime(token: &str, next: &str) -> bool {
    matches!(parse_bird_time(token), Some(BirdTime::Date(_)))
        && matches!(parse_bird_time(next), Some(BirdTime::TimeOfDay(_)))
}

/// Parses the text of one row (code and separator already removed).
pub fn parse_protocol_row(text: &str) -> Result<ProtocolRow, ParseError> {
    let malformed = || ParseError::Malformed {
        what: "show protocols row",
        line: text.to_string(),
    };
    let (name, rest) = split_token(text).ok_or_else(malformed)?;
    let (proto, rest) = split_token(rest).ok_or_else(malformed)?;
    let (table, rest) = split_token(rest).ok_or_else(malformed)?;
    let (state, rest) = split_token(rest).ok_or_else(malformed)?;
    let (mut since, mut rest) = split_token(rest)
        .map(|(since, rest)| (since.to_string(), rest))
        .ok_or_else(malformed)?;
    if let Some((time, after)) = split_token(rest)
        && is_split_datetime(&since, time)
    {
        since = format!("{since} {time}");
        rest = after;
    }
    let info = rest.trim().to_string();
    let (bgp_state, last_error) = if proto == "BGP" {
        split_bgp_info(state, &info)
    } else {
        (None, None)
    };
    Ok(ProtocolRow {
        name: name.to_string(),
        proto: proto.to_string(),
        table: table.to_string(),
        state: state.to_string(),
        since,
        info,
        bgp_state,
        last_error,
    })
}

/// Splits a BGP Info column into (BGP state, last error).
///
/// When the protocol is not down the Info is `"%-14s%s"` of the state and the error; when it is
/// `down` or `flush` the Info is only the error.
fn split_bgp_info(protocol_state: &str, info: &str) -> (Option<String>, Option<String>) {
    let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if matches!(protocol_state, "down" | "flush") {
        return (None, non_empty(info));
    }
    match split_token(info) {
        Some((state, error)) => (Some(state.to_string()), non_empty(error)),
        None => (None, None),
    }
}

/// Parses a `show protocols` reply: every 1002 line is a row; the 2002 header is skipped.
pub fn parse_show_protocols(reply: &Reply) -> Result<Vec<ProtocolRow>, ParseError> {
    check_final(reply, "show protocols", &[])?;
    reply.lines_with(1002).map(parse_protocol_row).collect()
}

#[cfg(test)]
mod tests {
    use super::super::super::test_fixtures as fx;
    use super::*;

    fn rows(bytes: &[u8]) -> Vec<ProtocolRow> {
        parse_show_protocols(&fx::reply(bytes)).unwrap()
    }

    fn find<'a>(rows: &'a [ProtocolRow], name: &str) -> &'a ProtocolRow {
        rows.iter().find(|row| row.name == name).unwrap()
    }

    #[test]
    fn parses_every_bgp_state() {
        let rows = rows(fx::SHOW_PROTOCOLS);
        assert_eq!(rows.len(), 12);
        let device = &rows[0];
        assert_eq!(
            (
                device.name.as_str(),
                device.proto.as_str(),
                device.table.as_str()
            ),
            ("device1", "Device", "---")
        );
        assert_eq!(
            (device.since.as_str(), device.info.as_str()),
            ("19:06:47.891", "")
        );
        assert_eq!(device.bgp_state, None);
        assert_eq!(find(&rows, "kernel1").table, "master4");

        let peer_b = find(&rows, "peer_b");
        assert!(peer_b.state == "up" && peer_b.is_bgp());
        assert_eq!(peer_b.since, "19:06:52.201");
        assert_eq!(peer_b.info, "Established");
        assert_eq!(peer_b.bgp_state.as_deref(), Some("Established"));
        assert_eq!(peer_b.last_error, None);

        let refused = find(&rows, "peer_refused");
        assert_eq!(refused.state, "start");
        assert_eq!(refused.info, "Active        Socket: Connection refused");
        assert_eq!(refused.bgp_state.as_deref(), Some("Active"));
        assert_eq!(
            refused.last_error.as_deref(),
            Some("Socket: Connection refused")
        );

        let badas = find(&rows, "peer_badas");
        assert_eq!(badas.bgp_state.as_deref(), Some("Idle"));
        assert_eq!(badas.last_error.as_deref(), Some("BGP Error: Bad peer AS"));

        let disabled = find(&rows, "peer_disabled");
        assert_eq!(
            (disabled.state.as_str(), disabled.bgp_state.as_deref()),
            ("down", None)
        );
        assert_eq!(disabled.last_error, None);

        for (name, state) in [
            ("peer_passive", "Passive"),
            ("peer_opensent", "OpenSent"),
            ("peer_openconfirm", "OpenConfirm"),
            ("peer_connect", "Connect"),
        ] {
            let row = find(&rows, name);
            assert_eq!(row.bgp_state.as_deref(), Some(state), "{name}");
            assert_eq!(row.last_error, None, "{name}");
            assert_ne!(row.state, "up");
        }
    }

    #[test]
    fn joins_iso_long_since() {
        let rows = rows(fx::SHOW_PROTOCOLS_ISOLONG);
        assert_eq!(rows.len(), 12);
        let peer_b = find(&rows, "peer_b");
        assert_eq!(peer_b.since, "2026-11-25 19:06:52");
        assert_eq!(peer_b.bgp_state.as_deref(), Some("Established"));
        let badas = find(&rows, "peer_badas");
        assert_eq!(badas.since, "2026-11-25 19:06:51");
        assert_eq!(badas.info, "Idle          BGP Error: Bad peer AS");
        assert_eq!(find(&rows, "device1").info, "");
        assert_eq!(
            parse_bird_time(&peer_b.since)
                .unwrap()
                .to_rfc3339(0)
                .unwrap(),
            "2026-11-25T19:06:52Z"
        );
    }

    #[test]
    fn keeps_epoch_since() {
        let rows = rows(fx::SHOW_PROTOCOLS_EPOCH);
        let peer_b = find(&rows, "peer_b");
        assert_eq!(peer_b.since, "1795633612");
        assert_eq!(
            parse_bird_time(&peer_b.since),
            Some(BirdTime::Epoch(1_795_633_612))
        );
        assert_eq!(find(&rows, "peer_disabled").since, "1795633627");
        assert_eq!(
            find(&rows, "peer_refused").last_error.as_deref(),
            Some("Socket: Connection refused")
        );
    }

    #[test]
    fn default_since_is_a_time_of_day() {
        let rows = rows(fx::SHOW_PROTOCOLS);
        assert!(matches!(
            parse_bird_time(&rows[0].since),
            Some(BirdTime::TimeOfDay(_))
        ));
    }

    #[test]
    fn parses_other_row_shapes() {
        let flush =
            parse_protocol_row("peer_b     BGP        ---        flush  19:00:28.861  ").unwrap();
        assert_eq!((flush.bgp_state, flush.last_error), (None, None));
        let down = parse_protocol_row(
            "peer_a     BGP        ---        down   19:00:28.861  Received: Peer de-configured",
        )
        .unwrap();
        assert_eq!(
            down.last_error.as_deref(),
            Some("Received: Peer de-configured")
        );
        let v16 = parse_protocol_row(
            "R194_42  BGP      T65001_nada_co_ripe up     2018-05-31 15:38:40  Established",
        )
        .unwrap();
        assert_eq!(v16.table, "T65001_nada_co_ripe");
        assert_eq!(v16.since, "2018-05-31 15:38:40");
        assert_eq!(v16.bgp_state.as_deref(), Some("Established"));
        let date_only = parse_protocol_row("kernel1 Kernel master4 up 2026-11-24  ").unwrap();
        assert_eq!(
            (date_only.since.as_str(), date_only.info.as_str()),
            ("2026-11-24", "")
        );
        assert!(matches!(
            parse_protocol_row("peer_b BGP --- up"),
            Err(ParseError::Malformed { .. })
        ));
    }

    #[test]
    fn error_replies_are_errors() {
        assert_eq!(
            parse_show_protocols(&fx::reply(fx::SYNTAX_ERROR)),
            Err(ParseError::ErrorReply {
                code: 9001,
                message: "syntax error, unexpected CF_SYM_UNDEFINED, expecting END or \
                          CF_SYM_KNOWN or TEXT or ALL"
                    .into()
            })
        );
    }
}
