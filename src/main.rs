use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    perch::cli::entry(perch::cli::Cli::parse())
}
