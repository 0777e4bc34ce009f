//! What the parsers share: the error type and line helpers.

use thiserror::Error;

use super::super::reply::Reply;

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
pub(super) fn check_final(
    reply: &Reply,
    command: &'static str,
    expected: &[u16],
) -> Result<(), ParseError> {
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
pub(super) fn split_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// Splits `key: value` at the first `:`, trimming both; `None` without a `:`.
pub(super) fn split_key_value(s: &str) -> Option<(&str, &str)> {
    let (key, value) = s.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// Number of leading spaces and TABs.
pub(super) fn indent_of(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}
