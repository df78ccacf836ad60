//! The command line: clap definitions and one function per command. No policy logic lives here;
//! every decision comes from the library.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use owo_colors::OwoColorize;

use crate::eval::verdict::Record;
use crate::facts::Format;
use crate::policy::{LoadError, Policy};
use crate::source::{ReadError, read_text, read_text_from};
use crate::value::Date;

mod diff;
pub use diff::DiffArgs;

/// Exit status: every entry got a verdict.
pub const EXIT_OK: u8 = 0;
/// Exit status: some entries could not be evaluated (the rest were, and are printed).
pub const EXIT_SOME_FAILED: u8 = 1;
/// Exit status: nothing could run (bad arguments, unreadable input, a policy that does not check).
pub const EXIT_FAILURE: u8 = 2;

const AFTER_HELP: &str = "\
Examples:
  handover eval examples/contoso.yaml                  verdicts with the built-in policy
  handover eval --as-of 2024-07-01 --format json FILE  machine-readable, at a fixed date
  handover eval --format jsonl inventory.csv > out     a large inventory, streamed on all cores
  handover explain examples/contoso.yaml --id contoso-m365
  handover check --rules my-rules/                     complete? dead or overlapping rules?
  handover test --rules my-rules/                      the policy's own test cases, with coverage
  handover fmt my-rules/                               canonical layout, comments kept

Exit status: 0 success; 1 some entries could not be evaluated (eval, explain; all others were
and are printed), a test failed, findings of a category `check --deny` names (warnings,
absent-reads), or files to format with `fmt --check`; 2 nothing could run (bad arguments, unreadable input, an invalid policy), or an
input failed part-way, or the output could not be written; 141 the reader of the output went
away (`handover eval ... | head`), quietly, as for a process ended by SIGPIPE.";

/// Decide, subscription by subscription, what a CSP partner must do to take over a customer's
/// Microsoft subscriptions bought elsewhere, with a policy written in the handover language.
#[derive(Debug, Parser)]
#[command(name = "handover", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output: auto (a terminal without NO_COLOR), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate fact files and print a verdict per entry (subscription).
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
    /// Check a policy: parse, names and types, then prove it complete and find dead and overlapping rules.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Compare two policies (or one at two dates): every region of facts whose verdict changes, with an example.
    #[command(after_help = diff::DIFF_HELP)]
    Diff(DiffArgs),
    /// Explain verdicts: each rule tried with its conditions and the fact values they read, and the
    /// one-fact changes that would give another verdict.
    Explain(ExplainArgs),
    /// Format policy files in the canonical layout (comments kept).
    Fmt(FmtArgs),
    /// Run a policy's test cases (YAML files of facts and expected verdicts) and report rule coverage.
    #[command(after_help = TEST_HELP)]
    Test(TestArgs),
    /// Print the schema of the fact files a policy reads, as JSON Schema for editors and tools.
    #[command(after_help = SCHEMA_HELP)]
    Schema(SchemaArgs),
    /// Compile a policy to typed Rust (structs, enums, a `decide` function) for programs that embed it.
    #[command(after_help = COMPILE_HELP)]
    Compile(CompileArgs),
    /// Run the language server for editors (Language Server Protocol over standard input and output).
    #[command(after_help = LSP_HELP)]
    Lsp,
    /// Serve decisions over HTTP: the same verdicts and JSON as `eval`, with hot reload of the rules.
    #[cfg(feature = "serve")]
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
}

const LSP_HELP: &str = "\
Editors start it; it is not meant to be run by hand. All `.handover` files of an open file's
folder are one policy: it reports errors and warnings as you type, and answers hover, go to
definition, find references, completion, formatting, outline and quick fixes.
editors/README.md says how to set up VS Code, Neovim and Helix.";

const SCHEMA_HELP: &str = "\
The JSON Schema (draft 2020-12) states the keys, types, enum values (with their descriptions),
defaults and required facts that the policy declares, so that an editor validates and completes
fact files as you type. For YAML files with the YAML language server, save it and point a file
at it with a first-line comment:

  handover schema > facts.schema.json
  # yaml-language-server: $schema=./facts.schema.json

The built-in policy's schema is committed as rules/facts.schema.json.";

const COMPILE_HELP: &str = "\
The generated module has a struct per fact group (the policy's enums as Rust enums, optional facts
as `Option`, dates as `chrono::NaiveDate`), a `Verdict` enum whose variants carry the action's
typed parameters and the deciding `Rule` (with its reason and citation), and
`decide(partner, customer, subscription, as_of)` (one parameter per fact group), which decides
exactly as `eval` does: the same verdicts, the same errors and codes. No `unsafe`; formatted.

  handover compile --emit rust --rules rules/ -o src/policy.rs
  handover compile --emit rust --serde > policy.rs     with serde derives: fact files read straight in

From a build script, the library does the same on every change of the rules (feature `codegen`):
  handover::codegen::Builder::new(\"rules\").write_to_out_dir(\"policy.rs\")?;
examples/typed/ is a crate that does it. A policy with errors prints its diagnostics and exits 2.";

#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// Policy file or folder of `.handover` files [default: the built-in multi-channel policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// What to generate.
    #[arg(long, value_enum, default_value_t = Emit::Rust)]
    pub emit: Emit,

    /// Derive serde's `Serialize`/`Deserialize` on the generated types.
    #[arg(long)]
    pub serde: bool,

    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// A Rust module (needs `chrono`; `serde` too with `--serde`).
    Rust,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Policy file or folder of `.handover` files [default: the built-in multi-channel policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// What to print.
    #[arg(long, value_enum, default_value_t = SchemaFormat::JsonSchema)]
    pub format: SchemaFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaFormat {
    /// JSON Schema, draft 2020-12.
    JsonSchema,
}

const TEST_HELP: &str = "\
Without CASES, runs the `tests/*.yaml` files beside the policy (for the built-in policy, its
own cases). A case file:

  defaults:                                   # merged under every case, group by group
    as_of: 2024-03-15
    partner: { role: sales_agent }
  cases:
    - name: bought through Open
      subscription: { id: s1, service: license_based, channel: open }
      expect: some_action                     # an action, or { action, params, rule, error }

rules/tests/multichannel.yaml is a complete example.

Exit status: 0 all cases pass, 1 some fail, 2 the policy or a case file could not be read.";

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Fact files (.yaml, .yml, .json, .jsonl); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,

    /// Explain only the entry (subscription) with this id.
    #[arg(long, visible_alias = "id", value_name = "ID")]
    pub subscription: Option<String>,

    /// Policy file or folder of `.handover` files [default: the built-in policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// Evaluation date (YYYY-MM-DD); overrides each file's `as_of`.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<Date>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,

    /// Input format [default: from the file extension; standard input is read as YAML].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input: Option<InputFormat>,

    /// Largest input read whole, in bytes (every input of `explain`); a larger one is an error.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_INPUT_BYTES, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_input_bytes: u64,
}

#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Policy files or folders of `.handover` files; `-` formats standard input to standard output.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Change nothing; list the files that are not formatted and exit with 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Case files or folders of them [default: `tests/` beside the policy].
    #[arg(value_name = "CASES")]
    pub cases: Vec<PathBuf>,

    /// Policy file or folder of `.handover` files [default: the built-in policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// Print rule coverage as JSON on standard output instead of the report.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub coverage: Option<CoverageFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    Json,
}

const CHECK_HELP: &str = "\
Examples:
  handover check --rules my-rules/                     report; exit 0 unless the policy is invalid
  handover check --deny warnings --deny absent-reads   exit 1 on warnings or unmarked absent reads
  handover check --deny warnings,absent-reads --format json   the same, as JSON for CI

A rule that reads an optional fact on purpose (an entry without it is an error there) says so
with `requires`, and is then not reported as an absent read:

  rule term_running {
      requires subscription.term_end
      when as_of <= subscription.term_end
      ...";

const EVAL_HELP: &str = "\
A fact file holds one customer (the document) and its subscriptions (the entries):

  as_of: 2024-03-15             # optional; --as-of overrides; default today
  partner:   { role: ..., type: ... }
  customer:  { name: Contoso, cloud: ... }
  subscriptions:
    - { id: contoso-m365, service: ..., channel: ..., term_end: 2024-06-30 }

The groups, keys and values are those the policy declares: for the built-in policy see
rules/schema.handover, and examples/contoso.yaml for a complete file. YAML files may hold
several documents separated by `---`; `.jsonl` files hold one JSON document per line; `.csv`
inventories have a header of dotted names (partner.role, subscription.id, ...) and one
subscription per row. JSON Lines and CSV inputs are streamed and decided on all cores, and
the output is written as results arrive, in input order (json, yaml and human hold results
in a temporary file until the run's date or the key column's width is known; --as-of lets
json and yaml stream at once). YAML and JSON files are read whole, up to --max-input-bytes.
Errors name the file, the line or row (and column), the field path and what was expected.";

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Fact files (.yaml, .yml, .json, .jsonl, .csv); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,

    /// Policy file or folder of `.handover` files [default: the built-in multi-channel policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// Evaluation date (YYYY-MM-DD); overrides each file's `as_of` [default: the file's, else today].
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<Date>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,

    /// Input format [default: from the file extension; standard input is read as YAML].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input: Option<InputFormat>,

    /// Longest JSON Lines line or CSV row read, in bytes; a longer one is reported as an error and
    /// skipped without being held in memory (a CSV quoted cell still open past it ends the file).
    #[arg(long, value_name = "N", default_value_t = crate::batch::DEFAULT_MAX_LINE_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_bytes: u64,

    /// Largest input read whole (YAML and JSON), in bytes; a larger one is an error before
    /// anything is evaluated. JSON Lines and CSV inputs are streamed and not limited.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_INPUT_BYTES, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_input_bytes: u64,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy file or folder of `.handover` files [default: the built-in policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,

    /// Exit with status 1 on findings of these kinds: `warnings` (gaps, dead rules, ...),
    /// `absent-reads` (a rule reads an optional fact that can be absent, without `requires`).
    /// Repeat the flag or give a comma-separated list.
    #[arg(long, value_enum, value_name = "WHAT", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub deny: Vec<Deny>,

    /// Also show advice: overlapping rules and reads of facts that may be absent.
    #[arg(long, short)]
    pub verbose: bool,

    /// Work budget of the whole analysis, in steps (a region of the fact space visited, a rule
    /// tried, a witness made), before it stops and reports partial results; raise it for policies
    /// with many independent conditions.
    #[arg(long, value_name = "N", default_value_t = crate::analysis::DEFAULT_BUDGET as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_regions: u64,
}

/// A kind of `check` finding that `--deny` turns into a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    /// Every warning: gaps, dead rules, an incomplete analysis, ...
    Warnings,
    /// Reads of an optional fact that can be absent there (`check::absent-read`), which are
    /// otherwise advice shown with `--verbose`.
    AbsentReads,
}

impl Deny {
    /// The name given on the command line, as JSON output reports it.
    fn name(self) -> &'static str {
        match self {
            Deny::Warnings => "warnings",
            Deny::AbsentReads => "absent-reads",
        }
    }

    /// Whether this category covers the diagnostic.
    fn covers(self, d: &crate::diagnostic::PolicyDiagnostic) -> bool {
        match self {
            Deny::Warnings => d.severity == crate::diagnostic::Severity::Warning,
            Deny::AbsentReads => d.code == ABSENT_READ,
        }
    }
}

/// The code of the advice `--deny absent-reads` makes a failure.
const ABSENT_READ: &str = "check::absent-read";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
}

pub use crate::output::Format as OutputFormat;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Yaml,
    Json,
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s).ok_or_else(|| format!("`{s}` is not a date; expected YYYY-MM-DD, such as 2024-03-15"))
}

/// Whether to colour a stream: `--color`, then `NO_COLOR`, then whether it is a terminal.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Exit status when standard output is a pipe whose reader has gone (`handover eval ... | head`):
/// nothing more is written and nothing is said, and the status is the one a shell reports for a
/// process ended by SIGPIPE (128 + 13), as for `cat`, `grep` and most other tools in a pipe.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// A writer that remembers whether a write through it failed, so that an error coming out of a
/// command can be told apart as a failed write of the output.
struct Tracked<'a> {
    inner: &'a mut dyn Write,
    failed: bool,
}

impl Write for Tracked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|_| self.failed = true)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

/// Runs a parsed command line, writing to the given streams; returns the exit status. The output
/// is flushed before returning: any write that fails (a full disk, a closed pipe) gives a
/// non-zero status, [`EXIT_BROKEN_PIPE`] for a closed pipe, [`EXIT_FAILURE`] otherwise.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let err_color = use_color(cli.color, io::stderr().is_terminal());
    let out_color = use_color(cli.color, io::stdout().is_terminal());
    let mut out = Tracked { inner: out, failed: false };
    let result = match cli.command {
        Command::Eval(args) => eval(args, &mut out, err, out_color, err_color),
        Command::Check(args) => check(args, &mut out, err, err_color),
        Command::Diff(args) => diff::diff(args, &mut out, err, err_color),
        Command::Test(args) => test(args, &mut out, err, out_color, err_color),
        Command::Explain(args) => explain(args, &mut out, err, out_color, err_color),
        Command::Fmt(args) => fmt(args, &mut out, err, err_color),
        Command::Schema(args) => schema(args, &mut out, err, err_color),
        Command::Compile(args) => compile(args, &mut out, err, err_color),
        Command::Lsp => lsp(&mut out, err),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve(args, &mut out, err),
    };
    let result = result.and_then(|code| out.flush().map(|()| code));
    match result {
        Ok(code) => code,
        Err(e) => write_failure(&e, out.failed, err),
    }
}

/// The status (and message) for a command that stopped on `e`; `writing` tells whether a write
/// of the output failed.
fn write_failure(e: &io::Error, writing: bool, err: &mut dyn Write) -> u8 {
    if writing && e.kind() == io::ErrorKind::BrokenPipe {
        // The reader of the output has gone: quietly, as a process ended by SIGPIPE.
        return EXIT_BROKEN_PIPE;
    }
    if writing {
        let _ = writeln!(err, "error: cannot write to standard output: {e}");
    } else {
        let _ = writeln!(err, "error: {e}");
    }
    EXIT_FAILURE
}

/// Reports a command line clap refused (or `--help`/`--version`, which clap reports as errors),
/// writing help to `out` itself so that a failed write is seen; returns the exit status.
pub fn arguments_error(e: &clap::Error, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let to_stdout = !e.use_stderr();
    let color =
        use_color(ColorChoice::Auto, if to_stdout { io::stdout().is_terminal() } else { io::stderr().is_terminal() });
    let text = if color { e.render().ansi().to_string() } else { e.render().to_string() };
    if to_stdout {
        let mut out = Tracked { inner: out, failed: false };
        return match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => EXIT_OK,
            Err(e) => write_failure(&e, true, err),
        };
    }
    // The message itself is the error; if even it cannot be written, the status still says so.
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
    EXIT_FAILURE
}

fn schema(args: SchemaArgs, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> io::Result<u8> {
    let Some(policy) = policy_or_report(args.rules.as_ref(), err, color)? else { return Ok(EXIT_FAILURE) };
    let SchemaFormat::JsonSchema = args.format;
    let text = serde_json::to_string_pretty(&policy.schema().json_schema()).map_err(io::Error::other)?;
    writeln!(out, "{text}")?;
    Ok(EXIT_OK)
}

fn compile(args: CompileArgs, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> io::Result<u8> {
    let Some(policy) = policy_or_report(args.rules.as_ref(), err, color)? else { return Ok(EXIT_FAILURE) };
    let Emit::Rust = args.emit;
    let code = match crate::codegen::generate(&policy, crate::codegen::Options { serde: args.serde }) {
        Ok(code) => code,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(EXIT_FAILURE);
        }
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, code) {
                writeln!(err, "error: cannot write {}: {e}", path.display())?;
                return Ok(EXIT_FAILURE);
            }
        }
        None => out.write_all(code.as_bytes())?,
    }
    Ok(EXIT_OK)
}

fn lsp(out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    match crate::lsp::run_stdio(out) {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => {
            writeln!(err, "error: handover lsp: {e}")?;
            Ok(EXIT_FAILURE)
        }
    }
}

/// The first `most` names joined by commas, and how many more there are (`--coverage json` lists
/// them all).
fn shortened(names: &[&str], most: usize) -> String {
    let shown = names.iter().take(most).copied().collect::<Vec<_>>().join(", ");
    match names.len().saturating_sub(most) {
        0 => shown,
        more => format!("{shown} and {more} more (`--coverage json` lists them all)"),
    }
}

fn load_policy(rules: Option<&PathBuf>) -> Result<Policy, LoadError> {
    match rules {
        Some(p) => Policy::from_path(p),
        None => Policy::builtin(),
    }
}

/// Loads the policy, or renders why it cannot be loaded and returns `None`.
fn policy_or_report(rules: Option<&PathBuf>, err: &mut dyn Write, color: bool) -> io::Result<Option<Policy>> {
    match load_policy(rules) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            err.write_all(e.render(color).as_bytes())?;
            Ok(None)
        }
    }
}

fn print_warnings(policy: &Policy, err: &mut dyn Write, color: bool) -> io::Result<()> {
    if !policy.warnings().is_empty() {
        err.write_all(crate::diagnostic::render(policy.warnings(), policy.sources(), color).as_bytes())?;
    }
    Ok(())
}

fn check(args: CheckArgs, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> io::Result<u8> {
    use crate::diagnostic::Severity;
    let policy = match load_policy(args.rules.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            if args.format == CheckFormat::Json {
                let diags = match &e {
                    LoadError::Invalid { sources, diagnostics } => diagnostics_json(diagnostics, sources),
                    other => {
                        vec![serde_json::json!({"severity": "error", "code": "load", "message": other.to_string()})]
                    }
                };
                let doc = serde_json::json!({"ok": false, "diagnostics": diags});
                out.write_all((serde_json::to_string_pretty(&doc).map_err(io::Error::other)? + "\n").as_bytes())?;
            } else {
                err.write_all(e.render(color).as_bytes())?;
            }
            return Ok(EXIT_FAILURE);
        }
    };
    let analysis = policy.analyze_with_budget(5, usize::try_from(args.max_regions).unwrap_or(usize::MAX));
    let mut diags: Vec<_> = policy.warnings().to_vec();
    diags.extend(policy.analysis_diagnostics(&analysis));
    let warnings = diags.iter().filter(|d| d.severity == Severity::Warning).count();
    // Each diagnostic with the first denied category covering it, if any.
    let denied_by = |d: &crate::diagnostic::PolicyDiagnostic| args.deny.iter().copied().find(|c| c.covers(d));
    let denied: Vec<Option<Deny>> = diags.iter().map(denied_by).collect();
    let absent_denied = diags.iter().zip(&denied).filter(|(d, c)| d.code == ABSENT_READ && c.is_some()).count();
    // Denied advice is a failure: it is shown as an error, with or without `--verbose`.
    for (d, c) in diags.iter_mut().zip(&denied) {
        if c.is_some() && d.severity == Severity::Advice {
            d.severity = Severity::Error;
        }
    }
    let advice = diags.iter().filter(|d| d.severity == Severity::Advice && d.code != "compile::no-diagram").count();
    let rules = policy.rule_ids().count();
    let dead = analysis.dead.len();
    let code = if denied.iter().any(Option::is_some) { EXIT_SOME_FAILED } else { EXIT_OK };
    if args.format == CheckFormat::Json {
        let ids: Vec<&str> = policy.rule_ids().collect();
        let dead_ids: Vec<&str> = analysis.dead.iter().filter_map(|d| ids.get(d.rule).copied()).collect();
        let doc = serde_json::json!({
            "ok": code == EXIT_OK,
            "rules": rules,
            "complete": analysis.gap_count == 0 && analysis.space_explored,
            "exhaustive": analysis.exhaustive,
            "gaps": analysis.gap_count,
            "dead_rules": dead_ids,
            "overlaps": analysis.overlaps.len(),
            "diagnostics": diagnostics_json(&diags, policy.sources())
                .into_iter()
                .zip(&denied)
                .map(|(mut v, c)| {
                    if let (Some(c), Some(o)) = (c, v.as_object_mut()) {
                        o.insert("denied".into(), c.name().into());
                    }
                    v
                })
                .collect::<Vec<_>>(),
        });
        out.write_all((serde_json::to_string_pretty(&doc).map_err(io::Error::other)? + "\n").as_bytes())?;
        return Ok(code);
    }
    // The note that the policy is decided rule by rule is shown always: it is about the policy as a whole.
    let shown: Vec<_> = diags
        .into_iter()
        .filter(|d| args.verbose || d.severity != Severity::Advice || d.code == "compile::no-diagram")
        .collect();
    if !shown.is_empty() {
        err.write_all(crate::diagnostic::render(&shown, policy.sources(), color).as_bytes())?;
    }
    let completeness = if analysis.gap_count == 0 && analysis.space_explored {
        "complete (every fact combination is decided)".to_string()
    } else if analysis.gap_count > 0 {
        format!("{} gap(s)", analysis.gap_count)
    } else {
        "completeness unknown (analysis budget exhausted)".to_string()
    };
    let dead_text = match dead {
        _ if !analysis.space_explored => "dead rules not known".to_string(),
        0 => "no dead rules".to_string(),
        n => format!("{n} dead rule(s)"),
    };
    let advice_text = if advice > 0 && !args.verbose {
        format!("; {advice} advice note(s) (overlaps, absent facts): see --verbose")
    } else {
        String::new()
    };
    let denied_text = if absent_denied > 0 {
        format!(", {absent_denied} absent read(s) denied (--deny absent-reads)")
    } else {
        String::new()
    };
    writeln!(out, "{rules} rules: {completeness}, {dead_text}, {warnings} warning(s){denied_text}{advice_text}")?;
    Ok(code)
}

/// Diagnostics as JSON objects; each file's line starts are found once, so positions cost a
/// binary search each.
fn diagnostics_json<'a>(
    diags: impl IntoIterator<Item = &'a crate::diagnostic::PolicyDiagnostic>,
    sources: &crate::source::Sources,
) -> Vec<serde_json::Value> {
    let index: Vec<_> = sources.files().iter().map(|f| crate::diagnostic::LineIndex::of(&f.text)).collect();
    diags.into_iter().map(|d| diagnostic_json(d, sources, &index)).collect()
}

fn diagnostic_json(
    d: &crate::diagnostic::PolicyDiagnostic,
    sources: &crate::source::Sources,
    index: &[crate::diagnostic::LineIndex],
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "help": d.help,
    });
    if let (Some(span), Some(map)) = (d.span(), v.as_object_mut()) {
        let src = sources.get(span.file);
        let (line, column) = match (src, index.get(span.file)) {
            (Some(f), Some(ix)) => ix.line_col(&f.text, span.start),
            _ => (0, 0),
        };
        let file = src.map(|f| f.name.clone());
        map.insert("file".into(), file.into());
        map.insert("line".into(), line.into());
        map.insert("column".into(), column.into());
    }
    v
}

fn fmt(args: FmtArgs, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> io::Result<u8> {
    let mut files: Vec<PathBuf> = Vec::new();
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let text = match read_text_from(io::stdin().lock()) {
                Ok(t) => t,
                Err(e) => {
                    writeln!(err, "error: cannot read standard input: {e}")?;
                    return Ok(EXIT_FAILURE);
                }
            };
            return match crate::language::fmt::format_text(&text) {
                Ok(f) => {
                    out.write_all(f.as_bytes())?;
                    Ok(EXIT_OK)
                }
                Err(d) => {
                    let mut sources = crate::source::Sources::new();
                    sources.add("<stdin>", text);
                    err.write_all(crate::diagnostic::render(&d, &sources, color).as_bytes())?;
                    Ok(EXIT_FAILURE)
                }
            };
        }
        if p.is_dir() {
            let listed: io::Result<Vec<PathBuf>> =
                std::fs::read_dir(p).and_then(|d| d.map(|e| e.map(|e| e.path())).collect());
            let mut found: Vec<PathBuf> = match listed {
                Ok(l) => l
                    .into_iter()
                    .filter(|f| f.extension().is_some_and(|e| e == crate::policy::POLICY_EXTENSION))
                    .collect(),
                Err(e) => {
                    writeln!(err, "error: cannot read `{}`: {}", p.display(), ReadError::from(e))?;
                    return Ok(EXIT_FAILURE);
                }
            };
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let mut unformatted = 0;
    let mut failed = false;
    for f in files {
        let text = match read_text(&f) {
            Ok(t) => t,
            Err(e) => {
                writeln!(err, "error: cannot read `{}`: {e}", f.display())?;
                failed = true;
                continue;
            }
        };
        match crate::language::fmt::format_text(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                unformatted += 1;
                if args.check {
                    writeln!(out, "{}", f.display())?;
                } else {
                    match crate::language::fmt::write_in_place(&f, formatted.as_bytes()) {
                        Ok(()) => writeln!(err, "formatted {}", f.display())?,
                        Err(e) => {
                            writeln!(err, "error: cannot write `{}`: {e}; the file is unchanged", f.display())?;
                            failed = true;
                        }
                    }
                }
            }
            Err(d) => {
                let mut sources = crate::source::Sources::new();
                sources.add(f.display().to_string(), text);
                err.write_all(crate::diagnostic::render(&d, &sources, color).as_bytes())?;
                failed = true;
            }
        }
    }
    Ok(if failed {
        EXIT_FAILURE
    } else if args.check && unformatted > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    })
}

fn explain(
    args: ExplainArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
    err_color: bool,
) -> io::Result<u8> {
    let Some(policy) = policy_or_report(args.rules.as_ref(), err, err_color)? else { return Ok(EXIT_FAILURE) };
    let planned = match plan_inputs(&args.files, args.input, false, args.max_input_bytes) {
        Ok(i) => i,
        Err(msg) => {
            writeln!(err, "error: {msg}")?;
            return Ok(EXIT_FAILURE);
        }
    };
    let today = Date::from_naive(chrono::Local::now().date_naive());
    let mut explained = Vec::new();
    let mut failed = 0usize;
    for p in &planned {
        let input = match open_input(p, args.max_input_bytes) {
            Ok(i) => i,
            Err(msg) => {
                writeln!(err, "error: {msg}")?;
                return Ok(EXIT_FAILURE);
            }
        };
        let Body::Text(text) = &input.body else { continue };
        for doc in crate::facts::parse(policy.schema(), text, input.format, &input.name) {
            let as_of = args.as_of.or(doc.as_of).unwrap_or(today);
            for e in crate::output::explain::explain_document(&policy, &doc, as_of, args.subscription.as_deref()) {
                failed += usize::from(e.failed());
                explained.push(e);
            }
        }
    }
    if explained.is_empty() {
        let what = args.subscription.as_deref().map_or(String::new(), |s| format!(" with id `{s}`"));
        writeln!(err, "error: no entry{what} found in the input")?;
        return Ok(EXIT_FAILURE);
    }
    if args.format == CheckFormat::Json {
        out.write_all((serde_json::to_string_pretty(&explained).map_err(io::Error::other)? + "\n").as_bytes())?;
    } else {
        for e in &explained {
            let head = format!(
                "{}  ({}{}, as of {})",
                e.key,
                e.label.as_ref().map_or(String::new(), |l| format!("{l}, ")),
                e.source,
                e.as_of
            );
            writeln!(out, "{}", if color { head.bold().to_string() } else { head })?;
            match (&e.explanation, &e.error) {
                (Some(x), _) => human_explanation(x, &e.as_of, out, color)?,
                (None, e) => writeln!(out, "  the facts are not valid: {}", e.as_deref().unwrap_or_default())?,
            }
            writeln!(out)?;
        }
    }
    Ok(if failed > 0 { EXIT_SOME_FAILED } else { EXIT_OK })
}

/// Whether the trace is of a dated rule that did not hold because the date is outside its period
/// (its first condition is the period).
fn out_of_force(r: &crate::eval::explain::RuleTrace) -> bool {
    r.period.is_some() && r.matched == Some(false) && r.conditions.first().is_some_and(|c| c.value == Some(false))
}

fn human_explanation(
    x: &crate::eval::explain::Explanation,
    as_of: &str,
    out: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let mut i = 0;
    while let Some(r) = x.rules.get(i) {
        // A run of rules not in force on the date (with the same period) is one line: the rules
        // of another period are not read at all.
        let rest = x.rules.get(i..).unwrap_or_default();
        let run = rest.iter().take_while(|o| out_of_force(o) && o.period == r.period).count();
        if run > 1 {
            let numbers = format!("{}–{}.", i + 1, i + run);
            let names: Vec<&str> = rest.iter().take(run).map(|o| o.rule.as_str()).collect();
            let period = r.period.map(|p| p.to_string()).unwrap_or_default();
            writeln!(out, "  {numbers} {run} rules not in force on {as_of} (they hold {period}):")?;
            for line in textwrap::wrap(&names.join(", "), 96) {
                writeln!(out, "        {line}")?;
            }
            i += run;
            continue;
        }
        i += 1;
        let status = match r.matched {
            Some(true) => {
                let s = format!("matched → {}", x.action.as_deref().unwrap_or("?"));
                if color { s.green().bold().to_string() } else { s }
            }
            Some(false) => "no".to_string(),
            None => {
                if color {
                    "error".red().bold().to_string()
                } else {
                    "error".to_string()
                }
            }
        };
        writeln!(out, "  {:>2}. {}  {status}", i, r.rule)?;
        for c in &r.conditions {
            let value = match (c.value, &c.error) {
                (Some(v), _) => v.to_string(),
                (None, Some(_)) => "error".into(),
                (None, None) => "not evaluated".into(),
            };
            let facts: Vec<String> = c.facts.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let facts = if facts.is_empty() { String::new() } else { format!("   [{}]", facts.join(", ")) };
            writeln!(out, "        {} → {value}{facts}", c.text)?;
            if let Some(e) = &c.error {
                writeln!(out, "          {e}")?;
            }
        }
    }
    if x.rules.is_empty() && x.error.is_some() {
        writeln!(out, "  no rule matched")?;
    }
    if let Some(e) = &x.error {
        writeln!(out, "  error: {e}")?;
    }
    if x.changes.is_empty() {
        writeln!(out, "  no single fact change gives another verdict")?;
    } else {
        writeln!(out, "  would change the verdict:")?;
        let width = x.changes.iter().map(|c| c.fact.len() + c.to.len() + 3).max().unwrap_or(0);
        for c in &x.changes {
            let what = format!("{} = {}", c.fact, c.to);
            writeln!(out, "    if {what:<width$}  → {} ({})", c.action, c.rule)?;
        }
    }
    Ok(())
}

fn test(args: TestArgs, out: &mut dyn Write, err: &mut dyn Write, color: bool, err_color: bool) -> io::Result<u8> {
    use crate::testing;
    let Some(policy) = policy_or_report(args.rules.as_ref(), err, err_color)? else { return Ok(EXIT_FAILURE) };
    // (file name, text) of every case file.
    let mut files: Vec<(String, String)> = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    if args.cases.is_empty() {
        match &args.rules {
            None => files.extend(crate::policy::BUILTIN_TESTS.iter().map(|(n, t)| (n.to_string(), t.to_string()))),
            Some(rules) => {
                let base =
                    if rules.is_dir() { rules.clone() } else { rules.parent().map(PathBuf::from).unwrap_or_default() };
                let dir = base.join("tests");
                if dir.is_dir() {
                    paths.push(dir);
                }
            }
        }
    } else {
        paths.extend(args.cases.iter().cloned());
    }
    for p in paths {
        let list = if p.is_dir() {
            match testing::case_files(&p) {
                Ok(l) => l,
                Err(e) => {
                    writeln!(err, "error: cannot read `{}`: {}", p.display(), ReadError::from(e))?;
                    return Ok(EXIT_FAILURE);
                }
            }
        } else {
            vec![p]
        };
        for f in list {
            match read_text(&f) {
                Ok(t) => files.push((f.display().to_string(), t)),
                Err(e) => {
                    writeln!(err, "error: cannot read `{}`: {e}", f.display())?;
                    return Ok(EXIT_FAILURE);
                }
            }
        }
    }
    if files.is_empty() {
        writeln!(err, "error: no test cases found; pass case files, or put them in `tests/` beside the policy")?;
        return Ok(EXIT_FAILURE);
    }
    let mut cases = Vec::new();
    for (name, text) in &files {
        match testing::parse_cases(&policy, text, name) {
            Ok(c) => cases.extend(c),
            Err(e) => {
                writeln!(err, "error: {e}")?;
                return Ok(EXIT_FAILURE);
            }
        }
    }
    let today = Date::from_naive(chrono::Local::now().date_naive());
    let report = testing::run(&policy, &cases, today);
    if args.coverage == Some(CoverageFormat::Json) {
        let rules: Vec<serde_json::Value> =
            report.coverage.iter().map(|(r, n)| serde_json::json!({"rule": r, "cases": n})).collect();
        let doc = serde_json::json!({
            "passed": report.passed(),
            "failed": report.failed(),
            "rules": rules,
            "uncovered": report.uncovered(),
        });
        out.write_all((serde_json::to_string_pretty(&doc).map_err(io::Error::other)? + "\n").as_bytes())?;
        return Ok(if report.failed() > 0 { EXIT_SOME_FAILED } else { EXIT_OK });
    }
    for r in &report.results {
        match &r.failure {
            None => {
                let ok = if color { "ok".green().to_string() } else { "ok".into() };
                writeln!(out, "{ok}    {}: {}", r.file, r.name)?;
            }
            Some(lines) => {
                let fail = if color { "FAIL".red().bold().to_string() } else { "FAIL".into() };
                writeln!(out, "{fail}  {}: {}", r.file, r.name)?;
                for l in lines {
                    writeln!(out, "        {l}")?;
                }
            }
        }
    }
    let uncovered = report.uncovered();
    writeln!(out)?;
    if uncovered.is_empty() {
        writeln!(out, "coverage: every rule ({}) is exercised", report.coverage.len())?;
    } else {
        writeln!(
            out,
            "coverage: {} of {} rules exercised; not exercised: {}",
            report.coverage.len() - uncovered.len(),
            report.coverage.len(),
            shortened(&uncovered, 50)
        )?;
    }
    writeln!(out, "{} passed, {} failed", report.passed(), report.failed())?;
    Ok(if report.failed() > 0 { EXIT_SOME_FAILED } else { EXIT_OK })
}

/// Where an input's text comes from.
enum Body {
    /// Read fully (YAML, JSON, and anything explained).
    Text(String),
    /// Streamed in chunks (JSON Lines and CSV files), with the file's size for progress.
    File(std::fs::File, u64),
    /// Streamed from standard input.
    Stdin,
}

struct Input {
    name: String,
    body: Body,
    format: Format,
}

/// The default of `--max-input-bytes` (64 MiB): the largest input read whole (YAML, JSON,
/// anything explained). Parsing and deciding one document holds many times its text in memory
/// (a 478 MB JSON document took 4.3 GB; 128 MiB of YAML 2.4 GB), so this keeps a run near a
/// gigabyte or two; JSON Lines and CSV are streamed and have no such limit.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 << 20;

/// An error reading an input part-way, carried inside an `io::Error` out of the batch readers.
#[derive(Debug)]
struct InputError(String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// An input named on the command line, checked but not opened yet.
struct Planned {
    /// As given (`-` for standard input).
    path: String,
    format: Format,
    /// Read in chunks (JSON Lines and CSV, in `eval`) rather than whole.
    streamed: bool,
}

fn display_name(path: &str) -> String {
    if path == "-" { "<stdin>".to_string() } else { path.to_string() }
}

/// Checks every input before anything is evaluated, so that a missing file, a folder or a file
/// too large to read whole stops the run before any output; nothing is opened yet (see
/// [`open_input`]), so any number of files can be given. With `stream`, JSON Lines and CSV
/// inputs will be streamed.
fn plan_inputs(
    files: &[String],
    input: Option<InputFormat>,
    stream: bool,
    max_bytes: u64,
) -> Result<Vec<Planned>, String> {
    let mut planned = Vec::new();
    let mut stdin_used = false;
    for name in files {
        let format = match input {
            Some(InputFormat::Yaml) => Format::Yaml,
            Some(InputFormat::Json) => Format::Json,
            Some(InputFormat::Jsonl) => Format::JsonLines,
            Some(InputFormat::Csv) => Format::Csv,
            None if name == "-" => Format::Yaml,
            None => Format::from_path(name).ok_or_else(|| {
                format!(
                    "cannot tell the format of `{name}` from its name; use .yaml, .json, .jsonl or .csv, or pass --input"
                )
            })?,
        };
        let streamed = stream && matches!(format, Format::JsonLines | Format::Csv);
        if name == "-" {
            if stdin_used {
                return Err("standard input (`-`) can be given only once".into());
            }
            stdin_used = true;
        } else {
            let meta = std::fs::metadata(name).map_err(|e| format!("cannot read `{name}`: {}", ReadError::from(e)))?;
            if meta.is_dir() {
                return Err(format!("cannot read `{name}`: it is a directory"));
            }
            if !streamed && meta.is_file() && meta.len() > max_bytes {
                return Err(too_large(name, Some(meta.len()), max_bytes));
            }
        }
        planned.push(Planned { path: name.clone(), format, streamed });
    }
    Ok(planned)
}

/// An input named in a message: `standard input`, or the path in backticks.
fn input_words(path: &str) -> String {
    if path == "-" || path == "<stdin>" { "standard input".to_string() } else { format!("`{path}`") }
}

fn too_large(name: &str, size: Option<u64>, max: u64) -> String {
    let what = input_words(name);
    let size = match size {
        Some(n) => format!("is {n} bytes, more than the {max} bytes"),
        None => format!("holds more than {max} bytes, the most"),
    };
    format!(
        "{what} {size} an input read whole (YAML, JSON) may hold; \
         raise the limit with --max-input-bytes, or give the facts as JSON Lines or CSV, which are streamed"
    )
}

/// Opens (streamed) or reads (whole) one input; an input read whole may hold at most `max_bytes`,
/// checked again while reading, since a file may grow and standard input has no size.
fn open_input(p: &Planned, max_bytes: u64) -> Result<Input, String> {
    use std::io::Read;
    let name = display_name(&p.path);
    let cannot = |e: ReadError| format!("cannot read {}: {e}", input_words(&p.path));
    let body = if p.streamed && p.path == "-" {
        Body::Stdin
    } else if p.streamed {
        let f = std::fs::File::open(&p.path).map_err(|e| cannot(e.into()))?;
        let meta = f.metadata().map_err(|e| cannot(e.into()))?;
        if meta.is_dir() {
            return Err(cannot(ReadError::IsADirectory));
        }
        Body::File(f, meta.len())
    } else {
        let limit = max_bytes.saturating_add(1);
        let text = if p.path == "-" {
            read_text_from(io::stdin().lock().take(limit))
        } else {
            std::fs::File::open(&p.path).map_err(ReadError::from).and_then(|f| read_text_from(f.take(limit)))
        }
        .map_err(cannot)?;
        if text.len() as u64 > max_bytes {
            return Err(too_large(&p.path, None, max_bytes));
        }
        Body::Text(text)
    };
    Ok(Input { name, body, format: p.format })
}

/// A reader that turns a read error into one naming the input, and records it so that a reader
/// which reports read errors as bad records (the CSV reader does) cannot hide it.
struct Named<R> {
    inner: R,
    name: String,
    failed: std::rc::Rc<std::cell::RefCell<Option<String>>>,
}

impl<R: io::Read> io::Read for Named<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            let message = format!(
                "cannot read {}: {}",
                input_words(&self.name),
                ReadError::from(io::Error::new(e.kind(), e.to_string()))
            );
            *self.failed.borrow_mut() = Some(message.clone());
            io::Error::new(e.kind(), InputError(message))
        })
    }
}

/// Streams one JSON Lines or CSV input through the batch evaluator, handing each chunk's
/// outputs to `emit` in input order; shows progress on a terminal.
fn stream_input<D: crate::batch::Decide + ?Sized>(
    policy: &Policy,
    input: Input,
    args: &EvalArgs,
    today: Date,
    progress: bool,
    decide: &D,
    emit: &mut dyn FnMut(D::Chunk) -> io::Result<()>,
) -> io::Result<()> {
    let max_line_bytes = usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX);
    let run = crate::batch::Run { policy, source: &input.name, as_of: args.as_of, today, decide, max_line_bytes };
    let (reader, len): (Box<dyn io::Read>, u64) = match input.body {
        Body::File(f, len) => (Box::new(f), len),
        Body::Stdin => (Box::new(io::stdin().lock()), 0),
        Body::Text(t) => (Box::new(io::Cursor::new(t.into_bytes())), 0),
    };
    let failed = std::rc::Rc::new(std::cell::RefCell::new(None));
    let reader = Named { inner: reader, name: input.name.clone(), failed: failed.clone() };
    let bar = (progress && len > 0).then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(input.name.clone());
        bar
    });
    let mut on_chunk = |chunk: D::Chunk, bytes: u64| {
        if let Some(b) = &bar {
            b.set_position(bytes);
        }
        // After a read error nothing more is written: the chunk holding it may show the error
        // as a bad record, which it is not.
        if let Some(message) = failed.borrow().clone() {
            return Err(io::Error::other(InputError(message)));
        }
        emit(chunk)
    };
    let mut reader = io::BufReader::with_capacity(1 << 20, reader);
    let result = match input.format {
        Format::Csv => run.csv(&mut reader, &mut on_chunk),
        _ => run.json_lines(&mut reader, &mut on_chunk),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(message) = failed.borrow().clone() {
        return Err(io::Error::other(InputError(message)));
    }
    result.map(|_| ())
}

/// The input error inside an error out of [`stream_input`], if it is one.
fn input_error(e: &io::Error) -> Option<&str> {
    e.get_ref().and_then(|x| x.downcast_ref::<InputError>()).map(|x| x.0.as_str())
}

fn eval(args: EvalArgs, out: &mut dyn Write, err: &mut dyn Write, out_color: bool, err_color: bool) -> io::Result<u8> {
    let Some(policy) = policy_or_report(args.rules.as_ref(), err, err_color)? else { return Ok(EXIT_FAILURE) };
    print_warnings(&policy, err, err_color)?;
    let planned = match plan_inputs(&args.files, args.input, true, args.max_input_bytes) {
        Ok(i) => i,
        Err(msg) => {
            writeln!(err, "error: {msg}")?;
            return Ok(EXIT_FAILURE);
        }
    };
    let today = Date::from_naive(chrono::Local::now().date_naive());
    let progress = io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let mut failed = 0usize;
    let mut total = 0usize;
    let jsonl = args.format == OutputFormat::Jsonl;
    let json_lines = crate::output::jsonl::JsonLines::new(&policy);
    let mut sink = crate::output::ResultWriter::new(args.format, args.as_of, today, out_color).with_policy(&policy);
    // Inputs are opened one at a time, each closed before the next is opened.
    for p in &planned {
        let input = match open_input(p, args.max_input_bytes) {
            Ok(i) => i,
            Err(msg) => {
                // The output written so far stays a whole document.
                sink.finish(out)?;
                writeln!(err, "error: {msg}")?;
                return Ok(EXIT_FAILURE);
            }
        };
        // JSON Lines output is written straight from each verdict (see `jsonl`), decided and
        // serialised in parallel, written in input order.
        // Each JSON Lines record carries the date it was decided at: lines have no shared header.
        let to_jsonl = |doc: &crate::facts::Document, date: Date| {
            let mut buf = Vec::new();
            let (lines, errors) = json_lines.write(doc, date, true, &mut buf);
            (lines, errors, buf)
        };
        let to_records = |doc: &crate::facts::Document, date: Date| {
            policy.records(doc, date).into_iter().map(|r| (date, r)).collect::<Vec<_>>()
        };
        let streamed = match (&input.body, jsonl) {
            (Body::Text(text), true) => {
                for doc in crate::facts::parse(policy.schema(), text, input.format, &input.name) {
                    let (lines, errors, buf) = to_jsonl(&doc, args.as_of.or(doc.as_of).unwrap_or(today));
                    total += lines;
                    failed += errors;
                    out.write_all(&buf)?;
                }
                out.flush()?;
                Ok(())
            }
            (Body::Text(text), false) => {
                for (date, r) in policy.evaluate_text(text, input.format, &input.name, args.as_of, today) {
                    total += 1;
                    failed += usize::from(r.outcome.is_err());
                    sink.push(date, r, out)?;
                }
                Ok(())
            }
            (_, true) => {
                // Each block of documents is written into one buffer by a worker, written out
                // from it here, and the buffer handed back for a later block.
                let batch = crate::output::jsonl::Batch::new(&json_lines, true);
                let mut emit = |chunk: Vec<crate::output::jsonl::Block>| -> io::Result<()> {
                    for block in chunk {
                        total += block.lines;
                        failed += block.errors;
                        out.write_all(&block.bytes)?;
                        batch.recycle(block);
                    }
                    Ok(())
                };
                let r = stream_input(&policy, input, &args, today, progress, &batch, &mut emit);
                r.and_then(|()| out.flush())
            }
            (_, false) => {
                let mut emit = |chunk: Vec<Vec<(Date, Record)>>| -> io::Result<()> {
                    for (date, r) in chunk.into_iter().flatten() {
                        total += 1;
                        failed += usize::from(r.outcome.is_err());
                        sink.push(date, r, out)?;
                    }
                    Ok(())
                };
                stream_input(&policy, input, &args, today, progress, &to_records, &mut emit)
            }
        };
        if let Err(e) = streamed {
            let Some(message) = input_error(&e) else { return Err(e) };
            sink.finish(out)?;
            writeln!(err, "error: {message}")?;
            return Ok(EXIT_FAILURE);
        }
    }
    sink.finish(out)?;
    if total == 0 {
        writeln!(err, "warning: the input held no entries to evaluate")?;
    }
    Ok(if failed > 0 { EXIT_SOME_FAILED } else { EXIT_OK })
}

#[cfg(feature = "serve")]
const SERVE_HELP: &str = "\
Routes:
  POST /v1/evaluate    a fact document (Content-Type application/json or application/yaml) →
                       the JSON `handover eval --format json` prints; ?as_of=YYYY-MM-DD overrides
                       the document's date. application/x-ndjson: one document per line, answered
                       as a stream of JSON Lines (as `eval --format jsonl`).
  POST /v1/explain     the rules tried and the facts they read (?id= for one entry)
  GET  /v1/policy      identity (sha256 of the files), rule ids, actions, fact JSON Schema, reloads
  GET  /healthz        alive;   GET /readyz  ready (503 while shutting down)
  GET  /metrics        Prometheus text;   GET /v1/openapi.json  the OpenAPI document

Answers: 200 with every entry's verdict or error (header x-handover-exit-status: 0 all
decided, 1 some entries errored, as eval's exit status; x-handover-policy: the policy that
decided); 400 a body that is not a fact document (malformed JSON or YAML, bad shared facts,
not UTF-8); 408 over --timeout; 413 over --max-body; 415 another Content-Type; 503 over
--max-concurrency (retry; Retry-After: 1).

Reload: on SIGHUP, or when the files of --rules change (looked at every 500 ms), the rules are
loaded and checked again; only a policy without errors replaces the running one, and requests
already started finish with the policy they started with. A failed reload keeps the running
policy, logs every diagnostic, and shows in /v1/policy (reload.last_error) and /metrics. To
change several files at once, point --rules at a symbolic link and swap the link.

SIGTERM or ctrl-c: /readyz turns 503, no new connections, requests in flight are answered.
Logs (tracing) go to standard error; RUST_LOG sets the level (default info).

Example:
  handover serve --rules rules/ --addr 127.0.0.1:8080
  curl -s -H 'content-type: application/yaml' --data-binary @examples/contoso.yaml \\
       http://127.0.0.1:8080/v1/evaluate";

#[cfg(feature = "serve")]
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Policy file or folder of `.handover` files [default: the built-in multi-channel policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// Address and port to listen on; port 0 picks a free one (the address is printed on start).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,

    /// Largest request body, in bytes; a larger one is answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_body: u64,

    /// Longest a decision request may take, body upload included, in seconds; then 408.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Decision requests handled at once; more are answered 503 at once rather than queued.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_concurrency: u64,
}

/// `handover serve`: the service itself is `crate::serve`.
#[cfg(feature = "serve")]
fn serve(args: ServeArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let config = crate::serve::Config {
        rules: args.rules,
        addr: args.addr,
        max_body: usize::try_from(args.max_body).unwrap_or(usize::MAX),
        timeout: std::time::Duration::from_secs(args.timeout),
        max_concurrency: usize::try_from(args.max_concurrency).unwrap_or(usize::MAX),
        poll: std::time::Duration::from_millis(500),
    };
    match crate::serve::run(config, out) {
        Ok(()) => Ok(EXIT_OK),
        Err(message) => {
            let message = if message.starts_with("error") { message } else { format!("error: {message}\n") };
            err.write_all(message.as_bytes())?;
            Ok(EXIT_FAILURE)
        }
    }
}
