//! Everything perch says to and hears from BIRD.
//!
//! This module owns:
//!
//! * the control-socket protocol: framing of reply lines into [`reply::Reply`] values
//!   ([`reply`]) and an async session over the UNIX socket with time limits and typed errors
//!   ([`client`], [`error`]);
//! * typed commands for what perch asks (`show status`, `show protocols [all]`, `show route`,
//!   `configure "file"`, `configure check`/`confirm`/`undo`), implemented on [`Client`]; any
//!   other command goes through [`Client::command`];
//! * pure parsers of BIRD's text output into serializable values ([`parse`]);
//! * installing rendered config files and asking BIRD to load them (the `install` module);
//! * what a BIRD version supports ([`version`]: `onlink` for IPIP routes).
//!
//! It must not: render config (templates live elsewhere), read the clock in parsers (callers
//! pass the UTC offset or a reference time), send commands BIRD never answers (`quit`, `exit`,
//! `help`), keep using a session after a timeout, or hold more than one command in flight on a
//! session.

pub(crate) mod check;
pub(crate) mod client;
mod commands;
pub(crate) mod error;
pub(crate) mod install;
pub mod parse;
pub mod reply;
pub(crate) mod version;

pub use client::{Client, DEFAULT_COMMAND_TIMEOUT, MAX_COMMAND_LEN, validate_command};
pub use error::BirdError;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod commands_tests;
#[cfg(test)]
mod fake_bird;
#[cfg(test)]
mod live_bird_tests;
#[cfg(test)]
mod test_fixtures;
