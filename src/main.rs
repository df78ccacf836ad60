//! The `handover` binary: parse arguments, run, map the result to an exit status.

use std::process::ExitCode;

use clap::Parser;

// Batch runs allocate small values on every core; mimalloc's per-thread heaps make that cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    // A standard output closed by the caller (`>&-`) cannot be told from `/dev/null` opened
    // read-write, which is how Python's `subprocess.DEVNULL` and Node's `'ignore'` discard output:
    // the Rust runtime puts such a `/dev/null` in place of a closed descriptor before `main`. Both
    // are taken as discarding the output; refusing them would refuse those integrators.
    let code = match handover::cli::Cli::try_parse() {
        Ok(cli) => handover::cli::run(cli, &mut out, &mut err),
        Err(e) => handover::cli::arguments_error(&e, &mut out, &mut err),
    };
    ExitCode::from(code)
}
