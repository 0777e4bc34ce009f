//! Property tests: random expressions are rendered to text (with varied
//! spacing, quoting and redundant parentheses), parsed, and checked against
//! a small reference evaluator; arbitrary text must never panic the parser.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::Selector;

const KEYS: &[&str] = &[
    "a",
    "b",
    "rack",
    "kubernetes.io/hostname",
    "x_1-2.z",
    "in",
    "not",
    "has",
    "all",
    "global",
    "contains",
];
const VALUES: &[&str] = &[
    "",
    "x",
    "rack-1",
    "a b",
    "it's",
    "say \"hi\"",
    "ü",
    "x,y",
    "}",
    "&&",
    "xx",
];

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Contains,
    Starts,
    Ends,
}

/// Reference expression, independent of the module's own syntax tree.
#[derive(Debug, Clone)]
enum Ref {
    All,
    Global,
    Has(&'static str),
    Cmp(&'static str, Op, &'static str),
    Set(&'static str, bool, Vec<&'static str>),
    Not(Box<Ref>),
    And(Vec<Ref>),
    Or(Vec<Ref>),
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(KEYS)
}

fn value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(VALUES)
}

fn leaf() -> impl Strategy<Value = Ref> {
    let op = prop::sample::select(vec![Op::Eq, Op::Ne, Op::Contains, Op::Starts, Op::Ends]);
    prop_oneof![
        Just(Ref::All),
        Just(Ref::Global),
        key().prop_map(Ref::Has),
        (key(), op, value()).prop_map(|(k, o, v)| Ref::Cmp(k, o, v)),
        (key(), any::<bool>(), prop::collection::vec(value(), 0..4))
            .prop_map(|(k, n, vs)| Ref::Set(k, n, vs)),
    ]
}

fn expr() -> impl Strategy<Value = Ref> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|r| Ref::Not(Box::new(r))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Ref::And),
            prop::collection::vec(inner, 2..4).prop_map(Ref::Or),
        ]
    })
}

fn label_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        key().prop_map(String::from),
        value().prop_map(String::from),
        0..5,
    )
}

fn ref_eval(r: &Ref, l: &BTreeMap<String, String>) -> bool {
    match r {
        Ref::All | Ref::Global => true,
        Ref::Has(k) => l.contains_key(*k),
        Ref::Cmp(k, op, v) => match l.get(*k) {
            None => matches!(op, Op::Ne),
            Some(have) => match op {
                Op::Eq => have == v,
                Op::Ne => have != v,
                Op::Contains => have.contains(v),
                Op::Starts => have.starts_with(v),
                Op::Ends => have.ends_with(v),
            },
        },
        Ref::Set(k, negated, vs) => match l.get(*k) {
            None => *negated,
            Some(have) => vs.contains(&have.as_str()) != *negated,
        },
        Ref::Not(x) => !ref_eval(x, l),
        Ref::And(xs) => xs.iter().all(|x| ref_eval(x, l)),
        Ref::Or(xs) => xs.iter().any(|x| ref_eval(x, l)),
    }
}

fn leaf_count(r: &Ref) -> usize {
    match r {
        Ref::Not(x) => leaf_count(x),
        Ref::And(xs) | Ref::Or(xs) => xs.iter().map(leaf_count).sum(),
        _ => 1,
    }
}

/// Renders a `Ref` to selector text, drawing layout choices from `style`.
struct Render<'a> {
    style: &'a [u8],
    i: usize,
    out: String,
}

impl Render<'_> {
    fn pick(&mut self) -> u8 {
        let b = self
            .style
            .get(self.i % self.style.len().max(1))
            .copied()
            .unwrap_or(0);
        self.i += 1;
        b
    }

    /// Optional whitespace.
    fn ws(&mut self) {
        let s = ["", " ", "\t", "  "][usize::from(self.pick() % 4)];
        self.out.push_str(s);
    }

    /// Mandatory whitespace (between a label and a word operator).
    fn ws1(&mut self) {
        let s = [" ", "\t", " \t "][usize::from(self.pick() % 3)];
        self.out.push_str(s);
    }

    fn quoted(&mut self, v: &str) {
        let q = if v.contains('\'') {
            '"'
        } else if v.contains('"') || self.pick().is_multiple_of(2) {
            '\''
        } else {
            '"'
        };
        self.out.push(q);
        self.out.push_str(v);
        self.out.push(q);
    }

    fn expr(&mut self, r: &Ref, parens: bool) {
        let extra = self.pick().is_multiple_of(5);
        if parens || extra {
            self.out.push('(');
            self.ws();
        }
        self.bare(r);
        if parens || extra {
            self.ws();
            self.out.push(')');
        }
    }

    fn bare(&mut self, r: &Ref) {
        match r {
            Ref::All => {
                let text = ["all()", "all( )"][usize::from(self.pick() % 2)];
                self.out.push_str(text);
            }
            Ref::Global => self.out.push_str("global()"),
            Ref::Has(k) => {
                self.out.push_str("has(");
                self.ws();
                self.out.push_str(k);
                self.ws();
                self.out.push(')');
            }
            Ref::Cmp(k, op, v) => {
                self.out.push_str(k);
                match op {
                    Op::Eq | Op::Ne => self.ws(),
                    _ => self.ws1(),
                }
                let op = match op {
                    Op::Eq => "==",
                    Op::Ne => "!=",
                    Op::Contains => "contains",
                    Op::Starts => ["starts with", "startswith"][usize::from(self.pick() % 2)],
                    Op::Ends => "ends with",
                };
                self.out.push_str(op);
                self.ws();
                self.quoted(v);
            }
            Ref::Set(k, negated, vs) => {
                self.out.push_str(k);
                self.ws1();
                self.out.push_str(if *negated { "not in" } else { "in" });
                self.ws();
                self.out.push('{');
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        self.ws();
                        self.out.push(',');
                    }
                    self.ws();
                    self.quoted(v);
                }
                self.ws();
                self.out.push('}');
            }
            Ref::Not(x) => {
                self.out.push('!');
                self.ws();
                let compound = matches!(**x, Ref::And(_) | Ref::Or(_));
                self.expr(x, compound);
            }
            Ref::And(xs) | Ref::Or(xs) => {
                let is_or = matches!(r, Ref::Or(_));
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        self.ws();
                        self.out.push_str(if is_or { "||" } else { "&&" });
                        self.ws();
                    }
                    // An `&&` group inside `||` may go bare: precedence holds it together.
                    let bare_ok =
                        is_or && matches!(x, Ref::And(_)) && self.pick().is_multiple_of(2);
                    let compound = matches!(x, Ref::And(_) | Ref::Or(_));
                    self.expr(x, compound && !bare_ok);
                }
            }
        }
    }
}

fn render(r: &Ref, style: &[u8]) -> String {
    let mut rd = Render {
        style,
        i: 0,
        out: String::new(),
    };
    rd.ws();
    rd.expr(r, false);
    rd.ws();
    rd.out
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    "!",
    "&&",
    "||",
    "==",
    "!=",
    "in",
    "not in",
    "notin",
    "contains",
    "starts with",
    "ends with",
    "{",
    "}",
    ",",
    "'a'",
    "\"b\"",
    "'",
    "\"",
    "has(a)",
    "has(",
    "all()",
    "all(",
    "global()",
    "a",
    "kubernetes.io/x",
    "&",
    "|",
    "=",
    "\n",
    "ü",
    "\t",
    "",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(TOKENS), any::<bool>()), 0..24).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(t, space)| {
                if space {
                    format!("{t} ")
                } else {
                    t.to_string()
                }
            })
            .collect()
    })
}

/// Parsing must not panic; failures point inside the text; successes round-trip.
fn check_total(text: &str) {
    match Selector::parse(text) {
        Ok(sel) => {
            let canon = sel.to_string();
            let again = Selector::parse(&canon).unwrap_or_else(|e| panic!("{canon:?}: {e}"));
            assert_eq!(again, sel);
            assert_eq!(again.to_string(), canon);
        }
        Err(e) => {
            assert!(e.position <= text.chars().count(), "{e} for {text:?}");
            assert!(!e.message.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_agrees_with_reference(r in expr(), style in prop::collection::vec(any::<u8>(), 1..32), labels in label_map()) {
        let text = render(&r, &style);
        let sel = Selector::parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(sel.matches(&labels), ref_eval(&r, &labels), "text {:?} labels {:?}", text, labels);
    }

    #[test]
    fn display_parse_round_trip(r in expr(), style in prop::collection::vec(any::<u8>(), 1..32)) {
        let text = render(&r, &style);
        let sel = Selector::parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let canon = sel.to_string();
        let again = Selector::parse(&canon).map_err(|e| TestCaseError::fail(format!("{canon:?}: {e}")))?;
        prop_assert_eq!(&again, &sel);
        prop_assert_eq!(again.to_string(), canon);
    }

    #[test]
    fn explain_covers_every_leaf(r in expr(), labels in label_map()) {
        let sel = Selector::parse(&render(&r, &[1])).unwrap();
        let outcomes = sel.explain(&labels);
        prop_assert_eq!(outcomes.len(), leaf_count(&r));
        for o in outcomes {
            let term = Selector::parse(&o.term).unwrap();
            prop_assert_eq!(term.matches(&labels), o.matched, "term {}", o.term);
        }
    }

    #[test]
    fn parse_is_total_on_arbitrary_text(text in any::<String>()) {
        check_total(&text);
    }

    #[test]
    fn parse_is_total_on_token_soup(text in token_soup()) {
        check_total(&text);
    }
}
