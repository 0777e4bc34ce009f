//! Tests of the typed commands against the fake BIRD: the exact lines sent, outcome mapping
//! and refusal of unsafe commands.

use std::path::Path;

use super::error::BirdError;
use super::fake_bird::{FakeBird, GREETING, answer};
use super::parse::ConfigureOutcome;
use super::test_fixtures as fx;

#[tokio::test]
async fn refuses_commands_that_would_hang_or_break_the_session() {
    let bird = FakeBird::start(GREETING, vec![answer(fx::SHOW_STATUS)]);
    let mut client = bird.connect().await;
    let too_long = format!("show protocols \"{}\"", "x".repeat(990));
    for command in [
        "",
        "   ",
        "quit",
        "exit",
        "HELP",
        "help show",
        "show status\nshow protocols",
        "show status\r",
        "show\0status",
        too_long.as_str(),
    ] {
        let error = client.command(command).await.unwrap_err();
        assert!(
            matches!(error, BirdError::InvalidCommand { .. }),
            "{command:?}: {error:?}"
        );
        assert!(
            error.to_string().contains("refusing to send command"),
            "{error}"
        );
    }
    for error in [
        client
            .configure_file(Path::new("/etc/bird/\"x\".conf"))
            .await
            .unwrap_err(),
        client
            .configure_check(Some(Path::new("")))
            .await
            .unwrap_err(),
        client.show_protocols_all(Some("")).await.unwrap_err(),
        client.show_protocols_all(Some("a\"b")).await.unwrap_err(),
    ] {
        assert!(
            matches!(error, BirdError::InvalidCommand { .. }),
            "{error:?}"
        );
    }
    // Nothing was sent, so the session is still in step.
    assert!(!client.is_unusable());
    assert_eq!(
        client.show_status().await.unwrap().hostname.as_deref(),
        Some("vm")
    );
    assert_eq!(bird.received(client).await, ["show status"]);
}

#[tokio::test]
async fn typed_commands_send_the_right_lines_and_map_outcomes() {
    let bird = FakeBird::start(
        GREETING,
        vec![
            answer(fx::CONFIGURE_CHECK_BAD),
            answer(fx::CONFIGURE_RECONFIGURED),
            answer(fx::CONFIGURE_CONFIRM),
            answer(fx::CONFIGURE_UNDO_NOTHING),
            answer(fx::CONFIGURE_CHECK_OK),
            answer(fx::DISABLE_NOMATCH),
            answer(fx::SHOW_PROTOCOLS_ALL_PEER_B),
            answer(fx::SYNTAX_ERROR),
        ],
    );
    let mut client = bird.connect().await;
    let checked = client
        .configure_check(Some(Path::new("/etc/bird/staged/bird.conf")))
        .await
        .unwrap();
    assert_eq!(
        checked,
        ConfigureOutcome::Error {
            code: 8002,
            message: "bad_noneighbor.conf:5:1 Neighbor must be configured".into()
        }
    );
    let file = client
        .configure_file(Path::new("/etc/bird/bird.conf"))
        .await
        .unwrap();
    assert_eq!(file, ConfigureOutcome::Reconfigured);
    assert_eq!(
        client.configure_confirm().await.unwrap(),
        ConfigureOutcome::Confirmed
    );
    assert_eq!(
        client.configure_undo().await.unwrap(),
        ConfigureOutcome::NothingToDo
    );
    assert_eq!(
        client.configure_check(None).await.unwrap(),
        ConfigureOutcome::Ok
    );
    assert!(
        client
            .show_protocols_all(Some("nomatch*"))
            .await
            .unwrap()
            .is_empty()
    );
    let peer_b = client.show_protocols_all(Some("peer_b")).await.unwrap();
    assert_eq!(peer_b[0].bgp.as_ref().unwrap().neighbor_port, Some(1179));
    let error = client.show_protocols().await.unwrap_err();
    assert!(
        matches!(error, BirdError::CommandFailed { code: 9001, .. }),
        "{error:?}"
    );
    assert!(!client.is_unusable());
    assert_eq!(
        bird.received(client).await,
        [
            "configure check \"/etc/bird/staged/bird.conf\"",
            "configure \"/etc/bird/bird.conf\"",
            "configure confirm",
            "configure undo",
            "configure check",
            "show protocols all \"nomatch*\"",
            "show protocols all \"peer_b\"",
            "show protocols",
        ]
    );
}
