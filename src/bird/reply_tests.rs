//! Tests of reply framing over the captured replies and hand-made edge cases.

use super::super::test_fixtures as fx;
use super::*;

fn coded(code: u16, text: &str, last: bool) -> Line {
    Line::Coded {
        code,
        text: text.to_string(),
        last,
    }
}

#[test]
fn classifies_the_four_forms() {
    assert_eq!(
        classify("1002-peer_b  BGP").unwrap(),
        coded(1002, "peer_b  BGP", false)
    );
    assert_eq!(classify("0000 \n").unwrap(), coded(0, "", true));
    assert_eq!(
        classify("0013 Daemon is up").unwrap(),
        coded(13, "Daemon is up", true)
    );
    assert_eq!(
        classify(" \tBGP.as_path: 65002").unwrap(),
        Line::Continuation("\tBGP.as_path: 65002".into())
    );
    assert_eq!(
        classify("   BGP state:          Established").unwrap(),
        Line::Continuation("  BGP state:          Established".into())
    );
    assert_eq!(classify(" ").unwrap(), Line::Continuation(String::new()));
    assert_eq!(
        classify("+Config timeout expired, starting undo").unwrap(),
        Line::Async("Config timeout expired, starting undo".into())
    );
    assert_eq!(classify("0000").unwrap(), coded(0, "", true));
}

#[test]
fn rejects_malformed_lines() {
    for line in [
        "", "\n", "abc", "12", "123-x", "12345", "0000x", "1002:x", "x000 y",
    ] {
        assert!(
            matches!(classify(line), Err(ReplyError::Malformed { .. })),
            "{line:?}"
        );
    }
    let long = format!("0000 {}", "x".repeat(MAX_LINE_LEN));
    assert_eq!(classify(&long), Err(ReplyError::LineTooLong));
}

#[test]
fn parses_greetings() {
    assert_eq!(
        parse_greeting("0001 BIRD 2.0.12 ready.\n").unwrap(),
        "2.0.12"
    );
    assert_eq!(parse_greeting("BIRD 3.1.0 ready.").unwrap(), "3.1.0");
    assert_eq!(
        parse_greeting("0001 BIRD v0.3.3+birdv1.6.8 ready.").unwrap(),
        "v0.3.3+birdv1.6.8"
    );
    for bad in [
        "0001 BIRD  ready.",
        "0002 BIRD 2 ready.",
        "hello",
        "0001 BIRD 2.0.12",
    ] {
        assert!(
            matches!(parse_greeting(bad), Err(ReplyError::Greeting { .. })),
            "{bad}"
        );
    }
}

#[test]
fn assembles_show_status_with_continuations() {
    let reply = fx::reply(fx::SHOW_STATUS);
    assert_eq!(reply.lines.len(), 7);
    assert_eq!(reply.final_code(), 13);
    assert_eq!(reply.final_text(), "Daemon is up and running");
    assert!(!reply.is_error());
    assert!(!reply.is_error());
    let uptime: Vec<&str> = reply.lines_with(1011).collect();
    assert_eq!(uptime[0], "Router ID is 10.0.0.1");
    assert_eq!(uptime[1], "Hostname is vm");
    assert_eq!(uptime.len(), 5);
    assert_eq!(reply.lines_with(1000).collect::<Vec<_>>(), ["BIRD 2.0.12"]);
}

#[test]
fn mixed_codes_keep_the_most_recent_code() {
    let reply = fx::reply(fx::SHOW_ROUTE_ALL_FOR);
    let codes: Vec<u16> = reply.lines.iter().map(|l| l.code).collect();
    assert_eq!(codes, [1007, 1007, 1008, 1012, 1012, 1012, 1012, 1012, 0]);
    assert_eq!(reply.lines[4].text, "\tBGP.as_path: 65002");
    assert_eq!(reply.lines[8].text, "");
}

#[test]
fn blank_detail_lines_keep_their_code() {
    let reply = fx::reply(fx::SHOW_PROTOCOLS_ALL);
    assert_eq!(reply.lines.len(), 186);
    assert_eq!(
        reply.lines[2],
        ReplyLine {
            code: 1006,
            text: String::new()
        }
    );
    assert_eq!(reply.lines_with(1002).count(), 12);
    assert_eq!(reply.lines_with(2002).count(), 1);
}

#[test]
fn error_replies() {
    let reply = fx::reply(fx::CONFIGURE_BROKEN);
    assert!(reply.is_error());
    assert_eq!(reply.final_code(), 8002);
    assert!(reply.is_error());
    assert_eq!(
        reply.final_text(),
        "a/bird.conf:4:3 syntax error, unexpected NEIGHBOR, expecting PORT or ';' or AS"
    );
    assert_eq!(fx::reply(fx::SYNTAX_ERROR).final_code(), 9001);
    assert_eq!(fx::reply(fx::ACCESS_DENIED).final_text(), "Access denied");
}

#[test]
fn every_fixture_is_one_reply() {
    for bytes in fx::ALL {
        let reply = Reply::from_bytes(bytes).unwrap();
        assert!(!reply.lines.is_empty());
    }
}

#[test]
fn async_lines_are_kept_apart() {
    let mut assembler = Assembler::new();
    let mut replies = Vec::new();
    for line in fx::RESTART_WITH_ECHO.split_inclusive(|&b| b == b'\n') {
        if let Some(reply) = assembler
            .push_line(std::str::from_utf8(line).unwrap())
            .unwrap()
        {
            replies.push(reply);
        }
    }
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].lines_with(12).collect::<Vec<_>>(),
        ["peer_refused: restarted"]
    );
    let async_lines = assembler.take_async_lines();
    assert_eq!(async_lines.len(), 11);
    assert_eq!(async_lines[0], "Restarting protocol peer_refused");
    assert!(assembler.take_async_lines().is_empty());
    assert!(assembler.is_idle());
}

#[test]
fn async_lines_inside_a_reply_do_not_end_it() {
    let mut assembler = Assembler::new();
    assert_eq!(assembler.push_line("1007-Table master4:").unwrap(), None);
    assert_eq!(assembler.push_line("+peer_b: Started").unwrap(), None);
    assert!(!assembler.is_idle());
    assert_eq!(assembler.push_line(" 10.0.0.0/8 blackhole").unwrap(), None);
    let reply = assembler.push_line("0000 ").unwrap().unwrap();
    assert_eq!(reply.lines.len(), 3);
    assert_eq!(reply.lines[1].code, 1007);
    assert_eq!(assembler.take_async_lines(), ["peer_b: Started"]);
}

#[test]
fn leading_continuation_takes_the_previous_final_code() {
    let mut assembler = Assembler::new();
    assert!(matches!(
        assembler.push_line(" orphan"),
        Err(ReplyError::OrphanContinuation { .. })
    ));
    assembler.push_line("1002 first").unwrap().unwrap();
    assert_eq!(assembler.push_line(" second").unwrap(), None);
    let reply = assembler.push_line("0000 ").unwrap().unwrap();
    assert_eq!(
        reply.lines[0],
        ReplyLine {
            code: 1002,
            text: "second".into()
        }
    );
}

#[test]
fn async_buffer_is_bounded() {
    let mut assembler = Assembler::new();
    for i in 0..MAX_ASYNC_LINES + 5 {
        assembler.push_line(&format!("+line {i}")).unwrap();
    }
    let lines = assembler.take_async_lines();
    assert_eq!(lines.len(), MAX_ASYNC_LINES);
    assert_eq!(lines[0], "line 5");
}

#[test]
fn from_bytes_rejects_incomplete_and_trailing_data() {
    assert_eq!(Reply::from_bytes(b"1002-x\n"), Err(ReplyError::Incomplete));
    assert_eq!(Reply::from_bytes(b""), Err(ReplyError::Incomplete));
    assert!(matches!(
        Reply::from_bytes(b"0000 \n0000 \n"),
        Err(ReplyError::TrailingData { .. })
    ));
    assert!(Reply::from_bytes(b"0000 \n+later\n").is_ok());
}
