//! The `handover` binary: parse arguments, run, map the result to an exit status.

use std::process::ExitCode;

use clap::Parser;

// Batch runs allocate small values on every core; mimalloc's per-thread heaps make that cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = handover::cli::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    ExitCode::from(handover::cli::run(cli, &mut stdout.lock(), &mut stderr.lock()))
}
