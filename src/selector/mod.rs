//! Calico label selectors: the grammar and its evaluation against node labels.
//!
//! BGPPeer `nodeSelector`/`peerSelector` and BGPConfiguration fields use
//! Calico's selector language (libcalico-go `lib/selector`). This module owns
//! that language for perch: tokenizing and parsing selector text into a
//! [`Selector`], printing it back in canonical form, and deciding whether a
//! set of node labels matches it (plus a per-term breakdown for explaining
//! the decision).
//!
//! Supported syntax, with Calico's semantics:
//!
//! | Form | Meaning |
//! |---|---|
//! | `all()`, empty or blank text | matches everything |
//! | `global()` | matches everything when evaluated against labels |
//! | `has(k)` | label `k` is present |
//! | `k == 'v'`, `k != 'v'` | value equals / differs; `!=` is true if `k` is absent |
//! | `k in {'a', "b"}`, `k not in {…}` | set membership; `not in` is true if `k` is absent |
//! | `k contains 'x'`, `k starts with 'x'`, `k ends with 'x'` | substring tests; false if `k` is absent |
//! | `!e`, `e && e`, `e \|\| e`, `( e )` | negation, conjunction, disjunction (`&&` binds tighter) |
//!
//! Label keys are runs of `A-Z a-z 0-9 _ . / -` (so `kubernetes.io/hostname`
//! is one key), at most 512 characters. Strings use `'…'` or `"…"` and have
//! no escape sequences. Only spaces and tabs separate tokens; `has(`, `all(`
//! and `global(` take no space before the parenthesis. Parentheses may nest
//! at most 64 levels deep.
//!
//! This module is pure: it performs no I/O, spawns nothing and keeps no
//! global state. Fetching resources and node labels is the caller's job.

mod ast;
mod error;
mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub(crate) use error::SelectorError;

/// A parsed Calico label selector.
///
/// Equality is structural: two selectors are equal when they parse to the
/// same expression (so `has(a)` equals `( has( a ) )`, and set values are
/// compared after sorting and deduplication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    root: ast::Node,
}

/// How one leaf term of a selector evaluated against a set of labels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TermOutcome {
    /// Canonical text of the term, e.g. `has(a)`, `!has(a)` or `b == "x"`.
    pub term: String,
    /// Whether the term is true for the labels.
    pub matched: bool,
}

impl Selector {
    /// Parses selector text. Empty or whitespace-only text yields
    /// [`Selector::all`], as Calico does.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        parser::parse(text).map(|root| Selector { root })
    }

    /// The selector that matches every label set (`all()`).
    pub fn all() -> Selector {
        Selector {
            root: ast::Node::Term(ast::Term::All),
        }
    }

    /// Whether `labels` satisfy this selector.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.root.eval(labels)
    }

    /// Leaf terms (`has(k)`, `k == "v"`, `all()`, …) in source order, each
    /// with its canonical text and whether it is true for these labels.
    ///
    /// A `!` written directly before a term is part of that term
    /// (`!has(a)`); the terms inside a negated group such as `!(a || b)` are
    /// reported without the negation. Every term is evaluated, with no
    /// short-circuiting, so the list always covers the whole selector.
    pub fn explain(&self, labels: &BTreeMap<String, String>) -> Vec<TermOutcome> {
        let mut out = Vec::new();
        self.root.explain(labels, &mut out);
        out
    }
}

impl Default for Selector {
    /// Same as [`Selector::all`], matching Calico's empty selector.
    fn default() -> Self {
        Selector::all()
    }
}

impl fmt::Display for Selector {
    /// Canonical text: Calico's rendering (double quotes unless the value
    /// contains one, set values sorted, single spaces around operators,
    /// every nested `&&`/`||` group parenthesised) except that a top-level
    /// `&&`/`||` is not wrapped in parentheses. Parsing it gives back an
    /// equal selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.write(f, true)
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Selector::parse(text)
    }
}
