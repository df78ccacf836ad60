//! Policy test cases: table-driven YAML files of facts and expected verdicts, run against a
//! policy with expected/actual diffs and rule coverage. Also [`snapshot`], which renders the
//! verdicts for a folder of fact files in a stable shape for insta snapshots.
//!
//! A case file looks like this (the group names are the policy's own):
//!
//! ```yaml
//! defaults:                       # merged under every case, group by group
//!   as_of: 2024-03-15
//!   partner: { role: sales_agent }
//! cases:
//!   - name: bought through Open
//!     subscription: { id: s1, service: license_based, channel: open }
//!     expect: some_action                            # just the action, or:
//!   - name: term still running
//!     subscription: { id: s2, service: license_based, channel: advisor, term_end: 2024-06-30 }
//!     expect: { action: wait, params: { days_left: 107 }, rule: term_running }
//!   - name: no term end cannot be decided
//!     subscription: { id: s3, service: license_based, channel: advisor }
//!     expect: { error: "subscription.term_end" }     # the error message contains this text
//! ```
//!
//! `rules/tests/multichannel.yaml` is a complete example.

use std::path::Path;

use crate::eval::verdict::Record;
use crate::facts::{self, Raw};
use crate::policy::Policy;
use crate::value::Date;

/// What a case expects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    pub action: Option<String>,
    /// Expected parameters (a subset: parameters not named are not compared).
    pub params: Vec<(String, serde_json::Value)>,
    pub rule: Option<String>,
    /// The entry must fail with a message containing this text.
    pub error: Option<String>,
}

/// One test case, ready to run.
#[derive(Clone, Debug)]
pub struct Case {
    pub file: String,
    pub name: String,
    document: Raw<'static>,
    pub expect: Expect,
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    /// `None` when it passed; otherwise what differs, one line per difference.
    pub failure: Option<Vec<String>>,
    /// The rule that decided, if any.
    pub rule: Option<String>,
}

/// All results and the rules they exercised.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub results: Vec<CaseResult>,
    /// Each rule id with the number of cases it decided, in policy order.
    pub coverage: Vec<(String, usize)>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.failure.is_none()).count()
    }

    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// Rules no case exercised.
    pub fn uncovered(&self) -> Vec<&str> {
        self.coverage.iter().filter(|(_, n)| *n == 0).map(|(r, _)| r.as_str()).collect()
    }
}

/// Reads a case file. `file` names it in messages.
pub fn parse_cases(policy: &Policy, text: &str, file: &str) -> Result<Vec<Case>, String> {
    facts::yaml_depth_ok(text).map_err(|e| format!("{file}: not valid YAML: {e}"))?;
    let raw = facts::yaml_tree(text).map_err(|e| format!("{file}: not valid YAML: {e}"))?;
    let Raw::Map(top) = raw else {
        return Err(format!("{file}: expected a mapping with `cases` (and optionally `defaults`)"));
    };
    let mut defaults = Vec::new();
    let mut cases_raw = None;
    for (k, v) in top {
        match (k.as_str(), v) {
            (Some("defaults"), Raw::Map(m)) => defaults = m,
            (Some("defaults"), Raw::Null) => {}
            (Some("cases"), Raw::Seq(s)) => cases_raw = Some(s),
            (Some(other), _) if other == "defaults" || other == "cases" => {
                return Err(format!(
                    "{file}: `{other}` must be a {}",
                    if other == "cases" { "list" } else { "mapping" }
                ));
            }
            (key, _) => {
                return Err(format!(
                    "{file}: unknown key `{}`; a case file has `defaults` and `cases`",
                    key.unwrap_or("?")
                ));
            }
        }
    }
    let cases_raw = cases_raw.ok_or_else(|| format!("{file}: no `cases` list"))?;
    let schema = policy.schema();
    let item = schema.item_group.and_then(|g| schema.groups.get(g));
    let mut out = Vec::new();
    for (i, c) in cases_raw.into_iter().enumerate() {
        let at = format!("{file}: cases[{i}]");
        let Raw::Map(fields) = c else { return Err(format!("{at}: expected a mapping")) };
        let mut name = format!("case {}", i + 1);
        let mut expect = None;
        let mut doc: Vec<(Raw, Raw)> = defaults.clone();
        let mut entry = None;
        for (k, v) in fields {
            let key = k.as_str().unwrap_or("?").to_string();
            match key.as_str() {
                "name" => match v {
                    Raw::Str(s) => name = s.into_owned(),
                    _ => return Err(format!("{at}.name: expected text")),
                },
                "expect" => expect = Some(parse_expect(v).map_err(|e| format!("{at}.expect: {e}"))?),
                k if item.is_some_and(|g| g.name == k) => entry = Some(v),
                _ => merge(&mut doc, key, v),
            }
        }
        let expect = expect.ok_or_else(|| format!("{at} (`{name}`): no `expect`"))?;
        if let Some(item) = item {
            let list = item.list.clone().unwrap_or_default();
            let entry = entry.ok_or_else(|| format!("{at} (`{name}`): no `{}` facts", item.name))?;
            doc.push((Raw::Str(list.into()), Raw::Seq(vec![entry])));
        }
        out.push(Case { file: file.to_string(), name, document: Raw::Map(doc), expect });
    }
    Ok(out)
}

/// Merges a case's group over the defaults' group of the same name, key by key.
fn merge(doc: &mut Vec<(Raw<'static>, Raw<'static>)>, key: String, value: Raw<'static>) {
    match doc.iter_mut().find(|(k, _)| k.as_str() == Some(key.as_str())) {
        Some((_, Raw::Map(base))) if matches!(value, Raw::Map(_)) => {
            if let Raw::Map(over) = value {
                for (k, v) in over {
                    match base.iter_mut().find(|(bk, _)| *bk == k) {
                        Some((_, bv)) => *bv = v,
                        None => base.push((k, v)),
                    }
                }
            }
        }
        Some((_, slot)) => *slot = value,
        None => doc.push((Raw::Str(key.into()), value)),
    }
}

fn parse_expect(v: Raw) -> Result<Expect, String> {
    match v {
        Raw::Str(action) => Ok(Expect { action: Some(action.into_owned()), ..Expect::default() }),
        Raw::Map(m) => {
            let mut e = Expect::default();
            for (k, v) in m {
                match (k.as_str(), v) {
                    (Some("action"), Raw::Str(s)) => e.action = Some(s.into_owned()),
                    (Some("rule"), Raw::Str(s)) => e.rule = Some(s.into_owned()),
                    (Some("error"), Raw::Str(s)) => e.error = Some(s.into_owned()),
                    (Some("params"), Raw::Map(ps)) => {
                        for (pk, pv) in ps {
                            e.params.push((pk.as_str().unwrap_or("?").to_string(), pv.to_json()));
                        }
                    }
                    (Some(k), _) => {
                        return Err(format!(
                            "`{k}` is not an expectation (or has the wrong type); use `action`, `params`, `rule` or `error`"
                        ));
                    }
                    (None, _) => return Err("keys must be text".into()),
                }
            }
            if e.action.is_none() && e.error.is_none() && e.rule.is_none() {
                return Err("give at least `action`, `rule` or `error`".into());
            }
            Ok(e)
        }
        _ => Err("expected an action name or a mapping".into()),
    }
}

/// Runs cases; `today` is used when a case gives no `as_of`.
pub fn run(policy: &Policy, cases: &[Case], today: Date) -> Report {
    let ids: Vec<String> = policy.rule_ids().map(str::to_string).collect();
    let mut coverage: Vec<(String, usize)> = ids.iter().map(|r| (r.clone(), 0)).collect();
    let mut results = Vec::new();
    for case in cases {
        let doc = facts::validate(policy.schema(), case.document.clone(), case.file.clone());
        let as_of = doc.as_of.unwrap_or(today);
        let records = policy.records(&doc, as_of);
        let (failure, rule) = match records.as_slice() {
            [record] => judge(&case.expect, record),
            other => (Some(vec![format!("expected one entry, the case produced {}", other.len())]), None),
        };
        if let Some(r) = &rule {
            if let Some((_, n)) = coverage.iter_mut().find(|(id, _)| id == r) {
                *n += 1;
            }
        }
        results.push(CaseResult { file: case.file.clone(), name: case.name.clone(), failure, rule });
    }
    Report { results, coverage }
}

fn judge(expect: &Expect, record: &Record) -> (Option<Vec<String>>, Option<String>) {
    let mut diffs = Vec::new();
    match &record.outcome {
        Ok(d) => {
            if let Some(e) = &expect.error {
                diffs.push(format!("expected: an error containing `{e}`"));
                diffs.push(format!("actual:   {} (rule {})", d.action, d.rule));
            }
            if let Some(a) = expect.action.as_ref().filter(|a| **a != d.action) {
                diffs.push(format!("action    expected {a}"));
                diffs.push(format!("          actual   {} (rule {})", d.action, d.rule));
            }
            if let Some(r) = expect.rule.as_ref().filter(|r| **r != d.rule) {
                diffs.push(format!("rule      expected {r}"));
                diffs.push(format!("          actual   {}", d.rule));
            }
            for (k, want) in &expect.params {
                match d.params.get(k) {
                    Some(got) if got == want => {}
                    Some(got) => {
                        diffs.push(format!("{k:<9} expected {want}"));
                        diffs.push(format!("          actual   {got}"));
                    }
                    None => diffs.push(format!("{k:<9} expected {want}, but `{}` has no such parameter", d.action)),
                }
            }
            ((!diffs.is_empty()).then_some(diffs), Some(d.rule.clone()))
        }
        Err(error) => {
            let msg = error.to_string();
            match &expect.error {
                Some(e) if msg.contains(e.as_str()) => return (None, None),
                Some(e) => {
                    diffs.push(format!("error     expected to contain `{e}`"));
                    diffs.push(format!("          actual   {msg}"));
                }
                None => {
                    let want = expect.action.as_deref().unwrap_or("a verdict");
                    diffs.push(format!("expected: {want}"));
                    diffs.push(format!("actual:   error: {msg}"));
                }
            }
            (Some(diffs), None)
        }
    }
}

/// Every `.yaml`/`.yml` file of a folder, in name order.
pub fn case_files(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// One verdict in a snapshot: stable, no absolute paths.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SnapshotEntry {
    pub file: String,
    pub as_of: String,
    #[serde(flatten)]
    pub record: Record,
}

/// Evaluates every fact file of `dir` (`.yaml`, `.yml`, `.json`, `.jsonl`, in name order) and
/// returns the verdicts in a stable, serialisable form, for
/// `insta::assert_yaml_snapshot!(handover::testing::snapshot(&policy, "facts/", as_of)?)`.
/// `as_of` applies to documents without their own.
pub fn snapshot(policy: &Policy, dir: impl AsRef<Path>, as_of: Date) -> std::io::Result<Vec<SnapshotEntry>> {
    let mut files: Vec<_> = std::fs::read_dir(dir.as_ref())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_str().and_then(facts::Format::from_path).is_some())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let Some(format) = facts::Format::from_path(&name) else { continue };
        let text = crate::source::read_text(&f).map_err(|e| std::io::Error::other(format!("{}: {e}", f.display())))?;
        for (date, mut record) in policy.evaluate_text(&text, format, &name, None, as_of) {
            record.source = name.clone();
            out.push(SnapshotEntry { file: name.clone(), as_of: date.to_string(), record });
        }
    }
    Ok(out)
}

impl Raw<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Raw::Str(s) => Some(s),
            _ => None,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Raw::Null => serde_json::Value::Null,
            Raw::Bool(b) => (*b).into(),
            Raw::Int(n) => (*n).into(),
            Raw::Float(f) => (*f).into(),
            Raw::Str(s) => s.to_string().into(),
            Raw::Seq(xs) => xs.iter().map(Raw::to_json).collect(),
            Raw::Map(m) => m
                .iter()
                .map(|(k, v)| (k.as_str().map_or_else(|| format!("{k:?}"), str::to_string), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}
