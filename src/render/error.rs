//! Why rendering failed.

use thiserror::Error;

/// Why BIRD config could not be rendered.
#[derive(Debug, Error)]
pub enum RenderError {
    /// The templates could not be read (unreadable directory or file, no `bird.cfg`).
    #[error("template directory {dir}: {message}")]
    Load {
        /// The template directory.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// The templates do not parse, or rendering failed.
    #[error("template {template}: {message}")]
    Template {
        /// The template's name (the directory when parsing failed).
        template: String,
        /// tera's error and its causes.
        message: String,
    },
}
