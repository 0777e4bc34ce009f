//! Faults that must cost only themselves, through `perch run` against a real BIRD 2 in its own
//! network namespace: a BGPPeer BIRD refuses costs only its session, and the status server
//! cannot be held by slow clients; the password of a refused session reaches no output.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::bird::{BirdNode, bird_node, wait_for};
use support::perch::{Perch, http_get, metric};

const CLUSTER: &str = "\
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.98.0.1/24, ipv6Address: 'fe80::5/64'}}
";

const TOR_PEER: &str = "\
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: tor}
spec: {peerIP: 10.98.0.254, asNumber: 65001}
";

/// A BGPPeer whose session BIRD refuses, through [`templates_refusing`]: perch cannot foresee
/// the refusal (every rule it knows is checked before rendering), as with a BIRD rule it does
/// not know of.
const POISON_PEER: &str = "\
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: poison}
spec: {peerIP: 10.98.0.250, asNumber: 65002}
";

/// The poison peer's address, refused by [`templates_refusing`].
const POISON_IP: &str = "10.98.0.250";

const SECOND_TOR: &str = "\
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: tor2}
spec: {peerIP: 10.98.0.253, asNumber: 65001}
";

type Setup = BirdNode;

fn setup() -> Setup {
    bird_node("pf", "10.98.0.1", CLUSTER)
}

fn start_perch(s: &Setup, extra: &[&str]) -> Perch {
    let p = Perch::start(&s.perch_args(extra), &[], s.dir.join("perch.log"));
    p.wait_status(
        Duration::from_secs(20),
        "the first apply accepted by BIRD",
        |st| st["ready"] == true,
    );
    p
}

fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn in_bird(s: &Setup, name: &str) -> bool {
    s.bird.bgp_protocols().iter().any(|p| p == name)
}

fn refused(st: &Value) -> Vec<Value> {
    st["lastApply"]["refused"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_bgppeer_bird_refuses_costs_only_its_session() {
    let s = setup();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    let templates = templates_refusing(&s.dir.join("templates"), POISON_IP);
    let perch = start_perch(&s, &["--templates", &templates]);
    wait_for(Duration::from_secs(10), "the ToR session in BIRD", || {
        in_bird(&s, "Global_10_98_0_254").then_some(())
    });

    write(&s.dir.join("resources/poison.yaml"), POISON_PEER);
    let st = perch.wait_status(
        Duration::from_secs(15),
        "the refused BGPPeer in /status",
        |st| !refused(st).is_empty(),
    );
    let r = &refused(&st)[0];
    assert_eq!(r["kind"], "BGPPeer", "{r}");
    assert_eq!(r["name"], "poison", "{r}");
    assert_eq!(r["session"], "Global_10_98_0_250", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("Hold time"), "BIRD's own words: {reason}");
    assert!(
        !reason.contains(".perch-"),
        "the reason names the resource, not a staged file: {reason}"
    );
    // Without the refused session the config is the one BIRD already runs.
    assert_eq!(
        st["lastApply"]["result"], "unchanged",
        "the rest is applied: {st}"
    );
    assert_eq!(st["lastApply"]["error"], Value::Null);

    // A later, unrelated valid change reaches BIRD, still without the refused session.
    write(&s.dir.join("resources/tor2.yaml"), SECOND_TOR);
    wait_for(Duration::from_secs(15), "the second ToR in BIRD", || {
        in_bird(&s, "Global_10_98_0_253").then_some(())
    });
    assert!(in_bird(&s, "Global_10_98_0_254"), "the first ToR stays");
    assert!(
        !in_bird(&s, "Global_10_98_0_250"),
        "the refused session is not in BIRD"
    );
    let st = perch.wait_status(
        Duration::from_secs(10),
        "the refused BGPPeer still reported",
        |st| {
            st["lastApply"]["result"] == "reconfigured"
                && refused(st).iter().any(|r| r["name"] == "poison")
        },
    );
    assert_eq!(st["ready"], true);
    assert_eq!(
        metric(perch.port, "perch_bird_refused_sessions"),
        Some(1.0),
        "the metric counts the refused session"
    );
    let log = perch.log_text();
    assert!(
        log.contains("BGPPeer poison") && log.contains("Hold time"),
        "the log names the resource and BIRD's reason:\n{log}"
    );

    // Fixing the BGPPeer brings its session in and clears the report.
    write(
        &s.dir.join("resources/poison.yaml"),
        &POISON_PEER.replace(POISON_IP, "10.98.0.252"),
    );
    wait_for(Duration::from_secs(15), "the fixed peer in BIRD", || {
        in_bird(&s, "Global_10_98_0_252").then_some(())
    });
    perch.wait_status(Duration::from_secs(10), "no refusal reported", |st| {
        refused(st).is_empty()
    });
    assert_eq!(metric(perch.port, "perch_bird_refused_sessions"), Some(0.0));
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

/// Twelve nodes one BGPPeer peers this node with (`peerSelector`), each session in `10.97.0.0/24`.
fn many_sessions_peer() -> String {
    let mut yaml = String::new();
    for i in 1..=12 {
        yaml.push_str(&format!(
            "---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {{name: m{i}, labels: {{many: 'y'}}}}\n\
             spec: {{bgp: {{ipv4Address: 10.97.0.{i}/24}}}}\n"
        ));
    }
    yaml.push_str(
        "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: many}\n\
         spec: {nodeSelector: all(), peerSelector: many == 'y'}\n",
    );
    yaml
}

/// The built-in templates in `dir`, with a line BIRD refuses ("Hold time must be in range
/// 3-65535 or zero") in every session whose neighbor address contains `neighbor`: a refusal
/// perch cannot foresee, tied to the sessions of the BGPPeers with those addresses.
fn templates_refusing(dir: &Path, neighbor: &str) -> String {
    let builtin = include_str!("../templates/bird.cfg");
    let open = "protocol bgp {{ p.name }} from bgp_template {";
    assert!(
        builtin.contains(open),
        "the session block of the built-in template"
    );
    let poisoned = builtin.replace(
        open,
        &format!(
            "{open}\n{{%- if \"{neighbor}\" in p.neighbor %}}\n  hold time 1;\n{{%- endif %}}"
        ),
    );
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("bird.cfg"), poisoned).unwrap();
    dir.display().to_string()
}

#[test]
fn a_bgppeer_with_more_refused_sessions_than_one_apply_leaves_out_costs_only_them() {
    let s = setup();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    let templates = templates_refusing(&s.dir.join("templates"), "10.97.0.");
    let perch = start_perch(&s, &["--templates", &templates]);
    wait_for(Duration::from_secs(10), "the ToR session in BIRD", || {
        in_bird(&s, "Global_10_98_0_254").then_some(())
    });

    write(&s.dir.join("resources/many.yaml"), &many_sessions_peer());
    let st = perch.wait_status(
        Duration::from_secs(20),
        "the refused sessions of BGPPeer many in /status",
        |st| refused(st).len() == 12,
    );
    assert!(
        refused(&st)
            .iter()
            .all(|r| r["kind"] == "BGPPeer" && r["name"] == "many"),
        "{st}"
    );
    assert_eq!(
        st["lastApply"]["error"],
        Value::Null,
        "the rest is applied: {st}"
    );

    // A later, unrelated valid change reaches BIRD.
    write(&s.dir.join("resources/tor2.yaml"), SECOND_TOR);
    wait_for(Duration::from_secs(15), "the second ToR in BIRD", || {
        in_bird(&s, "Global_10_98_0_253").then_some(())
    });
    assert!(in_bird(&s, "Global_10_98_0_254"), "the first ToR stays");
    assert!(
        !s.bird
            .bgp_protocols()
            .iter()
            .any(|p| p.starts_with("Node_10_97_0_")),
        "no refused session is in BIRD: {:?}",
        s.bird.bgp_protocols()
    );
    assert_eq!(
        metric(perch.port, "perch_bird_refused_sessions"),
        Some(12.0)
    );
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

/// A node whose `ipv6Address` is link-local (BIRD refuses it as a source address) in a
/// dual-stack mesh of twelve other nodes: its IPv6 sessions are withheld before rendering,
/// its IPv4 sessions and later changes reach BIRD (the refusals, one Node each, froze it).
#[test]
fn a_link_local_node_address_costs_only_the_sessions_that_use_it() {
    let s = setup();
    let mut mesh = CLUSTER.replace(
        "nodeToNodeMeshEnabled: false",
        "nodeToNodeMeshEnabled: true",
    );
    for i in 1..=12 {
        mesh.push_str(&format!(
            "---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {{name: m{i}}}\n\
             spec: {{bgp: {{ipv4Address: 10.98.0.{}/24, ipv6Address: 'fd00:98::{}/64'}}}}\n",
            i + 10,
            i + 10
        ));
    }
    write(&s.dir.join("resources/cluster.yaml"), &mesh);
    let perch = start_perch(&s, &[]);
    wait_for(Duration::from_secs(15), "the IPv4 mesh in BIRD", || {
        (s.bird
            .bgp_protocols()
            .iter()
            .filter(|p| p.starts_with("Mesh_10_98_0_"))
            .count()
            == 12)
            .then_some(())
    });
    assert!(
        !s.bird
            .bgp_protocols()
            .iter()
            .any(|p| p.starts_with("Mesh_fd00")),
        "{:?}",
        s.bird.bgp_protocols()
    );
    let (_, plan) = http_get(perch.port, "/plan").expect("/plan");
    assert!(
        plan.contains("session Mesh_fd00_98__11 withheld: source address fe80::5"),
        "/plan names the withheld session and why:\n{plan}"
    );

    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    wait_for(Duration::from_secs(15), "a later change in BIRD", || {
        in_bird(&s, "Global_10_98_0_254").then_some(())
    });
    let st = perch.status();
    assert_eq!(st["lastApply"]["error"], Value::Null, "{st}");
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

/// Opens `n` connections to the status server that each send half a request and wait.
fn slow_clients(port: u16, n: usize) -> Vec<std::net::TcpStream> {
    use std::io::Write;
    (0..n)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            c.write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .expect("half a request");
            c
        })
        .collect()
}

/// Whether the server closed `c` (end of stream or reset), waiting at most `within`.
fn closed_by_server(c: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read;
    c.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or similar before the close is fine.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn livez(port: u16) -> Option<u16> {
    http_get(port, "/livez").map(|(code, _)| code)
}

#[test]
fn slow_clients_cannot_hold_the_status_server() {
    let s = setup();
    let perch = start_perch(&s, &[]);
    let mut clients = slow_clients(perch.port, 300);
    assert_eq!(livez(perch.port), Some(200), "/livez answers meanwhile");
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    wait_for(Duration::from_secs(10), "a change reaching BIRD", || {
        in_bird(&s, "Global_10_98_0_254").then_some(())
    });
    for (i, c) in clients.iter_mut().enumerate() {
        assert!(
            closed_by_server(c, Duration::from_secs(30)),
            "slow client {i} was dropped"
        );
    }
    assert_eq!(livez(perch.port), Some(200));
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}

#[test]
fn slow_clients_cannot_use_up_file_descriptors() {
    let s = setup();
    let perch = start_perch(&s, &[]);
    // As with `nofile` 256 in a container: perch keeps BIRD's control socket and its staged
    // config within it, however many clients connect.
    let limited = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", perch.pid()))
        .arg("--nofile=256:256")
        .status()
        .expect("prlimit");
    assert!(limited.success());
    let _clients = slow_clients(perch.port, 300);
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    wait_for(Duration::from_secs(15), "a change reaching BIRD", || {
        in_bird(&s, "Global_10_98_0_254").then_some(())
    });
    let st = perch.wait_status(Duration::from_secs(10), "the apply recorded", |st| {
        st["lastApply"]["result"] == "reconfigured"
    });
    assert_eq!(st["lastApply"]["error"], Value::Null, "{st}");
    assert_eq!(livez(perch.port), Some(200), "/livez answers meanwhile");
    assert!(
        !perch.log_text().contains("Too many open files"),
        "{}",
        perch.log_text()
    );
}

#[test]
fn sigterm_with_a_slow_client_exits_promptly() {
    let s = setup();
    let perch = start_perch(&s, &[]);
    let _clients = slow_clients(perch.port, 3);
    let pid = perch.pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_for(
        Duration::from_secs(10),
        "perch to exit after SIGTERM",
        || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Exited: gone, or a zombie waiting for its parent.
            (stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")).then_some(())
        },
    );
    assert!(perch.stop(), "a clean exit");
}

/// Whether process `pid` has exited (gone, or a zombie waiting for its parent).
fn exited(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")
}

#[test]
fn sigterm_while_a_configure_waits_on_a_hung_bird_exits_promptly() {
    let s = setup();
    let perch = start_perch(&s, &[]);
    let bird = nix::unistd::Pid::from_raw(s.bird.pid().expect("bird runs") as i32);
    nix::sys::signal::kill(bird, nix::sys::signal::Signal::SIGSTOP).unwrap();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    // The staged config exists while perch waits for BIRD to take it.
    let staged = s.dir.join(format!(".bird.conf.perch-{}", perch.pid()));
    wait_for(Duration::from_secs(10), "a configure in flight", || {
        staged.exists().then_some(())
    });
    let pid = perch.pid();
    let asked = std::time::Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    // BIRD's command timeout is 10 s; the exit (3 s grace, then out) must not wait for it.
    // 9 s leaves a loaded machine room and still fails a wait for the timeout.
    wait_for(
        Duration::from_secs(9),
        "perch to exit after SIGTERM",
        || exited(pid).then_some(()),
    );
    eprintln!("exited {:?} after SIGTERM", asked.elapsed());
    nix::sys::signal::kill(bird, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(perch.stop(), "a clean exit");
}

/// A BGP password planted on the session BIRD refuses; it must not appear in any output.
const PLANTED: &str = "PWD-refused-session-5e2b";

/// [`POISON_PEER`] with a password from the secrets directory.
const POISON_PEER_WITH_PASSWORD: &str = "\
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: poison}
spec:
  peerIP: 10.98.0.250
  asNumber: 65002
  password: {secretKeyRef: {name: bgp, key: poison}}
";

fn without_secret(what: &str, text: &str) {
    assert!(
        !text.contains(PLANTED),
        "{what} carries the refused session's password:\n{text}"
    );
}

#[test]
fn the_password_of_a_refused_session_reaches_no_output() {
    let s = setup();
    let secrets = s.dir.join("secrets");
    std::fs::create_dir_all(secrets.join("bgp")).unwrap();
    std::fs::write(secrets.join("bgp/poison"), PLANTED).unwrap();
    let secrets_arg = secrets.display().to_string();
    write(&s.dir.join("resources/tor.yaml"), TOR_PEER);
    let templates = templates_refusing(&s.dir.join("templates"), POISON_IP);
    let perch = start_perch(
        &s,
        &[
            "--templates",
            &templates,
            "--secrets-dir",
            &secrets_arg,
            "--log",
            "trace,h2=info,hyper=info,tower=info",
        ],
    );
    write(
        &s.dir.join("resources/poison.yaml"),
        POISON_PEER_WITH_PASSWORD,
    );
    let st = perch.wait_status(
        Duration::from_secs(15),
        "the refused BGPPeer in /status",
        |st| refused(st).iter().any(|r| r["name"] == "poison"),
    );
    let reason = refused(&st)[0]["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("Hold time"), "BIRD's own words: {reason}");
    let rendered = std::fs::read_to_string(&s.bird.config)
        .unwrap_or_else(|e| panic!("{}: {e}", s.bird.config.display()));
    assert!(
        rendered.contains("protocol bgp"),
        "the config BIRD runs has the other sessions:\n{rendered}"
    );
    without_secret("the config BIRD runs (the session is left out)", &rendered);

    without_secret("/status", &st.to_string());
    for path in ["/status", "/metrics", "/", "/plan", "/routes", "/readyz"] {
        let (code, body) = http_get(perch.port, path)
            .unwrap_or_else(|| panic!("{path}: the status server does not answer"));
        assert_eq!(code, 200, "{path}: {body}");
        assert!(!body.trim().is_empty(), "{path} answers with a body");
        without_secret(path, &body);
    }
    without_secret("the log", &perch.log_text());
    assert!(
        perch.log_text().contains("BGPPeer poison"),
        "the log names the refused resource:\n{}",
        perch.log_text()
    );

    // The CLI, pointed at the same resources, secrets and BIRD.
    let resources = s.dir.join("resources").display().to_string();
    let socket = s.bird.socket.display().to_string();
    let common = ["-r", &resources, "-n", "n1", "--secrets-dir", &secrets_arg];
    let runs: Vec<Vec<&str>> = vec![
        vec!["render", "--templates", &templates],
        vec!["render", "--templates", &templates, "--check"],
        vec!["plan", "-o", "json"],
        vec!["explain", "poison"],
        vec!["status", "--bird-socket", &socket],
        vec![
            "routes",
            "--no-kernel",
            "--bird-socket",
            &socket,
            "-o",
            "json",
        ],
    ];
    for run in runs {
        let (command, rest) = run.split_first().unwrap();
        let mut cmd = std::process::Command::new(support::perch::binary());
        cmd.arg(command);
        // `status` asks BIRD only: it takes no resources or secrets.
        if *command != "status" {
            cmd.args(common);
        }
        let out = cmd.args(rest).env("PERCH_LOG", "trace").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        without_secret(&format!("perch {}: stderr", run.join(" ")), &stderr);
        if run == ["render", "--templates", &templates] {
            // `render` prints the config by design: the session carries the password, so
            // there is one to leak.
            assert!(String::from_utf8_lossy(&out.stdout).contains(PLANTED));
        } else if run.last() == Some(&"--check") {
            assert!(!out.status.success(), "BIRD's check refuses it: {stderr}");
            assert!(stderr.contains("Hold time"), "{stderr}");
        } else {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "perch {}: {:?}\n{stderr}",
                run.join(" "),
                out.status
            );
            assert!(
                !stdout.trim().is_empty(),
                "perch {} prints its answer",
                run.join(" ")
            );
            without_secret(&format!("perch {}: stdout", run.join(" ")), &stdout);
        }
    }
    assert!(perch.stop(), "perch exits cleanly on SIGTERM");
}
