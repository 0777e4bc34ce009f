//! Client transport tests against the fake BIRD: greeting, multi-line and split replies,
//! async lines, timeouts, closed connections and connect errors.

use std::time::Duration;

use super::client::{Client, DEFAULT_COMMAND_TIMEOUT};
use super::error::BirdError;
use super::fake_bird::{CONNECT_TIMEOUT, FakeBird, GREETING, Step, answer, answer_in_chunks};
use super::reply::{MAX_LINE_LEN, ReplyError};
use super::test_fixtures as fx;

/// Time limit for tests in which the fake server stays silent on purpose.
const SHORT_TIMEOUT: Duration = Duration::from_millis(200);

#[tokio::test]
async fn reads_the_greeting_and_multi_line_replies() {
    let bird = FakeBird::start(
        GREETING,
        vec![
            answer(fx::SHOW_STATUS),
            answer(fx::SHOW_PROTOCOLS),
            answer(fx::SHOW_PROTOCOLS_ALL),
            answer(fx::SHOW_ROUTE_COUNT),
        ],
    );
    let mut client = bird.connect().await;
    assert_eq!(client.version(), "2.0.12");
    assert_eq!(client.path(), bird.path.as_path());
    assert_eq!(client.command_timeout(), DEFAULT_COMMAND_TIMEOUT);

    let status = client.show_status().await.unwrap();
    assert_eq!(status.router_id.as_deref(), Some("10.0.0.1"));
    assert_eq!(
        status.last_reboot.as_deref(),
        Some("2026-11-25 19:06:47.891")
    );
    let rows = client.show_protocols().await.unwrap();
    assert_eq!(rows.len(), 12);
    let all = client.show_protocols_all(None).await.unwrap();
    let peer_b = all.iter().find(|p| p.row.name == "peer_b").unwrap();
    let bgp = peer_b.bgp.as_ref().unwrap();
    assert_eq!(bgp.state.as_deref(), Some("Established"));
    assert_eq!(bgp.neighbor_address.as_deref(), Some("127.0.0.2"));
    assert_eq!(bgp.neighbor_as, Some(65002));
    let count = client.command("show route count").await.unwrap();
    assert_eq!(count.final_code(), 14);
    assert_eq!(
        count.final_text(),
        "Total: 5 of 5 routes for 5 networks in 2 tables"
    );
    assert!(client.take_async_lines().is_empty());
    assert_eq!(
        bird.received(client).await,
        [
            "show status",
            "show protocols",
            "show protocols all",
            "show route count"
        ]
    );
}

#[tokio::test]
async fn reassembles_replies_split_into_small_writes() {
    let bird = FakeBird::start(
        b"0001 BIRD 2.0.12 ready.\n",
        vec![
            answer_in_chunks(fx::SHOW_PROTOCOLS_ALL, 7),
            answer_in_chunks(fx::SHOW_STATUS, 1),
        ],
    );
    let mut client = bird.connect().await;
    let reply = client.command("show protocols all").await.unwrap();
    assert_eq!(reply, fx::reply(fx::SHOW_PROTOCOLS_ALL));
    let reply = client.command("show status").await.unwrap();
    assert_eq!(reply, fx::reply(fx::SHOW_STATUS));
    bird.received(client).await;
}

#[tokio::test]
async fn keeps_async_lines_apart_from_replies() {
    let interleaved = b"1007-Table master4:\n+peer_b: Started\n 10.0.0.0/8 blackhole\n\
                        +peer_b: Connected\n0000 \n";
    let bird = FakeBird::start(
        GREETING,
        vec![
            answer(fx::RESTART_WITH_ECHO),
            answer(interleaved),
            answer(fx::CONFIGURE_STATUS),
        ],
    );
    let mut client = bird.connect().await;
    let toggles = client.command("restart peer_refused").await.unwrap();
    assert_eq!(toggles.final_code(), 0);
    // The async lines after the reply are read with the next reply.
    let reply = client.command("show route").await.unwrap();
    assert_eq!(reply.lines.len(), 3);
    assert_eq!(reply.lines[1].text, "10.0.0.0/8 blackhole");
    let async_lines = client.take_async_lines();
    assert_eq!(async_lines.len(), 13);
    assert_eq!(async_lines[0], "Restarting protocol peer_refused");
    assert_eq!(async_lines[11..], ["peer_b: Started", "peer_b: Connected"]);
    let status = client.command("configure status").await.unwrap();
    assert_eq!(status.lines[0].text, "Daemon is up and running");
    assert!(client.take_async_lines().is_empty());
    bird.received(client).await;
}

#[tokio::test]
async fn times_out_when_bird_never_answers() {
    let bird = FakeBird::start(GREETING, vec![Step::Silence]);
    let mut client = bird.connect().await;
    client.set_command_timeout(SHORT_TIMEOUT);
    let error = client.command("show status").await.unwrap_err();
    assert!(
        matches!(&error, BirdError::Timeout { after, .. } if *after == SHORT_TIMEOUT),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "bird control socket {}: timed out after 200ms waiting for reply to \"show status\"",
            bird.path.display()
        )
    );
    assert!(client.is_unusable());
    let again = client.command("show status").await.unwrap_err();
    assert!(matches!(again, BirdError::Unusable { .. }), "{again:?}");
}

#[tokio::test]
async fn one_off_timeouts_override_the_default() {
    let bird = FakeBird::start(GREETING, vec![Step::Silence]);
    let mut client = bird.connect().await;
    let error = client
        .command_with_timeout("configure", SHORT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BirdError::Timeout { after, waiting_for, .. }
            if *after == SHORT_TIMEOUT && waiting_for == "reply to \"configure\""),
        "{error:?}"
    );
    assert_eq!(client.command_timeout(), DEFAULT_COMMAND_TIMEOUT);
}

#[tokio::test]
async fn times_out_without_a_greeting() {
    // The server waits for a command that never comes, keeping the connection open.
    let bird = FakeBird::start(b"", vec![Step::Silence]);
    let error = Client::connect(&bird.path, SHORT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BirdError::Timeout { waiting_for, .. } if waiting_for == "the greeting"),
        "{error:?}"
    );
}

#[tokio::test]
async fn reports_a_connection_closed_mid_reply() {
    let half = fx::SHOW_STATUS[..fx::SHOW_STATUS.len() / 2].to_vec();
    let bird = FakeBird::start(GREETING, vec![Step::AnswerAndClose(half)]);
    let mut client = bird.connect().await;
    let error = client.command("show status").await.unwrap_err();
    assert!(matches!(error, BirdError::Closed { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "bird control socket {}: connection closed by BIRD while waiting for reply to \"show \
             status\"",
            bird.path.display()
        )
    );
    assert!(error.breaks_connection());
    assert!(matches!(
        client.command("show status").await,
        Err(BirdError::Unusable { .. })
    ));
}

#[tokio::test]
async fn rejects_over_long_lines_and_bad_greetings() {
    let long_line = vec![b'1'; MAX_LINE_LEN + 10];
    let bird = FakeBird::start(GREETING, vec![Step::AnswerAndClose(long_line)]);
    let mut client = bird.connect().await;
    let error = client.command("show memory").await.unwrap_err();
    assert!(
        matches!(
            error,
            BirdError::Protocol {
                source: ReplyError::LineTooLong,
                ..
            }
        ),
        "{error:?}"
    );

    let bird = FakeBird::start(b"0001 Welcome to something else\n", vec![]);
    let error = Client::connect(&bird.path, CONNECT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            BirdError::Protocol {
                source: ReplyError::Greeting { .. },
                ..
            }
        ),
        "{error:?}"
    );
    let bird = FakeBird::start(b"garbage\n", vec![]);
    let error = Client::connect(&bird.path, CONNECT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(error, BirdError::Protocol { .. }), "{error:?}");
}

#[tokio::test]
async fn names_missing_and_stale_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("bird.ctl");
    let error = Client::connect(&missing, CONNECT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(error, BirdError::NotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "bird control socket {}: not found (is BIRD running?)",
            missing.display()
        )
    );

    let stale = dir.path().join("stale.ctl");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let error = Client::connect(&stale, CONNECT_TIMEOUT).await.unwrap_err();
    assert!(
        matches!(error, BirdError::ConnectionRefused { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "bird control socket {}: connection refused (stale socket: BIRD is not running)",
            stale.display()
        )
    );
}
