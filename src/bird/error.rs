//! Errors of the BIRD control-socket client. Every message names the socket path.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use super::parse::ParseError;
use super::reply::ReplyError;

/// A failure talking to BIRD over its control socket.
#[derive(Debug, Error)]
pub enum BirdError {
    /// ENOENT: the socket file does not exist (BIRD is not running, or another `-s` path).
    #[error("bird control socket {}: not found (is BIRD running?)", .path.display())]
    NotFound {
        /// The control socket path.
        path: PathBuf,
    },
    /// EACCES: the socket is mode 0660, owned by BIRD's user and group.
    #[error(
        "bird control socket {}: permission denied (perch must be in BIRD's group)",
        .path.display()
    )]
    PermissionDenied {
        /// The control socket path.
        path: PathBuf,
    },
    /// ECONNREFUSED: a socket file is left behind but nothing listens (e.g. after `kill -9`).
    #[error(
        "bird control socket {}: connection refused (stale socket: BIRD is not running)",
        .path.display()
    )]
    ConnectionRefused {
        /// The control socket path.
        path: PathBuf,
    },
    /// Any other `connect()` failure.
    #[error("bird control socket {}: cannot connect: {source}", .path.display())]
    Connect {
        /// The control socket path.
        path: PathBuf,
        /// The `connect()` error.
        #[source]
        source: io::Error,
    },
    /// No complete answer within the time limit; the connection is unusable afterwards.
    #[error(
        "bird control socket {}: timed out after {} waiting for {waiting_for}",
        .path.display(),
        format_duration(*.after)
    )]
    Timeout {
        /// The control socket path.
        path: PathBuf,
        /// The time limit that expired.
        after: Duration,
        /// `the greeting` or `reply to "<command>"`.
        waiting_for: String,
    },
    /// BIRD closed the connection before the final line.
    #[error(
        "bird control socket {}: connection closed by BIRD while waiting for {waiting_for}",
        .path.display()
    )]
    Closed {
        /// The control socket path.
        path: PathBuf,
        /// `the greeting` or `reply to "<command>"`.
        waiting_for: String,
    },
    /// A read or write failed.
    #[error(
        "bird control socket {}: i/o error while waiting for {waiting_for}: {source}",
        .path.display()
    )]
    Io {
        /// The control socket path.
        path: PathBuf,
        /// `the greeting` or `reply to "<command>"`.
        waiting_for: String,
        /// The read or write error.
        #[source]
        source: io::Error,
    },
    /// BIRD sent something that is not a reply line (or a bad greeting).
    #[error(
        "bird control socket {}: malformed data while waiting for {waiting_for}: {source}",
        .path.display()
    )]
    Protocol {
        /// The control socket path.
        path: PathBuf,
        /// `the greeting` or `reply to "<command>"`.
        waiting_for: String,
        /// What was wrong with the data.
        #[source]
        source: ReplyError,
    },
    /// The command was not sent: it would hang or break the session.
    #[error(
        "bird control socket {}: refusing to send command {command:?}: {reason}",
        .path.display()
    )]
    InvalidCommand {
        /// The control socket path.
        path: PathBuf,
        /// The refused command (first 80 characters).
        command: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An earlier timeout or failure left the session mid-reply; reconnect.
    #[error(
        "bird control socket {}: connection unusable after an earlier failure (reconnect)",
        .path.display()
    )]
    Unusable {
        /// The control socket path.
        path: PathBuf,
    },
    /// BIRD answered the command with an 8xxx/9xxx error.
    #[error(
        "bird control socket {}: command {command:?} failed with {code:04}: {message}",
        .path.display()
    )]
    CommandFailed {
        /// The control socket path.
        path: PathBuf,
        /// The command sent.
        command: String,
        /// The final reply code (8xxx or 9xxx).
        code: u16,
        /// The final line's text.
        message: String,
    },
    /// The reply did not have the shape the command should produce.
    #[error("bird control socket {}: cannot parse reply to {command:?}: {source}", .path.display())]
    Parse {
        /// The control socket path.
        path: PathBuf,
        /// The command sent.
        command: String,
        /// What did not parse.
        #[source]
        source: ParseError,
    },
}

impl BirdError {
    /// Maps a `connect()` error to the specific variants operators can act on.
    pub(super) fn from_connect(path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::NotFound => BirdError::NotFound { path },
            io::ErrorKind::PermissionDenied => BirdError::PermissionDenied { path },
            io::ErrorKind::ConnectionRefused => BirdError::ConnectionRefused { path },
            _ => BirdError::Connect { path, source },
        }
    }

    /// True for failures after which the connection cannot be used again.
    pub fn breaks_connection(&self) -> bool {
        matches!(
            self,
            BirdError::Timeout { .. }
                | BirdError::Closed { .. }
                | BirdError::Io { .. }
                | BirdError::Protocol { .. }
                | BirdError::Unusable { .. }
        )
    }
}

/// `10s`, `1.5s`, `250ms`.
fn format_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_socket_and_the_cause() {
        let path = Path::new("/run/bird/bird.ctl");
        let error = |kind: io::ErrorKind| BirdError::from_connect(path, kind.into()).to_string();
        assert_eq!(
            error(io::ErrorKind::NotFound),
            "bird control socket /run/bird/bird.ctl: not found (is BIRD running?)"
        );
        assert_eq!(
            error(io::ErrorKind::PermissionDenied),
            "bird control socket /run/bird/bird.ctl: permission denied (perch must be in BIRD's \
             group)"
        );
        assert_eq!(
            error(io::ErrorKind::ConnectionRefused),
            "bird control socket /run/bird/bird.ctl: connection refused (stale socket: BIRD is \
             not running)"
        );
        let timeout = BirdError::Timeout {
            path: path.into(),
            after: Duration::from_secs(10),
            waiting_for: "reply to \"show status\"".into(),
        };
        assert_eq!(
            timeout.to_string(),
            "bird control socket /run/bird/bird.ctl: timed out after 10s waiting for reply to \
             \"show status\""
        );
        assert!(timeout.breaks_connection());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }
}
