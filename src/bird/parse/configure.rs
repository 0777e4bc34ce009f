//! Replies of `configure …`.

use serde::Serialize;

use super::super::reply::Reply;

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
        assert!(matches!(
            parse_configure(&shutting_down.unwrap()),
            ConfigureOutcome::Unexpected { .. }
        ));
    }
}
