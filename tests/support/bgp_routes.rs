//! Routes as the behaviour comparison sees them, read from three places: BIRD's
//! `show route all` (BIRD 1.6 and BIRD 2 print it differently), GoBGP's Adj-RIB-In as JSON
//! (what a peer received), and `ip route` (what BIRD programmed into the kernel).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// One BGP route's attributes, in one text form whichever program printed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub next_hop: String,
    /// AS numbers separated by single spaces, "" for an empty path.
    pub as_path: String,
    pub local_pref: Option<u64>,
    pub med: Option<u64>,
    /// `(a,b)`, sorted.
    pub communities: Vec<String>,
    /// `(a,b,c)`, sorted.
    pub large_communities: Vec<String>,
    /// BIRD's route preference (only for routes read from BIRD's table).
    pub preference: Option<u64>,
    /// The kernel metric (only for kernel routes, whose `next_hop` holds the rest of the
    /// route: `via X dev Y`, `blackhole`).
    pub metric: Option<u64>,
}

impl Route {
    /// Each attribute by name, for field-by-field comparison.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
        vec![
            ("next_hop", self.next_hop.clone()),
            ("as_path", format!("[{}]", self.as_path)),
            ("local_pref", opt(self.local_pref)),
            ("med", opt(self.med)),
            ("communities", self.communities.join(" ")),
            ("large_communities", self.large_communities.join(" ")),
            ("preference", opt(self.preference)),
            ("metric", opt(self.metric)),
        ]
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .fields()
            .into_iter()
            .filter(|(_, v)| v != "-" && !v.is_empty() && v != "[]")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        write!(f, "{}", parts.join(" "))
    }
}

/// Routes keyed by prefix.
pub type Routes = BTreeMap<String, Route>;

/// `(65000, 100)` / `(65000,100,200)` lists as BIRD prints them → `["(65000,100)", …]`.
fn bird_tuples(v: &str) -> Vec<String> {
    let mut out: Vec<String> = v
        .split(')')
        .map(|t| t.trim().trim_start_matches('('))
        .filter(|t| !t.is_empty())
        .map(|t| format!("({})", t.replace(' ', "")))
        .collect();
    out.sort();
    out
}

/// `birdc show route all` of BIRD 1.6 or BIRD 2 → routes per protocol name (BGP routes only:
/// those with BGP attributes).
pub fn parse_bird_routes(text: &str) -> BTreeMap<String, Routes> {
    let mut out: BTreeMap<String, Routes> = BTreeMap::new();
    let mut prefix = String::new();
    let mut current: Option<(String, Route, bool)> = None;
    let mut flush = |cur: &mut Option<(String, Route, bool)>, prefix: &str| {
        if let Some((proto, route, bgp)) = cur.take()
            && bgp
        {
            out.entry(proto)
                .or_default()
                .insert(prefix.to_owned(), route);
        }
    };
    for line in text.lines() {
        let body = line.trim();
        if body.is_empty() || body.ends_with(" ready.") || body.starts_with("Table ") {
            continue;
        }
        let header = !line.starts_with('\t') && body.contains(" [") && body.contains(']');
        if header {
            flush(&mut current, &prefix);
            if !line.starts_with(' ') {
                prefix = body.split_whitespace().next().unwrap().to_owned();
            }
            let proto = body
                .split_once(" [")
                .map(|(_, r)| r.split_whitespace().next().unwrap_or("").to_owned())
                .unwrap_or_default();
            // `(100/0)` (1.6, 2 with an IGP metric) or `(100)`.
            let preference = body
                .split_once("] ")
                .and_then(|(_, r)| r.split_once('(')?.1.split(['/', ')']).next()?.parse().ok());
            current = Some((
                proto,
                Route {
                    preference,
                    ..Route::default()
                },
                false,
            ));
            continue;
        }
        let Some((_, route, bgp)) = current.as_mut() else {
            continue;
        };
        let Some((key, value)) = body.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "BGP.origin" => *bgp = true,
            "BGP.as_path" => route.as_path = value.split_whitespace().collect::<Vec<_>>().join(" "),
            "BGP.next_hop" => {
                route.next_hop = value.split_whitespace().next().unwrap_or("").to_owned()
            }
            "BGP.local_pref" => route.local_pref = value.parse().ok(),
            "BGP.med" => route.med = value.parse().ok(),
            "BGP.community" => route.communities = bird_tuples(value),
            "BGP.large_community" => route.large_communities = bird_tuples(value),
            _ => {}
        }
    }
    flush(&mut current, &prefix);
    out
}

/// `gobgp neighbor N adj-in -a ipv4 -j` (or `global rib -j`) → routes by prefix (the first
/// path of each prefix; without add-paths there is one).
pub fn parse_gobgp_rib(text: &str) -> Result<Routes, String> {
    let text = text.trim();
    if text.is_empty() || text == "null" {
        return Ok(Routes::new());
    }
    let rib: BTreeMap<String, Vec<Value>> =
        serde_json::from_str(text).map_err(|e| format!("GoBGP RIB JSON: {e}: {text}"))?;
    let mut out = Routes::new();
    for (prefix, paths) in rib {
        let Some(path) = paths.first() else { continue };
        let mut r = Route::default();
        for a in path["attrs"].as_array().into_iter().flatten() {
            match a["type"].as_u64() {
                Some(2) => {
                    let asns: Vec<String> = a["as_paths"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|seg| seg["asns"].as_array().cloned().unwrap_or_default())
                        .map(|n| n.to_string())
                        .collect();
                    r.as_path = asns.join(" ");
                }
                Some(3) => r.next_hop = a["nexthop"].as_str().unwrap_or("").to_owned(),
                Some(4) => r.med = a["metric"].as_u64(),
                Some(5) => r.local_pref = a["value"].as_u64(),
                Some(8) => {
                    let mut c: Vec<String> = a["communities"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .map(|v| format!("({},{})", v >> 16, v & 0xffff))
                        .collect();
                    c.sort();
                    r.communities = c;
                }
                Some(32) => {
                    let mut c: Vec<String> = a["value"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|l| format!("({},{},{})", l["ASN"], l["LocalData1"], l["LocalData2"]))
                        .collect();
                    c.sort();
                    r.large_communities = c;
                }
                _ => {}
            }
        }
        out.insert(prefix, r);
    }
    Ok(out)
}

/// `ip -4 route show proto bird` → kernel routes by destination: `next_hop` is the rest of
/// the route without `proto` and `metric`, `metric` the metric (none when the kernel prints
/// none, i.e. 0).
pub fn parse_kernel_routes(text: &str) -> Routes {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            // `blackhole 10.0.0.0/30 …` or `10.1.0.0/24 via …`
            let (dest, rest) = if matches!(words[0], "blackhole" | "unreachable" | "prohibit") {
                (words[1], [&words[..1], &words[2..]].concat())
            } else {
                (words[0], words[1..].to_vec())
            };
            let mut r = Route::default();
            let mut kept = Vec::new();
            let mut i = 0;
            while i < rest.len() {
                match rest[i] {
                    "proto" => i += 2,
                    "metric" => {
                        r.metric = rest.get(i + 1).and_then(|m| m.parse().ok());
                        i += 2;
                    }
                    w => {
                        kept.push(w);
                        i += 1;
                    }
                }
            }
            r.next_hop = kept.join(" ");
            (dest.to_owned(), r)
        })
        .collect()
}
