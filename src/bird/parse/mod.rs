//! Pure parsers from a [`Reply`] to typed values.
//!
//! None of them does I/O or reads the clock, and none may panic, whatever the input: malformed
//! input gives a [`ParseError`] or, for optional details, a missing field.

use thiserror::Error;

use super::reply::Reply;

mod channel;
mod config_error;
mod configure;
#[cfg(test)]
mod fuzz_tests;
mod protocol_details;
mod protocols;
mod route;
mod route_count;
mod status;
mod time;

pub use channel::{ChangeStats, Channel, RouteCounts};
pub use config_error::{ConfigErrorAt, parse_config_error};
pub use configure::{
    ConfigureOutcome, ConfigureStatus, ProtocolToggle, ToggleOutcome, parse_configure,
    parse_configure_status, parse_toggle,
};
pub use protocol_details::{BgpDetails, ProtocolDetails, parse_show_protocols_all};
pub use protocols::{ProtocolRow, parse_protocol_row, parse_show_protocols};
pub use route::{RouteEntry, parse_show_route, route_query};
pub use route_count::{RouteCount, RouteTotal, TableRouteCount, parse_show_route_count};
pub use status::{Status, parse_show_status};
pub use time::{BirdDateTime, BirdTime, Date, TimeOfDay, parse_bird_time};

/// A reply that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// BIRD answered with a run-time (8xxx) or parse (9xxx) error.
    #[error("bird answered with error {code}: {message}")]
    ErrorReply {
        /// The final reply code.
        code: u16,
        /// The final line's text.
        message: String,
    },
    /// The reply ended with a code this command never ends with.
    #[error("unexpected final code {code:04} ({text:?}) in reply to {command}")]
    UnexpectedFinal {
        /// The command the parser expected a reply to.
        command: &'static str,
        /// The final reply code.
        code: u16,
        /// The final line's text.
        text: String,
    },
    /// A line could not be parsed.
    #[error("malformed {what} line {line:?}")]
    Malformed {
        /// What kind of line it should have been.
        what: &'static str,
        /// The line's text.
        line: String,
    },
}

/// Fails with [`ParseError::ErrorReply`] for an error reply, and with
/// [`ParseError::UnexpectedFinal`] when `expected` is non-empty and lacks the final code.
fn check_final(reply: &Reply, command: &'static str, expected: &[u16]) -> Result<(), ParseError> {
    if reply.is_error() {
        return Err(ParseError::ErrorReply {
            code: reply.final_code(),
            message: reply.final_text().to_string(),
        });
    }
    if !expected.is_empty() && !expected.contains(&reply.final_code()) {
        return Err(ParseError::UnexpectedFinal {
            command,
            code: reply.final_code(),
            text: reply.final_text().to_string(),
        });
    }
    Ok(())
}

/// Splits off the first whitespace-separated token: `("token", rest after it)`; `None` when
/// `s` holds only whitespace.
fn split_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// Splits `key: value` at the first `:`, trimming both; `None` without a `:`.
fn split_key_value(s: &str) -> Option<(&str, &str)> {
    let (key, value) = s.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// Number of leading spaces and TABs.
fn indent_of(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}
