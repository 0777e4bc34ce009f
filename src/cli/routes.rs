//! `perch routes`: every prefix this node must route, with the verdict of BIRD's and the
//! kernel's tables; and the observation both it and `perch explain … route` share.
//!
//! Owns: asking BIRD (`show protocols`, `show route [filtered] all where …`) and the kernel
//! for one check, and printing it. The judging is [`crate::routes`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ipnet::IpNet;

use super::common::{NodeArgs, SourceArgs};
use super::error::CliError;
use super::status::boxed_table;
use crate::bird::Client;
use crate::bird::parse::ProtocolRow;
use crate::plan::{Cluster, plan_in};
use crate::routes::kernel::{KernelEntry, read_main_table};
pub(crate) use crate::routes::observe::{kernel_view, query_prefixes};
use crate::routes::{Expected, Observed, RouteCheck, RouteSource, Verdict, check, expected};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoutesOutput {
    Table,
    Json,
}

/// How to reach BIRD and whether to read the kernel (shared with `perch explain … route`).
#[derive(Debug, Clone, Args)]
pub struct ObserveArgs {
    /// BIRD's control socket.
    #[arg(
        long,
        env = "PERCH_BIRD_SOCKET",
        default_value = "/run/bird/bird.ctl",
        value_name = "PATH"
    )]
    pub bird_socket: PathBuf,
    /// Time limit for each command sent to BIRD.
    #[arg(long, default_value = "10", value_name = "SECONDS")]
    pub timeout: u64,
    /// Do not read the kernel's routing table (perch does not share BIRD's network namespace).
    #[arg(long)]
    pub no_kernel: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Verdicts: ok; missing in BIRD (cause: no Established session that would bring it, the owning
node has no session, an import filter rejected it — a BGPFilter import rule of the session,
or BIRD's `show route filtered` with `import keep filtered` — or the sessions are up and the
owner does not advertise it, or, through relays such as reflectors and ToRs, no path reaches
them); wrong next hop (BIRD's or the kernel's route goes neither to the owning node nor to a
relay that rewrites the next hop, e.g. eBGP); missing in kernel (BIRD has it, the kernel does
not); unexpected (a route inside a pool that no block affinity explains).

Which routes get a next-hop check: those learned over the mesh and over sessions with other
nodes (node-to-node BGPPeers, route reflectors), where a node's stale address is a real
fault. A route learned from a router that is no cluster node (a BGPPeer whose peerIP is no
node's address: a ToR, a spine) may carry any next hop the router gives, as in Calico's \"AS
per rack\" design, where a node's iBGP ToR passes on the other racks' blocks with the remote
ToR's address; BIRD resolves it recursively (gateway recursive). For those presence is
judged, a next hop that is another node's address is wrong, and the kernel's gateway is
compared with BIRD's best route; they are listed in routerSessions. An IPIP tunnel ends only
on a node: a route on tunl0 to a router's address is a wrong next hop, whatever the session.

A multipath (ECMP) route is judged by its paths: the kernel's route must hold every path of
BIRD's best route and no path BIRD does not explain (a stray path is a wrong next hop, a
lacking one missing in kernel); with merge paths, BIRD's other routes for the block may join.

The kernel is read over netlink in perch's own network namespace: run perch on the host
network (as the DaemonSet does) or pass --no-kernel.

JSON (--output json): {node, counts: {ok, missingInBird, wrongNextHop, missingInKernel,
unexpected}, kernelChecked, kernelNote, routerSessions, routes: [{prefix, verdict, source, owner, cause:
{kind, sessions, message}, expected: {prefix, pool, source: {kind, owner, ownerAddress,
nextHops, sessions, direct, rejectedBy}, kernel: {kind, gateways, ..}}, paths: [{gateway,
interface, weight}] (BIRD's best route's paths, only when it has several), bird: [..],
kernel: [..] (one line per path)}], ignored: [{prefix, owner, reason}] (blocks of nodes that
are not in the datastore: no route expected), note (why nothing was checked, e.g. no IP pool)}

Exit status: 0 when the check ran; 1 when it could not (BIRD not answering, the datastore
unreadable); with --exit-code, 3 when a route is not ok, and 4 when none is found not ok but
the check is incomplete because the kernel was not read (netlink failed, or perch is not in
BIRD's network namespace; the reason is on stderr; --no-kernel makes a BIRD-only check
complete) (2 is a usage error).

Examples:
  perch routes -n node-1
  perch routes -n node-1 --exit-code >/dev/null || echo \"node-1 has routes that are not ok\"
  perch routes -n node-1 --bird-socket /var/run/calico/bird.ctl -o json")]
pub struct RoutesArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(flatten)]
    pub observe: ObserveArgs,
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: RoutesOutput,
    /// Exit with status 3 when any route is not ok, 4 when the kernel was not read without
    /// --no-kernel (for scripts and monitoring); without it the status is 0 whatever the
    /// verdicts, and 1 only when the check could not run.
    #[arg(long)]
    pub exit_code: bool,
}

/// One check, with the session rows it was judged against.
pub(crate) struct Observation {
    pub check: RouteCheck,
    pub protocols: Vec<ProtocolRow>,
    /// What the check expected (its pools and every block affinity, for `explain … route`).
    pub expected: Expected,
    /// Why BIRD was not asked, when the caller tolerates it (`explain … route`): its tables
    /// are then empty and the verdicts say nothing about it.
    pub bird_error: Option<String>,
    /// The plan's warnings: resources perch could not use (a block affinity among them
    /// leaves its block unchecked), as `perch plan` prints them.
    pub warnings: Vec<crate::resources::Warning>,
}

/// Reads the datastore, asks BIRD and the kernel, and judges. With `tolerate_bird`, BIRD
/// not answering leaves its tables empty and says why in [`Observation::bird_error`].
pub(crate) async fn observe(
    source: &SourceArgs,
    node: &NodeArgs,
    args: &ObserveArgs,
    tolerate_bird: bool,
) -> Result<Observation, CliError> {
    let name = node.node_name()?;
    let snapshot = source.load_all().await?;
    let cluster = Cluster::new(&snapshot);
    let plan = plan_in(&cluster, &name, &node.plan_options()?);
    if !plan.node_found {
        let how = if node.node.as_deref().is_some_and(|n| !n.is_empty()) {
            ""
        } else {
            " (this host's name; pass -n NODE or set NODENAME)"
        };
        let known: Vec<&str> = snapshot.nodes.keys().map(String::as_str).take(10).collect();
        let more = snapshot.nodes.len().saturating_sub(known.len());
        let there = match (known.is_empty(), more) {
            (true, _) => "there are no nodes".to_owned(),
            (false, 0) => format!("nodes there: {}", known.join(", ")),
            (false, n) => format!("nodes there: {} and {n} more", known.join(", ")),
        };
        return Err(CliError::failed(format!(
            "node {name:?}{how} is not in the resources; {there}"
        )));
    }
    let expected = expected(&snapshot, &plan);
    let (bird_error, (protocols, bird, filtered)) =
        match ask_bird(&args.bird_socket, args.timeout, &expected).await {
            Ok(tables) => (None, tables),
            Err(e) if tolerate_bird => (Some(e.message), BirdTables::default()),
            Err(e) => return Err(e),
        };
    let table: Result<Vec<KernelEntry>, String> = if args.no_kernel {
        Err("--no-kernel".into())
    } else {
        tokio::task::spawn_blocking(read_main_table)
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
    };
    let in_bird: std::collections::HashSet<IpNet> = bird
        .iter()
        .filter_map(|r| r.network.parse::<IpNet>().ok())
        .collect();
    let kernel = kernel_view(&expected, &|p| in_bird.contains(p), &table);
    let check = check(
        &expected,
        &Observed {
            bird: &bird,
            filtered: Some(&filtered),
            protocols: &protocols,
            kernel,
        },
    );
    Ok(Observation {
        check,
        protocols,
        expected,
        bird_error,
        warnings: plan.warnings.clone(),
    })
}

type BirdTables = (
    Vec<ProtocolRow>,
    Vec<crate::bird::parse::RouteEntry>,
    Vec<crate::bird::parse::RouteEntry>,
);

async fn ask_bird(
    socket: &Path,
    timeout: u64,
    expected: &Expected,
) -> Result<BirdTables, CliError> {
    let timeout = Duration::from_secs(timeout.max(1));
    let mut client = Client::connect(socket, timeout)
        .await
        .map_err(|e| CliError::failed(format!("BIRD is not reachable: {e}")))?;
    client.set_command_timeout(timeout);
    let prefixes = query_prefixes(expected);
    let protocols = client.show_protocols().await?;
    let bird = client.show_routes_in(false, &prefixes).await?;
    let filtered = client.show_routes_in(true, &prefixes).await?;
    Ok((protocols, bird, filtered))
}

fn next_hops(r: &crate::routes::ExpectedRoute) -> String {
    match &r.source {
        RouteSource::Remote { next_hops, .. } if !next_hops.is_empty() => next_hops
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" or "),
        RouteSource::Remote { .. } => "?".into(),
        RouteSource::Local => "blackhole".into(),
        RouteSource::Service => "blackhole (advertised)".into(),
    }
}

/// `10.0.0.0/26 via 10.1.0.1 …` → `via 10.1.0.1 …` (the PREFIX column already says it).
fn without_prefix(evidence: &str, prefix: &IpNet) -> String {
    let p = prefix.to_string();
    evidence.replacen(&format!("{p} "), "", 1).trim().to_owned()
}

/// The table `perch routes` prints.
pub(crate) fn routes_table(check: &RouteCheck) -> String {
    let cells: Vec<Vec<String>> = check
        .routes
        .iter()
        .map(|r| {
            vec![
                r.prefix.to_string(),
                r.verdict.describe().to_owned(),
                r.owner.clone().unwrap_or_else(|| r.source.to_owned()),
                r.expected.as_ref().map_or("-".into(), next_hops),
                r.bird
                    .first()
                    .map_or("-".into(), |b| without_prefix(b, &r.prefix)),
                if check.kernel_checked {
                    // Every path of a multipath route (one kernel entry each).
                    let paths: Vec<String> = r
                        .kernel
                        .iter()
                        .map(|k| without_prefix(k, &r.prefix))
                        .collect();
                    if paths.is_empty() {
                        "-".into()
                    } else {
                        paths.join(", ")
                    }
                } else {
                    "not checked".into()
                },
                r.cause
                    .as_ref()
                    .map_or(String::new(), |c| c.message.clone()),
            ]
        })
        .collect();
    let mut out = boxed_table(
        &[
            "PREFIX", "VERDICT", "OWNER", "NEXT HOP", "BIRD", "KERNEL", "CAUSE",
        ],
        &cells,
    );
    let counts: Vec<String> = Verdict::ALL
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                check.counts.get(v).copied().unwrap_or(0),
                v.describe()
            )
        })
        .collect();
    out.push_str(&format!("{}\n", counts.join(", ")));
    if let Some(note) = &check.note {
        out.push_str(&format!("{note}\n"));
    }
    if let Some(note) = &check.kernel_note {
        out.push_str(&format!("{note}\n"));
    }
    if !check.ignored.is_empty() {
        out.push_str(&format!(
            "ignored ({}): no route expected\n",
            check.ignored.len()
        ));
        for i in &check.ignored {
            out.push_str(&format!("  {} of {}: {}\n", i.prefix, i.owner, i.reason));
        }
    }
    out
}

pub(crate) async fn routes(a: RoutesArgs) -> Result<ExitCode, CliError> {
    let o = observe(&a.source, &a.node, &a.observe, false).await?;
    let mut out = std::io::stdout().lock();
    match a.output {
        RoutesOutput::Json => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&o.check)
                    .map_err(|e| CliError::failed(e.to_string()))?
            )?;
            for w in &o.warnings {
                eprintln!("perch: warning: {w}");
            }
        }
        RoutesOutput::Table => {
            writeln!(out, "Routes of node {}\n", o.check.node)?;
            write!(out, "{}", routes_table(&o.check))?;
            if !o.warnings.is_empty() {
                writeln!(out, "\nwarnings:")?;
                for w in &o.warnings {
                    writeln!(out, "  {w}")?;
                }
            }
        }
    }
    if !a.exit_code {
        return Ok(ExitCode::SUCCESS);
    }
    if o.check.problems().next().is_some() {
        return Ok(ExitCode::from(3));
    }
    // Every route ok, but the kernel was not read although it was asked for: not a pass.
    if !o.check.kernel_checked && !a.observe.no_kernel {
        let note = o.check.kernel_note.as_deref().unwrap_or("no reason given");
        let note = note.strip_prefix("kernel not checked: ").unwrap_or(note);
        eprintln!("perch: check incomplete: the kernel was not read: {note}");
        return Ok(ExitCode::from(4));
    }
    Ok(ExitCode::SUCCESS)
}
