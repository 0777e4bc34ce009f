//! Installing rendered config: compare with the running file, stage it next to the running
//! one, have BIRD parse and apply it (`configure "staged"`), and rename it into place only once
//! BIRD accepted it. Without BIRD (or with a `bird -p` checker) the order is check → rename →
//! `configure`, and the previous file is put back if BIRD refuses.
//!
//! Touches BIRD only when bytes change (or when the caller forces a `configure`, e.g. after
//! BIRD restarted). Never leaves a file BIRD refused in place.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use tracing::{debug, warn};

use super::client::Client;
use super::error::BirdError;
use super::parse::ConfigureOutcome;

/// How a staged file is validated before it replaces the running one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckMode {
    /// `configure "staged"` over the control socket when BIRD is reachable (BIRD's own parser
    /// checks and applies it in one step), else `bird -p` if the binary exists, else install
    /// unchecked for BIRD's next start.
    Auto,
    /// Always `bird -p -c file` with this binary, then `configure`.
    Binary(String),
    /// Only over the socket; BIRD unreachable = cannot check = not installed.
    Socket,
}

/// Where and how to install.
#[derive(Debug, Clone)]
pub(crate) struct Installer {
    /// The file BIRD reads (`bird -c PATH`).
    pub config_path: PathBuf,
    pub socket: PathBuf,
    pub check: CheckMode,
    /// The `bird` binary for `bird -p` (used by `Auto` when the socket is unavailable).
    pub bird_binary: String,
    pub command_timeout: Duration,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Installed {
    /// The running file already has these bytes; BIRD was not touched.
    Unchanged,
    /// The file was replaced and BIRD reconfigured (`0003`/`0004`/`0005`).
    Reconfigured { outcome: ConfigureOutcome },
    /// The file was replaced but BIRD could not be reached; it reads the file when it starts,
    /// and the caller should `configure` once it is back.
    FileOnly { reason: String },
}

#[derive(Debug, Error)]
pub(crate) enum InstallError {
    /// The staged config failed validation; the running file is untouched.
    #[error("config rejected by {checker}: {message}")]
    Rejected { checker: String, message: String },
    /// BIRD could not be asked and the check mode installs nothing without it (`--check
    /// socket`); the running file is untouched: retry once BIRD is back.
    #[error("bird is unreachable, nothing was installed (--check socket): {reason}")]
    BirdUnreachable { reason: String },
    /// `configure undo` could not be sent; BIRD's own `configure timeout` timer undoes the
    /// config instead.
    #[error("configure undo failed: {message}")]
    UndoFailed { message: String },
    /// BIRD refused the new file at `configure`; the previous file was put back.
    #[error("bird refused the new config at configure: {message}; {restored}")]
    RefusedAtConfigure { message: String, restored: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// BIRD did not run `configure` (an answer other than a config error, e.g. `8007 Access
    /// denied` on a restricted socket): nothing was judged, the running file is untouched.
    #[error("bird did not run `configure`: {message}")]
    NotConfigured { message: String },
    /// BIRD reads a different file than the one perch writes.
    #[error(
        "bird reads its config from {bird_path}, but perch writes {ours}: start bird with -c {ours}"
    )]
    WrongConfigPath { bird_path: String, ours: String },
}

impl Installer {
    fn io_err(path: &Path, e: std::io::Error) -> InstallError {
        InstallError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// The bytes of the running file, if any.
    pub(crate) fn current(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.config_path).ok()
    }

    async fn connect(&self) -> Result<Client, BirdError> {
        let mut c = Client::connect(&self.socket, self.command_timeout).await?;
        c.set_command_timeout(self.command_timeout);
        Ok(c)
    }

    /// Installs `text`. With `force_configure`, BIRD is asked to `configure` even when the
    /// file is unchanged (after a BIRD restart or an earlier unreachable attempt).
    pub(crate) async fn install(
        &self,
        text: &str,
        force_configure: bool,
    ) -> Result<Installed, InstallError> {
        self.install_with(text, force_configure, None).await
    }

    /// Like [`Installer::install`]; with `undo_after`, a changed file is applied with
    /// `configure timeout N`: BIRD reverts it by itself unless [`Installer::confirm`] follows.
    pub(crate) async fn install_with(
        &self,
        text: &str,
        force_configure: bool,
        undo_after: Option<u32>,
    ) -> Result<Installed, InstallError> {
        let previous = self.current();
        if previous.as_deref() == Some(text.as_bytes()) {
            if !force_configure {
                return Ok(Installed::Unchanged);
            }
            return self.configure_only().await;
        }
        let staged = self.stage(text)?;
        // Preferred path: BIRD parses and applies the staged file in one step
        // (`configure "staged"`); only a config BIRD accepted is renamed into place, so a
        // refused one never touches the running file.
        if matches!(self.check, CheckMode::Auto | CheckMode::Socket) {
            match self.connect().await {
                Ok(mut client) => {
                    let result = self.configure(&mut client, Some(&staged), undo_after).await;
                    return match result {
                        Ok(outcome) => {
                            std::fs::rename(&staged, &self.config_path)
                                .map_err(|e| Self::io_err(&self.config_path, e))?;
                            debug!(path = %self.config_path.display(), "installed new config");
                            Ok(Installed::Reconfigured { outcome })
                        }
                        Err(failure) => {
                            let _ = std::fs::remove_file(&staged);
                            match failure {
                                ConfigureFailure::Refused(message) => Err(InstallError::Rejected {
                                    checker: "bird configure".into(),
                                    message,
                                }),
                                ConfigureFailure::Unreachable(reason) => {
                                    // BIRD went away mid-command; retried once it is back.
                                    Ok(Installed::FileOnly { reason })
                                }
                                ConfigureFailure::Other(e) => Err(e),
                            }
                        }
                    };
                }
                Err(e) if self.check == CheckMode::Socket => {
                    let _ = std::fs::remove_file(&staged);
                    return Err(InstallError::BirdUnreachable {
                        reason: e.to_string(),
                    });
                }
                Err(e) => debug!(
                    "bird unreachable ({e}); checking with bird -p and installing for its next start"
                ),
            }
        }
        if let Err(e) = self.validate(&staged).await {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
        std::fs::rename(&staged, &self.config_path)
            .map_err(|e| Self::io_err(&self.config_path, e))?;
        debug!(path = %self.config_path.display(), "installed new config");
        self.configure_and_report(undo_after, Some(previous.as_deref()))
            .await
    }

    /// `configure` without changing the file.
    pub(crate) async fn configure_only(&self) -> Result<Installed, InstallError> {
        self.configure_and_report(None, None).await
    }

    /// Sends `configure` (BIRD unreachable is an outcome, not an error). When BIRD refuses,
    /// `restore` (the file's previous bytes, if perch just replaced it) is put back.
    async fn configure_and_report(
        &self,
        undo_after: Option<u32>,
        restore: Option<Option<&[u8]>>,
    ) -> Result<Installed, InstallError> {
        let mut client = match self.connect().await {
            Ok(c) => c,
            Err(e) => {
                return Ok(Installed::FileOnly {
                    reason: e.to_string(),
                });
            }
        };
        match self.configure(&mut client, None, undo_after).await {
            Ok(outcome) => Ok(Installed::Reconfigured { outcome }),
            Err(ConfigureFailure::Unreachable(reason)) => Ok(Installed::FileOnly { reason }),
            Err(ConfigureFailure::Other(e)) => Err(e),
            Err(ConfigureFailure::Refused(message)) => match restore {
                Some(previous) => {
                    let restored = self.restore(previous, &mut client).await;
                    Err(InstallError::RefusedAtConfigure { message, restored })
                }
                None => Err(InstallError::Rejected {
                    checker: "bird configure".into(),
                    message,
                }),
            },
        }
    }

    /// `configure confirm`: keeps a config applied with `configure timeout`.
    pub(crate) async fn confirm(&self) -> Result<ConfigureOutcome, BirdError> {
        self.connect().await?.configure_confirm().await
    }

    /// `configure undo`, then puts `previous` back on disk so that the file matches what BIRD
    /// runs again (a restart must not bring the undone config back).
    pub(crate) async fn undo(
        &self,
        previous: Option<&[u8]>,
    ) -> Result<ConfigureOutcome, InstallError> {
        let failed = |e: BirdError| InstallError::UndoFailed {
            message: e.to_string(),
        };
        let mut client = self.connect().await.map_err(failed)?;
        let outcome = client.configure_undo().await.map_err(failed)?;
        if let Some(prev) = previous {
            let staged = self.stage(&String::from_utf8_lossy(prev))?;
            std::fs::rename(&staged, &self.config_path)
                .map_err(|e| Self::io_err(&self.config_path, e))?;
        }
        Ok(outcome)
    }

    /// Where a new config is written before BIRD accepted it (next to the running file).
    fn staged_path(&self) -> PathBuf {
        let dir = self.config_path.parent().unwrap_or(Path::new("."));
        let name = self
            .config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bird.cfg".into());
        dir.join(format!(".{name}.perch-{}", std::process::id()))
    }

    /// Whether `file`, as a BIRD error names it, is the text perch rendered (the staged file
    /// or the running one), rather than a file the config includes.
    pub(crate) fn is_rendered_file(&self, file: &str) -> bool {
        let file = Path::new(file);
        file == self.staged_path() || same_file(file, &self.config_path)
    }

    fn stage(&self, text: &str) -> Result<PathBuf, InstallError> {
        let dir = self.config_path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Self::io_err(dir, e))?;
        let staged = self.staged_path();
        // Keep the mode the operator gave the running file (it holds BGP passwords); a new
        // file is world-readable like Calico's, since BIRD reads it as its own user.
        let mode = std::fs::metadata(&self.config_path)
            .map(|m| m.permissions())
            .ok();
        write_synced(&staged, text.as_bytes(), mode).map_err(|e| Self::io_err(&staged, e))?;
        Ok(staged)
    }

    async fn validate(&self, staged: &Path) -> Result<(), InstallError> {
        let rejected = |checker: &str, message: String| InstallError::Rejected {
            checker: checker.into(),
            message,
        };
        if matches!(self.check, CheckMode::Auto | CheckMode::Socket) {
            let answer = match self.connect().await {
                Ok(mut c) => c.configure_check(Some(staged)).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(ConfigureOutcome::Ok) => return Ok(()),
                Ok(ConfigureOutcome::Error { message, .. }) => {
                    return Err(rejected("bird configure check", message));
                }
                Ok(other) => {
                    return Err(rejected(
                        "bird configure check",
                        format!("unexpected answer {other:?}"),
                    ));
                }
                Err(e) if self.check == CheckMode::Socket => {
                    // Not a verdict on the config: BIRD could not be asked.
                    return Err(InstallError::BirdUnreachable {
                        reason: e.to_string(),
                    });
                }
                Err(e) => {
                    debug!("configure check over the socket unavailable ({e}); using bird -p")
                }
            }
        }
        let bin = match &self.check {
            CheckMode::Binary(b) => b.clone(),
            _ => self.bird_binary.clone(),
        };
        match super::check::parse_check(&bin, staged).await {
            Ok(()) => Ok(()),
            Err(super::check::CheckError::Refused(message)) => {
                Err(rejected(&format!("{bin} -p"), message))
            }
            Err(e @ super::check::CheckError::Spawn { .. }) if self.check == CheckMode::Auto => {
                warn!("cannot validate the config before installing it (BIRD unreachable and {e})");
                Ok(())
            }
            Err(e) => Err(rejected(&format!("{bin} -p"), e.to_string())),
        }
    }

    /// `configure ["file"] [timeout N]`: with `file`, BIRD parses and applies that file this
    /// once; without, it reloads its `-c` file, whose path must be perch's `--config`.
    async fn configure(
        &self,
        client: &mut Client,
        file: Option<&Path>,
        undo_after: Option<u32>,
    ) -> Result<ConfigureOutcome, ConfigureFailure> {
        let mut command = "configure".to_owned();
        if let Some(file) = file {
            let name = file.to_str().filter(|n| !n.contains('"')).ok_or_else(|| {
                ConfigureFailure::Other(InstallError::Io {
                    path: file.display().to_string(),
                    message: "the staged file name cannot be quoted for BIRD".into(),
                })
            })?;
            command.push_str(&format!(" \"{name}\""));
        }
        if let Some(secs) = undo_after {
            command.push_str(&format!(" timeout {secs}"));
        }
        let reply = client.command(&command).await.map_err(|e| {
            if e.breaks_connection() {
                ConfigureFailure::Unreachable(e.to_string())
            } else {
                ConfigureFailure::Other(InstallError::NotConfigured {
                    message: e.to_string(),
                })
            }
        })?;
        // `0002-Reading configuration from PATH` names the file BIRD reads.
        let read = reply
            .lines_with(2)
            .next()
            .and_then(|t| t.strip_prefix("Reading configuration from "));
        if let (None, Some(read)) = (file, read) {
            let read = Path::new(read.trim());
            if read.is_absolute() && !same_file(read, &self.config_path) {
                return Err(ConfigureFailure::Other(InstallError::WrongConfigPath {
                    bird_path: read.display().to_string(),
                    ours: self.config_path.display().to_string(),
                }));
            }
        }
        match super::parse::parse_configure(&reply) {
            // 8002: the configuration file is in error — the only answer that judges it.
            ConfigureOutcome::Error {
                code: 8002,
                message,
            } => Err(ConfigureFailure::Refused(message)),
            ConfigureOutcome::Error { code, message } => {
                Err(ConfigureFailure::Other(InstallError::NotConfigured {
                    message: format!("{code:04} {message}"),
                }))
            }
            outcome => {
                debug!(outcome = ?outcome, "bird configure answered");
                Ok(outcome)
            }
        }
    }

    async fn restore(&self, previous: Option<&[u8]>, client: &mut Client) -> String {
        let Some(prev) = previous else {
            return "there was no previous config to restore; the refused file was removed".into();
        };
        let staged = match self.stage(&String::from_utf8_lossy(prev)) {
            Ok(s) => s,
            Err(e) => return format!("restoring the previous config failed: {e}"),
        };
        if let Err(e) = std::fs::rename(&staged, &self.config_path) {
            return format!("restoring the previous config failed: {e}");
        }
        match self.configure(client, None, None).await {
            Ok(_) => "the previous config was restored and is running".into(),
            Err(_) => {
                "the previous config was restored on disk (BIRD kept running the previous config)"
                    .into()
            }
        }
    }
}

enum ConfigureFailure {
    Unreachable(String),
    Refused(String),
    Other(InstallError),
}

fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn write_synced(
    path: &Path,
    bytes: &[u8],
    mode: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut f = std::fs::File::create(path)?;
    // No fsync: after a crash perch renders and installs again before anything else, and
    // BIRD keeps running what it parsed; the rename keeps readers from seeing half a file.
    f.write_all(bytes)?;
    std::fs::set_permissions(
        path,
        mode.unwrap_or_else(|| std::fs::Permissions::from_mode(0o644)),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An installer whose BIRD socket does not exist, in a fresh directory.
    fn without_bird(check: CheckMode) -> (tempfile::TempDir, Installer) {
        let dir = tempfile::tempdir().unwrap();
        let installer = Installer {
            config_path: dir.path().join("bird.cfg"),
            socket: dir.path().join("bird.ctl"),
            check,
            bird_binary: dir.path().join("no-bird").display().to_string(),
            command_timeout: Duration::from_secs(1),
        };
        (dir, installer)
    }

    #[tokio::test]
    async fn bird_unreachable_is_not_a_rejected_config() {
        let (_dir, installer) = without_bird(CheckMode::Socket);
        std::fs::write(&installer.config_path, "# running\n").unwrap();
        let error = installer
            .install("router id 192.0.2.1;\n", false)
            .await
            .unwrap_err();
        assert!(
            matches!(error, InstallError::BirdUnreachable { .. }),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("bird is unreachable, nothing was installed (--check socket): "),
            "{error}"
        );
        assert!(error.to_string().contains("not found (is BIRD running?)"));
        assert_eq!(
            std::fs::read_to_string(&installer.config_path).unwrap(),
            "# running\n",
            "the running file is untouched"
        );
    }

    /// `8007 Access denied` (a restricted control socket) is no verdict on the config: it is
    /// not reported as a refusal, and the running file stays.
    #[tokio::test]
    async fn an_access_denied_configure_is_not_a_refused_config() {
        use super::super::fake_bird::{FakeBird, GREETING, answer};
        let (_dir, mut installer) = without_bird(CheckMode::Socket);
        let bird = FakeBird::start(GREETING, vec![answer(b"8007 Access denied\n")]);
        installer.socket = bird.path.clone();
        std::fs::write(&installer.config_path, "# running\n").unwrap();
        let error = installer
            .install("router id 192.0.2.1;\n", false)
            .await
            .unwrap_err();
        assert!(
            matches!(error, InstallError::NotConfigured { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "bird did not run `configure`: 8007 Access denied"
        );
        assert_eq!(
            std::fs::read_to_string(&installer.config_path).unwrap(),
            "# running\n"
        );
    }

    #[tokio::test]
    async fn a_failed_undo_is_its_own_error() {
        let (_dir, installer) = without_bird(CheckMode::Auto);
        let error = installer.undo(Some(b"# previous\n")).await.unwrap_err();
        assert!(
            matches!(error, InstallError::UndoFailed { .. }),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("configure undo failed: bird control socket "),
            "{error}"
        );
        assert!(
            !installer.config_path.exists(),
            "nothing is put back when BIRD did not undo"
        );
    }
}
