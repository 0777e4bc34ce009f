//! Typed commands on top of [`Client::command`]: the status queries and `configure` forms
//! perch sends. Other commands (`enable`, `show route count`, …) go through
//! [`Client::command`] and a parser of their own.

use std::path::Path;

use super::client::Client;
use super::error::BirdError;
use super::parse::{
    ConfigureOutcome, ParseError, ProtocolDetails, ProtocolRow, RouteEntry, Status,
    parse_configure, parse_show_protocols, parse_show_protocols_all, parse_show_route,
    parse_show_status, route_query,
};
use super::reply::Reply;

/// Reply code of `No protocols match`.
const NO_PROTOCOLS_MATCH: u16 = 8003;

/// What a quoted command argument is, for error messages.
#[derive(Clone, Copy)]
enum Argument {
    FileName,
    Protocol,
}

impl Argument {
    fn empty(self) -> &'static str {
        match self {
            Argument::FileName => "file name is empty",
            Argument::Protocol => "protocol name or pattern is empty",
        }
    }

    fn has_quote(self) -> &'static str {
        match self {
            Argument::FileName => "file name contains '\"', which BIRD strings cannot hold",
            Argument::Protocol => {
                "protocol name or pattern contains '\"', which BIRD strings cannot hold"
            }
        }
    }
}

/// Wraps `value` in double quotes for a BIRD command; BIRD strings cannot contain `"`.
fn quote(client: &Client, argument: Argument, value: &str) -> Result<String, BirdError> {
    let invalid = |reason| BirdError::InvalidCommand {
        path: client.path().to_path_buf(),
        command: value.chars().take(80).collect(),
        reason,
    };
    if value.is_empty() {
        return Err(invalid(argument.empty()));
    }
    if value.contains('"') {
        return Err(invalid(argument.has_quote()));
    }
    Ok(format!("\"{value}\""))
}

fn quote_path(client: &Client, file: &Path) -> Result<String, BirdError> {
    let Some(file) = file.to_str() else {
        return Err(BirdError::InvalidCommand {
            path: client.path().to_path_buf(),
            command: file.to_string_lossy().chars().take(80).collect(),
            reason: "file name is not valid UTF-8",
        });
    };
    quote(client, Argument::FileName, file)
}

impl Client {
    /// Turns a parser result into the client's error type, naming the command.
    fn parsed<T>(&self, command: &str, result: Result<T, ParseError>) -> Result<T, BirdError> {
        result.map_err(|error| match error {
            ParseError::ErrorReply { code, message } => BirdError::CommandFailed {
                path: self.path().to_path_buf(),
                command: command.to_string(),
                code,
                message,
            },
            source => BirdError::Parse {
                path: self.path().to_path_buf(),
                command: command.to_string(),
                source,
            },
        })
    }

    /// Sends a command and parses its reply.
    async fn query<T>(
        &mut self,
        command: &str,
        parse: impl FnOnce(&Reply) -> Result<T, ParseError>,
    ) -> Result<T, BirdError> {
        let reply = self.command(command).await?;
        self.parsed(command, parse(&reply))
    }

    /// Sends a `configure …` command; an 8xxx/9xxx answer is [`ConfigureOutcome::Error`].
    async fn reconfigure(&mut self, command: &str) -> Result<ConfigureOutcome, BirdError> {
        let reply = self.command(command).await?;
        Ok(parse_configure(&reply))
    }

    /// `show status`.
    pub async fn show_status(&mut self) -> Result<Status, BirdError> {
        self.query("show status", parse_show_status).await
    }

    /// `show protocols`.
    pub async fn show_protocols(&mut self) -> Result<Vec<ProtocolRow>, BirdError> {
        self.query("show protocols", parse_show_protocols).await
    }

    /// `show protocols all ["pattern"]`. The pattern is a protocol name or a shell pattern
    /// (`peer_*`); one that matches nothing gives an empty list.
    pub async fn show_protocols_all(
        &mut self,
        pattern: Option<&str>,
    ) -> Result<Vec<ProtocolDetails>, BirdError> {
        let command = match pattern {
            Some(pattern) => format!(
                "show protocols all {}",
                quote(self, Argument::Protocol, pattern)?
            ),
            None => "show protocols all".to_string(),
        };
        let reply = self.command(&command).await?;
        if reply.final_code() == NO_PROTOCOLS_MATCH {
            return Ok(Vec::new());
        }
        self.parsed(&command, parse_show_protocols_all(&reply))
    }

    /// `show route`: every route of every table, with next hops.
    pub async fn show_route(&mut self) -> Result<Vec<RouteEntry>, BirdError> {
        self.query("show route", parse_show_route).await
    }

    /// `show route [filtered] all where net ~ [ … ]`: the routes of `prefixes` and inside them
    /// (the whole table when the command would be too long; see [`route_query`]).
    /// `filtered` asks for the routes import filters rejected (kept with `import keep filtered`).
    pub async fn show_routes_in(
        &mut self,
        filtered: bool,
        prefixes: &[ipnet::IpNet],
    ) -> Result<Vec<RouteEntry>, BirdError> {
        let command = route_query(filtered, prefixes);
        self.query(&command, parse_show_route).await
    }

    /// `configure "file"`: switch to `file` (used this once; later reloads use `-c` again).
    pub async fn configure_file(&mut self, file: &Path) -> Result<ConfigureOutcome, BirdError> {
        let command = format!("configure {}", quote_path(self, file)?);
        self.reconfigure(&command).await
    }

    /// `configure check ["file"]`: parse only; [`ConfigureOutcome::Ok`] or an `8002` error
    /// with `file:line:col message`. Without a file, checks the `-c` file.
    pub async fn configure_check(
        &mut self,
        file: Option<&Path>,
    ) -> Result<ConfigureOutcome, BirdError> {
        let command = match file {
            Some(file) => format!("configure check {}", quote_path(self, file)?),
            None => "configure check".to_string(),
        };
        self.reconfigure(&command).await
    }

    /// `configure confirm`: stop the undo timer.
    pub async fn configure_confirm(&mut self) -> Result<ConfigureOutcome, BirdError> {
        self.reconfigure("configure confirm").await
    }

    /// `configure undo`: return to the previous config kept in memory (one level). The running
    /// config then differs from the file on disk.
    pub async fn configure_undo(&mut self) -> Result<ConfigureOutcome, BirdError> {
        self.reconfigure("configure undo").await
    }
}
