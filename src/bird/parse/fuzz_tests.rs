//! Property tests: no framing function or parser may panic, whatever BIRD (or a corrupted
//! stream) sends; well-formed input round-trips.

use proptest::prelude::*;

use super::super::reply::{Assembler, Reply, ReplyLine, classify, parse_greeting};
use super::super::test_fixtures as fx;
use super::*;
use crate::fuzzing::to_wire;

/// Runs every parser over one reply; only panics matter here.
fn run_all_parsers(reply: &Reply) {
    let _ = parse_show_protocols(reply);
    let _ = parse_show_protocols_all(reply);
    let _ = parse_show_status(reply);
    let _ = parse_show_route(reply);
    let _ = parse_configure(reply);
    for line in &reply.lines {
        let _ = parse_protocol_row(&line.text);
        if let Some(time) = parse_bird_time(&line.text) {
            let _ = time.to_rfc3339(0);
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        Just(b'\n'),
        Just(b' '),
        Just(b':'),
        Just(b'-'),
        Just(b'+'),
        b'0'..=b'9',
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

fn mutate(original: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for mutation in mutations {
        let len = bytes.len();
        match *mutation {
            Mutation::Replace(at, b) if len > 0 => bytes[at % len] = b,
            Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Mutation::Delete(at) if len > 0 => {
                bytes.remove(at % len);
            }
            _ => {}
        }
    }
    bytes
}

fn reply_line() -> impl Strategy<Value = ReplyLine> {
    let code = prop_oneof![
        prop::sample::select(vec![
            0u16, 2, 3, 4, 8, 9, 13, 14, 22, 24, 1000, 1002, 1006, 1007, 1011, 2002, 8002, 9001
        ]),
        0u16..10_000
    ];
    let text = prop_oneof![
        "[ -~]{0,80}",
        "[a-z_]{1,12} +(BGP|Device) +[-a-z0-9]{3,8} +(up|start|down|flush) +[0-9:. -]{0,24}[ A-Za-z:]{0,40}",
        " {0,6}[A-Za-z ]{1,20}: {0,8}[ -~]{0,30}",
    ];
    (code, text).prop_map(|(code, text)| ReplyLine { code, text })
}

proptest! {
    #[test]
    fn classify_never_panics(line in any::<String>()) {
        let _ = classify(&line);
        let _ = parse_greeting(&line);
        let _ = parse_bird_time(&line);
        let _ = parse_protocol_row(&line);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(reply) = Reply::from_bytes(&bytes) {
            run_all_parsers(&reply);
        }
    }

    #[test]
    fn assembler_never_panics(lines in prop::collection::vec("[0-9 +-]{0,6}[ -~]{0,20}", 0..40)) {
        let mut assembler = Assembler::new();
        for line in &lines {
            if let Ok(Some(reply)) = assembler.push_line(line) {
                run_all_parsers(&reply);
            }
        }
        let _ = assembler.take_async_lines();
    }

    #[test]
    fn mutated_captures_never_panic(
        index in 0..fx::ALL.len(),
        mutations in prop::collection::vec(mutation(), 1..12),
    ) {
        let bytes = mutate(fx::ALL[index], &mutations);
        let mut assembler = Assembler::new();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            match assembler.push_line(&String::from_utf8_lossy(line)) {
                Ok(Some(reply)) => run_all_parsers(&reply),
                Ok(None) => {}
                Err(_) => assembler.discard_partial(),
            }
        }
    }

    #[test]
    fn generated_replies_round_trip_and_never_panic(
        mut lines in prop::collection::vec(reply_line(), 1..30),
    ) {
        // Only the last line may end the reply; a final line's code is free.
        for line in &mut lines {
            line.text = line.text.replace('\n', " ");
        }
        let reply = Reply { lines };
        run_all_parsers(&reply);
        prop_assert_eq!(Reply::from_bytes(&to_wire(&reply)).unwrap(), reply);
    }

    #[test]
    fn time_conversions_never_panic(
        text in "[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}( [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2}(\\.[0-9]{0,10})?)?)?",
        offset in any::<i32>(),
        epoch in any::<i64>(),
    ) {
        if let Some(time) = parse_bird_time(&text) {
            let _ = time.to_rfc3339(offset);
            let _ = time.to_unix_seconds(offset);
        }
        let _ = BirdTime::Epoch(epoch).to_rfc3339(offset);
        let _ = BirdDateTime::from_unix_seconds(epoch, offset);
    }

    #[test]
    fn valid_datetimes_round_trip(
        secs in -62_135_596_800i64..253_402_300_799,
        offset_minutes in -1439i32..1440,
    ) {
        let offset = offset_minutes * 60;
        if let Some(local) = BirdDateTime::from_unix_seconds(secs, offset) {
            prop_assert_eq!(local.to_unix_seconds(offset), secs);
            let Date { year, month, day } = local.date;
            let TimeOfDay { hour, minute, second, .. } = local.time;
            let text = format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}");
            prop_assert_eq!(parse_bird_time(&text), Some(BirdTime::DateTime(local)));
            prop_assert!(local.to_rfc3339(offset).is_some());
        }
    }
}
