//! `bird -p -c FILE`: BIRD's parse-only check of a config file, run before anything is
//! installed.

use std::path::Path;
use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error)]
pub(crate) enum CheckError {
    /// BIRD parsed the file and refused it: `file:line:col message`.
    #[error("bird refused the config: {0}")]
    Refused(String),
    #[error("cannot run {bird}: {message}")]
    Spawn { bird: String, message: String },
    #[error("{bird} -p did not finish within {seconds}s")]
    Timeout { bird: String, seconds: u64 },
}

/// Runs `bird -p -c path`. BIRD prints nothing and exits 0 on success; on failure it prints
/// `bird: file:line:col message` on stderr and exits 1.
pub(crate) async fn parse_check(bird: &str, path: &Path) -> Result<(), CheckError> {
    let child = tokio::process::Command::new(bird)
        .arg("-p")
        .arg("-c")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let limit = Duration::from_secs(30);
    let output = match tokio::time::timeout(limit, child).await {
        Err(_) => {
            return Err(CheckError::Timeout {
                bird: bird.into(),
                seconds: limit.as_secs(),
            });
        }
        Ok(Err(e)) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (is bird2 installed? see --bird)"
            } else {
                ""
            };
            return Err(CheckError::Spawn {
                bird: bird.into(),
                message: format!("{e}{hint}"),
            });
        }
        Ok(Ok(o)) => o,
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = stderr
        .trim()
        .strip_prefix("bird: ")
        .unwrap_or(stderr.trim())
        .to_owned();
    let message = if message.is_empty() {
        format!("exit status {}", output.status)
    } else {
        message
    };
    Err(CheckError::Refused(message))
}
