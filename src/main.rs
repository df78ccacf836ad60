//! The `handover` binary: parse arguments, run, map the result to an exit status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = handover::cli::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    ExitCode::from(handover::cli::run(cli, &mut stdout.lock(), &mut stderr.lock()))
}
