//! `perch explain -n NODE route PREFIX`: one prefix, told end to end: who owns the block,
//! which session should bring it and in what state it is, what BIRD and the kernel have, and
//! the verdict. `cli/mod.rs` dispatches here when `perch explain`'s arguments are `route
//! PREFIX` ([`super::explain::route_query`]).

use std::io::Write;
use std::process::ExitCode;

use ipnet::IpNet;
use serde::Serialize;

use super::error::CliError;
use super::explain::{ExplainArgs, ExplainOutput};
use super::routes::observe;
use crate::routes::{KernelRoute, RouteReport, RouteSource};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RouteExplanation<'a> {
    node: &'a str,
    query: String,
    /// The prefix the query falls in (its block, or the route itself).
    prefix: Option<IpNet>,
    sessions: Vec<SessionState>,
    report: Option<&'a RouteReport>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionState {
    session: String,
    state: String,
}

fn parse_query(text: &str) -> Result<IpNet, CliError> {
    text.parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| CliError::failed(format!("{text:?} is not a prefix or an address")))
}

pub(crate) async fn explain_route(a: &ExplainArgs, text: &str) -> Result<ExitCode, CliError> {
    let query = parse_query(text)?;
    let o = observe(&a.source, &a.node, &a.observe).await?;
    // The exact prefix, else the expected route (block) holding the query.
    let report = o
        .check
        .routes
        .iter()
        .find(|r| r.prefix == query)
        .or_else(|| o.check.routes.iter().find(|r| r.prefix.contains(&query)));
    let sessions: Vec<SessionState> =
        match report.and_then(|r| r.expected.as_ref()).map(|e| &e.source) {
            Some(RouteSource::Remote { sessions, .. }) => sessions
                .iter()
                .map(|s| SessionState {
                    session: s.clone(),
                    state: o.protocols.iter().find(|p| &p.name == s).map_or(
                        "not in BIRD".into(),
                        |p| {
                            format!(
                                "{} {}",
                                p.state,
                                p.info.split_whitespace().collect::<Vec<_>>().join(" ")
                            )
                            .trim()
                            .to_owned()
                        },
                    ),
                })
                .collect(),
            _ => Vec::new(),
        };
    let node = o.check.node.as_str();
    let explanation = RouteExplanation {
        node,
        query: text.to_owned(),
        prefix: report.map(|r| r.prefix),
        sessions,
        report,
    };
    let mut out = std::io::stdout().lock();
    match a.output {
        ExplainOutput::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&explanation)
                .map_err(|e| CliError::failed(e.to_string()))?
        )?,
        ExplainOutput::Text => write!(out, "{}", text_of(&explanation, &o.check.kernel_note))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn text_of(e: &RouteExplanation<'_>, kernel_note: &Option<String>) -> String {
    let Some(r) = e.report else {
        let mut s = format!(
            "route {} on {}: no block affinity, pool route or service range covers it, and neither BIRD nor the kernel has a route for it inside a pool\n",
            e.query, e.node
        );
        if let Some(n) = kernel_note {
            s += &format!("  ({n})\n");
        }
        return s;
    };
    let mut s = format!("route {} on {}", r.prefix, e.node);
    if e.query != r.prefix.to_string() {
        s += &format!(" (holds {})", e.query);
    }
    s += &format!(": {}\n", r.verdict.describe());
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
                        owner_address
                            .map_or("no BGP address in this family".into(), |a| a.to_string())
                    );
                    s += &format!(
                        "  expected in BIRD: a BGP route with next hop {}\n",
                        if next_hops.is_empty() {
                            "-".into()
                        } else {
                            next_hops
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(" or ")
                        }
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
                    KernelRoute::Direct { gateways } => format!(
                        "via {}",
                        gateways
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                    KernelRoute::Tunnel { gateways, device } => format!(
                        "via {} dev {device} onlink",
                        gateways
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                    KernelRoute::Blackhole => "blackhole".into(),
                    KernelRoute::NotProgrammed { reason } =>
                        format!("nothing from BIRD ({reason})"),
                }
            );
        }
    }
    s += "  BIRD has:\n";
    if r.bird.is_empty() {
        s += "    nothing\n";
    }
    for b in &r.bird {
        s += &format!("    {b}\n");
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
    if let Some(c) = &r.cause {
        s += &format!("  why: {}\n", c.message);
    }
    s
}
