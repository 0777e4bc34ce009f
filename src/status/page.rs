//! The HTML status page: the peer table, drift and the routes that are not ok, readable on a phone, refreshing itself.

use std::fmt::Write;

use super::document::StatusDocument;

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,sans-serif;margin:0;padding:1rem;color:#1b1f24;background:#f6f8fa}\
h1{font-size:1.3rem;margin:0 0 .3rem}.meta{color:#57606a;font-size:.9rem;margin-bottom:1rem}\
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin-bottom:1rem}.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;min-width:8rem}\
.card b{display:block;font-size:1.2rem}table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}\
th,td{border-bottom:1px solid #d0d7de;padding:.4rem .5rem;text-align:left;vertical-align:top}th{background:#eaeef2}\
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.warn{color:#9a6700}\
.wrap{overflow-x:auto}@media(max-width:640px){.hide-sm{display:none}}code{font-size:.85em}";

/// Renders the page.
pub(crate) fn render_page(doc: &StatusDocument, refresh_seconds: u32) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"{refresh_seconds}\">\
<title>perch · {node}</title><style>{STYLE}</style></head><body>\
<h1>perch · <span id=\"node\">{node}</span></h1>",
        node = esc(&doc.node)
    );
    let bird = &doc.bird;
    let apply = doc.last_apply.as_ref();
    let _ = write!(
        h,
        "<div class=\"meta\">BIRD {} · router id {} · up since {} · observed {}</div>",
        esc(bird.version.as_deref().unwrap_or("unreachable")),
        esc(bird.router_id.as_deref().unwrap_or("-")),
        esc(bird.up_since.as_deref().unwrap_or("-")),
        esc(&bird.observed_at)
    );
    let card = |h: &mut String, title: &str, value: &str, class: &str| {
        let _ = write!(
            h,
            "<div class=\"card\">{}<b class=\"{class}\">{}</b></div>",
            esc(title),
            esc(value)
        );
    };
    h.push_str("<div class=\"cards\">");
    card(
        &mut h,
        "ready",
        if doc.ready { "yes" } else { "no" },
        if doc.ready { "ok" } else { "bad" },
    );
    card(
        &mut h,
        "established",
        &format!("{}/{}", doc.summary.established, doc.summary.planned),
        if doc.summary.not_established == 0 {
            "ok"
        } else {
            "bad"
        },
    );
    card(
        &mut h,
        "datastore",
        &format!(
            "{} rev {}",
            if doc.datastore.available {
                "in sync"
            } else {
                "unavailable"
            },
            doc.datastore.revision
        ),
        if doc.datastore.available { "ok" } else { "bad" },
    );
    card(
        &mut h,
        "last apply",
        &apply
            .map_or("none yet".to_owned(), |a| {
                format!("{:?} {}", a.result, a.at)
            })
            .to_lowercase(),
        if apply.is_some_and(|a| a.error.is_none()) {
            "ok"
        } else {
            "warn"
        },
    );
    h.push_str("</div>");
    if let Some(e) = apply.and_then(|a| a.error.as_deref()) {
        let _ = write!(h, "<p class=\"bad\">last apply failed: {}</p>", esc(e));
    }
    for r in apply.map(|a| a.refused.as_slice()).unwrap_or_default() {
        let _ = write!(
            h,
            "<p class=\"bad\">BIRD refused session <code>{}</code> of {} {}: {} (left out; the rest is applied)</p>",
            esc(&r.session),
            esc(&r.kind),
            esc(&r.name),
            esc(&r.reason)
        );
    }
    if let Some(e) = &bird.error {
        let _ = write!(h, "<p class=\"bad\">{}</p>", esc(e));
    }
    h.push_str(
        "<div class=\"wrap\"><table id=\"peers\"><thead><tr><th>peer</th><th>address</th><th class=\"hide-sm\">type</th>\
<th>state</th><th class=\"hide-sm\">since</th><th class=\"hide-sm\">routes in/out</th><th>info</th></tr></thead><tbody>",
    );
    for p in &doc.peers {
        let class = if p.established { "ok" } else { "bad" };
        let addr = match p.port {
            Some(port) => format!("{} port {port}", p.peer_ip),
            None => p.peer_ip.clone(),
        };
        let routes = p
            .routes
            .map_or("-".into(), |r| format!("{}/{}", r.imported, r.exported));
        let info = p.last_error.clone().unwrap_or_else(|| {
            if p.planned {
                String::new()
            } else {
                "not in plan".into()
            }
        });
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"hide-sm\">{}</td><td class=\"{class}\">{}</td>\
<td class=\"hide-sm\">{}</td><td class=\"hide-sm\">{}</td><td>{}</td></tr>",
            esc(&p.name),
            esc(&addr),
            esc(&p.type_description),
            esc(&p.bgp_state),
            esc(p.since.as_deref().unwrap_or("-")),
            esc(&routes),
            esc(&info)
        );
    }
    if doc.peers.is_empty() {
        h.push_str("<tr><td colspan=\"7\">no BGP sessions planned</td></tr>");
    }
    h.push_str("</tbody></table></div>");
    let d = &doc.drift;
    if d.is_empty() {
        h.push_str(
            "<p class=\"ok\" id=\"drift\">no drift: BIRD runs exactly the planned sessions</p>",
        );
    } else {
        h.push_str("<div id=\"drift\"><h2 class=\"warn\">drift</h2><ul>");
        for (what, names) in [
            ("planned but missing from BIRD", &d.missing_from_bird),
            ("running in BIRD but not planned", &d.not_in_plan),
            ("planned but down in BIRD", &d.down_in_bird),
            ("differs from the plan", &d.mismatched),
        ] {
            if !names.is_empty() {
                let list: Vec<String> = names.iter().map(|n| esc(n)).collect();
                let _ = write!(h, "<li>{what}: {}</li>", list.join(", "));
            }
        }
        h.push_str("</ul></div>");
    }
    if let Some(r) = &doc.routes {
        if let Some(e) = &r.error {
            let _ = write!(h, "<p class=\"bad\">route check failed: {}</p>", esc(e));
        }
        if doc.route_problems.is_empty() {
            let ok = r.counts.values().sum::<usize>();
            let _ = write!(
                h,
                "<p class=\"ok\" id=\"routes\">routes: all {ok} prefixes ok</p>"
            );
        } else {
            let _ = write!(
                h,
                "<div id=\"routes\"><h2 class=\"warn\">routes not ok ({})</h2><ul>",
                doc.route_problems_total
            );
            for p in &doc.route_problems {
                let owner = p
                    .owner
                    .as_deref()
                    .map_or(String::new(), |o| format!(" (node {o})"));
                let cause = p
                    .cause
                    .as_ref()
                    .map_or(String::new(), |c| format!(": {}", c.message));
                let _ = write!(
                    h,
                    "<li><code>{}</code>{} <b class=\"bad\">{}</b>{}</li>",
                    esc(&p.prefix.to_string()),
                    esc(&owner),
                    esc(p.verdict.describe()),
                    esc(&cause)
                );
            }
            let more = doc
                .route_problems_total
                .saturating_sub(doc.route_problems.len());
            if more > 0 {
                let _ = write!(
                    h,
                    "<li>… and {more} more: <a href=\"/routes\">/routes</a> has every prefix</li>"
                );
            }
            h.push_str("</ul></div>");
        }
    }
    let skipped = &doc.datastore.skipped;
    if !skipped.is_empty() {
        let _ = write!(
            h,
            "<div id=\"skipped\"><h2 class=\"warn\">skipped resources ({})</h2><ul>",
            skipped.len()
        );
        for w in skipped {
            let _ = write!(
                h,
                "<li><code>{}</code>: {}</li>",
                esc(&w.resource),
                esc(&w.message)
            );
        }
        h.push_str("</ul></div>");
    }
    h.push_str("<p class=\"meta\"><a href=\"/status\">status JSON</a> · <a href=\"/routes\">routes</a> · <a href=\"/plan\">plan</a> · <a href=\"/metrics\">metrics</a></p></body></html>\n");
    h
}
