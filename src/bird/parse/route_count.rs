//! `show route count` (and `show route … count`): one 1007 line per table,
//! `N of M routes for K networks in table T`, then the final
//! `0014 Total: N of M routes for K networks in X tables`. Filtered forms
//! (`show route protocol X count`) end with `0000` and have no total. BIRD 1.6 sends a single
//! line, `0014 N of M routes for K networks`.

use serde::Serialize;

use super::super::reply::Reply;
use super::common::{ParseError, check_final};

/// Route counts of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRouteCount {
    /// Table name (`master4`).
    pub table: String,
    /// Routes matching the query (`N` of `N of M`).
    pub routes: u64,
    /// All routes in the table (`M`).
    pub total_routes: u64,
    /// Networks (prefixes) in the table (`K`).
    pub networks: u64,
}

/// The `Total:` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteTotal {
    /// Routes matching the query, over all tables.
    pub routes: u64,
    /// All routes, over all tables.
    pub total_routes: u64,
    /// Networks, over all tables.
    pub networks: u64,
    /// Number of tables (absent in BIRD 1.6).
    pub tables: Option<u64>,
}

/// A parsed `show route count` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteCount {
    /// Per-table lines, in order.
    pub tables: Vec<TableRouteCount>,
    /// The total; `None` for filtered queries that end with `0000`.
    pub total: Option<RouteTotal>,
}

/// Parses `N of M routes for K networks`, returning the numbers and the rest after `networks`.
fn parse_counts(text: &str) -> Option<(u64, u64, u64, &str)> {
    let mut words = text.split_whitespace();
    let routes = words.next()?.parse().ok()?;
    (words.next()? == "of").then_some(())?;
    let total_routes = words.next()?.parse().ok()?;
    (words.next()? == "routes" && words.next()? == "for").then_some(())?;
    let networks = words.next()?.parse().ok()?;
    (words.next()? == "networks").then_some(())?;
    let rest = text
        .split_once("networks")
        .map_or("", |(_, rest)| rest.trim());
    Some((routes, total_routes, networks, rest))
}

fn parse_table_line(text: &str) -> Result<TableRouteCount, ParseError> {
    let malformed = || ParseError::Malformed {
        what: "route count",
        line: text.to_string(),
    };
    let (routes, total_routes, networks, rest) = parse_counts(text).ok_or_else(malformed)?;
    let table = rest
        .strip_prefix("in table ")
        .map(str::trim)
        .filter(|table| !table.is_empty() && !table.contains(char::is_whitespace))
        .ok_or_else(malformed)?;
    Ok(TableRouteCount {
        table: table.to_string(),
        routes,
        total_routes,
        networks,
    })
}

fn parse_total_line(text: &str) -> Result<RouteTotal, ParseError> {
    let malformed = || ParseError::Malformed {
        what: "route count total",
        line: text.to_string(),
    };
    let counts = text.trim().strip_prefix("Total:").unwrap_or(text);
    let (routes, total_routes, networks, rest) = parse_counts(counts).ok_or_else(malformed)?;
    let tables = if rest.is_empty() {
        None
    } else {
        let number = rest
            .strip_prefix("in ")
            .and_then(|rest| {
                rest.strip_suffix("tables")
                    .or_else(|| rest.strip_suffix("table"))
            })
            .and_then(|number| number.trim().parse().ok())
            .ok_or_else(malformed)?;
        Some(number)
    };
    Ok(RouteTotal {
        routes,
        total_routes,
        networks,
        tables,
    })
}

/// Parses a `show route [...] count` reply.
pub fn parse_show_route_count(reply: &Reply) -> Result<RouteCount, ParseError> {
    check_final(reply, "show route count", &[0, 14])?;
    let tables = reply
        .lines_with(1007)
        .map(parse_table_line)
        .collect::<Result<Vec<_>, _>>()?;
    let total = if reply.final_code() == 14 {
        Some(parse_total_line(reply.final_text())?)
    } else {
        None
    };
    Ok(RouteCount { tables, total })
}

#[cfg(test)]
mod tests {
    use super::super::super::test_fixtures as fx;
    use super::*;

    #[test]
    fn parses_per_table_counts_and_total() {
        let count = parse_show_route_count(&fx::reply(fx::SHOW_ROUTE_COUNT)).unwrap();
        assert_eq!(
            count,
            RouteCount {
                tables: vec![
                    TableRouteCount {
                        table: "master4".into(),
                        routes: 5,
                        total_routes: 5,
                        networks: 5,
                    },
                    TableRouteCount {
                        table: "master6".into(),
                        routes: 0,
                        total_routes: 0,
                        networks: 0,
                    },
                ],
                total: Some(RouteTotal {
                    routes: 5,
                    total_routes: 5,
                    networks: 5,
                    tables: Some(2),
                }),
            }
        );
    }

    #[test]
    fn filtered_counts_have_no_total() {
        let count = parse_show_route_count(&fx::reply(fx::SHOW_ROUTE_PROTOCOL_COUNT)).unwrap();
        assert_eq!(count.total, None);
        assert_eq!(count.tables.len(), 1);
        assert_eq!(
            (count.tables[0].routes, count.tables[0].total_routes),
            (3, 5)
        );
    }

    #[test]
    fn parses_the_bird_1_6_single_line() {
        let reply = Reply::from_bytes(b"0014 7 of 9 routes for 6 networks\n").unwrap();
        let count = parse_show_route_count(&reply).unwrap();
        assert!(count.tables.is_empty());
        assert_eq!(
            count.total,
            Some(RouteTotal {
                routes: 7,
                total_routes: 9,
                networks: 6,
                tables: None,
            })
        );
    }

    #[test]
    fn rejects_malformed_lines() {
        for bytes in [
            &b"1007-x of 5 routes for 5 networks in table master4\n0000 \n"[..],
            b"1007-5 of 5 routes for 5 networks in\n0000 \n",
            b"0014 Total: 5 of 5 routes for 5 networks in many tables\n",
            b"0014 Total: 5 of 5 routes\n",
        ] {
            let reply = Reply::from_bytes(bytes).unwrap();
            assert!(
                matches!(
                    parse_show_route_count(&reply),
                    Err(ParseError::Malformed { .. })
                ),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(matches!(
            parse_show_route_count(&fx::reply(fx::SHOW_STATUS)),
            Err(ParseError::UnexpectedFinal { code: 13, .. })
        ));
    }
}
