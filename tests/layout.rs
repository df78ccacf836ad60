//! The source layout shows the architecture: every stage folder says what it owns, the stages
//! depend on each other in one direction only (no cycle between the crate's top-level modules),
//! and the README's Layout section names every folder and file of `src/`.
//!
//! Dependencies are read from the code itself: every `crate::NAME` path outside comments (and
//! `super::` in a top-level file's child modules stays inside it). A doc link that names another
//! module counts too, so that the docs do not point against the flow either.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("src is readable").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/language/ast.rs` → `language`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("non-empty").as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its line comments (doc comments included: see the module doc).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("//") && !t.starts_with("///") && !t.starts_with("//!") { "" } else { l }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level modules each module uses.
fn dependency_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let from = top_module(&src, &f);
        if from == "main" || from == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("readable source");
        let deps = graph.entry(from.clone()).or_default();
        for (i, _) in code_of(&text).match_indices("crate::") {
            let rest = &text_after(&code_of(&text), i + "crate::".len());
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && name != from && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                deps.insert(name);
            }
        }
    }
    graph
}

fn text_after(s: &str, at: usize) -> String {
    s.get(at..).unwrap_or("").chars().take(64).collect()
}

/// A cycle in the graph, if there is one, as the list of modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // 0 unvisited, 1 on the current path, 2 done.
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|p| p == m).expect("on the path");
                    let mut cycle = path[start..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_top_level_modules_have_no_dependency_cycle() {
    let graph = dependency_graph();
    let edges: Vec<String> =
        graph.iter().map(|(m, d)| format!("{m} -> {}", d.iter().cloned().collect::<Vec<_>>().join(", "))).collect();
    assert!(graph.contains_key("language") && graph.contains_key("policy"), "the graph was read: {edges:#?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}\nall edges:\n{}", cycle.join(" -> "), edges.join("\n"));
    }
}

#[test]
fn the_stages_come_before_the_policy_and_the_front_ends_after_it() {
    let graph = dependency_graph();
    // Nothing the policy is made of knows about `Policy`; output, batch, testing and the CLI use it.
    for stage in ["value", "source", "diagnostic", "language", "compile", "analysis", "eval", "facts"] {
        let deps = graph.get(stage).unwrap_or_else(|| panic!("no module `{stage}`"));
        for front in ["policy", "output", "batch", "testing", "cli"] {
            assert!(!deps.contains(front), "stage `{stage}` depends on `{front}`: {deps:?}");
        }
    }
    assert!(graph["policy"].contains("language") && graph["policy"].contains("eval"));
}

#[test]
fn every_stage_folder_says_what_it_owns() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders = 0;
    for e in std::fs::read_dir(&src).expect("src is readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            folders += 1;
            let text = std::fs::read_to_string(p.join("mod.rs")).unwrap_or_default();
            let doc: Vec<&str> = text.lines().take_while(|l| l.starts_with("//!")).collect();
            assert!(doc.len() >= 2, "{}/mod.rs starts with no `//!` doc saying what it owns", p.display());
        }
    }
    assert!(folders >= 7, "expected the stage folders, found {folders}");
}

#[test]
fn the_readme_layout_names_every_folder_and_file_of_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let layout = readme.split("## Layout").nth(1).expect("a Layout section");
    let layout = layout.split("\n## ").next().unwrap_or(layout);
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut missing = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).expect("under the root").to_string_lossy().to_string();
        let name = f.file_name().expect("a name").to_string_lossy().to_string();
        let folder =
            f.parent().expect("a folder").strip_prefix(root).expect("under the root").to_string_lossy().to_string();
        // A file is named by its path, or by its name in its folder's entry (the line that starts
        // with the folder and the indented lines that follow it).
        let in_entry = entries_of(layout, &format!("{folder}/")).iter().any(|entry| entry.contains(&name));
        let named = layout.contains(&rel) || in_entry;
        if !named {
            missing.push(rel);
        }
    }
    assert!(missing.is_empty(), "the README's Layout section does not name: {missing:?}");
}

/// The entries of the Layout block that start with `prefix`, each with its indented continuation lines.
fn entries_of(layout: &str, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in layout.lines() {
        if line.starts_with(' ') {
            if let Some(c) = &mut current {
                c.push_str(line);
            }
            continue;
        }
        out.extend(current.take());
        if line.starts_with(prefix) {
            current = Some(line.to_string());
        }
    }
    out.extend(current);
    out
}
