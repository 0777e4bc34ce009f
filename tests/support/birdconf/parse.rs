//! A BIRD config reader good for Calico's and perch's files: text → a tree of statements and
//! blocks. It knows comments (`#`, `/* */`), strings, `;`, `{ }`, and that braces inside
//! `[ ]` (prefix patterns such as `[ 10.0.0.0/8{16,24} ]`) are not blocks. Whitespace runs
//! become one space; nothing is interpreted.

/// A statement (`neighbor 10.0.0.1 as 64512`, without the `;`) or a block with its header
/// (`if ( net ~ 10.0.0.0/8 ) then`, `protocol bgp X from bgp_template`, `ipv4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Stmt(String),
    Block { head: String, body: Vec<Item> },
}

impl Item {
    /// The item as one string without any whitespace, blocks as `head{body}`: the form in
    /// which two renderings of the same BIRD code compare equal.
    pub fn flat(&self) -> String {
        match self {
            Item::Stmt(s) => format!("{};", squeeze(s)),
            Item::Block { head, body } => {
                let inner: String = body.iter().map(Item::flat).collect();
                format!("{}{{{inner}}}", squeeze(head))
            }
        }
    }
}

/// `s` without whitespace outside strings.
pub fn squeeze(s: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    for c in s.chars() {
        if c == '"' {
            in_str = !in_str;
        }
        if in_str || !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Parses a whole file.
pub fn parse(text: &str) -> Vec<Item> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    block(&chars, &mut i)
}

fn push_stmt(cur: &mut String, out: &mut Vec<Item>) {
    let s = cur.split_whitespace().collect::<Vec<_>>().join(" ");
    if !s.is_empty() {
        out.push(Item::Stmt(s));
    }
    cur.clear();
}

fn block(c: &[char], i: &mut usize) -> Vec<Item> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut brackets = 0usize;
    while *i < c.len() {
        let ch = c[*i];
        *i += 1;
        match ch {
            '#' => {
                while *i < c.len() && c[*i] != '\n' {
                    *i += 1;
                }
            }
            '/' if c.get(*i) == Some(&'*') => {
                *i += 1;
                while *i + 1 < c.len() && !(c[*i] == '*' && c[*i + 1] == '/') {
                    *i += 1;
                }
                *i += 2;
            }
            '"' => {
                cur.push('"');
                while *i < c.len() && c[*i] != '"' {
                    if c[*i] == '\\' {
                        cur.push(c[*i]);
                        *i += 1;
                    }
                    if *i < c.len() {
                        cur.push(c[*i]);
                        *i += 1;
                    }
                }
                cur.push('"');
                *i += 1;
            }
            '[' => {
                brackets += 1;
                cur.push(ch);
            }
            ']' => {
                brackets = brackets.saturating_sub(1);
                cur.push(ch);
            }
            '{' | '}' if brackets > 0 => cur.push(ch),
            ';' => push_stmt(&mut cur, &mut out),
            '{' => {
                let head = cur.split_whitespace().collect::<Vec<_>>().join(" ");
                cur.clear();
                let body = block(c, i);
                out.push(Item::Block { head, body });
            }
            '}' => {
                push_stmt(&mut cur, &mut out);
                return out;
            }
            _ => cur.push(ch),
        }
    }
    push_stmt(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    // The benches include this support module without running its tests.
    #[allow(unused_imports)]
    use super::*;

    #[test]
    fn statements_blocks_comments_and_prefix_patterns() {
        let items = parse(
            "# comment\nrouter id 10.0.0.1;  # trailing\nfunction f() {\n  if ((net ~ [ 10.0.0.0/8{16,24} ])) then { accept; }\n  /* x */ reject;\n}\n",
        );
        assert_eq!(items[0], Item::Stmt("router id 10.0.0.1".into()));
        let Item::Block { head, body } = &items[1] else {
            panic!()
        };
        assert_eq!(head, "function f()");
        assert_eq!(body[0].flat(), "if((net~[10.0.0.0/8{16,24}]))then{accept;}");
        assert_eq!(body[1], Item::Stmt("reject".into()));
    }

    #[test]
    fn strings_keep_their_spaces_and_hashes() {
        let items = parse("password \"a # b\";\n");
        assert_eq!(items, [Item::Stmt("password \"a # b\"".into())]);
        assert_eq!(items[0].flat(), "password\"a # b\";");
    }

    #[test]
    fn if_then_without_braces_is_one_statement() {
        let items = parse("if (x) then\n  preference = 200;\naccept;");
        assert_eq!(items[0].flat(), "if(x)thenpreference=200;");
        assert_eq!(items.len(), 2);
    }
}
