//! Async client for BIRD's control socket: one session, commands strictly one at a time.
//!
//! Each command is one line; the reply runs to the first `DDDD ` line (see [`super::reply`]).
//! Every wait has a time limit, because some commands (`quit`, `exit`, `help`, over-long lines)
//! never get a reply. After a timeout or a broken read the session is mid-reply and is not
//! reused: the caller reconnects.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tracing::debug;

use super::error::BirdError;
use super::reply::{Assembler, MAX_LINE_LEN, Reply, ReplyError, parse_greeting};

/// Time limit for one command's reply unless set otherwise.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Commands this long (in bytes, without the newline) or longer are refused: BIRD 2 drops the
/// connection for lines over about 1 KiB.
pub const MAX_COMMAND_LEN: usize = 1000;

/// Commands that BIRD accepts but never answers (they belong to `birdc`).
const SILENT_COMMANDS: &[&str] = &["quit", "exit", "help"];

/// A connected control-socket session.
#[derive(Debug)]
pub struct Client {
    path: PathBuf,
    stream: BufReader<UnixStream>,
    assembler: Assembler,
    version: String,
    command_timeout: Duration,
    unusable: bool,
    line: Vec<u8>,
}

/// Why reading a reply stopped, before the socket path and command are attached.
enum ReadFailure {
    Closed,
    Io(std::io::Error),
    Protocol(ReplyError),
}

/// Checks that `command` is safe to send: one non-empty line under [`MAX_COMMAND_LEN`] bytes
/// that BIRD will answer. Returns the reason when it is not.
pub fn validate_command(command: &str) -> Result<(), &'static str> {
    if command.trim().is_empty() {
        return Err("command is empty");
    }
    if command.len() >= MAX_COMMAND_LEN {
        return Err("command is 1000 bytes or longer (BIRD drops such connections)");
    }
    if command.contains(['\n', '\r']) {
        return Err("command contains a line break");
    }
    if command.contains('\0') {
        return Err("command contains a NUL byte");
    }
    let first_word = command.split_whitespace().next().unwrap_or("");
    if SILENT_COMMANDS.contains(&first_word.to_ascii_lowercase().as_str()) {
        return Err("quit, exit and help are birdc commands that BIRD never answers");
    }
    Ok(())
}

impl Client {
    /// Connects to the socket at `path` and reads the greeting, each within `timeout`.
    /// Commands then use [`DEFAULT_COMMAND_TIMEOUT`].
    pub async fn connect(path: impl AsRef<Path>, timeout: Duration) -> Result<Client, BirdError> {
        let path = path.as_ref().to_path_buf();
        let timed_out = |path: &Path, waiting_for: &str| BirdError::Timeout {
            path: path.to_path_buf(),
            after: timeout,
            waiting_for: waiting_for.to_string(),
        };
        let stream = tokio::time::timeout(timeout, UnixStream::connect(&path))
            .await
            .map_err(|_| timed_out(&path, "the connection"))?
            .map_err(|source| BirdError::from_connect(&path, source))?;
        let mut client = Client {
            path,
            stream: BufReader::new(stream),
            assembler: Assembler::new(),
            version: String::new(),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            unusable: false,
            line: Vec::new(),
        };
        let waiting_for = "the greeting";
        let greeting = tokio::time::timeout(timeout, client.read_reply())
            .await
            .map_err(|_| timed_out(&client.path, waiting_for))?
            .map_err(|failure| client.read_error(failure, waiting_for))?;
        let version = match greeting.final_code() {
            1 => parse_greeting(greeting.final_text()),
            _ => Err(ReplyError::Greeting {
                line: format!("{:04} {}", greeting.final_code(), greeting.final_text()),
            }),
        }
        .map_err(|source| client.read_error(ReadFailure::Protocol(source), waiting_for))?;
        debug!(socket = %client.path.display(), %version, "connected to bird");
        client.version = version;
        Ok(client)
    }

    /// The BIRD version from the greeting (`2.0.12`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The pid of the process behind the socket (`SO_PEERCRED`), when it is visible from
    /// perch's pid namespace: a new pid means a new BIRD process.
    pub fn peer_pid(&self) -> Option<i32> {
        self.stream
            .get_ref()
            .peer_cred()
            .ok()
            .and_then(|c| c.pid())
            .filter(|p| *p > 0)
    }

    /// The socket path this client is connected to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The time limit for each command's reply.
    #[cfg(test)]
    pub(crate) fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// Sets the time limit for each command's reply.
    pub fn set_command_timeout(&mut self, timeout: Duration) {
        self.command_timeout = timeout;
    }

    /// True once a timeout or read failure has left the session unusable.
    #[cfg(test)]
    pub(crate) fn is_unusable(&self) -> bool {
        self.unusable
    }

    /// Returns and clears the async (`+`) lines read so far (log echo, undo timer), without the
    /// `+`. They are only read while a command waits for its reply.
    #[cfg(test)]
    pub(crate) fn take_async_lines(&mut self) -> Vec<String> {
        self.assembler.take_async_lines()
    }

    /// Sends one command and reads its complete reply within the command timeout.
    ///
    /// An 8xxx/9xxx answer is a successful read: check [`Reply::is_error`].
    pub async fn command(&mut self, command: &str) -> Result<Reply, BirdError> {
        self.command_with_timeout(command, self.command_timeout)
            .await
    }

    /// [`Client::command`] with a one-off time limit (e.g. a long `show route`).
    pub async fn command_with_timeout(
        &mut self,
        command: &str,
        timeout: Duration,
    ) -> Result<Reply, BirdError> {
        if let Err(reason) = validate_command(command) {
            return Err(BirdError::InvalidCommand {
                path: self.path.clone(),
                command: command.chars().take(80).collect(),
                reason,
            });
        }
        if self.unusable {
            return Err(BirdError::Unusable {
                path: self.path.clone(),
            });
        }
        let waiting_for = format!("reply to {command:?}");
        debug!(socket = %self.path.display(), command, "sending bird command");
        // Until the reply is complete the session is mid-reply: mark it so that a timeout or a
        // cancelled future leaves it flagged.
        self.unusable = true;
        let exchange = async {
            let mut line = Vec::with_capacity(command.len() + 1);
            line.extend_from_slice(command.as_bytes());
            line.push(b'\n');
            self.stream
                .get_mut()
                .write_all(&line)
                .await
                .map_err(ReadFailure::from_write)?;
            self.read_reply().await
        };
        let reply = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => {
                return Err(BirdError::Timeout {
                    path: self.path.clone(),
                    after: timeout,
                    waiting_for,
                });
            }
            Ok(Err(failure)) => return Err(self.read_error(failure, &waiting_for)),
            Ok(Ok(reply)) => reply,
        };
        self.unusable = false;
        debug!(
            socket = %self.path.display(),
            command,
            code = reply.final_code(),
            lines = reply.lines.len(),
            "bird replied"
        );
        Ok(reply)
    }

    /// Reads lines until the assembler completes a reply.
    async fn read_reply(&mut self) -> Result<Reply, ReadFailure> {
        loop {
            self.line.clear();
            let limit = (MAX_LINE_LEN + 1) as u64;
            let read = (&mut self.stream)
                .take(limit)
                .read_until(b'\n', &mut self.line)
                .await
                .map_err(ReadFailure::Io)?;
            if read == 0 {
                return Err(ReadFailure::Closed);
            }
            if self.line.last() != Some(&b'\n') {
                return Err(if read as u64 >= limit {
                    ReadFailure::Protocol(ReplyError::LineTooLong)
                } else {
                    ReadFailure::Closed
                });
            }
            let text = String::from_utf8_lossy(&self.line);
            if let Some(reply) = self
                .assembler
                .push_line(&text)
                .map_err(ReadFailure::Protocol)?
            {
                return Ok(reply);
            }
        }
    }

    fn read_error(&mut self, failure: ReadFailure, waiting_for: &str) -> BirdError {
        self.unusable = true;
        self.assembler.discard_partial();
        let (path, waiting_for) = (self.path.clone(), waiting_for.to_string());
        match failure {
            ReadFailure::Closed => BirdError::Closed { path, waiting_for },
            ReadFailure::Io(source) => BirdError::Io {
                path,
                waiting_for,
                source,
            },
            ReadFailure::Protocol(source) => BirdError::Protocol {
                path,
                waiting_for,
                source,
            },
        }
    }
}

impl ReadFailure {
    /// A peer that went away shows up as a broken pipe or reset on write.
    fn from_write(error: std::io::Error) -> Self {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof => {
                ReadFailure::Closed
            }
            _ => ReadFailure::Io(error),
        }
    }
}
