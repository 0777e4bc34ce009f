//! Reaching a secured etcd: TLS with client certificates, and user/password authentication,
//! with errors that name the endpoint and never contain the password.

mod support;

use std::process::Command;
use std::time::Duration;

use perch::datastore::etcd::{EtcdError, load_snapshot};
use support::etcd::Etcd;
use support::follow::Follow;

const ROOT: &str = "/calico/resources/v3/projectcalico.org";
const PASSWORD: &str = "calico-Secr3t-pw";
const WRONG: &str = "wrong-Secr3t-pw";

fn seed(etcd: &Etcd) {
    etcd.put(
        &format!("{ROOT}/nodes/node-a"),
        r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"node-a"},"spec":{"bgp":{"ipv4Address":"10.0.0.11/24"}}}"#,
    );
}

fn peer(name: &str) -> String {
    format!(
        r#"{{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{{"name":"{name}"}},"spec":{{"peerIP":"10.0.0.1","asNumber":65000}}}}"#
    )
}

fn perch(envs: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        .env("DATASTORE_TYPE", "etcdv3")
        .envs(envs.iter().copied())
        .output()
        .expect("perch runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate_lists_and_watches() {
    let etcd = Etcd::start_tls();
    seed(&etcd);
    let cfg = etcd.config();
    let (s, _) = load_snapshot(&cfg, "node-a")
        .await
        .expect("a TLS list with a client certificate");
    assert!(s.nodes.contains_key("node-a"));

    let mut anonymous = cfg.clone();
    anonymous.cert_file = None;
    anonymous.key_file = None;
    let err = load_snapshot(&anonymous, "node-a")
        .await
        .expect_err("etcd requires a client certificate");
    assert!(
        err.to_string().contains(&etcd.endpoint()),
        "the error names the endpoint: {err}"
    );

    let mut plain = cfg.clone();
    plain.endpoints = vec![etcd.endpoint().replace("https://", "http://")];
    let err = load_snapshot(&plain, "node-a")
        .await
        .expect_err("TLS files with http://");
    assert!(
        matches!(err, EtcdError::Config(_)) && err.to_string().contains("https://"),
        "{err}"
    );

    let mut f = Follow::start(cfg.clone(), "node-a");
    f.until_matches("the follower lists over TLS", &cfg).await;
    etcd.put(&format!("{ROOT}/bgppeers/tor"), &peer("tor"));
    f.until(
        "a change arrives over the TLS watch",
        Duration::from_secs(10),
        |f| f.synced() && f.snapshot.bgp_peers.contains_key("tor"),
    )
    .await;
    f.stop().await;

    let tls = etcd.tls().expect("TLS files");
    let endpoint = etcd.endpoint();
    let out = perch(
        &[
            ("ETCD_ENDPOINTS", endpoint.as_str()),
            ("ETCD_CA_CERT_FILE", tls.ca.to_str().unwrap()),
            ("ETCD_CERT_FILE", tls.client_cert.to_str().unwrap()),
            ("ETCD_KEY_FILE", tls.client_key.to_str().unwrap()),
        ],
        &["get", "nodes"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("node-a"),
        "perch get works over TLS with calicoctl's variables: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_password_authenticate_and_a_wrong_password_is_never_shown() {
    let mut etcd = Etcd::start();
    seed(&etcd);
    etcd.enable_auth("calico", PASSWORD);
    let mut cfg = etcd.config();
    cfg.username = Some("calico".into());
    cfg.password = Some(PASSWORD.into());
    let (s, _) = load_snapshot(&cfg, "node-a")
        .await
        .expect("the right password lists");
    assert!(s.nodes.contains_key("node-a"));

    let mut wrong = cfg.clone();
    wrong.password = Some(WRONG.into());
    let err = load_snapshot(&wrong, "node-a")
        .await
        .expect_err("a wrong password fails");
    let text = err.to_string();
    assert!(
        text.contains("authentication failed"),
        "the error says why: {text}"
    );
    assert!(
        text.contains(&etcd.endpoint()),
        "the error names the endpoint: {text}"
    );
    assert!(
        !text.contains(WRONG) && !format!("{wrong:?}").contains(WRONG),
        "no password in errors or Debug: {text}"
    );

    let mut nobody = cfg.clone();
    nobody.username = None;
    let err = load_snapshot(&nobody, "node-a")
        .await
        .expect_err("auth is required");
    assert!(err.to_string().contains("user name is empty"), "{err}");

    let endpoint = etcd.endpoint();
    let out = perch(
        &[
            ("ETCD_ENDPOINTS", endpoint.as_str()),
            ("ETCD_USERNAME", "calico"),
            ("ETCD_PASSWORD", WRONG),
        ],
        &["get", "nodes"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("authentication failed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(WRONG),
        "the CLI never prints the password: {stderr}"
    );
    let help = perch(&[("ETCD_PASSWORD", WRONG)], &["get", "--help"]);
    assert!(
        !String::from_utf8_lossy(&help.stdout).contains(WRONG),
        "--help does not show ETCD_PASSWORD's value"
    );
    let out = perch(
        &[
            ("ETCD_ENDPOINTS", endpoint.as_str()),
            ("ETCD_USERNAME", "calico"),
            ("ETCD_PASSWORD", PASSWORD),
        ],
        &["get", "nodes"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // etcd's auth tokens do not survive a restart: the watcher must authenticate again.
    let mut f = Follow::start(cfg.clone(), "node-a");
    f.until_matches("the follower lists with a password", &cfg)
        .await;
    etcd.restart();
    etcd.put(
        &format!("{ROOT}/bgppeers/after-restart"),
        &peer("after-restart"),
    );
    f.until(
        "the watch resumes with a fresh token",
        Duration::from_secs(30),
        |f| f.synced() && f.snapshot.bgp_peers.contains_key("after-restart"),
    )
    .await;
    f.stop().await;
}
