//! Syntax tree of a parsed selector and its canonical text form.

use std::fmt;

/// A selector expression, in the shape the parser produces: `And`/`Or`
/// have at least two operands, a `Not` never wraps another `Not` (runs of
/// `!` collapse, as in Calico), and set values are sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Term(Term),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// A leaf of the expression: one test against the labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Term {
    /// `all()`: matches everything.
    All,
    /// `global()`: matches everything when evaluated against a label map.
    Global,
    /// `has(key)`.
    Has(String),
    /// `key <op> "value"`.
    Compare {
        key: String,
        op: CompareOp,
        value: String,
    },
    /// `key in {…}` or, when `negated`, `key not in {…}`.
    Set {
        key: String,
        negated: bool,
        values: Vec<String>,
    },
}

/// Operators that compare a label's value with one string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CompareOp {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
}

impl CompareOp {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Contains => "contains",
            CompareOp::StartsWith => "starts with",
            CompareOp::EndsWith => "ends with",
        }
    }
}

/// Quotes a value the way Calico does: double quotes unless the value
/// contains a double quote. The language has no escapes, so a value holding
/// both quote characters cannot be written (and cannot come out of the parser).
pub(super) fn quote(value: &str) -> String {
    if value.contains('"') {
        format!("'{value}'")
    } else {
        format!("\"{value}\"")
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::All => f.write_str("all()"),
            Term::Global => f.write_str("global()"),
            Term::Has(key) => write!(f, "has({key})"),
            Term::Compare { key, op, value } => {
                write!(f, "{key} {} {}", op.as_str(), quote(value))
            }
            Term::Set {
                key,
                negated,
                values,
            } => {
                let op = if *negated { "not in" } else { "in" };
                write!(f, "{key} {op} {{")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&quote(v))?;
                }
                f.write_str("}")
            }
        }
    }
}

impl Node {
    /// Writes the canonical text. Compound operands are always parenthesised
    /// (as Calico's `String()` does); only a top-level `&&`/`||` is left bare.
    pub(super) fn write(&self, f: &mut fmt::Formatter<'_>, top: bool) -> fmt::Result {
        let (operands, sep) = match self {
            Node::Term(t) => return fmt::Display::fmt(t, f),
            Node::Not(inner) => {
                f.write_str("!")?;
                return inner.write(f, false);
            }
            Node::And(ops) => (ops, " && "),
            Node::Or(ops) => (ops, " || "),
        };
        if !top {
            f.write_str("(")?;
        }
        for (i, op) in operands.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            op.write(f, false)?;
        }
        if !top {
            f.write_str(")")?;
        }
        Ok(())
    }
}
