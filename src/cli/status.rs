//! `perch status`: this node's BGP sessions as BIRD reports them, like `calicoctl node status`.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::BirdSocketArgs;
use super::error::CliError;
use crate::bird::Client;
use crate::bird::parse::ProtocolDetails;
use crate::status::peers::type_from_name;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusOutput {
    Table,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  perch status\n  perch status --bird-socket /var/run/calico/bird.ctl -o json"
)]
pub struct StatusArgs {
    #[command(flatten)]
    pub socket: BirdSocketArgs,
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: StatusOutput,
    /// Time limit for each command sent to BIRD.
    #[arg(long, default_value = "5", value_name = "SECONDS")]
    pub timeout: u64,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusRow {
    pub name: String,
    pub peer_address: String,
    pub peer_type: String,
    pub state: String,
    pub since: String,
    pub info: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusReport {
    pub bird_version: String,
    #[serde(rename = "routerID")]
    pub router_id: Option<String>,
    pub ipv4: Vec<StatusRow>,
    pub ipv6: Vec<StatusRow>,
}

/// The rows for BIRD's BGP protocols, split by family (from the neighbor address, so
/// `Global_10_0_0_1_port_1790` shows as `10.0.0.1`).
pub(crate) fn rows(protocols: &[ProtocolDetails]) -> (Vec<StatusRow>, Vec<StatusRow>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for p in protocols.iter().filter(|p| p.row.proto == "BGP") {
        let address = p
            .bgp
            .as_ref()
            .and_then(|b| b.neighbor_address.clone())
            .unwrap_or_default();
        let address = address.split('%').next().unwrap_or("").to_owned();
        let row = StatusRow {
            name: p.row.name.clone(),
            peer_address: address.clone(),
            peer_type: type_from_name(&p.row.name)
                .map_or("other", |t| t.describe())
                .to_owned(),
            state: p.row.state.clone(),
            since: p.row.since.clone(),
            info: p.row.info.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        match address.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => v6.push(row),
            _ => v4.push(row),
        }
    }
    (v4, v6)
}

/// A bordered table in the style of `calicoctl node status`.
pub(crate) fn boxed_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let mut out = rule.clone();
    for (i, h) in header.iter().enumerate() {
        let w = widths[i];
        let left = (w - h.len()) / 2;
        out.push_str(&format!(
            "| {}{}{} ",
            " ".repeat(left),
            h,
            " ".repeat(w - h.len() - left)
        ));
    }
    out.push_str("|\n");
    out.push_str(&rule);
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(&format!("| {c:<w$} ", w = widths[i]));
        }
        out.push_str("|\n");
    }
    out.push_str(&rule);
    out
}

fn section(title: &str, rows: &[StatusRow]) -> String {
    let mut out = format!("{title} BGP status\n");
    if rows.is_empty() {
        out.push_str(&format!("No {title} peers found.\n"));
        return out;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.peer_address.clone(),
                r.peer_type.clone(),
                r.state.clone(),
                r.since.clone(),
                r.info.clone(),
            ]
        })
        .collect();
    out.push_str(&boxed_table(
        &["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"],
        &cells,
    ));
    out
}

pub(crate) async fn status(a: StatusArgs) -> Result<ExitCode, CliError> {
    let timeout = Duration::from_secs(a.timeout.max(1));
    let mut client = Client::connect(&a.socket.bird_socket, timeout)
        .await
        .map_err(|e| CliError::failed(format!("BIRD is not reachable: {e}")))?;
    client.set_command_timeout(timeout);
    let status = client
        .show_status()
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    let protocols = client
        .show_protocols_all(None)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    let (ipv4, ipv6) = rows(&protocols);
    let report = StatusReport {
        bird_version: status
            .version
            .clone()
            .unwrap_or_else(|| client.version().to_owned()),
        router_id: status.router_id.clone(),
        ipv4,
        ipv6,
    };
    let mut out = std::io::stdout().lock();
    match a.output {
        StatusOutput::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        )?,
        StatusOutput::Table => {
            writeln!(
                out,
                "BIRD {} is running (router id {}).\n",
                report.bird_version,
                report.router_id.as_deref().unwrap_or("-")
            )?;
            writeln!(out, "{}", section("IPv4", &report.ipv4))?;
            writeln!(out, "{}", section("IPv6", &report.ipv6))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
