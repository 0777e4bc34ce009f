//! Recursive-descent parser: tokens to [`Node`].
//!
//! Grammar (`||` binds loosest, then `&&`, then prefix `!`):
//!
//! ```text
//! selector := <empty> | or
//! or       := and ( "||" and )*
//! and      := unary ( "&&" unary )*
//! unary    := "!"* ( term | "(" or ")" )
//! term     := "all()" | "global()" | "has(" key ")"
//!           | key ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
//!           | key ( "in" | "not in" ) "{" [ string ( "," string )* [","] ] "}"
//! ```

use super::ast::{CompareOp, Node, Term};
use super::error::SelectorError;
use super::lexer::{TERM, Tok, Token, tokenize};

/// Deepest nesting of parentheses accepted. Real selectors nest a few
/// levels; the cap keeps recursion (here and in evaluation) bounded.
pub(super) const MAX_DEPTH: usize = 64;

/// Parses selector text. Empty or blank text is `all()`, as in Calico.
pub(super) fn parse(text: &str) -> Result<Node, SelectorError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, idx: 0 };
    if p.peek().kind == Tok::Eof {
        return Ok(Node::Term(Term::All));
    }
    let node = p.or_expr(0)?;
    let t = p.peek();
    match t.kind {
        Tok::Eof => Ok(node),
        Tok::RParen => Err(p.err_at(t.pos, "found ')' without a matching '('".to_string())),
        _ => Err(p.err_at(
            t.pos,
            format!("expected '&&', '||' or end of input, found {}", t.kind),
        )),
    }
}

struct Parser {
    tokens: Vec<Token>,
    idx: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof and `idx` never passes it.
        &self.tokens[self.idx.min(self.tokens.len() - 1)]
    }

    /// Returns the current token and moves past it (staying on Eof).
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != Tok::Eof {
            self.idx += 1;
        }
        t
    }

    fn err_at(&self, position: usize, message: String) -> SelectorError {
        SelectorError { position, message }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Node, SelectorError> {
        let mut operands = vec![self.and_expr(depth)?];
        while self.peek().kind == Tok::Or {
            self.next();
            operands.push(self.and_expr(depth)?);
        }
        Ok(collapse(operands, Node::Or))
    }

    fn and_expr(&mut self, depth: usize) -> Result<Node, SelectorError> {
        let mut operands = vec![self.unary(depth)?];
        while self.peek().kind == Tok::And {
            self.next();
            operands.push(self.unary(depth)?);
        }
        Ok(collapse(operands, Node::And))
    }

    fn unary(&mut self, depth: usize) -> Result<Node, SelectorError> {
        let mut negations = 0usize;
        while self.peek().kind == Tok::Not {
            self.next();
            negations += 1;
        }
        let t = self.next();
        let node = match t.kind {
            Tok::All => Node::Term(Term::All),
            Tok::Global => Node::Term(Term::Global),
            Tok::Has(key) => Node::Term(Term::Has(key)),
            Tok::Label(key) => Node::Term(self.label_term(key)?),
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(self.err_at(
                        t.pos,
                        format!("parentheses nest more than {MAX_DEPTH} levels deep"),
                    ));
                }
                let inner = self.or_expr(depth + 1)?;
                let close = self.next();
                if close.kind != Tok::RParen {
                    return Err(self.err_at(
                        close.pos,
                        format!(
                            "expected ')' to close '(' at position {}, found {}",
                            t.pos, close.kind
                        ),
                    ));
                }
                inner
            }
            other => {
                let message = if negations > 0 {
                    format!("expected a selector term after '!', found {other}")
                } else {
                    format!("expected {TERM}, found {other}")
                };
                return Err(SelectorError {
                    position: t.pos,
                    message,
                });
            }
        };
        // Runs of `!` cancel in pairs; `!(!x)` also becomes `x`, so that no
        // `Not` wraps another and the canonical text parses back unchanged.
        Ok(match (negations % 2 == 1, node) {
            (false, node) => node,
            (true, Node::Not(inner)) => *inner,
            (true, node) => Node::Not(Box::new(node)),
        })
    }

    /// Parses the operator and operand that follow label `key`.
    fn label_term(&mut self, key: String) -> Result<Term, SelectorError> {
        let op_tok = self.next();
        let op = match op_tok.kind {
            Tok::Eq => CompareOp::Eq,
            Tok::Ne => CompareOp::Ne,
            Tok::Contains => CompareOp::Contains,
            Tok::StartsWith => CompareOp::StartsWith,
            Tok::EndsWith => CompareOp::EndsWith,
            Tok::In | Tok::NotIn => {
                let negated = op_tok.kind == Tok::NotIn;
                let values = self.set_literal(&op_tok)?;
                return Ok(Term::Set {
                    key,
                    negated,
                    values,
                });
            }
            other => {
                let hint = match (&other, key.as_str()) {
                    (Tok::LParen, "has" | "all" | "global") => {
                        format!(" ('{key}(' takes no space before the parenthesis)")
                    }
                    _ => String::new(),
                };
                return Err(self.err_at(
                    op_tok.pos,
                    format!(
                        "expected an operator (==, !=, in, not in, contains, starts with, \
                         ends with) after label '{key}', found {other}{hint}"
                    ),
                ));
            }
        };
        let value_tok = self.next();
        match value_tok.kind {
            Tok::Str(value) => Ok(Term::Compare { key, op, value }),
            other => Err(self.err_at(
                value_tok.pos,
                format!(
                    "expected a quoted value after '{}', found {other}",
                    op.as_str()
                ),
            )),
        }
    }

    /// Parses `{ 'a', "b", … }` (a trailing comma and the empty set are
    /// accepted, as in Calico). Returns the values sorted and deduplicated.
    fn set_literal(&mut self, op_tok: &Token) -> Result<Vec<String>, SelectorError> {
        let open = self.next();
        if open.kind != Tok::LBrace {
            return Err(self.err_at(
                open.pos,
                format!("expected '{{' after {}, found {}", op_tok.kind, open.kind),
            ));
        }
        let mut values = Vec::new();
        loop {
            let t = self.next();
            match t.kind {
                Tok::RBrace => break,
                Tok::Str(v) => values.push(v),
                other => {
                    return Err(self.err_at(
                        t.pos,
                        format!("expected a quoted value or '}}' in the set, found {other}"),
                    ));
                }
            }
            let sep = self.next();
            match sep.kind {
                Tok::Comma => {}
                Tok::RBrace => break,
                other => {
                    return Err(self.err_at(
                        sep.pos,
                        format!("expected ',' or '}}' after a set value, found {other}"),
                    ));
                }
            }
        }
        values.sort();
        values.dedup();
        Ok(values)
    }
}

/// One operand stays as is; several become an `And`/`Or` node.
fn collapse(mut operands: Vec<Node>, make: fn(Vec<Node>) -> Node) -> Node {
    if operands.len() == 1 {
        operands.remove(0)
    } else {
        make(operands)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text`, expecting an error; returns (position, message).
    fn fail(text: &str) -> (usize, String) {
        let e = parse(text).unwrap_err();
        (e.position, e.message)
    }

    #[test]
    fn error_positions_and_messages() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "a ==",
                4,
                "expected a quoted value after '==', found end of input",
            ),
            (
                "a == b",
                5,
                "expected a quoted value after '==', found label 'b'",
            ),
            (
                "a != ||",
                5,
                "expected a quoted value after '!=', found '||'",
            ),
            (
                "a in 'x'",
                5,
                "expected '{' after 'in', found quoted value \"x\"",
            ),
            (
                "a in {'x' 'y'}",
                10,
                "expected ',' or '}' after a set value, found quoted value \"y\"",
            ),
            (
                "a in {'x',,}",
                10,
                "expected a quoted value or '}' in the set, found ','",
            ),
            (
                "a in {'', ||",
                10,
                "expected a quoted value or '}' in the set, found '||'",
            ),
            (
                "a in {'x'",
                9,
                "expected ',' or '}' after a set value, found end of input",
            ),
            ("b", 1, "found end of input"),
            ("a (", 2, "after label 'a', found '('"),
            (
                "has (a)",
                4,
                "found '(' ('has(' takes no space before the parenthesis)",
            ),
            (
                "a == 'x' && \"y",
                12,
                "unterminated string: expected a closing quote (\"), found end",
            ),
            (
                "#",
                0,
                "expected a selector term (a label, has(), all(), global(), '!' or '('), found '#'",
            ),
            ("'b1' == b", 0, "expected a selector term"),
            (
                "!",
                1,
                "expected a selector term after '!', found end of input",
            ),
            (
                "has(a) &&",
                9,
                "expected a selector term (a label, has(), all(), global(), '!' or '('), found end of input",
            ),
            ("has(a) && }", 10, "found '}'"),
            ("(", 1, "found end of input"),
            ("()", 1, "found ')'"),
            (
                ")",
                0,
                "expected a selector term (a label, has(), all(), global(), '!' or '('), found ')'",
            ),
            (
                "(a == 'foo'",
                11,
                "expected ')' to close '(' at position 0, found end of input",
            ),
            (
                "has(a) has(b)",
                7,
                "expected '&&', '||' or end of input, found 'has(b)'",
            ),
            ("has(a))", 6, "found ')' without a matching '('"),
        ];
        for (text, pos, msg) in cases {
            let (p, m) = fail(text);
            assert_eq!(p, *pos, "position for {text:?} (message {m:?})");
            assert!(m.contains(msg), "message for {text:?}: {m:?} lacks {msg:?}");
        }
    }

    #[test]
    fn nesting_is_capped() {
        let ok = format!("{}has(a){}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let too_deep = format!(
            "{}has(a){}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let e = parse(&too_deep).unwrap_err();
        assert_eq!(e.position, MAX_DEPTH);
        assert!(e.message.contains("nest more than"));
        let huge = "(".repeat(10_000);
        assert_eq!(parse(&huge).unwrap_err().position, MAX_DEPTH);
        let nots = format!("{}has(a)", "!".repeat(10_001));
        assert_eq!(
            parse(&nots).unwrap(),
            Node::Not(Box::new(Node::Term(Term::Has("a".into()))))
        );
    }

    #[test]
    fn structure() {
        let has = |k: &str| Node::Term(Term::Has(k.into()));
        assert_eq!(
            parse("has(a) || has(b) && has(c)").unwrap(),
            Node::Or(vec![has("a"), Node::And(vec![has("b"), has("c")])])
        );
        assert_eq!(parse("!!has(a)").unwrap(), has("a"));
        assert_eq!(parse("!(!has(a))").unwrap(), has("a"));
        assert_eq!(parse("!(!(!has(a)))").unwrap(), parse("!has(a)").unwrap());
        assert_eq!(parse(" ( ( has(a) ) ) ").unwrap(), has("a"));
        assert_eq!(parse("").unwrap(), Node::Term(Term::All));
        assert_eq!(parse(" \t ").unwrap(), Node::Term(Term::All));
        assert_eq!(
            parse("a in {'z', \"x\", 'z', 'a',}").unwrap(),
            Node::Term(Term::Set {
                key: "a".into(),
                negated: false,
                values: vec!["a".into(), "x".into(), "z".into()],
            })
        );
    }
}
