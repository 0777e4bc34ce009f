//! Calico's BIRD 1.6 files and perch's BIRD 2 file, read into one comparable model.
//!
//! Test support, not product code: pure functions from config text to [`Config`], and
//! [`diff`] between two of them, section by section. This module is the ONE place where the
//! BIRD 1.6 / BIRD 2 and Calico v3.31 / v3.32 differences are normalised. Every difference it
//! allows is named in this table; anything else shows up as a difference.
//!
//! | id | allowed difference | how it is normalised |
//! |---|---|---|
//! | B1 | Calico writes one file set per family (`bird.cfg` + `bird_aggr.cfg` + `bird_ipam.cfg`, `bird6*` for IPv6); perch writes one file with `ipv4`/`ipv6` channels and per-family symbols (`calico_aggr4`, `calico_export_to_bgp_peers6`, `filter calico_kernel_programming4`, `protocol static static4`) | a session's family is its file (Calico) or its channel (perch); perch's `4`/`6` symbol suffixes are removed |
//! | B2 | BIRD 2 puts session options in the channel block (`ipv4 { import filter …; next hop self; }`) | channel blocks are read as part of the session |
//! | B3 | `gateway recursive;` and `add paths on;` sit in Calico's `bgp_template`, in perch's channels | not compared (identical in every session of both) |
//! | B4 | BIRD 1.6 `listen bgp [address A] [port P];` is BIRD 2 `local port P` in the template and `strict bind on` | both read as listen port + "bound to the node address" |
//! | B5 | perch's kernel filter first rejects `source = RTS_DEVICE` (BIRD 1.6 did not program interface routes; BIRD 2 would) | that statement is dropped from perch's side |
//! | B6 | BIRD 1.6 (Calico's fork) `krt_tunnel = ""` means "no tunnel" | a kernel decision `krt_tunnel=""; accept;` reads as `direct` |
//! | B7 | perch renders only the BGPFilter functions its sessions call (README: Calico renders all) | both sides keep only functions some session calls |
//! | B8 | perch prints a `reject;` in place of a call to a missing or invalid BGPFilter (fail closed) | compared as written: Calico has no such case in its corpus |
//! | B9 | `calico_aggr` lists blocks in datastore key text order (Calico) or numeric order (perch); blocks never overlap, so the order has no effect | statements are grouped per block |
//! | B10 | Calico prints a BGPFilter rule's IPv6 CIDR as written (`5000::0/64`), perch canonically (`5000::/64`) | addresses in statements are made canonical |
//! | B11 | Calico v3.32's IPv6 kernel filter lists only the pools it rejects (its final `accept;` covers the others); v3.31 and perch also list the accepted ones | a pool decision `direct`, the same as the filter's final `accept;`, is dropped on both sides |
//! | B12 | BIRD 1.6 (Calico's fork) sends an IPIP route through tunl0 with `krt_tunnel = "tunl0"`; BIRD 2 with `ifname = "tunl0"; onlink = true; gw = bgp_next_hop;` (for BGP routes) | both read as `tunnel`, and with a `bgp_next_hop ~ N` test as `direct within N, else tunnel` |
//! | V1 | v3.31: mesh sessions have `import all;` | read as an import filter holding `accept;` |
//! | V2 | v3.31: `reject_disabled_pools()` is a function called first in `calico_export_to_bgp_peers`; v3.32 inlines its rejects | the call is replaced by the function's body |
//! | V3 | v3.31 has no route-priority policy; perch renders v3.32's: the import `preference = 200` above the LOCAL_PREF threshold, the export krt_metric ↔ LOCAL_PREF preamble, the `krt_metric < normal` escape in `calico_aggr`, the kernel filter's metric preamble | against the v3.31 corpus only, these statements are dropped from perch's side |
//!
//! Not compared at all (same on every node, or cosmetic): comments, blank lines, protocol
//! order (v3.31 sections vs sorted names), `protocol kernel`/`device` options, `timeformat`,
//! the template's connect/error timers, session `description`.

pub mod parse;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use parse::{Item, parse, squeeze};

/// Which Calico release a corpus comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3_31,
    V3_32,
}

/// One node's BGP configuration, normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub router_id: Option<String>,
    pub listen_port: Option<String>,
    pub bind_node_ip: bool,
    pub debug: Option<String>,
    pub direct_interfaces: Option<String>,
    pub v4: Family,
    pub v6: Family,
}

/// The per-family sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Family {
    pub sessions: BTreeMap<String, Session>,
    /// `route <cidr> blackhole` / `route <ip>/32 via <gw>`.
    pub static_routes: BTreeSet<String>,
    /// `calico_aggr` statements without whitespace, per block in order (B9).
    pub aggregation: BTreeMap<String, Vec<String>>,
    /// `apply_communities`: per CIDR, the statements that add communities.
    pub communities: BTreeMap<String, BTreeSet<String>>,
    pub export: Export,
    pub kernel: Kernel,
    /// BGPFilter functions: `'symbol'(params)` → statements in order.
    pub filters: BTreeMap<String, Vec<String>>,
}

/// `calico_export_to_bgp_peers`: which prefixes go out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    /// `if (net ~ X) then { reject; }`: never exported.
    pub rejected: BTreeSet<String>,
    /// `if (net ~ X) then { accept; }`: exported.
    pub accepted: BTreeSet<String>,
    /// Everything else, in order (the tunnel/local route rejects, communities, aggregation).
    pub steps: Vec<String>,
}

/// `calico_kernel_programming`: per prefix, what goes into the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kernel {
    /// Statements that are not per prefix (the route-priority preamble), in order.
    pub preamble: Vec<String>,
    /// Prefix → `reject`, `direct`, `tunnel`, `direct within N, else tunnel`, …
    pub prefixes: BTreeMap<String, String>,
}

/// One `protocol bgp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    pub neighbor: String,
    pub port: Option<String>,
    pub as_number: String,
    pub local_as: String,
    /// `off` (with a bare `multihop`) or the hop count of `ttl security on; multihop N`.
    pub ttl: Option<String>,
    pub source_address: Option<String>,
    pub passive: bool,
    pub graceful_restart_time: Option<String>,
    pub keepalive_time: Option<String>,
    pub rr_client: bool,
    pub rr_cluster_id: Option<String>,
    pub password: Option<String>,
    pub next_hop: Vec<String>,
    pub allow_local_as: Option<String>,
    /// The import and export filter statements, in order, without whitespace.
    pub import: Vec<String>,
    pub export: Vec<String>,
    /// Options this reader does not know (so they cannot slip through uncompared).
    pub other: Vec<String>,
}

/// Reads Calico's six files in `dir`.
pub fn calico(dir: &Path) -> Config {
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap_or_else(|e| panic!("{}/{f}: {e}", dir.display()))
    };
    let files = |a: &str, b: &str, c: &str| {
        let mut items = parse(&read(a));
        items.extend(parse(&read(b)));
        items.extend(parse(&read(c)));
        items
    };
    let v4 = files("bird.cfg", "bird_aggr.cfg", "bird_ipam.cfg");
    let v6 = files("bird6.cfg", "bird6_aggr.cfg", "bird6_ipam.cfg");
    let mut cfg = globals(&v4);
    cfg.v4 = family(&v4, "", None, "4");
    cfg.v6 = family(&v6, "", None, "6");
    keep_called_filters(&mut cfg);
    cfg
}

/// Reads perch's `bird.cfg`.
pub fn perch(text: &str) -> Config {
    let items = parse(text);
    let mut cfg = globals(&items);
    cfg.v4 = family(&items, "4", Some("ipv4"), "4");
    cfg.v6 = family(&items, "6", Some("ipv6"), "6");
    keep_called_filters(&mut cfg);
    cfg
}

/// V3: drops the v3.32 route-priority statements, for comparing with the v3.31 corpus.
pub fn without_route_priority(cfg: &mut Config) {
    let priority = |s: &String| {
        s.starts_with("if(defined(bgp_local_pref)&&(bgp_local_pref>")
            || s.starts_with("if(defined(source)&&source=RTS_BGP&&defined(bgp_local_pref))then")
            || s.starts_with("else{if(!defined(krt_metric))")
            || s.contains("&&krt_metric<")
            || s.starts_with("if(defined(source)&&(source=RTS_BGP)&&!defined(krt_metric))")
    };
    for f in [&mut cfg.v4, &mut cfg.v6] {
        for s in f.sessions.values_mut() {
            s.import.retain(|x| !priority(x));
            s.export.retain(|x| !priority(x));
        }
        for stmts in f.aggregation.values_mut() {
            stmts.retain(|x| !priority(x));
        }
        f.kernel.preamble.retain(|x| !priority(x));
    }
}

fn head_name<'a>(head: &'a str, keyword: &str) -> Option<&'a str> {
    let rest = head.strip_prefix(keyword)?.trim_start();
    Some(rest.split(['(', ' ']).next().unwrap_or(rest))
}

fn find<'a>(items: &'a [Item], keyword: &str, name: &str) -> Option<&'a [Item]> {
    items.iter().find_map(|i| match i {
        Item::Block { head, body } if head_name(head, keyword) == Some(name) => {
            Some(body.as_slice())
        }
        _ => None,
    })
}

fn stmts(items: &[Item]) -> impl Iterator<Item = &str> {
    items.iter().filter_map(|i| match i {
        Item::Stmt(s) => Some(s.as_str()),
        _ => None,
    })
}

fn globals(items: &[Item]) -> Config {
    let mut cfg = Config::default();
    for s in stmts(items) {
        if let Some(id) = s.strip_prefix("router id ") {
            cfg.router_id = Some(id.to_owned());
        }
        if let Some(rest) = s.strip_prefix("listen bgp") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            for pair in w.windows(2) {
                match pair[0] {
                    "port" => cfg.listen_port = Some(pair[1].to_owned()),
                    "address" => cfg.bind_node_ip = true,
                    _ => {}
                }
            }
        }
    }
    if let Some(body) = find(items, "template bgp", "bgp_template") {
        for s in stmts(body) {
            if s.starts_with("debug") {
                cfg.debug = Some(squeeze(s));
            }
            // BIRD 2: `local port P as N` (B4).
            let w: Vec<&str> = s.split_whitespace().collect();
            if let ["local", "port", p, "as", _] = w.as_slice() {
                cfg.listen_port = Some((*p).to_owned());
            }
            if s == "strict bind on" {
                cfg.bind_node_ip = true;
            }
        }
    }
    if let Some(body) = find(items, "protocol", "direct") {
        cfg.direct_interfaces = stmts(body)
            .find(|s| s.starts_with("interface "))
            .map(str::to_owned);
    }
    cfg
}

/// Removes perch's per-family suffix from the shared function names (B1).
fn unsuffix(s: String, suffix: &str) -> String {
    if suffix.is_empty() {
        return s;
    }
    let mut s = s;
    for f in [
        "calico_export_to_bgp_peers",
        "reject_disabled_pools",
        "apply_communities",
        "calico_aggr",
    ] {
        s = s.replace(&format!("{f}{suffix}("), &format!("{f}("));
    }
    s
}

fn flats(items: &[Item], suffix: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| canonical_addresses(&unsuffix(i.flat(), suffix)))
        .collect()
}

/// B10: every IPv6 prefix in `s` in canonical form.
fn canonical_addresses(s: &str) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        match token.parse::<ipnet::IpNet>() {
            Ok(n) if token.contains(':') => out.push_str(&n.to_string()),
            _ => out.push_str(token),
        }
        token.clear();
    };
    for c in s.chars() {
        if c.is_ascii_hexdigit() || c == ':' || c == '/' || c == '.' {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// `if(net~X)then` → X.
fn net_head(head: &str) -> Option<String> {
    let h = squeeze(head);
    h.strip_prefix("if(net~")
        .and_then(|r| r.strip_suffix(")then"))
        .map(str::to_owned)
}

fn family(items: &[Item], suffix: &str, channel: Option<&str>, digit: &str) -> Family {
    let mut f = Family::default();
    let template_as = find(items, "template bgp", "bgp_template")
        .and_then(|body| {
            stmts(body).find_map(|s| {
                let w: Vec<&str> = s.split_whitespace().collect();
                match w.as_slice() {
                    ["local", "as", n] | ["local", "port", _, "as", n] => Some((*n).to_owned()),
                    _ => None,
                }
            })
        })
        .unwrap_or_default();
    for item in items {
        let Item::Block { head, body } = item else {
            continue;
        };
        if let Some(rest) = head.strip_prefix("protocol bgp ") {
            let name = rest.split_whitespace().next().unwrap_or("").to_owned();
            let in_family = match channel {
                None => true,
                Some(ch) => body
                    .iter()
                    .any(|i| matches!(i, Item::Block { head, .. } if head == ch)),
            };
            if in_family {
                f.sessions.insert(name, session(body, &template_as, suffix));
            }
        } else if head.starts_with("protocol static") {
            let in_family = match channel {
                None => true,
                Some(ch) => stmts(body).any(|s| s == ch),
            };
            if in_family {
                f.static_routes.extend(
                    stmts(body)
                        .filter(|s| s.starts_with("route "))
                        .map(str::to_owned),
                );
            }
        } else if let Some(name) = head_name(head, "function") {
            let symbol = name.trim_matches('\'');
            let wanted = if suffix.is_empty() { "" } else { suffix };
            if symbol.starts_with("bgp_") {
                if symbol.ends_with(&format!("V{digit}")) {
                    let params = head
                        .split_once('(')
                        .map(|(_, p)| squeeze(p))
                        .unwrap_or_default();
                    f.filters
                        .insert(format!("'{symbol}'({params}"), flats(body, suffix));
                }
            } else if name == format!("calico_aggr{wanted}") {
                for st in flats(body, suffix) {
                    let block = st
                        .strip_prefix("if(net=")
                        .or_else(|| st.strip_prefix("if(net~"))
                        .and_then(|r| r.split([')', '&']).next())
                        .unwrap_or("")
                        .to_owned();
                    f.aggregation.entry(block).or_default().push(st);
                }
            } else if name == format!("apply_communities{wanted}") {
                for i in body {
                    if let Item::Block { head, body } = i
                        && let Some(net) = net_head(head)
                    {
                        f.communities
                            .entry(net)
                            .or_default()
                            .extend(flats(body, suffix));
                    }
                }
            } else if name == format!("calico_export_to_bgp_peers{wanted}") {
                f.export = export(body, items, suffix);
            }
        } else if head_name(head, "filter") == Some(&format!("calico_kernel_programming{suffix}")) {
            f.kernel = kernel(body, suffix);
        }
    }
    f
}

fn export(body: &[Item], all: &[Item], suffix: &str) -> Export {
    let mut e = Export::default();
    let disabled = find(all, "function", &format!("reject_disabled_pools{suffix}"));
    let mut items: Vec<Item> = Vec::new();
    for i in body {
        // V2: inline reject_disabled_pools().
        if let Item::Stmt(s) = i
            && squeeze(s).starts_with("reject_disabled_pools")
        {
            items.extend(disabled.unwrap_or(&[]).iter().cloned());
            continue;
        }
        items.push(i.clone());
    }
    for i in &items {
        if let Item::Block { head, body } = i
            && let Some(net) = net_head(head)
        {
            match flats(body, suffix).join("").as_str() {
                "accept;" => {
                    e.accepted.insert(net);
                    continue;
                }
                "reject;" => {
                    e.rejected.insert(net);
                    continue;
                }
                _ => {}
            }
        }
        e.steps.push(unsuffix(i.flat(), suffix));
    }
    e
}

fn kernel(body: &[Item], suffix: &str) -> Kernel {
    let mut k = Kernel::default();
    for i in body {
        let flat = unsuffix(i.flat(), suffix);
        // B5.
        if flat == "if(source=RTS_DEVICE)then{reject;}" || flat == "accept;" {
            continue;
        }
        if let Item::Block { head, body } = i
            && let Some(net) = net_head(head)
        {
            let decision = kernel_decision(&flats(body, suffix).join(""));
            // B11.
            if decision != "direct" {
                k.prefixes.insert(net, decision);
            }
            continue;
        }
        k.preamble.push(flat);
    }
    k
}

fn kernel_decision(body: &str) -> String {
    let next_hop_net = body
        .split("bgp_next_hop~")
        .nth(1)
        .map(|r| r.split(')').next().unwrap_or(r).to_owned());
    match (body, next_hop_net) {
        ("reject;", _) => "reject".into(),
        // B6.
        ("accept;" | "krt_tunnel=\"\";accept;", _) => "direct".into(),
        ("krt_tunnel=\"tunl0\";accept;", _) => "tunnel".into(),
        (b, Some(n)) if b.contains("krt_tunnel=\"tunl0\"") || b.contains("onlink=true") => {
            format!("direct within {n}, else tunnel")
        }
        // B12: BIRD 2 (≥ 2.0.12) sends a BGP route through tunl0 with `onlink`.
        (b, None) if b.contains("ifname=\"tunl0\"") && b.contains("onlink=true") => "tunnel".into(),
        (b, Some(n)) if b.ends_with("reject;") => format!("direct within {n}, else reject"),
        (b, _) => b.to_owned(),
    }
}

fn session(body: &[Item], template_as: &str, suffix: &str) -> Session {
    let mut s = Session {
        local_as: template_as.to_owned(),
        ..Session::default()
    };
    let mut ttl_on = false;
    let mut items: Vec<&Item> = Vec::new();
    for i in body {
        match i {
            // B2: the channel block's contents belong to the session.
            Item::Block { head, body } if head == "ipv4" || head == "ipv6" => items.extend(body),
            _ => items.push(i),
        }
    }
    for i in items {
        match i {
            Item::Block { head, body } if head == "import filter" => s.import = flats(body, suffix),
            Item::Block { head, body } if head == "export filter" => s.export = flats(body, suffix),
            Item::Block { head, .. } => s.other.push(format!("block {head}")),
            Item::Stmt(st) => {
                let w: Vec<&str> = st.split_whitespace().collect();
                match w.as_slice() {
                    ["ttl", "security", "on"] => ttl_on = true,
                    ["ttl", "security", "off"] => s.ttl = Some("off".into()),
                    ["multihop"] => {}
                    ["multihop", n] if ttl_on => s.ttl = Some((*n).to_owned()),
                    ["local", "as", n] => s.local_as = (*n).to_owned(),
                    ["neighbor", ip, "as", n] => {
                        s.neighbor = (*ip).to_owned();
                        s.as_number = (*n).to_owned();
                    }
                    ["neighbor", ip, "port", p, "as", n] => {
                        s.neighbor = (*ip).to_owned();
                        s.port = Some((*p).to_owned());
                        s.as_number = (*n).to_owned();
                    }
                    ["source", "address", a] => s.source_address = Some((*a).to_owned()),
                    ["passive", "on"] => s.passive = true,
                    ["graceful", "restart", "time", t] => {
                        s.graceful_restart_time = Some((*t).to_owned())
                    }
                    ["keepalive", "time", t] => s.keepalive_time = Some((*t).to_owned()),
                    ["rr", "client"] => s.rr_client = true,
                    ["rr", "cluster", "id", id] => s.rr_cluster_id = Some((*id).to_owned()),
                    ["next", "hop", how] => s.next_hop.push((*how).to_owned()),
                    ["allow", "local", "as", n] => s.allow_local_as = Some((*n).to_owned()),
                    // V1.
                    ["import", "all"] => s.import = vec!["accept;".into()],
                    // B3.
                    ["gateway", "recursive"] | ["add", "paths", "on"] | ["description", ..] => {}
                    _ if st.starts_with("password ") => {
                        s.password = Some(st["password ".len()..].to_owned())
                    }
                    _ => s.other.push(st.clone()),
                }
            }
        }
    }
    s
}

/// B7: only the BGPFilter functions that some session calls.
fn keep_called_filters(cfg: &mut Config) {
    for f in [&mut cfg.v4, &mut cfg.v6] {
        let called: BTreeSet<String> = f
            .sessions
            .values()
            .flat_map(|s| s.import.iter().chain(&s.export))
            .filter(|x| x.starts_with("'bgp_"))
            .filter_map(|x| x.split("'(").next().map(|s| format!("{s}'")))
            .collect();
        f.filters
            .retain(|k, _| called.iter().any(|c| k.starts_with(c.as_str())));
    }
}

/// One difference between two configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `router id`, `ipv4 session Mesh_10_0_0_2`, `ipv4 kernel 10.0.0.0/16`, …
    pub section: String,
    pub calico: String,
    pub perch: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:\n      calico {}\n      perch  {}",
            self.section, self.calico, self.perch
        )
    }
}

fn cmp<T: PartialEq + fmt::Debug>(section: &str, a: &T, b: &T, out: &mut Vec<Difference>) {
    if a != b {
        out.push(Difference {
            section: section.to_owned(),
            calico: format!("{a:?}"),
            perch: format!("{b:?}"),
        });
    }
}

fn cmp_maps<V: PartialEq + fmt::Debug>(
    section: &str,
    a: &BTreeMap<String, V>,
    b: &BTreeMap<String, V>,
    out: &mut Vec<Difference>,
) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => cmp(&format!("{section} {k}"), x, y, out),
            (x, y) => cmp(&format!("{section} {k}"), &x, &y, out),
        }
    }
}

/// Every difference between Calico's config and perch's, section by section.
pub fn diff(calico: &Config, perch: &Config) -> Vec<Difference> {
    let mut out = Vec::new();
    cmp("router id", &calico.router_id, &perch.router_id, &mut out);
    cmp(
        "listen port",
        &calico.listen_port,
        &perch.listen_port,
        &mut out,
    );
    cmp(
        "bind to node address",
        &calico.bind_node_ip,
        &perch.bind_node_ip,
        &mut out,
    );
    cmp("debug", &calico.debug, &perch.debug, &mut out);
    cmp(
        "direct interfaces",
        &calico.direct_interfaces,
        &perch.direct_interfaces,
        &mut out,
    );
    for (name, a, b) in [
        ("ipv4", &calico.v4, &perch.v4),
        ("ipv6", &calico.v6, &perch.v6),
    ] {
        cmp_maps(
            &format!("{name} session"),
            &a.sessions,
            &b.sessions,
            &mut out,
        );
        cmp(
            &format!("{name} static routes"),
            &a.static_routes,
            &b.static_routes,
            &mut out,
        );
        cmp_maps(
            &format!("{name} aggregation"),
            &a.aggregation,
            &b.aggregation,
            &mut out,
        );
        cmp_maps(
            &format!("{name} communities"),
            &a.communities,
            &b.communities,
            &mut out,
        );
        cmp(
            &format!("{name} export rejected"),
            &a.export.rejected,
            &b.export.rejected,
            &mut out,
        );
        cmp(
            &format!("{name} export accepted"),
            &a.export.accepted,
            &b.export.accepted,
            &mut out,
        );
        cmp(
            &format!("{name} export steps"),
            &a.export.steps,
            &b.export.steps,
            &mut out,
        );
        cmp(
            &format!("{name} kernel preamble"),
            &a.kernel.preamble,
            &b.kernel.preamble,
            &mut out,
        );
        cmp_maps(
            &format!("{name} kernel"),
            &a.kernel.prefixes,
            &b.kernel.prefixes,
            &mut out,
        );
        cmp_maps(&format!("{name} filter"), &a.filters, &b.filters, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    // The benches include this support module without running its tests.
    #[allow(unused_imports)]
    use super::*;

    const CALICO_V31_SESSION: &str = "template bgp bgp_template {\n  local as 64512;\n}\n\
        protocol bgp Mesh_10_0_0_2 from bgp_template {\n  neighbor 10.0.0.2 as 64512;\n  \
        source address 10.0.0.1;  # comment\n  import all;\n  export filter {\n    \
        calico_export_to_bgp_peers(true);\n    reject;\n  };\n  passive on;\n}\n";

    const PERCH_SESSION: &str = "template bgp bgp_template {\n  local as 64512;\n}\n\
        protocol bgp Mesh_10_0_0_2 from bgp_template {\n  neighbor 10.0.0.2 as 64512;\n  \
        source address 10.0.0.1;\n  passive on;\n  ipv4 {\n    gateway recursive;\n    \
        import filter {\n      if (defined(bgp_local_pref) && (bgp_local_pref > 2147482623)) then\n        \
        preference = 200;\n      accept;\n    };\n    export filter {\n      \
        calico_export_to_bgp_peers4(true);\n      reject;\n    };\n  };\n}\n";

    #[test]
    fn a_bird2_channel_session_equals_its_bird16_form_under_v1_b1_b2_v3() {
        let items = parse(CALICO_V31_SESSION);
        let calico = family(&items, "", None, "4");
        let mut perch_cfg = perch(PERCH_SESSION);
        without_route_priority(&mut perch_cfg);
        assert_eq!(calico.sessions, perch_cfg.v4.sessions);
        assert!(perch_cfg.v6.sessions.is_empty());
    }

    #[test]
    fn without_v3_normalisation_the_priority_preamble_is_a_difference() {
        let items = parse(CALICO_V31_SESSION);
        let calico = family(&items, "", None, "4");
        let perch_cfg = perch(PERCH_SESSION);
        assert_ne!(calico.sessions, perch_cfg.v4.sessions);
    }

    #[test]
    fn ipv6_prefixes_become_canonical() {
        assert_eq!(
            canonical_addresses("if((net~5000:1::0/64)&&(x))then{accept;}"),
            "if((net~5000:1::/64)&&(x))then{accept;}"
        );
        assert_eq!(
            canonical_addresses("bgp_community.add((65000,100));"),
            "bgp_community.add((65000,100));"
        );
    }

    #[test]
    fn kernel_decisions_of_both_dialects() {
        assert_eq!(kernel_decision("krt_tunnel=\"\";accept;"), "direct");
        assert_eq!(kernel_decision("accept;"), "direct");
        assert_eq!(kernel_decision("krt_tunnel=\"tunl0\";accept;"), "tunnel");
        assert_eq!(
            kernel_decision(
                "if(defined(bgp_next_hop)&&(bgp_next_hop~10.0.0.0/16))thenkrt_tunnel=\"\";elsekrt_tunnel=\"tunl0\";accept;"
            ),
            "direct within 10.0.0.0/16, else tunnel"
        );
        assert_eq!(
            kernel_decision(
                "if(source=RTS_BGP)then{ifname=\"tunl0\";onlink=true;gw=bgp_next_hop;}accept;"
            ),
            "tunnel"
        );
        assert_eq!(
            kernel_decision(
                "if(source=RTS_BGP)then{if!(bgp_next_hop~10.0.0.0/16)then{ifname=\"tunl0\";onlink=true;gw=bgp_next_hop;}}accept;"
            ),
            "direct within 10.0.0.0/16, else tunnel"
        );
        assert_eq!(
            kernel_decision(
                "ifdefined(bgp_next_hop)&&(bgp_next_hop~10.0.0.0/16)thenaccept;reject;"
            ),
            "direct within 10.0.0.0/16, else reject"
        );
    }

    #[test]
    fn export_policy_inlines_disabled_pools_and_sorts_prefixes() {
        let v31 = parse(
            "function reject_disabled_pools () { if ( net ~ 10.1.0.0/16 ) then { reject; } }\n\
             function calico_export_to_bgp_peers(bool internal_peer) {\n  reject_disabled_pools();\n  \
             calico_aggr();\n  if ( net ~ 10.2.0.0/16 ) then { accept; }\n}\n",
        );
        let v32 = parse(
            "function calico_export_to_bgp_peers(bool internal_peer) {\n  \
             if (net ~ 10.1.0.0/16) then { reject; } # BGP export is disabled.\n  calico_aggr();\n  \
             if (net ~ 10.2.0.0/16) then { accept; }\n}\n",
        );
        assert_eq!(
            family(&v31, "", None, "4").export,
            family(&v32, "", None, "4").export
        );
    }

    #[test]
    fn filter_functions_keep_only_called_ones() {
        let text = "function 'bgp_a_importFilterV4'() { accept; }\nfunction 'bgp_b_importFilterV4'() { reject; }\n\
            template bgp bgp_template { local as 1; }\nprotocol bgp X from bgp_template { neighbor 1.2.3.4 as 2; ipv4 { import filter { 'bgp_a_importFilterV4'(); accept; }; }; }\n";
        let cfg = perch(text);
        assert_eq!(
            cfg.v4.filters.keys().collect::<Vec<_>>(),
            ["'bgp_a_importFilterV4'()"]
        );
    }
}
