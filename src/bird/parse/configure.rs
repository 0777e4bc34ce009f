//! Replies of `configure …` and of the per-protocol commands `enable`, `disable`, `restart`,
//! `reload`.

use serde::Serialize;

use super::super::reply::Reply;
use super::common::{ParseError, check_final};

/// What a `configure` command did, from its final code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ConfigureOutcome {
    /// `0003 Reconfigured`: the new config is active (also after `configure undo`).
    Reconfigured,
    /// `0004 Reconfiguration in progress`: some protocols restart; poll `show status`.
    /// The usual answer in BIRD 3.
    InProgress,
    /// `0005 Reconfiguration already in progress, queueing new config`.
    Queued,
    /// `0018 Reconfiguration confirmed` (`configure confirm` with an undo timer running).
    Confirmed,
    /// `0019 Nothing to do` (`configure confirm` without a timer, `configure undo` with nothing
    /// to undo).
    NothingToDo,
    /// `0020 Configuration OK` (`configure check`).
    Ok,
    /// `0022-Undo scheduled in N s` followed by `0003`/`0004` (`configure timeout`): applied,
    /// and reverted unless confirmed in time. `in_progress` is true for a final `0004`.
    UndoScheduled {
        /// The 0022 line, e.g. `Undo scheduled in 5 s`.
        message: String,
        /// The final code was 0004 rather than 0003.
        in_progress: bool,
    },
    /// A run-time or parse error, e.g. `8002 a/bird.conf:4:3 syntax error, …` (the running
    /// config is unchanged) or `8007 Access denied`.
    Error {
        /// The final reply code.
        code: u16,
        /// The final line's text.
        message: String,
    },
    /// A success-class code no `configure` command is documented to end with (e.g. `0006`,
    /// ignored while shutting down).
    Unexpected {
        /// The final reply code.
        code: u16,
        /// The final line's text.
        message: String,
    },
}

impl ConfigureOutcome {
    /// True when the command did what was asked (including `NothingToDo` and queued or
    /// in-progress reconfigurations).
    pub fn is_success(&self) -> bool {
        !matches!(self, Self::Error { .. } | Self::Unexpected { .. })
    }

    /// True when a reconfiguration is still running: poll `show status` until it reports
    /// `Daemon is up and running`.
    pub fn needs_polling(&self) -> bool {
        matches!(
            self,
            Self::InProgress
                | Self::Queued
                | Self::UndoScheduled {
                    in_progress: true,
                    ..
                }
        )
    }
}

/// Interprets the reply of any `configure` command (never fails: unknown codes become
/// [`ConfigureOutcome::Unexpected`]).
pub fn parse_configure(reply: &Reply) -> ConfigureOutcome {
    let code = reply.final_code();
    let message = reply.final_text().to_string();
    if reply.is_error() {
        return ConfigureOutcome::Error { code, message };
    }
    if let Some(undo) = reply.lines_with(22).next()
        && matches!(code, 3 | 4)
    {
        return ConfigureOutcome::UndoScheduled {
            message: undo.trim().to_string(),
            in_progress: code == 4,
        };
    }
    match code {
        3 => ConfigureOutcome::Reconfigured,
        4 => ConfigureOutcome::InProgress,
        5 => ConfigureOutcome::Queued,
        18 => ConfigureOutcome::Confirmed,
        19 => ConfigureOutcome::NothingToDo,
        20 => ConfigureOutcome::Ok,
        _ => ConfigureOutcome::Unexpected { code, message },
    }
}

/// The reply of `configure status` (BIRD 2.0+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigureStatus {
    /// The status line, e.g. `Daemon is up and running`.
    pub status: String,
    /// The pending undo, e.g. `Configuration unconfirmed, undo in 3.997 s`.
    pub undo_pending: Option<String>,
}

/// Parses a `configure status` reply.
pub fn parse_configure_status(reply: &Reply) -> Result<ConfigureStatus, ParseError> {
    check_final(reply, "configure status", &[0])?;
    let status = reply
        .lines
        .iter()
        .find(|line| line.code != 22 && !line.text.trim().is_empty())
        .map(|line| line.text.trim().to_string())
        .ok_or_else(|| ParseError::Malformed {
            what: "configure status",
            line: reply.final_text().to_string(),
        })?;
    let undo_pending = reply.lines_with(22).next().map(|s| s.trim().to_string());
    Ok(ConfigureStatus {
        status,
        undo_pending,
    })
}

/// What happened to one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToggleOutcome {
    /// `0008 …: already disabled`.
    AlreadyDisabled,
    /// `0009 …: disabled`.
    Disabled,
    /// `0010 …: already enabled`.
    AlreadyEnabled,
    /// `0011 …: enabled`.
    Enabled,
    /// `0012 …: restarted`.
    Restarted,
    /// `0015 …: reloading`.
    Reloading,
}

/// One protocol line of an `enable`/`disable`/`restart`/`reload` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolToggle {
    /// The protocol name as BIRD printed it.
    pub protocol: String,
    /// What happened to it.
    pub outcome: ToggleOutcome,
}

/// Parses the per-protocol lines of an `enable`/`disable`/`restart`/`reload` reply.
///
/// An error reply (`8003 No protocols match`, `9001 …`) is a [`ParseError::ErrorReply`].
pub fn parse_toggle(reply: &Reply) -> Result<Vec<ProtocolToggle>, ParseError> {
    check_final(reply, "enable/disable", &[])?;
    let mut toggles = Vec::new();
    for line in &reply.lines {
        let outcome = match line.code {
            8 => ToggleOutcome::AlreadyDisabled,
            9 => ToggleOutcome::Disabled,
            10 => ToggleOutcome::AlreadyEnabled,
            11 => ToggleOutcome::Enabled,
            12 => ToggleOutcome::Restarted,
            15 => ToggleOutcome::Reloading,
            _ => continue,
        };
        let protocol = line
            .text
            .rsplit_once(": ")
            .map(|(name, _)| name.trim().to_string())
            .ok_or_else(|| ParseError::Malformed {
                what: "protocol action",
                line: line.text.clone(),
            })?;
        toggles.push(ProtocolToggle { protocol, outcome });
    }
    Ok(toggles)
}

#[cfg(test)]
mod tests {
    use super::super::super::test_fixtures as fx;
    use super::*;

    fn outcome(bytes: &[u8]) -> ConfigureOutcome {
        parse_configure(&fx::reply(bytes))
    }

    #[test]
    fn maps_every_captured_configure_reply() {
        assert_eq!(
            outcome(fx::CONFIGURE_RECONFIGURED),
            ConfigureOutcome::Reconfigured
        );
        assert_eq!(
            outcome(fx::CONFIGURE_IN_PROGRESS),
            ConfigureOutcome::InProgress
        );
        assert_eq!(outcome(fx::CONFIGURE_CHECK_OK), ConfigureOutcome::Ok);
        assert_eq!(outcome(fx::CONFIGURE_CONFIRM), ConfigureOutcome::Confirmed);
        assert_eq!(
            outcome(fx::CONFIGURE_CONFIRM_NOTHING),
            ConfigureOutcome::NothingToDo
        );
        assert_eq!(outcome(fx::CONFIGURE_UNDO), ConfigureOutcome::Reconfigured);
        assert_eq!(
            outcome(fx::CONFIGURE_UNDO_NOTHING),
            ConfigureOutcome::NothingToDo
        );
        assert_eq!(
            outcome(fx::CONFIGURE_TIMEOUT),
            ConfigureOutcome::UndoScheduled {
                message: "Undo scheduled in 5 s".into(),
                in_progress: false
            }
        );
        assert_eq!(
            outcome(fx::CONFIGURE_BROKEN),
            ConfigureOutcome::Error {
                code: 8002,
                message: "a/bird.conf:4:3 syntax error, unexpected NEIGHBOR, expecting PORT or \
                          ';' or AS"
                    .into()
            }
        );
        assert_eq!(
            outcome(fx::CONFIGURE_CHECK_BAD),
            ConfigureOutcome::Error {
                code: 8002,
                message: "bad_noneighbor.conf:5:1 Neighbor must be configured".into()
            }
        );
        assert!(matches!(
            outcome(fx::CONFIGURE_CHECK_MISSING),
            ConfigureOutcome::Error { code: 8002, .. }
        ));
        assert!(matches!(
            outcome(fx::ACCESS_DENIED),
            ConfigureOutcome::Error { code: 8007, .. }
        ));
        let shutting_down = Reply::from_bytes(b"0006 Reconfiguration ignored, shutting down\n");
        assert!(!parse_configure(&shutting_down.unwrap()).is_success());
    }

    #[test]
    fn success_and_polling() {
        assert!(ConfigureOutcome::Reconfigured.is_success());
        assert!(!ConfigureOutcome::Reconfigured.needs_polling());
        assert!(ConfigureOutcome::InProgress.needs_polling());
        assert!(ConfigureOutcome::Queued.needs_polling());
        assert!(!outcome(fx::CONFIGURE_BROKEN).is_success());
    }

    #[test]
    fn parses_configure_status() {
        let plain = parse_configure_status(&fx::reply(fx::CONFIGURE_STATUS)).unwrap();
        assert_eq!(plain.status, "Daemon is up and running");
        assert_eq!(plain.undo_pending, None);
        let pending = parse_configure_status(&fx::reply(fx::CONFIGURE_STATUS_UNCONFIRMED)).unwrap();
        assert_eq!(
            pending.undo_pending.as_deref(),
            Some("Configuration unconfirmed, undo in 3.997 s")
        );
    }

    #[test]
    fn parses_enable_and_disable() {
        let toggles = |bytes| parse_toggle(&fx::reply(bytes)).unwrap();
        let expect = |outcome| {
            vec![ProtocolToggle {
                protocol: "peer_b".into(),
                outcome,
            }]
        };
        assert_eq!(toggles(fx::DISABLE), expect(ToggleOutcome::Disabled));
        assert_eq!(
            toggles(fx::DISABLE_ALREADY),
            expect(ToggleOutcome::AlreadyDisabled)
        );
        assert_eq!(toggles(fx::ENABLE), expect(ToggleOutcome::Enabled));
        assert_eq!(
            toggles(fx::ENABLE_ALREADY),
            expect(ToggleOutcome::AlreadyEnabled)
        );
        assert_eq!(
            toggles(fx::RESTART_WITH_ECHO)[0].outcome,
            ToggleOutcome::Restarted
        );
        assert_eq!(
            parse_toggle(&fx::reply(fx::DISABLE_NOMATCH)),
            Err(ParseError::ErrorReply {
                code: 8003,
                message: "No protocols match".into()
            })
        );
    }
}
