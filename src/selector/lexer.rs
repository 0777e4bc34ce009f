//! Tokenizer for the selector language.
//!
//! Mirrors Calico's tokenizer: only spaces and tabs separate tokens, label
//! keys are runs of `[A-Za-z0-9_./-]` (at most 512 characters), strings are
//! delimited by `'` or `"` and have no escapes, and the word operators
//! (`in`, `not in`, `contains`, `starts with`, `ends with`) are only
//! recognised straight after a label. `has(`, `all(` and `global(` must be
//! written without a space before the parenthesis.

use std::fmt;

use super::error::SelectorError;

/// What a selector term may start with, for error messages.
pub(super) const TERM: &str = "a selector term (a label, has(), all(), global(), '!' or '(')";

/// Longest label key accepted, as in Calico.
pub(super) const MAX_LABEL_LEN: usize = 512;

/// One token and the char index where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Tok,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Label(String),
    Str(String),
    Has(String),
    All,
    Global,
    LBrace,
    RBrace,
    Comma,
    LParen,
    RParen,
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    Not,
    And,
    Or,
    Eof,
}

impl fmt::Display for Tok {
    /// Describes the token for "found …" parts of error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Tok::Label(k) => return write!(f, "label '{k}'"),
            Tok::Str(v) => return write!(f, "quoted value {}", super::ast::quote(v)),
            Tok::Has(k) => return write!(f, "'has({k})'"),
            Tok::Eof => return f.write_str("end of input"),
            Tok::All => "all()",
            Tok::Global => "global()",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::In => "in",
            Tok::NotIn => "not in",
            Tok::Contains => "contains",
            Tok::StartsWith => "starts with",
            Tok::EndsWith => "ends with",
            Tok::Not => "!",
            Tok::And => "&&",
            Tok::Or => "||",
        };
        write!(f, "'{text}'")
    }
}

/// True for characters allowed in a label key.
pub(super) fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// Describes the character at `pos` (or end of input) for error messages.
pub(super) fn describe_char(chars: &[char], pos: usize) -> String {
    match chars.get(pos) {
        None => "end of input".to_string(),
        Some('\n' | '\r') => "a line break (only spaces and tabs may separate tokens)".to_string(),
        Some(c) => format!("'{}'", c.escape_debug()),
    }
}

/// Splits `text` into tokens; the last token is always [`Tok::Eof`].
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, SelectorError> {
    let mut lx = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        tokens: Vec::new(),
    };
    lx.run()?;
    Ok(lx.tokens)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn starts_with(&self, word: &str) -> bool {
        let mut rest = self.chars.get(self.pos..).unwrap_or_default().iter();
        word.chars().all(|w| rest.next() == Some(&w))
    }

    /// Consumes `word` if it is next; returns whether it did.
    fn eat(&mut self, word: &str) -> bool {
        if self.starts_with(word) {
            self.pos += word.chars().count();
            true
        } else {
            false
        }
    }

    fn err(&self, pos: usize, message: String) -> SelectorError {
        SelectorError {
            position: pos,
            message,
        }
    }

    fn found(&self) -> String {
        describe_char(&self.chars, self.pos)
    }

    fn push(&mut self, kind: Tok, pos: usize) {
        self.tokens.push(Token { kind, pos });
    }

    fn run(&mut self) -> Result<(), SelectorError> {
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.peek() else {
                self.push(Tok::Eof, start);
                return Ok(());
            };
            let after_label = match self.tokens.last() {
                Some(Token {
                    kind: Tok::Label(k),
                    ..
                }) => Some(k.clone()),
                _ => None,
            };
            let simple = match c {
                '(' => Some(Tok::LParen),
                ')' => Some(Tok::RParen),
                '{' => Some(Tok::LBrace),
                '}' => Some(Tok::RBrace),
                ',' => Some(Tok::Comma),
                _ => None,
            };
            if let Some(kind) = simple {
                self.pos += 1;
                self.push(kind, start);
                continue;
            }
            let kind = match c {
                '\'' | '"' => self.string(c)?,
                '=' => self.pair("==", Tok::Eq)?,
                '&' => self.pair("&&", Tok::And)?,
                '|' => self.pair("||", Tok::Or)?,
                '!' => {
                    if self.eat("!=") {
                        Tok::Ne
                    } else {
                        self.pos += 1;
                        Tok::Not
                    }
                }
                _ if after_label.is_some() => self.operator_word(after_label.as_deref())?,
                _ if self.eat("has(") => self.has(start)?,
                _ if self.eat("all(") => self.empty_call("all", start, Tok::All)?,
                _ if self.eat("global(") => self.empty_call("global", start, Tok::Global)?,
                _ => Tok::Label(self.label(TERM)?),
            };
            self.push(kind, start);
        }
    }

    fn string(&mut self, quote: char) -> Result<Tok, SelectorError> {
        let open = self.pos;
        let body = open + 1;
        match self.chars[body..].iter().position(|&c| c == quote) {
            Some(len) => {
                self.pos = body + len + 1;
                Ok(Tok::Str(self.chars[body..body + len].iter().collect()))
            }
            None => Err(self.err(
                open,
                format!(
                    "unterminated string: expected a closing quote ({quote}), found end of input"
                ),
            )),
        }
    }

    fn pair(&mut self, op: &str, kind: Tok) -> Result<Tok, SelectorError> {
        if self.eat(op) {
            return Ok(kind);
        }
        let first = self.chars[self.pos];
        Err(self.err(
            self.pos,
            format!("expected '{op}', found a single '{first}'"),
        ))
    }

    /// True when the next char cannot continue a word (Calico's word boundary).
    fn at_boundary(&self) -> bool {
        !self.peek().is_some_and(is_label_char)
    }

    /// Consumes `first` then `second` (whitespace allowed between them, as in
    /// Calico, which also accepts `notin`/`startswith`) if a word boundary follows.
    fn eat_words(&mut self, first: &str, second: Option<&str>) -> bool {
        let save = self.pos;
        if self.eat(first) {
            let ok = match second {
                None => true,
                Some(w) => {
                    self.skip_ws();
                    self.eat(w)
                }
            };
            if ok && self.at_boundary() {
                return true;
            }
        }
        self.pos = save;
        false
    }

    fn operator_word(&mut self, label: Option<&str>) -> Result<Tok, SelectorError> {
        let ops = [
            ("contains", None, Tok::Contains),
            ("starts", Some("with"), Tok::StartsWith),
            ("ends", Some("with"), Tok::EndsWith),
            ("not", Some("in"), Tok::NotIn),
            ("in", None, Tok::In),
        ];
        for (first, second, kind) in ops {
            if self.eat_words(first, second) {
                return Ok(kind);
            }
        }
        let label = label.unwrap_or_default();
        let end = (self.pos..self.chars.len())
            .find(|&i| !is_label_char(self.chars[i]))
            .unwrap_or(self.chars.len());
        let found = if end > self.pos {
            let word: String = self.chars[self.pos..end].iter().collect();
            format!("'{word}'")
        } else {
            self.found()
        };
        Err(self.err(
            self.pos,
            format!(
                "expected an operator (==, !=, in, not in, contains, starts with, ends with) \
                 after label '{label}', found {found}"
            ),
        ))
    }

    /// Reads a label key; `what` names the expected thing in the error.
    fn label(&mut self, what: &str) -> Result<String, SelectorError> {
        let start = self.pos;
        while self.peek().is_some_and(is_label_char) {
            self.pos += 1;
        }
        let len = self.pos - start;
        if len == 0 {
            return Err(self.err(start, format!("expected {what}, found {}", self.found())));
        }
        if len > MAX_LABEL_LEN {
            return Err(self.err(
                start,
                format!("label is {len} characters long, the limit is {MAX_LABEL_LEN}"),
            ));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn has(&mut self, start: usize) -> Result<Tok, SelectorError> {
        self.skip_ws();
        let key = self.label("a label name inside 'has('")?;
        self.skip_ws();
        if self.eat(")") {
            Ok(Tok::Has(key))
        } else {
            Err(self.err(
                self.pos,
                format!(
                    "expected ')' to close 'has(' at position {start}, found {}",
                    self.found()
                ),
            ))
        }
    }

    fn empty_call(&mut self, name: &str, start: usize, kind: Tok) -> Result<Tok, SelectorError> {
        self.skip_ws();
        if self.eat(")") {
            Ok(kind)
        } else {
            Err(self.err(
                self.pos,
                format!(
                    "expected ')' to close '{name}(' at position {start}, found {}",
                    self.found()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn err_at(text: &str) -> usize {
        tokenize(text).unwrap_err().position
    }

    #[test]
    fn word_operators_only_after_labels() {
        assert_eq!(
            kinds("in in {'a'}"),
            vec![
                Tok::Label("in".into()),
                Tok::In,
                Tok::LBrace,
                Tok::Str("a".into()),
                Tok::RBrace,
                Tok::Eof
            ]
        );
        assert_eq!(kinds("a notin {}")[1], Tok::NotIn);
        assert_eq!(kinds("a not \t in {}")[1], Tok::NotIn);
        assert_eq!(kinds("a startswith ''")[1], Tok::StartsWith);
        assert_eq!(kinds("a ends with''")[1], Tok::EndsWith);
        assert_eq!(kinds("a contains\"x\"")[1], Tok::Contains);
    }

    #[test]
    fn positions_are_char_indices() {
        let toks = tokenize("ü == 'é' && b").unwrap_err();
        assert_eq!(toks.position, 0);
        let toks = tokenize("a == 'é' && b == 'x'").unwrap();
        assert_eq!(toks[3].pos, 9);
        assert_eq!(toks[4].pos, 12);
    }

    #[test]
    fn lexical_errors() {
        assert_eq!(err_at("a = 'b'"), 2);
        assert_eq!(err_at("has(a) & has(b)"), 7);
        assert_eq!(err_at("has(a) | has(b)"), 7);
        assert_eq!(err_at("a == 'b"), 5);
        assert_eq!(err_at("has( )"), 5);
        assert_eq!(err_at("has(a b)"), 6);
        assert_eq!(err_at("all( x"), 5);
        assert_eq!(err_at("a inx {}"), 2);
        assert_eq!(err_at("a not {}"), 2);
        assert_eq!(err_at("a\n== 'b'"), 1);
        assert_eq!(err_at("%"), 0);
        let long = "k".repeat(MAX_LABEL_LEN + 1);
        assert_eq!(err_at(&format!("x == '' && has({long})")), 15);
        assert!(tokenize(&format!("has({})", "k".repeat(MAX_LABEL_LEN))).is_ok());
    }

    #[test]
    fn strings_have_no_escapes() {
        assert_eq!(kinds(r#"a == 'x\'"#)[2], Tok::Str("x\\".into()));
        assert_eq!(kinds(r#"a == "it's""#)[2], Tok::Str("it's".into()));
    }
}
