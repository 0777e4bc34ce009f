//! calicoctl-style resource commands against etcd: `apply`, `create`, `get`, `delete`,
//! `patch` and `label`.
//!
//! Owns: their arguments, reading resource files, and the messages printed. Must not: write
//! to etcd except through [`Store`], which validates every resource and compares-and-swaps on
//! the mod revision; the file datastore is read-only here (edit the files instead).
//!
//! This file declares the commands and dispatches them; what several of them share (opening
//! etcd, naming a kind, reading resource files, the summary lines) is in `common.rs`.

/// The closing paragraph of every resource command's `--help`.
macro_rules! etcd_help {
    () => {
        "\n\nThese commands work on etcd only: select it with --datastore etcdv3 or \
DATASTORE_TYPE=etcdv3, and reach it with calicoctl's variables ETCD_ENDPOINTS, \
ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_USERNAME and ETCD_PASSWORD (or the \
matching --etcd-* flags). Every write is validated first and is a compare-and-swap on the \
resource's revision, so concurrent changes are never lost."
    };
}

mod common;
pub(crate) mod edit;
mod show;
mod write;

use std::process::ExitCode;

use clap::Subcommand;

use super::error::CliError;

/// The resource commands, flattened into `perch`'s commands.
#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Create or update resources in etcd from a file (calicoctl apply).
    Apply(write::ApplyArgs),
    /// Create resources in etcd from a file; refuses any that already exist.
    Create(write::CreateArgs),
    /// Show resources stored in etcd.
    Get(show::GetArgs),
    /// Delete resources from etcd, named or listed in a file.
    Delete(write::DeleteArgs),
    /// Change a resource with a JSON merge patch (RFC 7386).
    Patch(edit::PatchArgs),
    /// Set or remove labels on a resource (calicoctl label).
    Label(edit::LabelArgs),
}

/// Runs a resource command.
pub(crate) async fn run(cmd: ResourceCommand) -> Result<ExitCode, CliError> {
    match cmd {
        ResourceCommand::Apply(a) => write::write(a.input, write::Mode::Apply).await,
        ResourceCommand::Create(a) => write::write(a.input, write::Mode::Create).await,
        ResourceCommand::Get(a) => show::get(a).await,
        ResourceCommand::Delete(a) => write::delete(a).await,
        ResourceCommand::Patch(a) => edit::patch(a).await,
        ResourceCommand::Label(a) => edit::label(a).await,
    }
}
