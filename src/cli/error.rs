//! The error every subcommand returns: a message and an exit code.
//!
//! Owns: [`CliError`] and how other errors become one. Must not: import the subcommands.

/// A command failure: the message (lowercase, names the input) and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong, printed to stderr; empty for nothing to print.
    pub message: String,
    /// The process exit code.
    pub code: u8,
}

impl CliError {
    /// Whoever read the output stopped reading (`perch plan | head`): nothing is wrong, and
    /// nothing more can be printed. Exits 0 without a message.
    pub fn closed_stdout() -> CliError {
        CliError {
            message: String::new(),
            code: 0,
        }
    }

    /// Exit code 1: the command could not do its job.
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 1,
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for CliError {
    fn from(e: E) -> CliError {
        let io = (&e as &dyn std::error::Error).downcast_ref::<std::io::Error>();
        if io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
            return CliError::closed_stdout();
        }
        CliError::failed(e.to_string())
    }
}
