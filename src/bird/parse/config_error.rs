//! Where BIRD says a config is wrong: `file:line:col message`, as `configure ["file"]`,
//! `configure check` (code 8002) and `bird -p` (on stderr, after `bird: `) print it.

use serde::Serialize;

/// A config error BIRD located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigErrorAt {
    /// The file as BIRD names it (the path given to `-c` or `configure "file"`, or an
    /// included file).
    pub file: String,
    /// 1-based line. For checks BIRD makes once a block is complete (a BGP session's
    /// neighbor, keepalive vs hold time, link-local addresses), this is the line of the
    /// block's closing brace or the line after it.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// BIRD's words, e.g. `Keepalive time must be at most hold time`.
    pub message: String,
}

/// Finds `file:line:col message` in an error text (`None` for errors without a place, such
/// as `Unable to open configuration file …` or `Access denied`).
pub fn parse_config_error(text: &str) -> Option<ConfigErrorAt> {
    let text = text.trim();
    // The file name may hold ':' itself; the place is the first `:digits:digits ` after it.
    let mut from = 0;
    while let Some(i) = text[from..].find(':').map(|i| i + from) {
        if let Some(found) = place_at(text, i) {
            return Some(found);
        }
        from = i + 1;
    }
    None
}

fn place_at(text: &str, colon: usize) -> Option<ConfigErrorAt> {
    // Whatever wraps BIRD's words (`bird: `, `config rejected by …: `) ends with `: `.
    let file = text[..colon].rsplit(": ").next().unwrap_or_default();
    let rest = &text[colon + 1..];
    let (line, rest) = rest.split_once(':')?;
    let (column, message) = rest.split_once(' ')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if file.is_empty() || !digits(line) || !digits(column) {
        return None;
    }
    Some(ConfigErrorAt {
        file: file.to_owned(),
        line: line.parse().ok()?,
        column: column.parse().ok()?,
        message: message.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, line: u32, column: u32, message: &str) -> Option<ConfigErrorAt> {
        Some(ConfigErrorAt {
            file: file.into(),
            line,
            column,
            message: message.into(),
        })
    }

    #[test]
    fn configure_and_bird_p_replies() {
        // bird-captures/a_raw_configure_check_bad.txt and bird_p_errors.txt
        assert_eq!(
            parse_config_error(
                "bad_syntax.conf:4:3 syntax error, unexpected NEIGHBOR, expecting PORT or ';' or AS"
            ),
            at(
                "bad_syntax.conf",
                4,
                3,
                "syntax error, unexpected NEIGHBOR, expecting PORT or ';' or AS"
            )
        );
        assert_eq!(
            parse_config_error("bird: bad_noneighbor.conf:5:1 Neighbor must be configured\n"),
            at("bad_noneighbor.conf", 5, 1, "Neighbor must be configured")
        );
        assert_eq!(
            parse_config_error(
                "/run/bird/.bird.cfg.perch-41:151:1 Keepalive time must be at most hold time"
            ),
            at(
                "/run/bird/.bird.cfg.perch-41",
                151,
                1,
                "Keepalive time must be at most hold time"
            )
        );
    }

    #[test]
    fn wrapped_in_an_install_error() {
        assert_eq!(
            parse_config_error(
                "config rejected by bird configure: /run/.bird.cfg.perch-7:10:1 Keepalive time must be at most hold time"
            ),
            at(
                "/run/.bird.cfg.perch-7",
                10,
                1,
                "Keepalive time must be at most hold time"
            )
        );
    }

    #[test]
    fn a_colon_in_the_file_name() {
        assert_eq!(
            parse_config_error("/tmp/a:b/bird.conf:7:2 syntax error"),
            at("/tmp/a:b/bird.conf", 7, 2, "syntax error")
        );
    }

    #[test]
    fn errors_without_a_place() {
        for text in [
            "",
            "Access denied",
            "bird: Unable to open configuration file /x: No such file or directory",
            "/nonexistent.conf: No such file or directory",
            "a.conf:12: missing column",
            "a.conf:x:1 not a line",
        ] {
            assert_eq!(parse_config_error(text), None, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse_config_error(&s);
        }

        #[test]
        fn round_trips(file in "[a-z/._:-]{1,20}", line in 1u32..100_000, column in 1u32..500, message in "[A-Za-z ,']{1,40}") {
            let file = file.trim_end_matches(':').to_owned();
            proptest::prop_assume!(!file.is_empty() && !message.trim().is_empty());
            let parsed = parse_config_error(&format!("{file}:{line}:{column} {message}")).unwrap();
            proptest::prop_assert_eq!(parsed.line, line);
            proptest::prop_assert_eq!(parsed.column, column);
            proptest::prop_assert_eq!(parsed.message, message.trim());
        }
    }
}
