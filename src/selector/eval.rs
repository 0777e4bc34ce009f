//! Evaluation of a parsed selector against a node's labels.
//!
//! Semantics follow Calico: `==`, `in`, `contains`, `starts with` and
//! `ends with` are false when the label is absent, while `!=` and `not in`
//! are true when it is absent. `all()` and `global()` match any label map.

use std::collections::BTreeMap;

use super::TermOutcome;
use super::ast::{CompareOp, Node, Term};

impl Term {
    pub(super) fn eval(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Term::All | Term::Global => true,
            Term::Has(key) => labels.contains_key(key),
            Term::Compare { key, op, value } => match (labels.get(key), op) {
                (None, CompareOp::Ne) => true,
                (None, _) => false,
                (Some(v), CompareOp::Eq) => v == value,
                (Some(v), CompareOp::Ne) => v != value,
                (Some(v), CompareOp::Contains) => v.contains(value.as_str()),
                (Some(v), CompareOp::StartsWith) => v.starts_with(value.as_str()),
                (Some(v), CompareOp::EndsWith) => v.ends_with(value.as_str()),
            },
            Term::Set {
                key,
                negated,
                values,
            } => match labels.get(key) {
                None => *negated,
                // `values` is sorted, so a binary search finds membership.
                Some(v) => values.binary_search(v).is_ok() != *negated,
            },
        }
    }
}

impl Node {
    pub(super) fn eval(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Node::Term(t) => t.eval(labels),
            Node::Not(inner) => !inner.eval(labels),
            Node::And(ops) => ops.iter().all(|n| n.eval(labels)),
            Node::Or(ops) => ops.iter().any(|n| n.eval(labels)),
        }
    }

    /// Appends the outcome of every leaf, in source order. A `!` applied
    /// directly to a leaf is reported with it (`!has(a)`); the leaves of a
    /// negated group are reported un-negated.
    pub(super) fn explain(&self, labels: &BTreeMap<String, String>, out: &mut Vec<TermOutcome>) {
        match self {
            Node::Term(t) => out.push(TermOutcome {
                term: t.to_string(),
                matched: t.eval(labels),
            }),
            Node::Not(inner) => match inner.as_ref() {
                Node::Term(t) => out.push(TermOutcome {
                    term: format!("!{t}"),
                    matched: !t.eval(labels),
                }),
                group => group.explain(labels, out),
            },
            Node::And(ops) | Node::Or(ops) => {
                for op in ops {
                    op.explain(labels, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Selector;
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn outcome(term: &str, matched: bool) -> TermOutcome {
        TermOutcome {
            term: term.to_string(),
            matched,
        }
    }

    #[test]
    fn explain_lists_leaves_in_source_order() {
        let sel: Selector = "!has(routeReflector) && (rack in {'rack-2', 'rack-1'} || zone != 'a')"
            .parse()
            .unwrap();
        let l = labels(&[("rack", "rack-3"), ("zone", "a")]);
        assert_eq!(
            sel.explain(&l),
            vec![
                outcome("!has(routeReflector)", true),
                outcome("rack in {\"rack-1\", \"rack-2\"}", false),
                outcome("zone != \"a\"", false),
            ]
        );
        assert!(!sel.matches(&l));
    }

    #[test]
    fn explain_negated_group_reports_inner_leaves() {
        let sel = Selector::parse("!(a == 'x' || has(b))").unwrap();
        let l = labels(&[("a", "x")]);
        assert_eq!(
            sel.explain(&l),
            vec![outcome("a == \"x\"", true), outcome("has(b)", false)]
        );
        assert!(!sel.matches(&l));
    }

    #[test]
    fn explain_evaluates_every_leaf_without_short_circuit() {
        let sel = Selector::parse("all() || global() || has(x)").unwrap();
        let out = sel.explain(&BTreeMap::new());
        assert_eq!(
            out,
            vec![
                outcome("all()", true),
                outcome("global()", true),
                outcome("has(x)", false),
            ]
        );
        assert_eq!(
            Selector::parse("").unwrap().explain(&BTreeMap::new()),
            vec![outcome("all()", true)]
        );
    }
}
