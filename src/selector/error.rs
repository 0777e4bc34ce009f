//! Why a selector could not be parsed.

/// Why a selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct SelectorError {
    /// 0-based char (not byte) index of the offending token in the text.
    pub position: usize,
    /// What was expected and what was found, in lowercase.
    pub message: String,
}
