//! Framing of BIRD control-socket replies.
//!
//! Every line BIRD sends has one of four forms (without the trailing `\n`):
//!
//! * `DDDD-text` — a line with code `DDDD`; more lines follow;
//! * `␠text` — a continuation: same code as the previous line (exactly one byte is stripped,
//!   the text itself may start with spaces or a TAB);
//! * `DDDD text` — the final line of a reply, whatever the code;
//! * `+text` — an asynchronous message (log echo, undo timer), not part of any reply.
//!
//! This module is pure: it turns lines into [`Reply`] values and knows nothing about sockets.

use std::collections::VecDeque;

use thiserror::Error;

/// Longest reply line accepted, in bytes. BIRD itself never sends more than 512.
pub const MAX_LINE_LEN: usize = 16 * 1024;

/// Most async lines kept by an [`Assembler`]; older ones are dropped first.
pub const MAX_ASYNC_LINES: usize = 1024;

/// A malformed line or byte stream from BIRD.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplyError {
    /// A line matched none of the four reply-line forms.
    #[error("malformed reply line {line:?}: {reason}")]
    Malformed {
        /// The line, without its newline.
        line: String,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A continuation line arrived before any coded line.
    #[error("continuation line {line:?} arrived before any reply code")]
    OrphanContinuation {
        /// The line, without its newline.
        line: String,
    },
    /// A line was longer than [`MAX_LINE_LEN`].
    #[error("reply line longer than {MAX_LINE_LEN} bytes")]
    LineTooLong,
    /// The greeting was not `0001 BIRD <version> ready.`.
    #[error("unexpected greeting {line:?} (expected \"0001 BIRD <version> ready.\")")]
    Greeting {
        /// The line received instead.
        line: String,
    },
    /// The bytes ended before the final line of the reply.
    #[error("reply ended before its final line")]
    Incomplete,
    /// More reply lines followed the final line.
    #[error("unexpected data after the final line: {line:?}")]
    TrailingData {
        /// The first extra line.
        line: String,
    },
}

/// One line of a reply, with the continuation resolved to its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    /// The reply code (`1002`, `0013`, `8002`, …).
    pub code: u16,
    /// The text after the code and separator (or after the single continuation space).
    pub text: String,
}

/// A complete reply: every line up to and including the final `DDDD text` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply's lines in order; the last one is the final line.
    pub lines: Vec<ReplyLine>,
}

impl Reply {
    /// The code of the final line (`0` for an empty reply, which the assembler never builds).
    pub fn final_code(&self) -> u16 {
        self.lines.last().map_or(0, |line| line.code)
    }

    /// The text of the final line (empty for an empty reply).
    pub fn final_text(&self) -> &str {
        self.lines.last().map_or("", |line| line.text.as_str())
    }

    /// True when the final code is a run-time (8xxx) or parse (9xxx) error.
    pub fn is_error(&self) -> bool {
        self.final_code() >= 8000
    }

    /// The texts of all lines with the given code, in order.
    pub fn lines_with(&self, code: u16) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .filter(move |line| line.code == code)
            .map(|line| line.text.as_str())
    }

    /// Parses exactly one complete reply from raw socket bytes (greeting excluded).
    ///
    /// Asynchronous `+` lines are skipped; anything but async lines after the final line is an
    /// error, and so is a missing final line.
    pub fn from_bytes(bytes: &[u8]) -> Result<Reply, ReplyError> {
        let mut assembler = Assembler::new();
        let mut reply = None;
        for raw in bytes.split_inclusive(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(raw);
            if reply.is_some() {
                match classify(&line)? {
                    Line::Async(_) => continue,
                    _ => {
                        return Err(ReplyError::TrailingData {
                            line: line.trim_end_matches('\n').to_string(),
                        });
                    }
                }
            }
            reply = assembler.push_line(&line)?;
        }
        reply.ok_or(ReplyError::Incomplete)
    }
}

/// A classified reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `DDDD-text` (`last == false`) or `DDDD text` (`last == true`).
    Coded {
        /// The four-digit code.
        code: u16,
        /// The text after the separator.
        text: String,
        /// True for the final line (`DDDD text`).
        last: bool,
    },
    /// `␠text`: the text after the single leading space.
    Continuation(String),
    /// `+text`: an asynchronous message, text after the `+`.
    Async(String),
}

/// Classifies one line (one trailing `\n` is ignored, nothing else is trimmed).
///
/// A line of exactly four digits is tolerated as a final line with empty text.
pub fn classify(line: &str) -> Result<Line, ReplyError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.len() > MAX_LINE_LEN {
        return Err(ReplyError::LineTooLong);
    }
    let malformed = |reason| ReplyError::Malformed {
        line: line.to_string(),
        reason,
    };
    let bytes = line.as_bytes();
    match bytes.first() {
        None => Err(malformed("empty line")),
        Some(b' ') => Ok(Line::Continuation(line[1..].to_string())),
        Some(b'+') => Ok(Line::Async(line[1..].to_string())),
        Some(_) => {
            if bytes.len() < 4 || !bytes[..4].iter().all(u8::is_ascii_digit) {
                return Err(malformed("expected a four-digit code, a space or '+'"));
            }
            let code = bytes[..4]
                .iter()
                .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0'));
            let last = match bytes.get(4) {
                None | Some(b' ') => true,
                Some(b'-') => false,
                Some(_) => return Err(malformed("expected '-' or ' ' after the code")),
            };
            let text = line.get(5..).unwrap_or("").to_string();
            Ok(Line::Coded { code, text, last })
        }
    }
}

/// Extracts the version from the greeting text or line, e.g. `0001 BIRD 2.0.12 ready.` → `2.0.12`.
///
/// Accepts the whole line or just its text (`BIRD 2.0.12 ready.`).
pub fn parse_greeting(line: &str) -> Result<String, ReplyError> {
    let trimmed = line.trim_end_matches(['\n', '\r']);
    let text = trimmed.strip_prefix("0001 ").unwrap_or(trimmed);
    text.strip_prefix("BIRD ")
        .and_then(|rest| rest.strip_suffix(" ready."))
        .filter(|version| !version.is_empty() && !version.contains(char::is_whitespace))
        .map(str::to_string)
        .ok_or_else(|| ReplyError::Greeting {
            line: trimmed.to_string(),
        })
}

/// Builds [`Reply`] values from lines fed one at a time; collects async lines on the side.
///
/// The code of the last coded line is kept across replies, so a reply that starts with a
/// continuation line (a BIRD 1.6 quirk) takes the previous reply's final code.
#[derive(Debug, Default)]
pub struct Assembler {
    pending: Vec<ReplyLine>,
    last_code: Option<u16>,
    async_lines: VecDeque<String>,
}

impl Assembler {
    /// An assembler with no reply in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one line; returns the reply when `line` was its final line.
    ///
    /// On error the partial reply is kept; call [`Assembler::discard_partial`] to drop it.
    pub fn push_line(&mut self, line: &str) -> Result<Option<Reply>, ReplyError> {
        match classify(line)? {
            Line::Async(text) => {
                if self.async_lines.len() >= MAX_ASYNC_LINES {
                    self.async_lines.pop_front();
                }
                self.async_lines.push_back(text);
                Ok(None)
            }
            Line::Continuation(text) => {
                let code = self
                    .last_code
                    .ok_or_else(|| ReplyError::OrphanContinuation {
                        line: line.trim_end_matches('\n').to_string(),
                    })?;
                self.pending.push(ReplyLine { code, text });
                Ok(None)
            }
            Line::Coded { code, text, last } => {
                self.last_code = Some(code);
                self.pending.push(ReplyLine { code, text });
                if last {
                    let lines = std::mem::take(&mut self.pending);
                    Ok(Some(Reply { lines }))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// True when no reply is partially assembled.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Drops a partially assembled reply (after an error on the connection).
    pub fn discard_partial(&mut self) {
        self.pending.clear();
    }

    /// Returns and clears the async (`+`) lines seen so far (at most [`MAX_ASYNC_LINES`], the
    /// newest), without the `+`.
    pub fn take_async_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.async_lines).into()
    }
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
