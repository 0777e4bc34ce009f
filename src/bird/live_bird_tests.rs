//! One end-to-end test against a real BIRD 2 daemon (Debian `bird2`), started on a private
//! socket in a temp dir and killed by pid at the end. Skipped, with a printed reason, when the
//! binary is not installed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::client::Client;
use super::error::BirdError;
use super::parse::{ConfigureOutcome, parse_configure};

const BIRD_BINARY: &str = "/usr/sbin/bird";

const CONFIG: &str = "router id 10.0.0.1;\n\
                      protocol device {}\n\
                      protocol static static_bh { ipv4; route 192.0.2.0/24 blackhole; }\n";

const BROKEN_CONFIG: &str = "router id 10.0.0.1;\nprotocol bgp peer_x {\n  local as 65001;\n}\n";

/// Kills the daemon (by its pid) even when an assertion fails.
struct Daemon {
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_bird(dir: &Path) -> (Daemon, PathBuf) {
    let config = dir.join("bird.conf");
    let socket = dir.join("bird.ctl");
    std::fs::write(&config, CONFIG).unwrap();
    let stderr = std::fs::File::create(dir.join("bird.stderr")).unwrap();
    let child = Command::new(BIRD_BINARY)
        .arg("-f")
        .arg("-c")
        .arg(&config)
        .arg("-s")
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    (Daemon { child }, socket)
}

/// Connects once the daemon has created its socket (it does so after parsing the config).
async fn connect_when_ready(daemon: &mut Daemon, socket: &Path, dir: &Path) -> Client {
    for _ in 0..100 {
        match Client::connect(socket, Duration::from_secs(5)).await {
            Ok(client) => return client,
            Err(BirdError::NotFound { .. } | BirdError::ConnectionRefused { .. }) => {}
            Err(error) => panic!("{error}"),
        }
        if let Some(status) = daemon.child.try_wait().unwrap() {
            let stderr = std::fs::read_to_string(dir.join("bird.stderr")).unwrap_or_default();
            panic!("bird exited with {status} before opening its socket: {stderr}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("bird did not open {} within 10 s", socket.display());
}

#[tokio::test]
async fn drives_a_real_bird() {
    if !Path::new(BIRD_BINARY).exists() {
        println!("skipping drives_a_real_bird: {BIRD_BINARY} is not installed (Debian bird2)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut daemon, socket) = start_bird(dir.path());
    let mut client = connect_when_ready(&mut daemon, &socket, dir.path()).await;
    assert!(client.version().starts_with('2'), "{}", client.version());

    let status = client.show_status().await.unwrap();
    assert_eq!(status.router_id.as_deref(), Some("10.0.0.1"));
    assert_eq!(status.status, "Daemon is up and running");
    assert!(status.last_reconfiguration.is_some());

    let rows = client.show_protocols().await.unwrap();
    let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(names, ["device1", "static_bh"]);
    assert!(rows.iter().all(|row| row.state == "up"));

    let config = dir.path().join("bird.conf");
    assert_eq!(
        client.configure_check(Some(&config)).await.unwrap(),
        ConfigureOutcome::Ok
    );
    let broken = dir.path().join("broken.conf");
    std::fs::write(&broken, BROKEN_CONFIG).unwrap();
    match client.configure_check(Some(&broken)).await.unwrap() {
        ConfigureOutcome::Error {
            code: 8002,
            message,
        } => {
            assert!(
                message.starts_with(&format!("{}:", broken.display())),
                "{message}"
            );
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    assert_eq!(
        parse_configure(&client.command("configure").await.unwrap()),
        ConfigureOutcome::Reconfigured
    );

    let routes = client.show_route().await.unwrap();
    let master4: Vec<&str> = routes
        .iter()
        .filter(|r| r.table == "master4")
        .map(|r| r.network.as_str())
        .collect();
    assert_eq!(master4, ["192.0.2.0/24"]);

    let disabled = client.command("disable \"static_bh\"").await.unwrap();
    assert_eq!(
        disabled.lines_with(9).collect::<Vec<_>>(),
        ["static_bh: disabled"]
    );
    let enabled = client.command("enable \"static_bh\"").await.unwrap();
    assert_eq!(
        enabled.lines_with(11).collect::<Vec<_>>(),
        ["static_bh: enabled"]
    );

    let details = client.show_protocols_all(Some("static_*")).await.unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].channels[0].name, "ipv4");
    assert!(
        client
            .show_protocols_all(Some("nomatch*"))
            .await
            .unwrap()
            .is_empty()
    );

    drop(client);
    drop(daemon);
}
