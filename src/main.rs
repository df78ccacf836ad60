//! The `handover` binary: parse arguments, run, map the result to an exit status.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

// Batch runs allocate small values on every core; mimalloc's per-thread heaps make that cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    if handover::cli::stdout_is_closed() {
        let _ = writeln!(
            err,
            "error: standard output is closed, so no result could be written; redirect it (to /dev/null to discard it)"
        );
        return ExitCode::from(handover::cli::EXIT_FAILURE);
    }
    let code = match handover::cli::Cli::try_parse() {
        Ok(cli) => handover::cli::run(cli, &mut out, &mut err),
        Err(e) => handover::cli::arguments_error(&e, &mut out, &mut err),
    };
    ExitCode::from(code)
}
