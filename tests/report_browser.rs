//! The HTML report in a real browser: headless Chromium (Debian's `chromium` package) loads the
//! report of the example customer and of a mixed batch (errors included); the tests read the DOM
//! Chromium built (`--dump-dom`) and its console (`--enable-logging=stderr`): one row per entry,
//! every action present, the timeline drawn with its marks, no script errors.
//!
//! The setup installs Chromium with `apt-get install -y chromium` when it is missing and it can
//! (as root, or with password-less sudo); when it truly cannot, each test says so on standard
//! error and passes without checking. The same setup takes the screenshots of the report and of
//! its timeline; with `HANDOVER_DOCS_SCREENSHOTS=1` they are written to `docs/report.png` and
//! `docs/timeline.png` (the README shows them), otherwise under `target/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

mod util;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command to its end, killed after `limit` (a guard against hangs, not a timing).
fn run_guarded(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let id = child.id();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if wait.recv_timeout(limit).is_err() {
            let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    guard.join().unwrap();
    out
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn find_chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].into_iter().find_map(on_path)
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Installs Debian's `chromium` as root or through password-less sudo; says why not otherwise.
fn install_chromium() -> Result<(), String> {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo = !root && on_path("sudo").is_some() && succeeds(Command::new("sudo").args(["-n", "true"]));
    if !root && !sudo {
        return Err("Chromium is not installed, and installing it needs root or password-less sudo".into());
    }
    if on_path("apt-get").is_none() {
        return Err("Chromium is not installed, and there is no apt-get to install it with".into());
    }
    let apt = |args: &[&str]| {
        let mut c = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
        if sudo {
            c.args(["-n", "apt-get"]);
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_guarded(&mut c, Duration::from_secs(1200))
    };
    eprintln!("report_browser: installing Debian's chromium package (apt-get install -y chromium)");
    if apt(&["install", "-y", "chromium"]).status.success() {
        return Ok(());
    }
    // The package lists may be missing or stale.
    let _ = apt(&["update"]);
    let out = apt(&["install", "-y", "chromium"]);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`apt-get install -y chromium` failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Chromium, installed on first use where it can be; `None` (with a visible message) when not.
fn chromium() -> Option<&'static Path> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        if let Some(p) = find_chromium() {
            return Ok(p);
        }
        install_chromium()?;
        find_chromium().ok_or_else(|| "apt-get installed chromium but it is not on PATH".to_string())
    });
    match found {
        Ok(p) => Some(p),
        Err(why) => {
            eprintln!("SKIPPED (no browser check): {why}");
            None
        }
    }
}

/// What Chromium made of a page: the DOM it built and its console.
struct Loaded {
    dom: String,
    console: Vec<String>,
}

fn chromium_command(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--log-level=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn load(browser: &Path, page: &Path, profile: &Path) -> Loaded {
    let out = run_guarded(
        chromium_command(browser, profile).arg("--dump-dom").arg(format!("file://{}", page.display())),
        Duration::from_secs(180),
    );
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console =
        stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).map(str::to_string).collect();
    Loaded { dom: String::from_utf8(out.stdout).unwrap(), console }
}

fn screenshot(browser: &Path, page: &Path, profile: &Path, to: &Path, size: (u32, u32)) {
    let out = run_guarded(
        chromium_command(browser, profile)
            .arg(format!("--window-size={},{}", size.0, size.1))
            .arg(format!("--screenshot={}", to.display()))
            .arg(format!("file://{}", page.display())),
        Duration::from_secs(180),
    );
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(to).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} is not a picture of the page", to.display());
}

/// Runs `handover ARGS` in `dir` and returns its standard output.
fn handover(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = util::run_in(dir, args, b"", Duration::from_secs(120));
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
}

/// What the JSON Lines output of the same run says the page must show: the entries, the actions,
/// the dates.
struct Expected {
    entries: usize,
    errors: usize,
    actions: BTreeSet<String>,
    dates: BTreeSet<String>,
}

fn expected(dir: &Path, files: &[&str]) -> Expected {
    let mut args = vec!["eval"];
    args.extend(files);
    args.extend(["--format", "jsonl"]);
    let (_, jsonl) = handover(dir, &args);
    let mut e = Expected { entries: 0, errors: 0, actions: BTreeSet::new(), dates: BTreeSet::new() };
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        e.entries += 1;
        match v["action"].as_str() {
            Some(a) => {
                e.actions.insert(a.to_string());
                for p in v["params"].as_object().unwrap().values() {
                    if let Some(s) = p.as_str().filter(|s| handover::Date::parse(s).is_some()) {
                        e.dates.insert(s.to_string());
                    }
                }
            }
            None => e.errors += 1,
        }
    }
    e
}

/// The values of `attr` on the elements whose opening tag starts with `tag_start`.
fn attrs(dom: &str, tag_start: &str, attr: &str) -> Vec<String> {
    dom.match_indices(tag_start)
        .filter_map(|(i, _)| {
            let tag = &dom[i..i + dom[i..].find('>').unwrap()];
            let at = tag.find(&format!("{attr}=\""))? + attr.len() + 2;
            Some(tag[at..at + tag[at..].find('"').unwrap()].to_string())
        })
        .collect()
}

/// Loads the report of `files` and checks the page against the JSON Lines output of the run.
fn check_page(browser: &Path, scratch: &Path, files: &[&str], name: &str) -> (PathBuf, Expected) {
    let mut args = vec!["eval"];
    args.extend(files);
    args.extend(["--format", "html"]);
    let (_, html) = handover(scratch, &args);
    let page = scratch.join(format!("{name}.html"));
    std::fs::write(&page, &html).unwrap();
    let want = expected(scratch, files);
    let loaded = load(browser, &page, &scratch.join(format!("profile-{name}")));
    let dom = &loaded.dom;
    assert!(loaded.console.is_empty(), "{name}: console output: {:?}", loaded.console);
    assert!(dom.contains("<h1>Hand-over plan</h1>") && dom.contains("</footer>"), "{name}: the whole page loaded");
    // One row per entry; errors as error rows.
    let rows = attrs(dom, "<tr class=\"entry ", "data-action");
    assert_eq!(rows.len(), want.entries, "{name}: one row per entry");
    assert_eq!(rows.iter().filter(|a| *a == "error").count(), want.errors, "{name}: errors kept");
    let shown: BTreeSet<String> = rows.iter().filter(|a| *a != "error").cloned().collect();
    assert_eq!(shown, want.actions, "{name}: every action present");
    // The timeline: drawn as SVG, a mark per date, the evaluation date marked.
    assert!(dom.contains("<svg class=\"timeline\""), "{name}: the timeline is an SVG");
    let marks: BTreeSet<String> = attrs(dom, "<g class=\"mark", "data-date").into_iter().collect();
    assert_eq!(marks, want.dates, "{name}: a mark per date in the verdicts");
    assert_eq!(dom.matches("<circle ").count(), want.dates.len(), "{name}: each mark is drawn");
    assert!(!attrs(dom, "<g class=\"today\"", "data-date").is_empty(), "{name}: the evaluation date is marked");
    (page, want)
}

/// The mixed batch: several customers over JSON Lines and YAML, with entries in error (an
/// unknown channel, an impossible date, a line that is not JSON).
fn mixed_batch() -> util::Scratch {
    let line = |i: usize, customer: &str, channel: &str, term: &str| {
        format!(
            r#"{{"as_of":"2024-03-15","partner":{{"role":"global_admin","type":"indirect_reseller"}},"customer":{{"name":"{customer}","cloud":"commercial","is_csp_partner":false}},"subscriptions":[{{"id":"m-{i}","service":"{}","channel":"{channel}","term_end":"{term}"}}]}}"#,
            if i % 2 == 0 { "license_based" } else { "usage_based" }
        )
    };
    let channels =
        ["csp_partner", "open", "advisor", "non_csp_third_party", "syndication", "unknown", "enterprise_agreement"];
    let mut jsonl = String::new();
    for i in 0..28 {
        let term = format!("2024-{:02}-28", 1 + i % 12);
        jsonl.push_str(&line(i, &format!("Northwind {}", i / 7), channels[i % channels.len()], &term));
        jsonl.push('\n');
    }
    jsonl.push_str(&line(90, "Tailspin", "carrier_pigeon", "2024-05-01"));
    jsonl.push('\n');
    jsonl.push_str(&line(91, "Tailspin", "open", "2024-02-30"));
    jsonl.push_str("\n{ not json\n");
    let yaml = std::fs::read(manifest().join("examples/contoso.yaml")).unwrap();
    util::Scratch::new("report-browser", &[("batch.jsonl", jsonl.as_bytes()), ("contoso.yaml", &yaml)])
}

#[test]
fn the_example_report_renders_in_chromium_and_its_screenshots_are_taken() {
    let Some(browser) = chromium() else { return };
    let scratch = util::Scratch::new("report-browser-example", &[]);
    let example = manifest().join("examples/contoso.yaml");
    let example = example.to_str().unwrap();
    let (page, want) = check_page(browser, scratch.path(), &[example], "example");
    assert_eq!(want.errors, 0);
    assert!(want.dates.len() >= 2, "the example waits for term ends");

    // The screenshots the README shows: the page, and the timeline alone.
    let docs = if std::env::var_os("HANDOVER_DOCS_SCREENSHOTS").is_some_and(|v| v == "1") {
        manifest().join("docs")
    } else {
        manifest().join("target/report-screenshots")
    };
    std::fs::create_dir_all(&docs).unwrap();
    // The example page, with the plan's source shown as the README's command names it.
    let html = std::fs::read_to_string(&page).unwrap().replace(&page_source(example), "examples&#x2f;contoso.yaml");
    std::fs::write(&page, html.as_bytes()).unwrap();
    screenshot(browser, &page, &scratch.path().join("profile-shot"), &docs.join("report.png"), (1280, 3450));
    let style = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap() + "</style>".len()];
    let figure = &html[html.find("<figure>").unwrap()..html.find("</figure>").unwrap() + "</figure>".len()];
    let timeline = scratch.path().join("timeline.html");
    std::fs::write(
        &timeline,
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{style}</head><body>{figure}</body></html>"
        ),
    )
    .unwrap();
    screenshot(browser, &timeline, &scratch.path().join("profile-tl"), &docs.join("timeline.png"), (1000, 260));
}

/// A path as the page shows it (escaped).
fn page_source(path: &str) -> String {
    path.replace('/', "&#x2f;")
}

#[test]
fn a_mixed_batch_with_errors_renders_in_chromium() {
    let Some(browser) = chromium() else { return };
    let scratch = mixed_batch();
    let (_, want) = check_page(browser, scratch.path(), &["batch.jsonl", "contoso.yaml"], "mixed");
    assert_eq!(want.entries, 28 + 2 + 1 + 8);
    assert_eq!(want.errors, 3, "two bad facts and a line that is not JSON");
    assert!(want.actions.len() >= 5, "{:?}", want.actions);
}

#[test]
fn console_output_would_be_seen() {
    // The check above finds nothing because there is nothing: a page that logs and throws is
    // caught by the same reading of Chromium's console.
    let Some(browser) = chromium() else { return };
    let scratch = util::Scratch::new(
        "report-browser-probe",
        &[(
            "probe.html",
            b"<!DOCTYPE html><title>p</title><script>console.error('probe-42'); undefined_fn();</script>",
        )],
    );
    let loaded = load(browser, &scratch.path().join("probe.html"), &scratch.path().join("profile"));
    assert!(loaded.console.iter().any(|l| l.contains("probe-42")), "{:?}", loaded.console);
    assert!(loaded.console.iter().any(|l| l.contains("undefined_fn")), "{:?}", loaded.console);
}
