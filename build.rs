//! Embeds the shipped policy (every `.handover` file in `rules/`, in name order) into the crate,
//! so the binary and `Policy::builtin()` need no files at run time.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("rules");
    println!("cargo::rerun-if-changed=rules");
    let mut files: Vec<_> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "handover"));
    files.sort();
    let mut out = String::from(
        "/// The shipped policy's files: (name, text), in name order.\npub const BUILTIN_RULES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo::rerun-if-changed={}", f.display());
        let abs = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        let _ = writeln!(out, "    ({:?}, include_str!({:?})),", f.display().to_string(), abs.display().to_string());
    }
    out.push_str("];\n");
    // The shipped policy's test cases, `rules/tests/*.yaml`.
    let tests = dir.join("tests");
    println!("cargo::rerun-if-changed={}", tests.display());
    let mut cases: Vec<_> =
        std::fs::read_dir(&tests).map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    cases.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    cases.sort();
    out.push_str("/// The shipped policy's test case files: (name, text), in name order.\npub const BUILTIN_TESTS: &[(&str, &str)] = &[\n");
    for f in &cases {
        println!("cargo::rerun-if-changed={}", f.display());
        let abs = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        let _ = writeln!(out, "    ({:?}, include_str!({:?})),", f.display().to_string(), abs.display().to_string());
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out_dir).join("builtin_rules.rs"), out) {
        println!("cargo::warning=could not write the embedded rules: {e}");
    }
}
