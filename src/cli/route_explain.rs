//! `perch explain -n NODE route PREFIX`: one prefix, told end to end: who owns the block,
//! which session should bring it and in what state it is, what BIRD and the kernel have, and
//! the verdict. A range holding blocks (a pool, a /24) is told block by block; a prefix no
//! check covers gets the reason no route is expected (outside every pool, an unconfirmed
//! affinity, no affinity yet). `cli/mod.rs` dispatches here when `perch explain`'s arguments
//! are `route PREFIX` ([`super::explain::route_query`]).

use std::io::Write;
use std::process::ExitCode;

use ipnet::IpNet;
use serde::Serialize;

use super::error::CliError;
use super::explain::{ExplainArgs, ExplainOutput};
use super::routes::observe;
use crate::bird::parse::ProtocolRow;
use crate::routes::{
    Expected, ExpectedRoute, IgnoredBlock, KernelRoute, RouteReport, RouteSource, Verdict,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RouteExplanation<'a> {
    node: &'a str,
    query: String,
    /// The prefix the query falls in (its block, or the route itself).
    prefix: Option<IpNet>,
    sessions: Vec<SessionState>,
    report: Option<&'a RouteReport>,
    /// When no checked prefix holds the query: the checked prefixes inside it (a pool, a
    /// range of blocks), each with its verdict.
    inside: Vec<&'a RouteReport>,
    /// When nothing checked holds or lies in the query: why no route is expected for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_expected: Option<String>,
    /// Why BIRD could not be asked: then `report` is null (no verdict) and `expected` says
    /// what the datastore expects.
    #[serde(skip_serializing_if = "Option::is_none")]
    bird_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'a ExpectedRoute>,
    /// Blocks that hold or lie in the query and are not checked, with why (an affinity left
    /// by a deleted node).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ignored: Vec<&'a IgnoredBlock>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionState {
    session: String,
    state: String,
}

fn parse_query(text: &str) -> Result<IpNet, CliError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            CliError::failed(format!(
                "{text:?} is not a prefix or an address (e.g. 10.244.3.0/26, 10.244.3.7, fd00:10:244::/122)"
            ))
        })
}

/// The sessions that should bring `report`'s route, with their state in BIRD.
fn sessions_of(
    report: Option<&RouteReport>,
    protocols: &[ProtocolRow],
    bird_down: bool,
) -> Vec<SessionState> {
    match report.and_then(|r| r.expected.as_ref()).map(|e| &e.source) {
        Some(RouteSource::Remote { sessions, .. }) => sessions
            .iter()
            .map(|s| SessionState {
                session: s.clone(),
                state: if bird_down {
                    "unknown (BIRD is not reachable)".into()
                } else {
                    protocols
                        .iter()
                        .find(|p| &p.name == s)
                        .map_or("not in BIRD".into(), |p| {
                            format!(
                                "{} {}",
                                p.state,
                                p.info.split_whitespace().collect::<Vec<_>>().join(" ")
                            )
                            .trim()
                            .to_owned()
                        })
                },
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Why no route is expected for `query` (nothing checked holds it or lies in it).
fn not_expected(query: &IpNet, expected: &Expected) -> String {
    if let Some(i) = expected
        .ignored
        .iter()
        .find(|i| i.prefix.contains(query) || query.contains(&i.prefix))
    {
        return format!("in block {} of node {}: {}", i.prefix, i.owner, i.reason);
    }
    if let Some(pool) = expected.pool_of(query) {
        let i = expected.blocks.partition_point(|b| b <= query);
        let block = expected.blocks[..i]
            .last()
            .filter(|b| b.contains(query))
            .or_else(|| expected.blocks.iter().find(|b| query.contains(*b)));
        return match block {
            Some(b) => format!(
                "inside pool {pool}, in block {b}, whose affinity is not one this node routes: it is not confirmed (pending, or being released), or the pool does not export over BGP (disableBGPExport)"
            ),
            None => format!(
                "inside pool {pool}, but no node has a block affinity there (no pod has an address in it yet)"
            ),
        };
    }
    if expected.pools.iter().any(|p| query.contains(p)) {
        return "it holds IP pools, but no block affinity in them (no pod has an address yet)"
            .into();
    }
    let pools: Vec<String> = expected.pools.iter().map(ToString::to_string).collect();
    format!(
        "outside every IP pool ({}) and service range: perch expects no route for it",
        if pools.is_empty() {
            "there are none".into()
        } else {
            pools.join(", ")
        }
    )
}

pub(crate) async fn explain_route(a: &ExplainArgs, text: &str) -> Result<ExitCode, CliError> {
    let query = parse_query(text)?;
    let o = observe(&a.source, &a.node, &a.observe, true).await?;
    let bird_down = o.bird_error.is_some();
    // The exact prefix, else the expected route (block) holding the query, else the checked
    // prefixes inside it.
    let report = o
        .check
        .routes
        .iter()
        .find(|r| r.prefix == query)
        .or_else(|| o.check.routes.iter().find(|r| r.prefix.contains(&query)));
    let inside: Vec<&RouteReport> = match report {
        Some(_) => Vec::new(),
        None => o
            .check
            .routes
            .iter()
            .filter(|r| query.contains(&r.prefix))
            .collect(),
    };
    let node = o.check.node.as_str();
    let explanation = RouteExplanation {
        node,
        query: text.trim().to_owned(),
        prefix: report.map(|r| r.prefix),
        sessions: sessions_of(report, &o.protocols, bird_down),
        report,
        not_expected: (report.is_none() && inside.is_empty())
            .then(|| not_expected(&query, &o.expected)),
        inside,
        bird_error: o.bird_error.clone(),
        expected: None,
        ignored: o
            .check
            .ignored
            .iter()
            .filter(|i| i.prefix.contains(&query) || query.contains(&i.prefix))
            .collect(),
    };
    let mut out = std::io::stdout().lock();
    match a.output {
        ExplainOutput::Json => {
            let mut explanation = explanation;
            if bird_down {
                // No verdict without BIRD: what the datastore expects, and why.
                explanation.expected = report.and_then(|r| r.expected.as_ref());
                explanation.report = None;
                explanation.inside.clear();
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&explanation)
                    .map_err(|e| CliError::failed(e.to_string()))?
            )?
        }
        ExplainOutput::Text if !explanation.inside.is_empty() => {
            let counts: Vec<String> = Verdict::ALL
                .iter()
                .filter_map(|v| {
                    let n = explanation
                        .inside
                        .iter()
                        .filter(|r| r.verdict == *v)
                        .count();
                    (n > 0).then(|| format!("{n} {}", v.describe()))
                })
                .collect();
            writeln!(
                out,
                "{} on {node} holds {} checked prefixes: {}",
                explanation.query,
                explanation.inside.len(),
                if bird_down {
                    "no verdict, BIRD is not reachable".to_owned()
                } else {
                    counts.join(", ")
                }
            )?;
            for r in &explanation.inside {
                let one = RouteExplanation {
                    node,
                    query: r.prefix.to_string(),
                    prefix: Some(r.prefix),
                    sessions: sessions_of(Some(r), &o.protocols, bird_down),
                    report: Some(r),
                    inside: Vec::new(),
                    not_expected: None,
                    bird_error: o.bird_error.clone(),
                    expected: None,
                    ignored: Vec::new(),
                };
                write!(
                    out,
                    "\n{}",
                    text_of(&one, &o.check.kernel_note, &o.check.router_sessions)
                )?;
            }
            for i in &explanation.ignored {
                writeln!(out, "\n{} on {node}: not checked: {}", i.prefix, i.reason)?;
            }
        }
        ExplainOutput::Text => write!(
            out,
            "{}",
            text_of(&explanation, &o.check.kernel_note, &o.check.router_sessions)
        )?,
    }
    match o.bird_error {
        // The datastore side is told; BIRD's is unknown, so the command did not do its job.
        Some(e) => Err(CliError::failed(e)),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn gateways(list: &[std::net::IpAddr]) -> String {
    if list.is_empty() {
        return "- (no next hop known)".into();
    }
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `router_sessions`: the sessions with routers that are no cluster node, whose routes' next
/// hops are not judged.
fn text_of(
    e: &RouteExplanation<'_>,
    kernel_note: &Option<String>,
    router_sessions: &[String],
) -> String {
    let Some(r) = e.report else {
        let mut s = format!(
            "route {} on {}: no route expected, and neither BIRD nor the kernel has one for it inside a pool\n",
            e.query, e.node
        );
        if let Some(why) = &e.not_expected {
            s += &format!("  {why}\n");
        }
        if let Some(n) = kernel_note {
            s += &format!("  ({n})\n");
        }
        return s;
    };
    let mut s = format!("route {} on {}", r.prefix, e.node);
    if e.query != r.prefix.to_string() {
        s += &format!(" (holds {})", e.query);
    }
    match &e.bird_error {
        Some(_) => s += ": no verdict, BIRD is not reachable\n",
        None => s += &format!(": {}\n", r.verdict.describe()),
    }
    match r.expected.as_ref() {
        None => s += "  expected: nothing (no block affinity explains it)\n",
        Some(x) => {
            if let Some(p) = x.pool {
                s += &format!("  pool: {p}\n");
            }
            match &x.source {
                RouteSource::Remote {
                    owner,
                    owner_address,
                    next_hops,
                    direct,
                    rejected_by,
                    ..
                } => {
                    s += &format!(
                        "  owner: node {owner} ({}), by its block affinity\n",
                        match owner_address {
                            Some(a) => a.to_string(),
                            None => "no BGP address in this family".into(),
                        }
                    );
                    s += &format!(
                        "  expected in BIRD: a BGP route with next hop {}\n",
                        gateways(next_hops)
                    );
                    s += if *direct {
                        "  brought by the session with the owner:\n"
                    } else {
                        "  brought by a session that relays it (route reflector or external peer):\n"
                    };
                    if e.sessions.is_empty() {
                        s += "    none: this node has no such session\n";
                    }
                    for st in &e.sessions {
                        s += &format!("    {}: {}\n", st.session, st.state);
                    }
                    for st in e
                        .sessions
                        .iter()
                        .filter(|st| router_sessions.contains(&st.session))
                    {
                        s += &format!(
                            "  {} is a router that is no cluster node: its route may carry any next hop (its presence is judged, and a next hop that is another node's address; the kernel's gateway is BIRD's best, and an IPIP tunnel must end on a node)\n",
                            st.session
                        );
                    }
                    for r in rejected_by {
                        s += &format!("  an import rule rejects it: {r}\n");
                    }
                }
                RouteSource::Local => {
                    s += &format!(
                        "  owner: node {} (this node): a blackhole from the static protocol\n",
                        e.node
                    )
                }
                RouteSource::Service => {
                    s += "  a service range: advertised from a static blackhole, not programmed\n"
                }
            }
            s += &format!(
                "  expected in the kernel: {}\n",
                match &x.kernel {
                    KernelRoute::Direct { gateways: g } => format!("via {}", gateways(g)),
                    KernelRoute::Tunnel {
                        gateways: g,
                        device,
                    } => format!("via {} dev {device} onlink", gateways(g)),
                    KernelRoute::Blackhole => "blackhole".into(),
                    KernelRoute::NotProgrammed { reason } =>
                        format!("nothing from BIRD ({reason})"),
                }
            );
        }
    }
    if let Some(err) = &e.bird_error {
        s += &format!("  BIRD has: unknown ({err})\n");
    } else {
        s += "  BIRD has:\n";
    }
    if r.bird.is_empty() && e.bird_error.is_none() {
        s += "    nothing\n";
    }
    for b in &r.bird {
        s += &format!("    {b}\n");
    }
    if !r.paths.is_empty() {
        s += &format!(
            "  BIRD's best route has {} paths (ECMP), each expected in the kernel:\n",
            r.paths.len()
        );
        for p in &r.paths {
            s += "    via";
            if let Some(g) = &p.gateway {
                s += &format!(" {g}");
            }
            if let Some(i) = &p.interface {
                s += &format!(" on {i}");
            }
            if let Some(w) = p.weight {
                s += &format!(" weight {w}");
            }
            s += "\n";
        }
    }
    match kernel_note {
        Some(n) => s += &format!("  the kernel: {n}\n"),
        None => {
            s += "  the kernel has:\n";
            if r.kernel.is_empty() {
                s += "    nothing\n";
            }
            for k in &r.kernel {
                s += &format!("    {k}\n");
            }
        }
    }
    if let Some(c) = r.cause.as_ref().filter(|_| e.bird_error.is_none()) {
        s += &format!("  why: {}\n", c.message);
    }
    s
}
