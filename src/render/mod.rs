//! Plan → BIRD 2 config text.
//!
//! Owns: the render view ([`view`]: every value decided, sorted and made safe for BIRD config
//! in Rust), and the tera templates that print it ([`templates`]: the built-in ones compiled
//! into the binary, or an operator's directory). Templates use strict variables: a missing
//! value is an error, never an empty string.
//! [`blocks`] traces a line of the rendered text back to its `protocol bgp` session (for
//! BIRD's refusals).
//! Must not: plan, touch BIRD, or write files.

pub(crate) mod blocks;
pub(crate) mod templates;
pub(crate) mod view;

use thiserror::Error;

use crate::plan::Plan;
use crate::snapshot::Snapshot;

pub use templates::Templates;
pub use view::{View, build as build_view};

/// The name of the main template (and of the file BIRD reads).
pub const MAIN_TEMPLATE: &str = "bird.cfg";

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

/// Renders `plan` (planned from `snapshot`) with `templates`.
pub fn render(
    plan: &Plan,
    snapshot: &Snapshot,
    templates: &Templates,
) -> Result<String, RenderError> {
    templates.render(&view::build(plan, snapshot))
}
