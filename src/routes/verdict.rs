//! Expected vs observed: one verdict per prefix, with the evidence.
//!
//! Owns: [`check`], which compares [`Expected`] with what BIRD (`show route all where …`,
//! optionally `show route filtered all where …`, `show protocols`) and the kernel's main table
//! hold, and gives every expected prefix, and every route in a pool that no block explains, a
//! [`Verdict`] with its likely [`Cause`]. A next hop is judged only on routes learned over the
//! mesh and from other nodes (where a different address is a stale route); a route from a
//! router that is no cluster node ([`Expected::router_sessions`]) is judged by its presence
//! and by a next hop that is another node's address, and the kernel's gateway against BIRD's
//! best route (the next hop BIRD resolved recursively). An IPIP route must end on a node,
//! whatever the session: a tunnel to a router is a wrong next hop.
//! Multipath (ECMP) routes are judged by their set of paths: BIRD's route is right when one of
//! its paths is (without a BGP next hop to judge); the kernel's route BIRD installed is right
//! when each of its paths is explained (an expected gateway, one BIRD resolved the route to,
//! or, for a multipath kernel route, another of BIRD's routes that `merge paths` joined) and,
//! for a multipath BIRD route, when it holds every one of BIRD's paths.
//! Must not: do I/O or read the clock (callers time the check).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::expected::{Expected, ExpectedRoute, IgnoredBlock, KernelRoute, RouteSource};
use super::kernel::KernelEntry;
use crate::bird::parse::{ProtocolRow, RouteEntry, RoutePath};

/// The verdict on one prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The route is where it should be.
    Ok,
    /// An expected route BIRD does not have.
    MissingInBird,
    /// BIRD has the route with a next hop the datastore does not explain.
    WrongNextHop,
    /// BIRD has the route, the kernel does not (in the expected form).
    MissingInKernel,
    /// A route in a pool that no block affinity explains.
    Unexpected,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 5] = [
        Verdict::Ok,
        Verdict::MissingInBird,
        Verdict::WrongNextHop,
        Verdict::MissingInKernel,
        Verdict::Unexpected,
    ];

    /// The words `perch routes` prints.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::MissingInBird => "missing in BIRD",
            Verdict::WrongNextHop => "wrong next hop",
            Verdict::MissingInKernel => "missing in kernel",
            Verdict::Unexpected => "unexpected",
        }
    }

    /// The `verdict` label value of the metrics (the JSON spelling).
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::MissingInBird => "missingInBird",
            Verdict::WrongNextHop => "wrongNextHop",
            Verdict::MissingInKernel => "missingInKernel",
            Verdict::Unexpected => "unexpected",
        }
    }
}

/// The likely reason for a verdict other than `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CauseKind {
    /// None of the sessions that would bring the route is Established.
    NoEstablishedSession,
    /// This node has no session that would bring it.
    NoSession,
    /// The owning node has no address in the family, so no session to advertise it over.
    OwnerHasNoSession,
    /// An import filter rejected it (seen with `import keep filtered`).
    ImportFilter,
    /// The sessions are Established, yet the route did not arrive.
    NotAdvertised,
    /// The static protocol lacks this node's blackhole or service route.
    StaticRoute,
    /// BIRD has it, the kernel does not.
    KernelProgramming,
    /// The next hop differs from the owner's address (and every relay's that rewrites it), on a
    /// route from the mesh or another node; or the kernel's gateway differs from the expected
    /// one (BIRD's own, for a route from a router that is no cluster node).
    NextHop,
    /// No block affinity explains the route.
    NoAffinity,
}

/// Why a prefix got its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// What kind of cause.
    pub kind: CauseKind,
    /// The sessions the cause is about (the ones down, the one whose filter rejected it, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
    /// The cause in words.
    pub message: String,
}

/// What the kernel side of a check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelView<'a> {
    /// The main table of BIRD's network namespace.
    Table(&'a [KernelEntry]),
    /// Not checked, and why (another namespace, a netlink error, turned off).
    Unavailable(String),
}

/// Everything observed for one check.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// `show route all where …` (or the whole table).
    pub bird: &'a [RouteEntry],
    /// `show route filtered all where …`, when asked for.
    pub filtered: Option<&'a [RouteEntry]>,
    /// `show protocols`.
    pub protocols: &'a [ProtocolRow],
    /// The kernel's main table, or why it was not read.
    pub kernel: KernelView<'a>,
}

/// One prefix's verdict and evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteReport {
    /// The prefix.
    pub prefix: IpNet,
    /// What the check found for it.
    pub verdict: Verdict,
    /// `remote`, `local` (this node's block), `service`, or `unknown` (unexpected routes).
    pub source: &'static str,
    /// The node whose block the prefix is (remote and local routes); `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Why the verdict is not `ok`; `None` when it is, or when no cause is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// What the datastore says (next hops, sessions, kernel form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<ExpectedRoute>,
    /// The next hops of BIRD's best route when it has several (a multipath, ECMP route):
    /// `{gateway, interface, weight}` each; empty (and left out of the JSON) otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<RoutePath>,
    /// BIRD's routes for the prefix, as `show route` prints them.
    pub bird: Vec<String>,
    /// The kernel's routes for the prefix, as `ip route` prints them.
    pub kernel: Vec<String>,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteCheck {
    /// The node checked.
    pub node: String,
    /// Verdict → number of prefixes (every verdict present, zeros included).
    pub counts: BTreeMap<Verdict, usize>,
    /// Whether the kernel's table was compared; when not, why.
    pub kernel_checked: bool,
    /// Why the kernel's table was not compared; `None` when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_note: Option<String>,
    /// This node's sessions with routers that are no cluster node (a ToR, a spine): the next
    /// hops of the routes they bring are not judged, only their presence (and the kernel's
    /// gateway against BIRD's). See [`Expected::router_sessions`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub router_sessions: Vec<String>,
    /// Every prefix checked, with its verdict.
    pub routes: Vec<RouteReport>,
    /// Blocks not checked, and why (an affinity left by a deleted node): see
    /// [`Expected::ignored`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredBlock>,
    /// When no prefix was checked: that, and why (no IP pool, no block affinity yet, every
    /// block ignored). Nothing is missing then, so `--readiness routes` is ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RouteCheck {
    /// Whether nothing expected is missing (the `--readiness routes` rule).
    pub fn nothing_missing(&self) -> bool {
        self.routes
            .iter()
            .all(|r| !matches!(r.verdict, Verdict::MissingInBird | Verdict::MissingInKernel))
    }

    /// The reports that are not `ok`.
    pub fn problems(&self) -> impl Iterator<Item = &RouteReport> {
        self.routes.iter().filter(|r| r.verdict != Verdict::Ok)
    }
}

/// `show route` form of a BIRD route, for evidence.
pub(crate) fn describe_bird(r: &RouteEntry) -> String {
    // Pieces pushed as they are (no formatting machinery): every route BIRD has is written
    // once per check.
    let mut s = String::with_capacity(
        r.network.len()
            + r.kind.len()
            + r.protocol.len()
            + r.gateway.as_ref().map_or(0, String::len)
            + r.interface.as_ref().map_or(0, String::len)
            + r.bgp_next_hop.as_ref().map_or(0, String::len)
            + 40 * r.paths.len().max(1),
    );
    s.push_str(&r.network);
    s.push(' ');
    s.push_str(&r.kind);
    s.push_str(" [");
    s.push_str(&r.protocol);
    s.push(']');
    if r.primary {
        s.push_str(" *");
    }
    if r.paths.len() > 1 {
        // Every path of a multipath route: ` via A on X weight 1, via B on Y weight 1`.
        for (i, p) in r.paths.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            describe_path(&mut s, p.gateway.as_deref(), p.interface.as_deref());
            if let Some(w) = p.weight {
                s.push_str(" weight ");
                s.push_str(&w.to_string());
            }
        }
    } else {
        describe_path(&mut s, r.gateway.as_deref(), r.interface.as_deref());
    }
    if let Some(n) = &r.bgp_next_hop {
        s.push_str(" (BGP.next_hop ");
        s.push_str(n);
        s.push(')');
    }
    s
}

/// ` via GATEWAY on INTERFACE` (or ` on INTERFACE` alone).
fn describe_path(s: &mut String, gateway: Option<&str>, interface: Option<&str>) {
    if let Some(g) = gateway {
        s.push_str(" via ");
        s.push_str(g);
    }
    if let Some(i) = interface {
        s.push_str(" on ");
        s.push_str(i);
    }
}

/// The gateways of `route`'s paths (its `gateway` when a hand-made entry lists no paths).
fn path_gateways(route: &RouteEntry) -> impl Iterator<Item = IpAddr> + '_ {
    let single = route.paths.is_empty().then_some(route.gateway.as_deref());
    route
        .paths
        .iter()
        .map(|p| p.gateway.as_deref())
        .chain(single)
        .flatten()
        .filter_map(|g| g.parse::<IpAddr>().ok())
}

fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>().ok().map(|n| n.trunc())
}

fn index<T>(items: &[T], key: impl Fn(&T) -> Option<IpNet>) -> HashMap<IpNet, Vec<&T>> {
    let mut map: HashMap<IpNet, Vec<&T>> = HashMap::with_capacity(items.len());
    for item in items {
        if let Some(k) = key(item) {
            map.entry(k).or_default().push(item);
        }
    }
    map
}

/// Compares `expected` with `observed`.
pub fn check(expected: &Expected, observed: &Observed<'_>) -> RouteCheck {
    // Each BIRD route's prefix, parsed once.
    let bird_nets: Vec<(IpNet, &RouteEntry)> = observed
        .bird
        .iter()
        .filter_map(|r| Some((parse_net(&r.network)?, r)))
        .collect();
    let mut bird: HashMap<IpNet, Vec<&RouteEntry>> = HashMap::with_capacity(bird_nets.len());
    for (p, r) in &bird_nets {
        bird.entry(*p).or_default().push(r);
    }
    let filtered = observed
        .filtered
        .map(|f| index(f, |r| parse_net(&r.network)))
        .unwrap_or_default();
    let (kernel, kernel_note) = match &observed.kernel {
        KernelView::Table(t) => (Some(index(t, |e| Some(e.prefix))), None),
        KernelView::Unavailable(why) => (None, Some(why.clone())),
    };
    let bgp: HashMap<&str, &ProtocolRow> = observed
        .protocols
        .iter()
        .filter(|p| p.proto == "BGP")
        .map(|p| (p.name.as_str(), p))
        .collect();
    let established = |name: &str| {
        bgp.get(name)
            .is_some_and(|p| p.state == "up" && p.bgp_state.as_deref() == Some("Established"))
    };
    let empty: Vec<&RouteEntry> = Vec::new();
    let empty_kernel: Vec<&KernelEntry> = Vec::new();
    // Whose address a wrong next hop is: built on the first wrong next hop only.
    let mut owners_by_address: Option<HashMap<IpAddr, &str>> = None;

    let mut routes = Vec::with_capacity(expected.routes.len());
    for e in &expected.routes {
        let in_bird = bird.get(&e.prefix).unwrap_or(&empty);
        let in_kernel = kernel
            .as_ref()
            .map(|k| k.get(&e.prefix).unwrap_or(&empty_kernel));
        let mut report = RouteReport {
            prefix: e.prefix,
            verdict: Verdict::Ok,
            source: "",
            owner: None,
            cause: None,
            expected: Some(e.clone()),
            paths: Vec::new(),
            bird: in_bird.iter().map(|r| describe_bird(r)).collect(),
            kernel: in_kernel
                .map(|k| k.iter().map(|r| r.describe()).collect())
                .unwrap_or_default(),
        };
        let (verdict, cause) = match &e.source {
            RouteSource::Remote {
                owner,
                owner_address,
                next_hops,
                sessions,
                direct,
                rejected_by,
                ..
            } => {
                report.source = "remote";
                report.owner = Some(owner.clone());
                let learned = in_bird
                    .iter()
                    .filter(|r| r.bgp_next_hop.is_some() || bgp.contains_key(r.protocol.as_str()));
                let best = learned
                    .clone()
                    .find(|r| r.primary)
                    .or_else(|| learned.clone().next());
                match best {
                    None => (
                        Verdict::MissingInBird,
                        Some(missing_cause(
                            owner,
                            owner_address.is_some(),
                            sessions,
                            *direct,
                            rejected_by,
                            filtered.get(&e.prefix),
                            &bgp,
                            &established,
                        )),
                    ),
                    Some(best) => {
                        if best.paths.len() > 1 {
                            report.paths = best.paths.clone();
                        }
                        // A router that is no cluster node may give any next hop: judge
                        // presence, and the kernel against BIRD's own gateway.
                        let router = expected.is_router_session(&best.protocol);
                        // From a router, the next hop is judged only when it is a node's
                        // address that is not the owner's (a ToR passing on a stale route).
                        let mut wrong = |h: &IpAddr| {
                            !next_hops.is_empty()
                                && !next_hops.contains(h)
                                && (!router
                                    || owners_by_address
                                        .get_or_insert_with(|| address_owners(expected))
                                        .contains_key(h))
                        };
                        // The BGP next hop; without one, the paths' gateways: right when one
                        // of them is (a multipath route).
                        let wrong_hop = match best
                            .bgp_next_hop
                            .as_deref()
                            .and_then(|h| h.parse::<IpAddr>().ok())
                        {
                            Some(h) => Some(h).filter(|h| wrong(h)),
                            None => {
                                let mut hops = path_gateways(best).peekable();
                                let first = hops.peek().copied();
                                if hops.all(|h| wrong(&h)) { first } else { None }
                            }
                        };
                        match wrong_hop {
                            Some(h) => {
                                let whose = owners_by_address
                                    .get_or_insert_with(|| address_owners(expected))
                                    .get(&h)
                                    .map_or_else(
                                        || " (no node with a block has that address: a route from before a node moved?)".to_owned(),
                                        |n| format!(" ({n}'s address)"),
                                    );
                                (
                                    Verdict::WrongNextHop,
                                    Some(Cause {
                                        kind: CauseKind::NextHop,
                                        sessions: vec![best.protocol.clone()],
                                        message: format!(
                                            "BIRD's route from {} has next hop {h}{whose}; {owner}'s is {}",
                                            best.protocol,
                                            list(next_hops)
                                        ),
                                    }),
                                )
                            }
                            // The kernel follows BIRD's best route (the gateways BIRD resolved
                            // it to), and a router's next hop; `merge paths` may join routes
                            // BIRD judged as good. A tunnel must end on a node whatever BIRD
                            // has.
                            None => {
                                let nodes = router.then(|| {
                                    &*owners_by_address
                                        .get_or_insert_with(|| address_owners(expected))
                                });
                                let tunnel = matches!(e.kernel, KernelRoute::Tunnel { .. });
                                let of_route = |r: &RouteEntry| -> Vec<IpAddr> {
                                    let mut g: Vec<IpAddr> = path_gateways(r).collect();
                                    if router {
                                        g.extend(
                                            r.bgp_next_hop
                                                .as_deref()
                                                .and_then(|h| h.parse::<IpAddr>().ok()),
                                        );
                                    }
                                    g
                                };
                                let bird = if tunnel {
                                    BirdPaths {
                                        best: link_local(best).into_iter().collect(),
                                        ..BirdPaths::default()
                                    }
                                } else {
                                    BirdPaths {
                                        best: of_route(best),
                                        merged: learned
                                            .clone()
                                            .filter(|r| !std::ptr::eq::<RouteEntry>(**r, *best))
                                            .filter(|r| {
                                                let h = r
                                                    .bgp_next_hop
                                                    .as_deref()
                                                    .and_then(|h| h.parse::<IpAddr>().ok());
                                                router || h.is_some_and(|h| next_hops.contains(&h))
                                            })
                                            .flat_map(|r| of_route(r))
                                            .collect(),
                                        required: if best.paths.len() > 1 {
                                            path_gateways(best).collect()
                                        } else {
                                            Vec::new()
                                        },
                                    }
                                };
                                kernel_verdict(&e.kernel, in_kernel, &bird, nodes)
                            }
                        }
                    }
                }
            }
            RouteSource::Local | RouteSource::Service => {
                let local = e.source == RouteSource::Local;
                report.source = if local { "local" } else { "service" };
                if in_bird.is_empty() {
                    (
                        Verdict::MissingInBird,
                        Some(Cause {
                            kind: CauseKind::StaticRoute,
                            sessions: Vec::new(),
                            message: if local {
                                "BIRD has no blackhole for this node's block: its static protocol lacks it (config not applied?)".into()
                            } else {
                                "BIRD has no route for this service range: its static protocol lacks it (config not applied?)".into()
                            },
                        }),
                    )
                } else {
                    kernel_verdict(&e.kernel, in_kernel, &BirdPaths::default(), None)
                }
            }
        };
        report.verdict = verdict;
        report.cause = cause;
        routes.push(report);
    }

    // Routes inside a pool that no affinity explains. The evidence text is written only for
    // those (the healthy path formats each route once, above).
    let mut unexpected: BTreeMap<IpNet, RouteReport> = BTreeMap::new();
    // `expected` sorts its routes by prefix; a hand-made `Expected` may not.
    let sorted = expected.routes.is_sorted_by_key(|r| r.prefix);
    let unexplained = |prefix: &IpNet| {
        let known = if sorted {
            expected
                .routes
                .binary_search_by(|r| r.prefix.cmp(prefix))
                .is_ok()
        } else {
            expected.routes.iter().any(|r| r.prefix == *prefix)
        };
        !known && expected.pool_of(prefix).is_some() && !expected.explains(prefix)
    };
    let report = |prefix: IpNet| RouteReport {
        prefix,
        verdict: Verdict::Unexpected,
        source: "unknown",
        owner: None,
        cause: Some(Cause {
            kind: CauseKind::NoAffinity,
            sessions: Vec::new(),
            message: "inside a pool, but no block affinity explains it".into(),
        }),
        expected: None,
        paths: Vec::new(),
        bird: Vec::new(),
        kernel: Vec::new(),
    };
    for (p, r) in &bird_nets {
        if unexplained(p) {
            let entry = unexpected.entry(*p).or_insert_with(|| report(*p));
            entry.bird.push(describe_bird(r));
        }
    }
    if let KernelView::Table(t) = &observed.kernel {
        for k in t.iter() {
            if unexplained(&k.prefix) {
                let entry = unexpected
                    .entry(k.prefix)
                    .or_insert_with(|| report(k.prefix));
                entry.kernel.push(k.describe());
            }
        }
    }
    routes.extend(unexpected.into_values());
    routes.sort_by_key(|r| r.prefix);

    let mut counts: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
    for r in &routes {
        *counts.entry(r.verdict).or_default() += 1;
    }
    RouteCheck {
        node: expected.node.clone(),
        counts,
        kernel_checked: kernel.is_some(),
        kernel_note,
        router_sessions: expected.router_sessions.clone(),
        note: routes.is_empty().then(|| nothing_checked(expected)),
        routes,
        ignored: expected.ignored.clone(),
    }
}

/// Why a check found no prefix to judge.
fn nothing_checked(expected: &Expected) -> String {
    if expected.pools.is_empty() {
        "nothing checked: there is no IP pool, so no block is routed (and no route is unexpected)"
            .into()
    } else if !expected.ignored.is_empty() {
        format!(
            "nothing checked: the only blocks in the pools are ignored ({} of nodes that are not in the datastore)",
            expected.ignored.len()
        )
    } else {
        "nothing checked: no block affinity in a pool that BGP exports, and no service range (no pod has an address yet)".into()
    }
}

/// The nodes with a block, by address (from the expected routes: each names its owner's).
fn address_owners(expected: &Expected) -> HashMap<IpAddr, &str> {
    expected
        .routes
        .iter()
        .filter_map(|r| match &r.source {
            RouteSource::Remote {
                owner,
                owner_address: Some(a),
                ..
            } => Some((*a, owner.as_str())),
            _ => None,
        })
        .collect()
}

fn list(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

#[allow(clippy::too_many_arguments)]
fn missing_cause(
    owner: &str,
    owner_has_address: bool,
    sessions: &[String],
    direct: bool,
    rejected_by: &[String],
    filtered: Option<&Vec<&RouteEntry>>,
    bgp: &HashMap<&str, &ProtocolRow>,
    established: &dyn Fn(&str) -> bool,
) -> Cause {
    if let Some(f) = filtered.filter(|f| !f.is_empty()) {
        let mut by: Vec<String> = f.iter().map(|r| r.protocol.clone()).collect();
        by.sort();
        by.dedup();
        return Cause {
            kind: CauseKind::ImportFilter,
            message: format!("the import filter of {} rejected it", by.join(", ")),
            sessions: by,
        };
    }
    if !rejected_by.is_empty() {
        return Cause {
            kind: CauseKind::ImportFilter,
            sessions: rejected_by
                .iter()
                .filter_map(|r| r.split(':').next())
                .map(str::to_owned)
                .collect(),
            message: format!("an import rule rejects it: {}", rejected_by.join(", ")),
        };
    }
    if !owner_has_address {
        return Cause {
            kind: CauseKind::OwnerHasNoSession,
            sessions: Vec::new(),
            message: format!(
                "{owner} has no BGP address in this family, so no session to advertise it over"
            ),
        };
    }
    if sessions.is_empty() {
        return Cause {
            kind: CauseKind::NoSession,
            sessions: Vec::new(),
            message: "this node has no session that would bring it".into(),
        };
    }
    let down: Vec<&String> = sessions.iter().filter(|s| !established(s)).collect();
    if down.len() == sessions.len() {
        let states: Vec<String> = down
            .iter()
            .map(|s| match bgp.get(s.as_str()) {
                Some(p) => format!(
                    "{s} is {}",
                    p.bgp_state.as_deref().unwrap_or(p.state.as_str())
                ),
                None => format!("{s} is not in BIRD"),
            })
            .collect();
        return Cause {
            kind: CauseKind::NoEstablishedSession,
            sessions: down.into_iter().cloned().collect(),
            message: format!(
                "no Established session would bring it: {}",
                states.join(", ")
            ),
        };
    }
    let up: Vec<String> = sessions
        .iter()
        .filter(|s| established(s))
        .cloned()
        .collect();
    const REJECTED: &str = "or an import filter rejected it (BIRD keeps rejected routes only with `import keep filtered`)";
    let message = if direct {
        format!(
            "the sessions are Established but the route did not arrive: {owner} does not advertise it (its BIRD lacks the block, an export filter), {REJECTED}"
        )
    } else {
        // Relays (route reflectors, ToRs) pass on what reaches them: the gap may be further on.
        format!(
            "{} {} Established but {} no path from {owner}: a session further along is down, {owner} does not advertise it (its BIRD lacks the block, an export filter), {REJECTED}",
            up.join(", "),
            if up.len() == 1 { "is" } else { "are" },
            if up.len() == 1 { "has" } else { "have" },
        )
    };
    Cause {
        kind: CauseKind::NotAdvertised,
        sessions: up,
        message,
    }
}

/// The IPv6 link-local gateway BIRD chose for `route` (eBGP over IPv6 installs the peer's
/// link-local next hop), which the kernel may then hold instead of a datastore address.
fn link_local(route: &RouteEntry) -> Option<IpAddr> {
    match route.gateway.as_deref()?.parse::<IpAddr>().ok()? {
        IpAddr::V6(g) if g.is_unicast_link_local() => Some(IpAddr::V6(g)),
        _ => None,
    }
}

/// The gateways BIRD gives the kernel for a prefix, besides the expected ones.
#[derive(Debug, Default)]
struct BirdPaths {
    /// BIRD's best route's: the gateways it resolved the route to (every path of a multipath
    /// route), and a router's BGP next hop; for a tunnel, only an IPv6 link-local gateway BIRD
    /// chose (eBGP over IPv6).
    best: Vec<IpAddr>,
    /// The gateways of BIRD's other routes for the prefix that `merge paths` may join to the
    /// best one (a multipath kernel route only): those whose next hop is judged right.
    merged: Vec<IpAddr>,
    /// The gateways of BIRD's best route when it has several paths (a multipath route): the
    /// kernel's route must hold each of them.
    required: Vec<IpAddr>,
}

/// `A or B` for the expected gateways, BIRD's own after them.
fn list_with_bird(gateways: &[IpAddr], bird: &[IpAddr]) -> String {
    let mut all: Vec<IpAddr> = gateways.to_vec();
    for g in bird {
        if !all.contains(g) {
            all.push(*g);
        }
    }
    list(&all)
}

/// The kernel's side of a route BIRD has. `bird`: the gateways BIRD gives the kernel for it
/// (empty for this node's own and service routes). `nodes`: the nodes' addresses (given for a
/// router's route), to say so when a tunnel ends on an address that is no node's.
///
/// The kernel's paths judged are those of the route BIRD installed (`proto bird`, one entry
/// per path of a multipath route); when the kernel has none from BIRD, any route for the
/// prefix in the expected form will do.
fn kernel_verdict(
    expected: &KernelRoute,
    observed: Option<&Vec<&KernelEntry>>,
    bird: &BirdPaths,
    nodes: Option<&HashMap<IpAddr, &str>>,
) -> (Verdict, Option<Cause>) {
    let Some(observed) = observed else {
        return (Verdict::Ok, None);
    };
    let from_bird = observed
        .iter()
        .filter(|k| k.kind == "unicast" && k.protocol == "bird")
        .count();
    let kernel_multipath = from_bird > 1;
    let accepted = |g: Option<IpAddr>, gateways: &[IpAddr]| {
        g.is_some_and(|g| {
            gateways.contains(&g)
                || bird.best.contains(&g)
                || (kernel_multipath && bird.merged.contains(&g))
        })
    };
    let missing = |message: String| {
        (
            Verdict::MissingInKernel,
            Some(Cause {
                kind: CauseKind::KernelProgramming,
                sessions: Vec::new(),
                message,
            }),
        )
    };
    let wrong = |message: String| {
        (
            Verdict::WrongNextHop,
            Some(Cause {
                kind: CauseKind::NextHop,
                sessions: Vec::new(),
                message,
            }),
        )
    };
    match expected {
        KernelRoute::NotProgrammed { .. } => (Verdict::Ok, None),
        KernelRoute::Blackhole => {
            if observed.iter().any(|k| k.kind == "blackhole") {
                (Verdict::Ok, None)
            } else {
                missing("BIRD has the blackhole, the kernel does not (the kernel protocol's export filter?)".into())
            }
        }
        KernelRoute::Direct { gateways } => {
            let mut unicast = observed.iter().filter(|k| k.kind == "unicast");
            let Some(first) = unicast.clone().next() else {
                return missing(
                    "BIRD has it, the kernel does not: the kernel protocol's export filter rejected it, or BIRD could not install it".into(),
                );
            };
            let fine = |k: &KernelEntry| {
                k.device.as_deref() != Some(super::expected::IPIP_DEVICE)
                    && accepted(k.gateway, gateways)
            };
            if gateways.is_empty() {
                return (Verdict::Ok, None);
            }
            if from_bird == 0 {
                return if unicast.any(|k| fine(k)) {
                    (Verdict::Ok, None)
                } else {
                    wrong(format!(
                        "the kernel routes it {}; expected via {} directly",
                        first.describe(),
                        list_with_bird(gateways, &bird.best)
                    ))
                };
            }
            // The route BIRD installed: each of its paths explained, and every path of
            // BIRD's multipath route there.
            let ours = || {
                observed
                    .iter()
                    .filter(|k| k.kind == "unicast" && k.protocol == "bird")
            };
            if let Some(stray) = ours().find(|k| !fine(k)) {
                let of = if from_bird > 1 {
                    format!(" (one of its {from_bird} paths)")
                } else {
                    String::new()
                };
                return wrong(format!(
                    "the kernel routes it {}{of}; expected via {} directly",
                    stray.describe(),
                    list_with_bird(gateways, &bird.best)
                ));
            }
            let lacking: Vec<IpAddr> = bird
                .required
                .iter()
                .filter(|g| !ours().any(|k| k.gateway == Some(**g)))
                .copied()
                .collect();
            if lacking.is_empty() {
                (Verdict::Ok, None)
            } else {
                let lacking: Vec<String> = lacking.iter().map(|g| format!("via {g}")).collect();
                missing(format!(
                    "BIRD's route has {} paths; the kernel's lacks {}",
                    bird.required.len(),
                    lacking.join(", ")
                ))
            }
        }
        KernelRoute::Tunnel { gateways, device } => {
            let mut unicast = observed.iter().filter(|k| k.kind == "unicast");
            let Some(first) = unicast.clone().next() else {
                return missing(format!(
                    "BIRD has it, the kernel does not: the kernel protocol's filter, a missing {device}, or a BIRD without onlink (older than 2.0.12)"
                ));
            };
            let fine = |k: &KernelEntry| {
                k.device.as_deref() == Some(device.as_str())
                    && k.onlink
                    && (gateways.is_empty() || accepted(k.gateway, gateways))
            };
            if unicast.any(|k| fine(k)) {
                (Verdict::Ok, None)
            } else {
                let tunnel = observed
                    .iter()
                    .find(|k| k.kind == "unicast" && k.device.as_deref() == Some(device.as_str()));
                let no_node = match (tunnel.and_then(|k| k.gateway), nodes) {
                    (Some(g), Some(nodes)) if !gateways.contains(&g) && !nodes.contains_key(&g) => {
                        format!("IPIP to {g}, which is no node and cannot decapsulate: ")
                    }
                    _ => String::new(),
                };
                wrong(format!(
                    "{no_node}the kernel routes it {}; expected via {} dev {device} onlink",
                    first.describe(),
                    list_with_bird(gateways, &bird.best)
                ))
            }
        }
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
