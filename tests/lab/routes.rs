//! Reading a node's route check in the lab: `GET /routes` (and any JSON page) on its
//! `perch run`, the verdict list the route scenarios compare, and the report on one prefix.
//! Shared by `tests/routes*.rs`, so every scenario reads `/routes` the same way.

use serde_json::Value;

use super::resources as res;
use super::{CONVERGE, Lab, until};

/// `GET path` on `node`'s `perch run` as JSON, with its status code.
pub fn get_json(lab: &Lab, node: &str, path: &str) -> Result<(u16, Value), String> {
    let (code, body) = lab
        .node(node)
        .get(path)
        .ok_or_else(|| format!("GET {path}: no answer"))?;
    let v = serde_json::from_str(&body).map_err(|e| format!("GET {path}: {e}: {body}"))?;
    Ok((code, v))
}

/// `GET /routes` on `node`'s `perch run`, once it answers 200 with a check.
pub fn routes_of(lab: &Lab, node: &str) -> Result<Value, String> {
    let (code, body) = lab
        .node(node)
        .get("/routes")
        .ok_or_else(|| format!("{node}: GET /routes: no answer"))?;
    if code != 200 {
        return Err(format!("{node}: GET /routes answered {code}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{node}: /routes: {e}: {body}"))
}

/// `prefix verdict [cause sessions]` for every reported prefix (`?` for a missing field).
pub fn verdicts(v: &Value) -> Vec<String> {
    v["routes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let mut s = format!(
                "{} {}",
                r["prefix"].as_str().unwrap_or("?"),
                r["verdict"].as_str().unwrap_or("?")
            );
            if let Some(c) = r["cause"].as_object() {
                s += &format!(
                    " {} {}",
                    c["kind"].as_str().unwrap_or("?"),
                    c.get("sessions").map_or(String::new(), |x| x.to_string())
                );
            }
            s
        })
        .collect()
}

/// Waits until `node`'s `/routes` reports exactly `want`; returns that report.
pub fn wait_verdicts(lab: &Lab, node: &str, want: &[String]) -> Value {
    until(CONVERGE, &format!("{node}'s /routes {want:?}"), || {
        let v = routes_of(lab, node)?;
        if verdicts(&v) == want {
            Ok(v)
        } else {
            Err(format!("{:?}", verdicts(&v)))
        }
    })
}

/// The report on `prefix` in a `/routes` answer.
pub fn report<'a>(v: &'a Value, prefix: &str) -> &'a Value {
    v["routes"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["prefix"] == prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {v}"))
}

/// The verdicts of the lab's `n` blocks in order: for the nodes in `missing` (1-based)
/// `missingInBird` with `session` down as the cause, `ok` for the others.
pub fn missing_behind(n: usize, missing: &[usize], session: &str) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let block = res::node_block(i);
            if missing.contains(&i) {
                format!("{block} missingInBird noEstablishedSession [\"{session}\"]")
            } else {
                format!("{block} ok")
            }
        })
        .collect()
}

/// `<block> ok` for each of the lab's `n` blocks.
pub fn all_ok(n: usize) -> Vec<String> {
    missing_behind(n, &[], "")
}

/// The gateway of `node`'s kernel route for `prefix` (`ip -j route show PREFIX` in its
/// namespace).
pub fn kernel_gateway(lab: &Lab, node: &str, prefix: &str) -> Option<String> {
    let out = lab
        .node(node)
        .ns
        .command("ip")
        .args(["-j", "route", "show", prefix])
        .output()
        .ok()?;
    let routes: Vec<Value> = serde_json::from_slice(&out.stdout).ok()?;
    routes
        .first()
        .and_then(|r| r["gateway"].as_str())
        .map(str::to_owned)
}
