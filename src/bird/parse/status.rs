//! `show status`: version (1000), uptime lines (1011), optional graceful-restart block (0024),
//! final `0013` with the daemon status.

use serde::Serialize;

use super::super::reply::Reply;
use super::common::{ParseError, check_final};

/// The daemon status from `show status`. Times are kept as printed (`timeformat base`, by default
/// `2026-11-25 19:07:04.100`, local time); parse them with [`super::parse_bird_time`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Version from the 1000 line (`BIRD 2.0.12` → `2.0.12`).
    pub version: Option<String>,
    /// `Router ID is …`.
    pub router_id: Option<String>,
    /// `Hostname is …` (absent in 1.6).
    pub hostname: Option<String>,
    /// `Current server time is …`.
    pub server_time: Option<String>,
    /// `Last reboot on …`.
    pub last_reboot: Option<String>,
    /// `Last reconfiguration on …`; changes when a new config is committed.
    pub last_reconfiguration: Option<String>,
    /// Text of the final 0013 line: `Daemon is up and running`, `Reconfiguration in progress`
    /// or `Shutdown in progress`.
    pub status: String,
    /// A `0024` graceful-restart recovery block was present.
    pub graceful_restart_in_progress: bool,
    /// The block's lines after its heading, trimmed (`Waiting for 1 channels to recover`, …).
    pub graceful_restart_details: Vec<String>,
}

/// Parses a `show status` reply (must end with `0013`).
pub fn parse_show_status(reply: &Reply) -> Result<Status, ParseError> {
    check_final(reply, "show status", &[13])?;
    let mut status = Status {
        status: reply.final_text().trim().to_string(),
        ..Status::default()
    };
    if let Some(line) = reply.lines_with(1000).next() {
        let line = line.trim();
        status.version = Some(line.strip_prefix("BIRD ").unwrap_or(line).to_string());
    }
    let owned = |s: &str| Some(s.trim().to_string());
    for line in reply.lines_with(1011) {
        let line = line.trim();
        if let Some(value) = line.strip_prefix("Router ID is ") {
            status.router_id = owned(value);
        } else if let Some(value) = line.strip_prefix("Hostname is ") {
            status.hostname = owned(value);
        } else if let Some(value) = line.strip_prefix("Current server time is ") {
            status.server_time = owned(value);
        } else if let Some(value) = line.strip_prefix("Last reboot on ") {
            status.last_reboot = owned(value);
        } else if let Some(value) = line.strip_prefix("Last reconfiguration on ") {
            status.last_reconfiguration = owned(value);
        }
    }
    let mut graceful_restart = reply.lines_with(24);
    if graceful_restart.next().is_some() {
        status.graceful_restart_in_progress = true;
        status.graceful_restart_details = graceful_restart
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect();
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::super::super::test_fixtures as fx;
    use super::super::{BirdTime, parse_bird_time};
    use super::*;

    #[test]
    fn parses_the_status_of_a_running_daemon() {
        let status = parse_show_status(&fx::reply(fx::SHOW_STATUS)).unwrap();
        assert_eq!(
            status,
            Status {
                version: Some("2.0.12".into()),
                router_id: Some("10.0.0.1".into()),
                hostname: Some("vm".into()),
                server_time: Some("2026-11-25 19:07:04.100".into()),
                last_reboot: Some("2026-11-25 19:06:47.891".into()),
                last_reconfiguration: Some("2026-11-25 19:06:47.891".into()),
                status: "Daemon is up and running".into(),
                graceful_restart_in_progress: false,
                graceful_restart_details: vec![],
            }
        );
        assert_eq!(status.status, "Daemon is up and running");
        let server_time = parse_bird_time(status.server_time.as_deref().unwrap()).unwrap();
        assert!(matches!(server_time, BirdTime::DateTime(_)));
        assert_eq!(
            server_time.to_rfc3339(0).unwrap(),
            "2026-11-25T19:07:04.100Z"
        );
    }

    #[test]
    fn parses_graceful_restart_recovery() {
        let status = parse_show_status(&fx::reply(fx::SHOW_STATUS_GR)).unwrap();
        assert_eq!(status.router_id.as_deref(), Some("10.0.0.2"));
        assert!(status.graceful_restart_in_progress);
        assert_eq!(
            status.graceful_restart_details,
            [
                "Waiting for 1 channels to recover",
                "Wait timer is 239.389/240"
            ]
        );
        assert_eq!(status.status, "Daemon is up and running");
    }

    #[test]
    fn parses_a_bird_1_6_status_and_reconfiguration() {
        let reply = Reply::from_bytes(
            b"1000-BIRD 1.6.8\n1011-Router ID is 192.0.2.1\n Current server time is 2026-11-25 \
              19:07:04\n Last reboot on 2026-11-25 19:06:47\n Last reconfiguration on 2026-11-25 \
              19:06:47\n0013 Reconfiguration in progress\n",
        )
        .unwrap();
        let status = parse_show_status(&reply).unwrap();
        assert_eq!(status.version.as_deref(), Some("1.6.8"));
        assert_eq!(status.hostname, None);
        assert_eq!(status.last_reboot.as_deref(), Some("2026-11-25 19:06:47"));
        assert_eq!(status.status, "Reconfiguration in progress");
    }

    #[test]
    fn rejects_other_replies() {
        assert!(matches!(
            parse_show_status(&fx::reply(fx::SHOW_PROTOCOLS)),
            Err(ParseError::UnexpectedFinal { code: 0, .. })
        ));
        assert!(matches!(
            parse_show_status(&fx::reply(fx::ACCESS_DENIED)),
            Err(ParseError::ErrorReply { code: 8007, .. })
        ));
    }
}
