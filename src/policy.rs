//! [`Policy`]: load (parse → check → compile) once, then evaluate many fact sets.

use std::path::{Path, PathBuf};

use crate::analysis::{self, Analysis};
use crate::compile::{self, Compiled, CompiledRule};
use crate::diagnostic::{PolicyDiagnostic, render};
use crate::eval::verdict::{Decision, EntryError, Record, Verdict};
use crate::eval::{self, Env, EvalError};
use crate::facts::{self, Document, Format};
use crate::language::check;
use crate::language::parser;
use crate::language::schema::Schema;
use crate::source::Sources;
use crate::value::{Date, Value};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The extension of policy files in a policy folder.
pub const POLICY_EXTENSION: &str = "handover";

/// Whether a folder entry named like a policy file is a file that can be read; the error says
/// why not (a symbolic link is followed, and named with its target when that fails).
fn policy_entry_is_file(path: &Path) -> Result<(), LoadError> {
    use crate::source::ReadError;
    let fail = |why: String, kind: std::io::ErrorKind| LoadError::Io {
        path: path.to_path_buf(),
        source: ReadError::Other(std::io::Error::new(kind, why)),
    };
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) if m.is_dir() => Err(LoadError::Io { path: path.to_path_buf(), source: ReadError::IsADirectory }),
        Ok(_) => Err(fail("not a regular file".into(), std::io::ErrorKind::InvalidInput)),
        Err(e) if link => {
            let target = std::fs::read_link(path).map_or_else(|_| "?".into(), |t| t.display().to_string());
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                format!("it is a symbolic link to `{target}`, which does not exist")
            } else {
                format!("it is a symbolic link to `{target}`, which cannot be followed: {e}")
            };
            Err(fail(why, e.kind()))
        }
        Err(e) => Err(LoadError::Io { path: path.to_path_buf(), source: e.into() }),
    }
}

/// Why a policy could not be loaded. `Display` says what and, for an invalid policy, names the
/// first error and where it is; [`LoadError::render`] shows every diagnostic with its snippet.
/// `Debug` is as short (it never dumps the policy's text).
#[derive(thiserror::Error)]
pub enum LoadError {
    #[error("cannot read policy `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: crate::source::ReadError,
    },
    #[error("no `.{POLICY_EXTENSION}` files in `{path}`")]
    NoFiles { path: PathBuf },
    #[error(
        "the policy has {} error(s){}",
        count_errors(.diagnostics),
        first_error(.diagnostics, .sources).map(|e| format!("; the first: {e}")).unwrap_or_default()
    )]
    Invalid { sources: Sources, diagnostics: Vec<PolicyDiagnostic> },
}

fn count_errors(diags: &[PolicyDiagnostic]) -> usize {
    diags.iter().filter(|d| d.severity == crate::diagnostic::Severity::Error).count()
}

/// `MESSAGE [CODE] at FILE:LINE:COL` for the first error.
fn first_error(diags: &[PolicyDiagnostic], sources: &Sources) -> Option<String> {
    let d = diags.iter().find(|d| d.severity == crate::diagnostic::Severity::Error)?;
    let at = d.labels.first().and_then(|(span, _)| {
        let file = sources.get(span.file)?;
        let (line, col) = sources.line_col(span.file, span.start);
        Some(format!(" at {}:{line}:{col}", file.name))
    });
    Some(format!("{} [{}]{}", d.message, d.code, at.unwrap_or_default()))
}

impl miette::Diagnostic for LoadError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(LoadError::code(self)))
    }
}

impl std::fmt::Debug for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io { path, source } => f.debug_struct("Io").field("path", path).field("source", source).finish(),
            LoadError::NoFiles { path } => f.debug_struct("NoFiles").field("path", path).finish(),
            LoadError::Invalid { sources, diagnostics } => f
                .debug_struct("Invalid")
                .field("files", &sources.files().iter().map(|s| s.name.as_str()).collect::<Vec<_>>())
                .field("errors", &count_errors(diagnostics))
                .field("first", &first_error(diagnostics, sources))
                .finish(),
        }
    }
}

impl LoadError {
    /// The stable code of the problem: `policy::unreadable` (a file or folder cannot be read),
    /// `policy::no-files` (a folder without policy files), or for an invalid policy the code of
    /// its first error (`parse::syntax`, `check::unknown-fact`, …; the README lists them all).
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Io { .. } => "policy::unreadable",
            LoadError::NoFiles { .. } => "policy::no-files",
            LoadError::Invalid { diagnostics, .. } => diagnostics
                .iter()
                .find(|d| d.severity == crate::diagnostic::Severity::Error)
                .map_or("policy::invalid", |d| d.code),
        }
    }

    /// Every diagnostic of an invalid policy (errors and warnings), in the order found; empty
    /// for the other kinds.
    pub fn diagnostics(&self) -> &[PolicyDiagnostic] {
        match self {
            LoadError::Invalid { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }

    /// The error with any policy diagnostics rendered as source snippets: miette's graphical
    /// report with the `fancy` feature (part of the default `cli`), plain narrated text without it.
    pub fn render(&self, color: bool) -> String {
        match self {
            LoadError::Invalid { sources, diagnostics } => {
                let n = count_errors(diagnostics);
                let plural = if n == 1 { "" } else { "s" };
                format!("{}error: the policy has {n} error{plural}\n", render(diagnostics, sources, color))
            }
            other => format!("error: {other}\n"),
        }
    }
}

/// A checked, compiled policy. Cheap to share between threads (`Send + Sync`).
#[derive(Clone, Debug)]
pub struct Policy {
    /// The text, the schema and the rules.
    compiled: Compiled,
    warnings: Vec<PolicyDiagnostic>,
    /// The rules as a decision diagram, or why they are decided one by one.
    diagram: Result<crate::analysis::diagram::Diagram, crate::analysis::diagram::NoDiagram>,
}

impl Policy {
    /// The policy shipped with handover (the files of `rules/`, embedded at build time).
    pub fn builtin() -> Result<Policy, LoadError> {
        let mut sources = Sources::new();
        for (name, text) in BUILTIN_RULES {
            sources.add(*name, *text);
        }
        Policy::from_sources(sources)
    }

    /// Loads one policy text; `name` is used in diagnostics.
    pub fn from_text(name: &str, text: &str) -> Result<Policy, LoadError> {
        let mut sources = Sources::new();
        sources.add(name, text);
        Policy::from_sources(sources)
    }

    /// Loads a policy file, or every `.handover` file of a folder in name order. A folder's policy
    /// is all of its `.handover` entries or nothing: an entry that cannot be read (a dangling
    /// symbolic link or a loop, a folder, no permission) is an error naming it, never skipped.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Policy, LoadError> {
        let path = path.as_ref();
        let io = |e: std::io::Error| LoadError::Io { path: path.to_path_buf(), source: e.into() };
        let meta = std::fs::metadata(path).map_err(io)?;
        let mut files = Vec::new();
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).map_err(io)? {
                // An entry the folder listing itself fails on leaves the policy unknown: an error.
                let p = entry.map_err(io)?.path();
                // Named `NAME.handover`, whatever it is: whether it can be read is checked below.
                if p.extension().is_some_and(|e| e == POLICY_EXTENSION) {
                    files.push(p);
                }
            }
            files.sort();
            if files.is_empty() {
                return Err(LoadError::NoFiles { path: path.to_path_buf() });
            }
            // Checked in name order, so the error names the first bad entry whatever the listing order.
            for f in &files {
                policy_entry_is_file(f)?;
            }
        } else {
            files.push(path.to_path_buf());
        }
        let mut sources = Sources::new();
        for f in files {
            let text = crate::source::read_text(&f).map_err(|source| LoadError::Io { path: f.clone(), source })?;
            sources.add(f.display().to_string(), text);
        }
        Policy::from_sources(sources)
    }

    /// Parses, checks and compiles a set of files. All problems of every file are reported.
    pub fn from_sources(sources: Sources) -> Result<Policy, LoadError> {
        let mut ast = crate::language::ast::Policy::default();
        let mut diagnostics = Vec::new();
        for (i, f) in sources.files().iter().enumerate() {
            match parser::parse_file(i, &f.text) {
                Ok(p) => ast.extend(p),
                Err(d) => diagnostics.extend(d),
            }
        }
        if !diagnostics.is_empty() {
            return Err(LoadError::Invalid { sources, diagnostics });
        }
        let checked = match check::check(&ast) {
            Ok(c) => c,
            Err(diagnostics) => return Err(LoadError::Invalid { sources, diagnostics }),
        };
        let mut warnings = checked.warnings.clone();
        let (schema, rules) = match compile::compile(checked, eval::constant) {
            Ok(c) => c,
            Err(broken) => return Err(LoadError::Invalid { sources, diagnostics: vec![broken] }),
        };
        let diagram = crate::analysis::diagram::build_diagram(&schema, &rules);
        if let Err(why) = &diagram {
            warnings.extend(no_diagram_note(*why));
        }
        Ok(Policy { compiled: Compiled { sources, schema, rules }, warnings, diagram })
    }

    pub fn schema(&self) -> &Schema {
        &self.compiled.schema
    }

    pub fn sources(&self) -> &Sources {
        &self.compiled.sources
    }

    /// Warnings found while checking (the policy is usable regardless).
    pub fn warnings(&self) -> &[PolicyDiagnostic] {
        &self.warnings
    }

    /// The policy's identity: `sha256:` and the hash of its files (names without their folder,
    /// and texts, in load order), so that any verdict can be traced to the exact rules that made
    /// it. Two loads of the same files have the same identity wherever they are.
    pub fn identity(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for f in self.compiled.sources.files() {
            let name = Path::new(&f.name).file_name().map_or(f.name.clone(), |n| n.to_string_lossy().into_owned());
            // Lengths first, so that no two different file sets hash the same bytes.
            hash.update((name.len() as u64).to_le_bytes());
            hash.update(name.as_bytes());
            hash.update((f.text.len() as u64).to_le_bytes());
            hash.update(f.text.as_bytes());
        }
        format!("sha256:{:x}", hash.finalize())
    }

    /// A name for the policy: its file, or the folder its files share (`rules` for the shipped one).
    pub fn name(&self) -> String {
        let files = self.compiled.sources.files();
        match files {
            [one] => one.name.clone(),
            _ => {
                let parents: Vec<_> =
                    files.iter().map(|f| Path::new(&f.name).parent().map(Path::to_path_buf)).collect();
                match parents.first() {
                    Some(Some(p)) if parents.iter().all(|q| q.as_ref() == Some(p)) && !p.as_os_str().is_empty() => {
                        p.display().to_string()
                    }
                    _ => files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", "),
                }
            }
        }
    }

    /// Rule ids in evaluation order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.compiled.rules.iter().map(|r| r.id.as_str())
    }

    /// The days rule `id` is in force (`None`: no such rule); a rule without a period gets
    /// [`Period::ALWAYS`](crate::language::period::Period::ALWAYS).
    pub fn rule_period(&self, id: &str) -> Option<crate::language::period::Period> {
        self.rules().iter().find(|r| r.id == id).map(|r| r.period)
    }

    pub(crate) fn rules(&self) -> &[CompiledRule] {
        &self.compiled.rules
    }

    /// Decides one entry: `document` holds the document-scoped facts in slot order, `item` the
    /// entry's. Facts built by [`crate::facts`] (from text, or from a Rust value with
    /// [`Policy::document_from_value`]) are always in this shape.
    ///
    /// **Unchecked**: the slot vectors are trusted, not validated against the schema. They are
    /// for speed, when the same facts are decided many times; a value of the wrong type in a slot
    /// (`Value::Text` where the schema says `int`), a wrong length or an enum index past the
    /// enum's end gives a wrong verdict or an evaluation error, never a fact error. Build them
    /// with [`crate::facts`] (or check them once with [`Policy::document_from_value`]) unless
    /// they come from a source that already follows the schema.
    pub fn evaluate(&self, document: &[Value], item: &[Value], as_of: Date) -> Result<Verdict<'_>, EvalError> {
        let env = Env { document, item, as_of };
        let Ok(d) = &self.diagram else { return self.evaluate_after(&env, None) };
        // Most decisions: the table names the rule with its verdict made.
        let target = eval::table_target(d, &env);
        if let Some(analysis::diagram::Target::Verdict { rule, action, numbers }) = target {
            if (*rule as usize) < self.compiled.rules.len() {
                return Verdict::from_numbers(&self.compiled, *rule as usize, *action as usize, *numbers);
            }
        }
        self.evaluate_after(&env, target)
    }

    /// [`Policy::evaluate`] once the diagram's table led to `target` (out of line, so that the
    /// common case stays small).
    #[inline(never)]
    fn evaluate_after(
        &self,
        env: &Env<'_>,
        target: Option<&analysis::diagram::Target>,
    ) -> Result<Verdict<'_>, EvalError> {
        if let Ok(d) = &self.diagram {
            match eval::walk_after(d, &self.compiled.rules, env, target)? {
                eval::Walked::Planned { rule, action, numbers } => {
                    return Verdict::from_numbers(&self.compiled, rule, action, numbers);
                }
                eval::Walked::Rule(rule) => return eval::verdict_of(&self.compiled, d, rule, env),
                eval::Walked::Interpret => {}
            }
        }
        let (rule, params) = eval::decide(&self.compiled.rules, env)?;
        Verdict::new(&self.compiled, rule, params)
    }

    /// Which rule decides, without computing its parameters: for counting or routing, where the
    /// verdict's details are not needed. (Errors in computing the parameters are not reported.)
    pub fn deciding_rule(&self, document: &[Value], item: &[Value], as_of: Date) -> Result<&str, EvalError> {
        let env = Env { document, item, as_of };
        let (rule, _) = match &self.diagram {
            Ok(d) => eval::decide_diagram(d, &self.compiled.rules, &env, false)?,
            Err(_) => eval::decide(&self.compiled.rules, &env)?,
        };
        self.compiled
            .rules
            .get(rule)
            .map(|r| r.id.as_str())
            .ok_or(EvalError { rule: Some(rule), kind: eval::EvalErrorKind::Internal })
    }

    /// [`Policy::evaluate`] by trying the rules one by one, without the decision diagram: the
    /// reference the diagram is tested against.
    pub fn evaluate_interpreted(
        &self,
        document: &[Value],
        item: &[Value],
        as_of: Date,
    ) -> Result<Verdict<'_>, EvalError> {
        self.compiled.evaluate_interpreted(document, item, as_of)
    }

    /// Size of the decision diagram the rules compiled to (`None`: decided rule by rule).
    pub fn diagram_size(&self) -> Option<usize> {
        self.diagram.as_ref().ok().map(|d| d.nodes.len())
    }

    /// Why the rules are decided one by one (`None`: through the decision diagram).
    pub fn no_diagram(&self) -> Option<crate::analysis::diagram::NoDiagram> {
        self.diagram.as_ref().err().copied()
    }

    /// Explains the decision for one entry (the same arguments as [`Policy::evaluate`]): every
    /// rule tried, each condition's value and the facts it read, and what would change the verdict.
    pub fn explain(&self, document: &[Value], item: &[Value], as_of: Date) -> crate::eval::explain::Explanation {
        self.compiled.explain(document, item, as_of)
    }

    /// Analyses the policy with the default budget: gaps, dead rules, overlaps and reads of
    /// absent facts (see [`crate::analysis`]). `max_witnesses` bounds the number of gap
    /// witnesses kept.
    pub fn analyze(&self, max_witnesses: usize) -> Analysis {
        analysis::analyze_with_budget(&self.compiled, max_witnesses, analysis::DEFAULT_BUDGET)
    }

    /// [`Policy::analyze`] within `budget` steps for the whole analysis (see
    /// [`analysis::DEFAULT_BUDGET`]); past it the results are partial and say so.
    pub fn analyze_with_budget(&self, max_witnesses: usize, budget: usize) -> Analysis {
        analysis::analyze_with_budget(&self.compiled, max_witnesses, budget)
    }

    /// What changes from this policy to `other`: schema changes, then every region of facts
    /// whose verdict differs, grouped by (old rule → new rule), each with a fact document both
    /// evaluate differently (see [`analysis::diff`]). `budget` as for [`Policy::analyze_with_budget`].
    pub fn diff(&self, other: &Policy, budget: usize) -> analysis::diff::Diff {
        let evaluate = |new: bool, doc: &str, today: Date| (if new { other } else { self }).witness(doc, None, today);
        analysis::diff::diff(analysis::diff::Sides::Policies(&self.compiled, &other.compiled), budget, &evaluate)
    }

    /// What changes between evaluating this policy as of `a` and as of `b`.
    pub fn diff_as_of(&self, a: Date, b: Date, budget: usize) -> analysis::diff::Diff {
        let evaluate = |new: bool, doc: &str, today: Date| self.witness(doc, Some(if new { b } else { a }), today);
        analysis::diff::diff(analysis::diff::Sides::Dates(&self.compiled, a, b), budget, &evaluate)
    }

    /// The verdicts of a witness document: what is compared (errors all alike) and what is shown;
    /// `None` when it does not follow the schema.
    fn witness(&self, doc: &str, as_of: Option<Date>, today: Date) -> Option<(String, String)> {
        let (mut key, mut shown) = (Vec::new(), Vec::new());
        for (_, r) in self.evaluate_text(doc, Format::Yaml, "witness", as_of, today) {
            match r.outcome {
                Ok(d) => {
                    key.push(describe_decision(&d));
                    shown.push(describe_decision(&d));
                }
                Err(EntryError::Facts(_)) => return None,
                Err(e) => {
                    key.push("error".into());
                    shown.push(format!("error: {e}"));
                }
            }
        }
        Some((key.join("; "), shown.join("; ")))
    }

    /// The findings of an analysis as diagnostics, pointing into the policy's text.
    pub fn analysis_diagnostics(&self, analysis: &Analysis) -> Vec<PolicyDiagnostic> {
        analysis::diagnostics(&self.compiled, analysis)
    }

    /// An evaluation error as an entry's error: its kind, its rule by id, and in words.
    pub fn entry_error(&self, err: &EvalError) -> EntryError {
        EntryError::Decide {
            kind: err.kind.clone(),
            rule: err.rule.and_then(|r| self.compiled.rules.get(r)).map(|r| r.id.clone()),
            message: self.describe_error(err),
        }
    }

    /// Describes an evaluation error in words: which fact, which rule.
    pub fn describe_error(&self, err: &EvalError) -> String {
        self.compiled.describe_error(err)
    }
}

/// A decision in one line: `action(param: value, ...)`.
pub(crate) fn describe_decision(d: &Decision) -> String {
    if d.params.is_empty() {
        return d.action.clone();
    }
    let ps: Vec<String> = d.params.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{}({})", d.action, ps.join(", "))
}

/// The note saying that a policy too large or too intertwined for the decision diagram is
/// decided rule by rule (a policy the diagram cannot represent exactly needs none: that is by
/// design, not a limit).
fn no_diagram_note(why: crate::analysis::diagram::NoDiagram) -> Option<PolicyDiagnostic> {
    use crate::analysis::diagram::{DIAGRAM_BUDGET, DIAGRAM_NODE_LIMIT, NoDiagram};
    let what = match why {
        NoDiagram::Budget => format!("building it took more than {DIAGRAM_BUDGET} steps"),
        NoDiagram::TooLarge => format!("it would have more than {DIAGRAM_NODE_LIMIT} nodes"),
        NoDiagram::Unsupported => return None,
    };
    Some(PolicyDiagnostic {
        severity: crate::diagnostic::Severity::Advice,
        code: "compile::no-diagram",
        message: format!(
            "the rules are decided one by one, not through a decision diagram: {what}; verdicts are the same, \
             each decision is slower"
        ),
        labels: vec![],
        help: Some(
            "nothing to do if evaluation is fast enough; conditions that combine many independent facts \
             with `or` inside `and` (or very many rules) multiply the diagram's size"
                .into(),
        ),
    })
}

impl Policy {
    /// Evaluates every entry of a fact document into output records, in entry order. A bad
    /// entry becomes an error record; the others are still decided. `as_of` is the date to use
    /// (see [`Document::as_of`] for the document's own).
    pub fn records(&self, doc: &Document, as_of: Date) -> Vec<Record> {
        let (label_key, key_name) = self.output_keys();
        self.outcomes(doc, as_of)
            .into_iter()
            .map(|(key, outcome)| Record {
                source: doc.source.clone(),
                label_key: label_key.to_string(),
                label: doc.label.clone(),
                key_name: key_name.to_string(),
                key: key.map(str::to_string),
                outcome: outcome.map(|v| Decision::from_verdict(&v)),
            })
            .collect()
    }

    /// The output keys naming a document and an entry: the `@label` fact's group and the
    /// repeated group (`customer` and `subscription` for the shipped policy).
    pub fn output_keys(&self) -> (&str, &str) {
        self.compiled.schema.output_keys()
    }

    /// Each entry of a document with its `@key` and its verdict or error message, in order. A
    /// document whose shared facts are wrong gives that error for every entry (or once, when it
    /// has none).
    pub fn outcomes<'a>(
        &'a self,
        doc: &'a Document,
        as_of: Date,
    ) -> Vec<(Option<&'a str>, Result<Verdict<'a>, EntryError>)> {
        let shared = match &doc.shared {
            Ok(s) => s,
            Err(errs) => {
                let error = EntryError::Facts(errs.clone());
                if doc.entries.is_empty() {
                    return vec![(None, Err(error))];
                }
                return doc.entries.iter().map(|e| (e.key.as_deref(), Err(error.clone()))).collect();
            }
        };
        doc.entries
            .iter()
            .map(|e| {
                let outcome = match &e.values {
                    Err(errs) => Err(EntryError::Facts(errs.clone())),
                    Ok(item) => self.evaluate(shared, item, as_of).map_err(|err| self.entry_error(&err)),
                };
                (e.key.as_deref(), outcome)
            })
            .collect()
    }

    /// Reads fact text in the given format and evaluates it. `as_of` overrides the documents'
    /// own dates when given; otherwise each document's `as_of`, or `today`.
    pub fn evaluate_text(
        &self,
        text: &str,
        format: Format,
        source: &str,
        as_of: Option<Date>,
        today: Date,
    ) -> Vec<(Date, Record)> {
        facts::parse(&self.compiled.schema, text, format, source)
            .iter()
            .flat_map(|doc| {
                let date = as_of.or(doc.as_of).unwrap_or(today);
                self.records(doc, date).into_iter().map(move |r| (date, r))
            })
            .collect()
    }

    /// Checks facts held in a Rust value (a struct deriving `Serialize`, a map, a
    /// `serde_json::Value`) against the policy's schema, exactly as a fact file with the same
    /// content: see [`facts::from_value`]. `source` names the document in records and errors.
    pub fn document_from_value<T: serde::Serialize + ?Sized>(&self, value: &T, source: &str) -> Document {
        facts::from_value(&self.compiled.schema, value, source)
    }

    /// [`Policy::evaluate_text`] for facts held in a Rust value: the same records as a file with
    /// the same content (the same errors for bad values, the same defaults). `as_of` overrides
    /// the value's own `as_of` when given; otherwise the value's, or `today`.
    ///
    /// ```
    /// use handover::{Date, Policy};
    /// use serde::Serialize;
    ///
    /// #[derive(Serialize)]
    /// struct Facts { partner: Partner, subscriptions: Vec<Subscription> }
    /// #[derive(Serialize)]
    /// struct Partner { role: &'static str }
    /// #[derive(Serialize)]
    /// struct Subscription { id: String, service: &'static str, channel: &'static str, term_end: Option<Date> }
    ///
    /// let policy = Policy::builtin()?;
    /// let today = Date::parse("2024-03-15").ok_or("a date")?;
    /// let facts = Facts {
    ///     partner: Partner { role: "admin_agent" },
    ///     subscriptions: vec![Subscription {
    ///         id: "sub-1".into(),
    ///         service: "license_based",
    ///         channel: "fifty",
    ///         term_end: None,
    ///     }],
    /// };
    /// let records = policy.evaluate_value(&facts, "facts", None, today);
    /// let (_, record) = &records[0];
    /// let error = record.outcome.as_ref().unwrap_err().to_string();
    /// assert!(error.starts_with("subscriptions[0].channel: unknown value `fifty`"), "{error}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn evaluate_value<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        source: &str,
        as_of: Option<Date>,
        today: Date,
    ) -> Vec<(Date, Record)> {
        let doc = self.document_from_value(value, source);
        let date = as_of.or(doc.as_of).unwrap_or(today);
        self.records(&doc, date).into_iter().map(|r| (date, r)).collect()
    }
}
