//! Which lines of a rendered config belong to which `protocol bgp` block, so that a line BIRD
//! names in a refusal can be traced back to one session.
//!
//! Reads the rendered text (not the template), so it holds for an operator's templates too.
//! Knows BIRD's lexical basics: `#` and `/* … */` comments, `"…"` strings with `\` escapes.

/// One `protocol bgp NAME … { … }` block: its name and its first and last lines (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BgpBlock {
    pub name: String,
    pub first_line: u32,
    pub last_line: u32,
}

/// The `protocol bgp` blocks of `text`, in order.
pub(crate) fn bgp_blocks(text: &str) -> Vec<BgpBlock> {
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    // At depth 0: the last two words, the line of `protocol`, and a `protocol bgp NAME` seen.
    let mut words: [String; 2] = Default::default();
    let mut protocol_line = 0;
    let mut pending: Option<(String, u32)> = None;
    let mut open: Option<(String, u32)> = None;
    let mut in_comment = false;
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let code = strip(line, &mut in_comment)
            .replace('{', " { ")
            .replace('}', " } ");
        for token in code.split_whitespace() {
            match token {
                "{" => {
                    if depth == 0 {
                        open = pending.take();
                    }
                    depth += 1;
                }
                "}" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0
                        && let Some((name, first_line)) = open.take()
                    {
                        blocks.push(BgpBlock {
                            name,
                            first_line,
                            last_line: n,
                        });
                    }
                }
                _ if depth == 0 => {
                    if token == "protocol" {
                        protocol_line = n;
                    }
                    if words[0] == "protocol" && words[1] == "bgp" {
                        pending = Some((token.to_owned(), protocol_line));
                    }
                    words = [std::mem::take(&mut words[1]), token.to_owned()];
                }
                _ => {}
            }
        }
    }
    blocks
}

/// The BGP session a refusal at `line` is about: the one block holding that line, or the
/// block that ended just before it with only blank and comment lines in between (BIRD checks
/// a session once its block is complete, and names the position after the closing brace).
/// `None` when the line is outside every session, or when several blocks share it.
pub(crate) fn bgp_session_at(text: &str, line: u32) -> Option<String> {
    let blocks = bgp_blocks(text);
    let mut holding = blocks
        .iter()
        .filter(|b| b.first_line <= line && line <= b.last_line);
    if let Some(b) = holding.next() {
        return holding.next().is_none().then(|| b.name.clone());
    }
    let before = blocks.iter().rev().find(|b| b.last_line < line)?;
    let mut in_comment = false;
    let lines: Vec<&str> = text.lines().collect();
    // Comment state across the gap starts fresh after the block's last line.
    let gap = (before.last_line as usize)..(line as usize).min(lines.len());
    lines[gap]
        .iter()
        .all(|l| strip(l, &mut in_comment).trim().is_empty())
        .then(|| before.name.clone())
}

/// `line` without comments; string contents are kept but their braces and `#` are blanked.
fn strip(line: &str, in_comment: &mut bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if *in_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                *in_comment = false;
            }
            continue;
        }
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            out.push('_');
            continue;
        }
        match c {
            '#' => break,
            '"' => {
                in_string = true;
                out.push('_');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                *in_comment = true;
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r##"router id 1.2.3.4;
protocol device {
}
template bgp bgp_template {
  local as 64512;
}

# global: BGPPeer/x
protocol bgp Global_10_0_0_1 from bgp_template {
  neighbor 10.0.0.1 as 64513;
  password "a}b{\"#c";
  ipv4 {
    import all; /* { */
  };
}

# global: BGPPeer/y
protocol bgp Global_10_0_0_2 from bgp_template {
  neighbor 10.0.0.2 as 64513;
  ipv4 {
    import all;
  };
}
protocol bgp Global_10_0_0_3 {
  local as 1;
}
protocol static s { ipv4; }
"##;

    #[test]
    fn blocks_skip_strings_and_comments() {
        let names: Vec<(String, u32, u32)> = bgp_blocks(CONFIG)
            .into_iter()
            .map(|b| (b.name, b.first_line, b.last_line))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Global_10_0_0_1".into(), 9, 15),
                ("Global_10_0_0_2".into(), 18, 23),
                ("Global_10_0_0_3".into(), 24, 26),
            ]
        );
    }

    #[test]
    fn a_line_inside_or_just_after_a_block() {
        // Inside: a syntax error in a value.
        assert_eq!(
            bgp_session_at(CONFIG, 10).as_deref(),
            Some("Global_10_0_0_1")
        );
        // The closing brace and the blank line after it (where BIRD reports
        // `Keepalive time must be at most hold time` and link-local errors).
        assert_eq!(
            bgp_session_at(CONFIG, 15).as_deref(),
            Some("Global_10_0_0_1")
        );
        assert_eq!(
            bgp_session_at(CONFIG, 16).as_deref(),
            Some("Global_10_0_0_1")
        );
        assert_eq!(
            bgp_session_at(CONFIG, 17).as_deref(),
            Some("Global_10_0_0_1")
        );
        // Block 2 is followed at once by block 3.
        assert_eq!(
            bgp_session_at(CONFIG, 23).as_deref(),
            Some("Global_10_0_0_2")
        );
        assert_eq!(
            bgp_session_at(CONFIG, 24).as_deref(),
            Some("Global_10_0_0_3")
        );
        // After the last line of the file (BIRD's position past a final block).
        let short = "protocol bgp a {\n  neighbor 10.0.0.1 as 1;\n}\n";
        assert_eq!(bgp_session_at(short, 4).as_deref(), Some("a"));
    }

    #[test]
    fn lines_outside_every_session() {
        for line in [1, 2, 5, 7, 27, 28, 100] {
            assert_eq!(bgp_session_at(CONFIG, line), None, "line {line}");
        }
        // Several blocks on one line: ambiguous.
        let one_line = "protocol bgp a { neighbor 10.0.0.1 as 1; } protocol bgp b { }\n";
        assert_eq!(bgp_session_at(one_line, 1), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "(protocol bgp [a-z]{1,3} |[{}#\"\\\\/*\n ]|x){0,80}", line in 0u32..40) {
            let _ = bgp_session_at(&text, line);
        }
    }
}
