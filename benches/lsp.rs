#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The language server's latency after an edit of the shipped policy (all three files open, one
//! character typed into the rules): the diagnostics published at once (load the folder's policy
//! again, convert its diagnostics), and the analysis that follows a pause. The baseline, in the
//! same run, is `Policy::from_sources` of the same texts: what any check of the policy costs.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use handover::Policy;
use handover::lsp::{Workspace, diagnostics, workspace::file_uri};
use handover::source::Sources;
use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

const FILES: [&str; 3] = ["actions.handover", "multichannel.handover", "schema.handover"];

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let texts: Vec<(String, String)> =
        FILES.iter().map(|f| (f.to_string(), std::fs::read_to_string(dir.join(f)).unwrap())).collect();
    let mut ws = Workspace::new();
    let mut root = None;
    for (name, text) in &texts {
        root = Some(ws.open(file_uri(&dir.join(name)).unwrap(), text.clone(), 1));
    }
    let root = root.unwrap();
    let rules = file_uri(&dir.join("multichannel.handover")).unwrap();
    let snapshot = ws.snapshot(&root);
    assert_eq!(snapshot.files.len(), 3);
    assert!(snapshot.policy.is_ok(), "the shipped policy loads");

    // Typing a space at the start of line 1 and deleting it again, in turn: the text is the
    // shipped one every other edit, and every edit is a change to load again.
    let mut version = 1;
    let mut typed = false;
    let mut edit = |ws: &mut Workspace| {
        version += 1;
        let at = Position::new(0, 0);
        let (end, text) = if typed { (Position::new(0, 1), "") } else { (at, " ") };
        typed = !typed;
        let change =
            TextDocumentContentChangeEvent { range: Some(Range::new(at, end)), range_length: None, text: text.into() };
        ws.change(&rules, version, vec![change]).unwrap()
    };

    let mut g = c.benchmark_group("lsp");
    g.sample_size(20);
    g.bench_function("baseline_from_sources", |b| {
        b.iter(|| {
            let mut s = Sources::new();
            for (name, text) in &texts {
                s.add(name.as_str(), text.as_str());
            }
            Policy::from_sources(s).unwrap()
        })
    });
    g.bench_function("edit_then_diagnostics", |b| {
        b.iter(|| {
            let root = edit(&mut ws);
            let snapshot = ws.snapshot(&root);
            diagnostics::of_snapshot(&snapshot, None)
        })
    });
    g.bench_function("edit_then_diagnostics_with_analysis", |b| {
        b.iter(|| {
            let root = edit(&mut ws);
            let snapshot = ws.snapshot(&root);
            let policy = snapshot.policy.as_ref().unwrap();
            let analysis = policy.analyze(3);
            diagnostics::of_snapshot(&snapshot, Some(&analysis))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
