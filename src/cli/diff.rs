//! `handover diff`: what a change of the rules (or of the date) changes.

use std::io::{self, Write};
use std::path::PathBuf;

use super::{CheckFormat, EXIT_FAILURE, EXIT_OK, EXIT_SOME_FAILED, parse_date};
use crate::analysis::diff::{ChangeKind, Diff, Side};
use crate::facts::Format;
use crate::policy::Policy;
use crate::value::Date;

pub(super) const DIFF_HELP: &str = "\
Two policies, OLD and NEW (a file or a folder of `.handover` files, or `REV:PATH` for one at a git
revision of the repository around the current folder; `--builtin` stands for the shipped policy
as OLD), or one policy at two dates (`--as-of A --as-of B`). The comparison is
exact: the same exploration as `check` splits the fact space by the old rules and, inside each
part, by the new rules, and reports every region whose verdict (the action, a parameter, or a
verdict against an error) differs, grouped by (old rule -> new rule). Each group comes with a fact
document that both sides were seen to evaluate differently: save it and run `handover eval` on it.

Schema changes (facts, enum values, defaults, actions added or removed) are listed first. The
verdicts are compared over the facts both policies read: a fact only one side declares takes the
value a document without it gets there (its default, or absent when optional), and an enum fact
ranges over the values both declare; the output says which. With `--facts`, the entries of those
files whose verdict changes are listed instead of the regions.

Examples:
  handover diff rules-2023/ rules/                         what the edit changes
  handover diff main:rules rules/                          the working copy against git's `main`
  handover diff HEAD~1:rules HEAD:rules                    what the last commit changed
  handover diff --builtin my-rules/                        my rules against the shipped ones
  handover diff --builtin --as-of 2024-03-01 --as-of 2024-03-31
  handover diff old/ new/ --facts inventory.csv            which of my subscriptions change

Exit status: 0 no difference; 1 differences (schema or verdicts); 2 an error, or the budget
(`--max-regions`) ran out before any difference was found (then nothing is known).";

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// OLD and NEW policy (files, folders, or REV:PATH at a git revision); one policy with `--as-of A --as-of B`.
    #[arg(value_name = "POLICY", num_args = 0..=2)]
    pub policies: Vec<PathBuf>,

    /// The shipped policy is OLD (or, with `--as-of`, the policy).
    #[arg(long)]
    pub builtin: bool,

    /// Compare one policy at two dates: give it twice, `--as-of A --as-of B`.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Vec<Date>,

    /// List the entries of these fact files whose verdict changes, instead of the regions.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub facts: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,

    /// Work budget of the whole comparison, in steps, as for `check`; past it the results are partial.
    #[arg(long, value_name = "N", default_value_t = crate::analysis::DEFAULT_BUDGET as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_regions: u64,
}

/// The two sides, loaded.
enum Loaded {
    Two(Box<Policy>, Box<Policy>),
    Dates(Box<Policy>, Date, Date),
}

fn load(path: &PathBuf, err: &mut dyn Write, color: bool) -> io::Result<Option<Policy>> {
    // `REV:PATH` that is not a path on disk: the policy as it was at a git revision.
    if !path.exists() {
        if let Some((rev, inner)) = path.to_str().and_then(|s| s.split_once(':')).filter(|(r, _)| !r.is_empty()) {
            let sources = match from_git(rev, inner) {
                Ok(s) => s,
                Err(why) => {
                    writeln!(
                        err,
                        "error: `{}` is not a file or folder, and git cannot read it as REV:PATH: {why}",
                        path.display()
                    )?;
                    return Ok(None);
                }
            };
            return match Policy::from_sources(sources) {
                Ok(p) => Ok(Some(p)),
                Err(e) => {
                    err.write_all(e.render(color).as_bytes())?;
                    Ok(None)
                }
            };
        }
    }
    match Policy::from_path(path) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            err.write_all(e.render(color).as_bytes())?;
            Ok(None)
        }
    }
}

/// Runs git in the current folder; its standard output, or what it said went wrong.
fn git(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = std::process::Command::new("git")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() { Ok(out.stdout) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_string()) }
}

/// The policy at `rev:path` as `Policy::from_path` reads a path: a `.handover` file, or every
/// `.handover` file directly in a folder, in name order. Files are named `rev:path` in diagnostics.
fn from_git(rev: &str, path: &str) -> Result<crate::source::Sources, String> {
    let path = path.trim_end_matches('/');
    let object = format!("{rev}:{path}");
    let kind = git(&["cat-file", "-t", &object])?;
    let mut files = Vec::new();
    if String::from_utf8_lossy(&kind).trim() == "tree" {
        let listing = git(&["ls-tree", "-z", "--name-only", &object])?;
        for name in listing.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let name = String::from_utf8_lossy(name);
            if name.ends_with(".handover") {
                files.push(if path.is_empty() { name.into_owned() } else { format!("{path}/{name}") });
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(format!("the folder `{object}` holds no `.handover` file"));
        }
    } else {
        files.push(path.to_string());
    }
    let mut sources = crate::source::Sources::new();
    for f in files {
        let text = git(&["show", &format!("{rev}:{f}")])?;
        let text = String::from_utf8(text).map_err(|e| format!("`{rev}:{f}` is not UTF-8 text: {e}"))?;
        sources.add(format!("{rev}:{f}"), text);
    }
    Ok(sources)
}

fn sides(args: &DiffArgs, err: &mut dyn Write, color: bool) -> io::Result<Option<Loaded>> {
    let mut builtin = || -> io::Result<Option<Policy>> {
        match Policy::builtin() {
            Ok(p) => Ok(Some(p)),
            Err(e) => {
                err.write_all(e.render(color).as_bytes())?;
                Ok(None)
            }
        }
    };
    let given = args.policies.len() + usize::from(args.builtin);
    match args.as_of.as_slice() {
        [] => {
            if given != 2 {
                writeln!(
                    err,
                    "error: `handover diff` compares two policies: give OLD and NEW (or `--builtin` and NEW), \
                     or one policy with `--as-of A --as-of B`; got {given} polic{}",
                    if given == 1 { "y" } else { "ies" }
                )?;
                return Ok(None);
            }
            let mut ps = args.policies.iter();
            let old = match (args.builtin, ps.next()) {
                (true, _) => builtin()?,
                (false, Some(p)) => load(p, err, color)?,
                (false, None) => None,
            };
            let Some(old) = old else { return Ok(None) };
            let new = match if args.builtin { args.policies.first() } else { ps.next() } {
                Some(p) => load(p, err, color)?,
                None => None,
            };
            Ok(new.map(|new| Loaded::Two(Box::new(old), Box::new(new))))
        }
        [a, b] => {
            if given != 1 {
                writeln!(
                    err,
                    "error: `--as-of A --as-of B` compares one policy at two dates: give one policy (a path, or \
                     `--builtin`); got {given}"
                )?;
                return Ok(None);
            }
            let p = match args.policies.first() {
                Some(p) => load(p, err, color)?,
                None => builtin()?,
            };
            Ok(p.map(|p| Loaded::Dates(Box::new(p), *a, *b)))
        }
        other => {
            writeln!(
                err,
                "error: `--as-of` compares two dates: give it exactly twice (`--as-of A --as-of B`); got {}",
                other.len()
            )?;
            Ok(None)
        }
    }
}

pub(super) fn diff(args: DiffArgs, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> io::Result<u8> {
    let Some(loaded) = sides(&args, err, color)? else { return Ok(EXIT_FAILURE) };
    let budget = usize::try_from(args.max_regions).unwrap_or(usize::MAX);
    if !args.facts.is_empty() {
        return facts(&args, &loaded, out, err);
    }
    let d = match &loaded {
        Loaded::Two(a, b) => a.diff(b, budget),
        Loaded::Dates(p, a, b) => p.diff_as_of(*a, *b, budget),
    };
    let code = if d.differs() {
        EXIT_SOME_FAILED
    } else if !d.exhaustive || d.unconfirmed > 0 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    };
    if args.format == CheckFormat::Json {
        let doc = json(&d);
        out.write_all((serde_json::to_string_pretty(&doc).map_err(io::Error::other)? + "\n").as_bytes())?;
    } else {
        out.write_all(human(&d).as_bytes())?;
    }
    if code == EXIT_FAILURE {
        writeln!(
            err,
            "error: no difference found, but the comparison is not complete ({}); raise `--max-regions`",
            if d.exhaustive { "some regions rest on comparisons it does not model" } else { "the budget ran out" }
        )?;
    }
    Ok(code)
}

fn side_json(s: &Side) -> serde_json::Value {
    match s {
        Side::Rule { id, action } => serde_json::json!({"rule": id, "action": action}),
        Side::NoRule => serde_json::json!({"error": "no rule matches"}),
        Side::Error { rule, fact } => serde_json::json!({"rule": rule, "error": format!("reads absent `{fact}`")}),
    }
}

fn json(d: &Diff) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = d
        .changes
        .iter()
        .map(|c| {
            let (kind, params) = match &c.kind {
                ChangeKind::Action => ("action", vec![]),
                ChangeKind::Params(ps) => ("params", ps.clone()),
                ChangeKind::Decided => ("decided", vec![]),
            };
            serde_json::json!({
                "old": side_json(&c.old),
                "new": side_json(&c.new),
                "kind": kind,
                "params": params,
                "regions": c.regions,
                "witness": c.witness,
                "old_verdict": c.old_verdict,
                "new_verdict": c.new_verdict,
            })
        })
        .collect();
    serde_json::json!({
        "dates": d.dates.map(|(a, b)| vec![a.to_string(), b.to_string()]),
        "differs": d.differs(),
        "exhaustive": d.exhaustive,
        "schema_changes": d.schema_changes.iter().map(|c| serde_json::json!({
            "kind": c.kind, "name": c.name, "message": c.message,
        })).collect::<Vec<_>>(),
        "compared": d.not_compared.is_none(),
        "not_compared": d.not_compared,
        "assumptions": d.assumptions,
        "changes": changes,
        "regions": d.regions,
        "unconfirmed_regions": d.unconfirmed,
    })
}

fn human(d: &Diff) -> String {
    let mut s = String::new();
    if let Some((a, b)) = d.dates {
        s.push_str(&format!("as of {a} -> as of {b}\n"));
    }
    if !d.schema_changes.is_empty() {
        s.push_str(&format!("{} schema change(s):\n", d.schema_changes.len()));
        for c in &d.schema_changes {
            s.push_str(&format!("  {}\n", c.message));
        }
    }
    if let Some(why) = &d.not_compared {
        s.push_str(&format!("verdicts not compared: {why}\n"));
        return s;
    }
    if !d.assumptions.is_empty() {
        s.push_str("verdicts compared over the facts both read:\n");
        for a in &d.assumptions {
            s.push_str(&format!("  {a}\n"));
        }
    }
    let regions: usize = d.changes.iter().map(|c| c.regions).sum();
    if d.changes.is_empty() {
        s.push_str(&format!("no verdict changes ({} regions compared)\n", d.regions));
    } else {
        s.push_str(&format!("{} verdict change(s), {regions} of {} regions compared:\n", d.changes.len(), d.regions));
    }
    for c in &d.changes {
        let what = match &c.kind {
            ChangeKind::Action => "another action".to_string(),
            ChangeKind::Params(ps) => format!("the same action, other {}", ps.join(", ")),
            ChangeKind::Decided => "a verdict against an error".to_string(),
        };
        s.push_str(&format!("\n{} -> {}: {what} ({} region(s))\n", c.old, c.new, c.regions));
        s.push_str(&format!("  old: {}\n  new: {}\n  for example:\n", c.old_verdict, c.new_verdict));
        for line in c.witness.lines() {
            s.push_str(&format!("    {line}\n"));
        }
    }
    if d.unconfirmed > 0 {
        s.push_str(&format!(
            "\nnote: {} region(s) may differ, but no fact document showing it was found (they rest on comparisons \
             the analysis does not model)\n",
            d.unconfirmed
        ));
    }
    if !d.exhaustive {
        s.push_str(&format!(
            "\nnote: the comparison stopped after {} steps; these results are partial (raise `--max-regions`)\n",
            d.budget
        ));
    }
    s
}

/// `--facts`: the entries whose verdict changes.
fn facts(args: &DiffArgs, loaded: &Loaded, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let today = Date::from_naive(chrono::Local::now().date_naive());
    let mut texts = Vec::new();
    for name in &args.facts {
        let Some(format) = Format::from_path(name) else {
            writeln!(
                err,
                "error: cannot tell the format of `{name}`: expected a file ending in .yaml, .yml, .json, .jsonl or .csv"
            )?;
            return Ok(EXIT_FAILURE);
        };
        match crate::source::read_text(std::path::Path::new(name)) {
            Ok(t) => texts.push((name, format, t)),
            Err(e) => {
                writeln!(err, "error: cannot read facts `{name}`: {e}")?;
                return Ok(EXIT_FAILURE);
            }
        }
    }
    let (old, new, da, db) = match loaded {
        Loaded::Two(a, b) => (&**a, &**b, None, None),
        Loaded::Dates(p, a, b) => (&**p, &**p, Some(*a), Some(*b)),
    };
    let show = |o: &Result<crate::eval::verdict::Decision, crate::eval::verdict::EntryError>| match o {
        Ok(d) => (crate::policy::describe_decision(d), crate::policy::describe_decision(d)),
        Err(e) => ("error".to_string(), format!("error: {e}")),
    };
    let mut changed = Vec::new();
    let mut total = 0usize;
    for (name, format, text) in &texts {
        let a = old.evaluate_text(text, *format, name, da, today);
        let b = new.evaluate_text(text, *format, name, db, today);
        for (i, ((_, ra), (_, rb))) in a.iter().zip(b.iter()).enumerate() {
            total += 1;
            let ((ka, va), (kb, vb)) = (show(&ra.outcome), show(&rb.outcome));
            if ka != kb {
                let key = ra.key.clone().unwrap_or_else(|| format!("entry {}", i + 1));
                changed.push(serde_json::json!({"file": name, "key": key, "old": va, "new": vb}));
            }
        }
        if a.len() != b.len() {
            changed.push(serde_json::json!({
                "file": name, "key": null,
                "old": format!("{} entries", a.len()), "new": format!("{} entries", b.len()),
            }));
        }
    }
    if args.format == CheckFormat::Json {
        let doc = serde_json::json!({"entries": total, "changed": changed});
        out.write_all((serde_json::to_string_pretty(&doc).map_err(io::Error::other)? + "\n").as_bytes())?;
    } else {
        for c in &changed {
            let s = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            writeln!(out, "{} {}:\n  old: {}\n  new: {}", s("file"), s("key"), s("old"), s("new"))?;
        }
        writeln!(out, "{} of {total} entries change", changed.len())?;
    }
    Ok(if changed.is_empty() { EXIT_OK } else { EXIT_SOME_FAILED })
}
