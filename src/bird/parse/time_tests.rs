//! Tests of BIRD time parsing and conversion.

use super::*;

fn datetime(s: &str) -> BirdDateTime {
    match parse_bird_time(s) {
        Some(BirdTime::DateTime(datetime)) => datetime,
        other => panic!("{s:?} parsed as {other:?}"),
    }
}

#[test]
fn parses_every_form_seen_in_the_captures() {
    assert_eq!(
        parse_bird_time("19:06:47.891"),
        Some(BirdTime::TimeOfDay(TimeOfDay {
            hour: 19,
            minute: 6,
            second: 47,
            micros: 891_000
        }))
    );
    assert_eq!(
        parse_bird_time("18:58:47"),
        Some(BirdTime::TimeOfDay(TimeOfDay {
            hour: 18,
            minute: 58,
            second: 47,
            micros: 0
        }))
    );
    assert_eq!(
        parse_bird_time("2026-11-24"),
        Some(BirdTime::Date(Date {
            year: 2026,
            month: 11,
            day: 24
        }))
    );
    assert_eq!(
        parse_bird_time("1795633607"),
        Some(BirdTime::Epoch(1_795_633_607))
    );
    let long = datetime("2026-11-25 19:06:52");
    assert_eq!(
        long.date,
        Date {
            year: 2026,
            month: 11,
            day: 25
        }
    );
    assert_eq!(long.time.second, 52);
    assert_eq!(datetime("2026-11-25 18:58:47.956").time.micros, 956_000);
    assert_eq!(
        datetime(" 2026-11-25  18:58:47.956123 ").time.micros,
        956_123
    );
}

#[test]
fn rejects_impossible_or_foreign_strings() {
    for bad in [
        "",
        " ",
        "-",
        "2026-13-01",
        "2026-02-30",
        "2025-02-29",
        "24:00:00",
        "12:60:00",
        "12:00:61",
        "12:00:00.",
        "12:00:00.1234567890",
        "2026-11-25T19:06:52",
        "2026-11-25 19:06:52 extra",
        "1234567890123456789",
        "Jun13",
        "-5",
        "1:2:3",
    ] {
        assert_eq!(parse_bird_time(bad), None, "{bad:?}");
    }
    assert!(parse_bird_time("2024-02-29").is_some());
    assert!(parse_bird_time("23:59:60").is_some());
    assert!(parse_bird_time("12:34").is_some());
}

#[test]
fn converts_to_rfc3339_and_unix_seconds() {
    let since = datetime("2026-11-25 19:06:52.201");
    assert_eq!(since.to_rfc3339(0).unwrap(), "2026-11-25T19:06:52.201Z");
    assert_eq!(
        since.to_rfc3339(3600).unwrap(),
        "2026-11-25T19:06:52.201+01:00"
    );
    assert_eq!(
        since.to_rfc3339(-(5 * 3600 + 1800)).unwrap(),
        "2026-11-25T19:06:52.201-05:30"
    );
    assert_eq!(since.to_rfc3339(59), None);
    assert_eq!(since.to_rfc3339(86_400), None);
    assert_eq!(
        datetime("2026-11-25 19:06:52").to_rfc3339(0).unwrap(),
        "2026-11-25T19:06:52Z"
    );
    assert_eq!(
        datetime("2026-11-25 19:06:52.000001")
            .to_rfc3339(0)
            .unwrap(),
        "2026-11-25T19:06:52.000001Z"
    );
    // The epoch capture was taken seconds after the iso long one, on a UTC host.
    assert_eq!(since.to_unix_seconds(0), 1_795_633_612);
    assert_eq!(since.to_unix_seconds(3600), 1_795_633_612 - 3600);
    let epoch = BirdTime::Epoch(1_795_633_612);
    assert_eq!(epoch.to_rfc3339(0).unwrap(), "2026-11-25T19:06:52Z");
    assert_eq!(epoch.to_rfc3339(3600).unwrap(), "2026-11-25T20:06:52+01:00");
    assert_eq!(epoch.to_unix_seconds(3600), Some(1_795_633_612));
    assert_eq!(BirdTime::Epoch(i64::MAX).to_rfc3339(0), None);
    let partial = parse_bird_time("19:06:52.201").unwrap();
    assert_eq!(partial.to_rfc3339(0), None);
    assert_eq!(partial.to_unix_seconds(0), None);
}

#[test]
fn calendar_arithmetic_round_trips() {
    assert_eq!(
        Date {
            year: 1970,
            month: 1,
            day: 1
        }
        .days_since_epoch(),
        0
    );
    assert_eq!(
        Date {
            year: 2000,
            month: 3,
            day: 1
        }
        .days_since_epoch(),
        11_017
    );
    for days in [-719_162, -1, 0, 1, 11_016, 20_000, 2_932_896] {
        let date = Date::from_days_since_epoch(days).unwrap();
        assert_eq!(date.days_since_epoch(), days);
    }
    assert_eq!(Date::from_days_since_epoch(-719_163), None);
    assert_eq!(Date::from_days_since_epoch(2_932_897), None);
}
