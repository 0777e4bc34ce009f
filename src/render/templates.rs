//! Loading and running tera templates: the built-in set, or a directory that overrides it.

use std::path::{Path, PathBuf};

use tera::{Context, Tera};

use super::error::RenderError;
use super::view::View;

/// The name of the main template (and of the file BIRD reads).
pub const MAIN_TEMPLATE: &str = "bird.cfg";

/// The built-in templates, compiled into the binary.
const BUILTIN: &[(&str, &str)] = &[(MAIN_TEMPLATE, include_str!("../../templates/bird.cfg"))];

/// A compiled template set.
pub struct Templates {
    tera: Tera,
    /// Where they came from: `built-in` or a directory.
    pub origin: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origin", &self.origin)
            .finish()
    }
}

fn new_tera() -> Tera {
    let mut tera = Tera::new();
    // BIRD config is not HTML: values are made safe by the view, not by HTML escaping.
    tera.autoescape_on(Vec::<&str>::new());
    tera
}

fn report(e: &tera::Error) -> String {
    // tera's Display is the short form; the source chain carries the location.
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        source = s.source();
    }
    msg
}

impl Templates {
    /// The templates shipped with perch.
    pub fn builtin() -> Templates {
        let mut tera = new_tera();
        tera.add_raw_templates(BUILTIN.iter().copied())
            .expect("built-in templates compile");
        Templates {
            tera,
            origin: "built-in".into(),
        }
    }

    /// Every regular file in `dir` (not recursive, hidden files skipped) becomes a template
    /// named by its file name; `bird.cfg` must be among them.
    pub fn from_dir(dir: &Path) -> Result<Templates, RenderError> {
        let load_err = |message: String| RenderError::Load {
            dir: dir.display().to_string(),
            message,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| load_err(e.to_string()))?;
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| load_err(e.to_string()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            // Follow symlinks (ConfigMap mounts use them) but skip directories like `..data`.
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            files.push((name, path));
        }
        if !files.iter().any(|(n, _)| n == MAIN_TEMPLATE) {
            return Err(load_err(format!("has no {MAIN_TEMPLATE}")));
        }
        files.sort();
        let mut sources = Vec::new();
        for (name, path) in files {
            let text =
                std::fs::read_to_string(&path).map_err(|e| load_err(format!("{name}: {e}")))?;
            sources.push((name, text));
        }
        let mut tera = new_tera();
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| RenderError::Template {
                template: dir.display().to_string(),
                message: report(&e),
            })?;
        Ok(Templates {
            tera,
            origin: dir.display().to_string(),
        })
    }

    /// Renders the main template with `view` as `view`.
    pub fn render(&self, view: &View) -> Result<String, RenderError> {
        let mut ctx = Context::new();
        ctx.insert("view", view);
        self.tera
            .render(MAIN_TEMPLATE, &ctx)
            .map_err(|e| RenderError::Template {
                template: MAIN_TEMPLATE.into(),
                message: report(&e),
            })
    }
}
