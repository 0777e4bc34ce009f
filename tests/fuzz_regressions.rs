//! Replays the fuzzers' corpus (`fuzz/corpus/<target>/`) and the inputs of fixed crashes
//! (`fuzz/artifacts/<target>/`) through the same checks the fuzz targets run
//! (`perch::fuzzing`), on stable and without cargo-fuzz. Every config the render corpus
//! produces must also pass BIRD 2's own parse check (`bird -p -c`).
//!
//! `fuzz/run.sh` (README "Fuzzing") grows and minimises the corpus.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;

use perch::fuzzing;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every committed input of `target`: its corpus and its fixed crashes.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let dir = fuzz_dir().join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let data = std::fs::read(&path).unwrap();
                out.push((path, data));
            }
        }
    }
    out.sort();
    out
}

/// Runs `check` on every input of `target`; fails naming each input that panics.
fn replay(target: &str, check: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(
        !inputs.is_empty(),
        "no corpus for {target} in {}",
        fuzz_dir().display()
    );
    let failed: Vec<String> = inputs
        .iter()
        .filter(|(_, data)| catch_unwind(AssertUnwindSafe(|| check(data))).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs fail (replay one with `cargo +nightly fuzz run {target} FILE` in fuzz/):\n{}",
        failed.len(),
        inputs.len(),
        failed.join("\n")
    );
}

#[test]
fn selector_corpus() {
    replay("selector", fuzzing::check_selector);
}

#[test]
fn documents_corpus() {
    replay("documents", fuzzing::check_documents);
}

#[test]
fn etcd_value_corpus() {
    replay("etcd_value", fuzzing::check_etcd_value);
}

#[test]
fn bird_reply_corpus() {
    replay("bird_reply", fuzzing::check_bird_reply);
}

#[test]
fn render_corpus() {
    replay("render", |data| {
        let _ = fuzzing::check_render(data);
    });
}

/// One render input: the default value of every field except the given ones.
fn render_input(changes: &[(usize, &str)]) -> Vec<u8> {
    let mut fields: Vec<&str> = fuzzing::RENDER_FIELDS.iter().map(|f| f.1).collect();
    for (i, v) in changes {
        fields[*i] = v;
    }
    fields.join("\0").into_bytes()
}

/// Strings that would break out of their place in the config, in the fields that print
/// strings: refused, or printed intact.
#[test]
fn hostile_strings_are_refused_or_intact() {
    let hostile = [
        "x\"; protocol static evil { ipv4; }",
        "x\nrouter id 1.1.1.1;",
        "x\\",
        "x#y",
        "x'y",
        "x/*y",
        "x\ry",
        "é",
        "",
    ];
    for name in [
        "password",
        "ignoredInterfaces item",
        "filter rule interface",
        "node name",
        "BGPFilter name",
        "BGPPeer name",
        "community value",
        "prefixAdvertisement community",
        "logSeverityScreen",
        "routeReflectorClusterID",
        "node label value",
        "BGPPeer nodeSelector",
    ] {
        for value in hostile {
            // Panics when the value breaks the config or does not read back intact.
            let _ = fuzzing::check_render(&render_input(&[(field(name), value)]));
        }
    }
    // Numbers at and past the ends of their ranges: refused, or accepted by BIRD (see
    // `render_corpus_configs_pass_bird_parse_check`, which runs these too).
    for (name, value) in numeric_edges() {
        let _ = fuzzing::check_render(&render_input(&[(field(name), value)]));
    }
    // The defaults render, with the password and interfaces intact.
    let rendered = fuzzing::check_render(&render_input(&[])).expect("the defaults render");
    for s in ["s3cret-pw", "eth9", "eth*"] {
        assert!(rendered.strings.iter().any(|x| x == s), "{s} missing");
    }
}

fn field(name: &str) -> usize {
    fuzzing::RENDER_FIELDS
        .iter()
        .position(|f| f.0 == name)
        .unwrap_or_else(|| panic!("no render field {name:?}"))
}

/// Numeric fields at and past the ends of their ranges.
fn numeric_edges() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for (name, values) in [
        (
            "node asNumber",
            &["0", "1", "4294967295", "4294967296", "-1", "1.5"][..],
        ),
        ("peer asNumber", &["0", "4294967295", "64512"]),
        (
            "peer peerIP",
            &[
                "10.0.0.9:0",
                "10.0.0.9:65535",
                "10.0.0.1",
                "0.0.0.0",
                "255.255.255.255",
                "[fd00::9]:179",
                "fd00::1",
            ],
        ),
        ("listenPort", &["0", "1", "65535", "65536"]),
        (
            "keepaliveTime",
            &["0s", "1s", "3s", "65535s", "1000000s", "1ms", "1h"],
        ),
        (
            "BGPPeer maxRestartTime",
            &["0s", "1ms", "4095s", "4096s", "65535s", "1000000s"],
        ),
        ("BGPPeer ttlSecurity", &["1", "254", "255", "256"]),
        (
            "BGPPeer numAllowedLocalASNumbers",
            &["0", "10", "255", "256", "2147483647"],
        ),
        (
            "filter rule prefixLength min",
            &["0", "8", "16", "32", "33"],
        ),
        (
            "filter rule prefixLength max",
            &["0", "8", "15", "16", "32"],
        ),
        (
            "filter rule cidr",
            &["0.0.0.0/0", "44.0.0.1/32", "44.0.0.5/16", "fd00::/8"],
        ),
        (
            "community value",
            &["0:0", "65535:65535", "4294967295:4294967295:4294967295"],
        ),
        (
            "prefixAdvertisement cidr",
            &["0.0.0.0/0", "10.0.0.1/32", "fd00::/64"],
        ),
        ("IPPool cidr", &["0.0.0.0/0", "10.0.0.0/8", "fd00::/48"]),
        (
            "block affinity cidr",
            &["192.168.3.0/32", "10.0.0.1/24", "fd00::/122"],
        ),
        (
            "serviceClusterIPs cidr",
            &["0.0.0.0/0", "10.0.0.1/32", "fd00::/112"],
        ),
        (
            "node ipv4Address",
            &["10.0.0.1/32", "10.0.0.1", "10.0.0.9/24"],
        ),
        (
            "routeReflectorClusterID",
            &["0.0.0.0", "255.255.255.255", "10.0.0.1"],
        ),
    ] {
        for value in values {
            out.push((name, *value));
        }
    }
    out
}

/// Every config the render corpus produces passes `bird -p`.
#[test]
fn render_corpus_configs_pass_bird_parse_check() {
    let bird = std::env::var("PERCH_BIRD").unwrap_or_else(|_| "bird".into());
    let dir = tempfile::tempdir().unwrap();
    let mut configs = std::collections::BTreeMap::new();
    let edges = numeric_edges().into_iter().map(|(name, value)| {
        let input = render_input(&[(field(name), value)]);
        (PathBuf::from(format!("{name} = {value}")), input)
    });
    for (path, data) in inputs("render")
        .into_iter()
        .chain([(PathBuf::from("defaults"), render_input(&[]))])
        .chain(edges)
    {
        if let Some(rendered) = fuzzing::check_render(&data) {
            configs.entry(rendered.config).or_insert(path);
        }
    }
    assert!(!configs.is_empty());
    eprintln!("{} distinct configs", configs.len());
    let mut refused = Vec::new();
    for (n, (config, source)) in configs.iter().enumerate() {
        let file = dir.path().join(format!("{n}.cfg"));
        std::fs::write(&file, config).unwrap();
        let output = Command::new(&bird)
            .arg("-p")
            .arg("-c")
            .arg(&file)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `{bird} -p` ({e}): install BIRD 2 (apt-get install bird2) or run \
                     the tests through `.ci/run`; PERCH_BIRD names another binary"
                )
            });
        if !output.status.success() {
            refused.push(format!(
                "{}: {}",
                source.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    assert!(
        refused.is_empty(),
        "bird -p refused {} of {} configs:\n{}",
        refused.len(),
        configs.len(),
        refused.join("\n")
    );
}
