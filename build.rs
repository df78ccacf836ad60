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
    readme_library_example(Path::new(&out_dir));
}

/// The Rust example of the README's "Using the library" section, as a doc comment the crate
/// runs as a doctest (`src/lib.rs`), so the README's example cannot drift from the API. The
/// example is written as the body of a function returning `Result`, so `?` works.
fn readme_library_example(out_dir: &Path) {
    println!("cargo::rerun-if-changed=README.md");
    let readme = std::fs::read_to_string("README.md").unwrap_or_default();
    let section = readme.split("\n## ").find(|s| s.starts_with("Using the library")).unwrap_or_default();
    let code = section.split("```rust\n").nth(1).and_then(|rest| rest.split("\n```").next());
    let doc = match code {
        Some(code) => {
            format!("```rust\n# fn main() -> Result<(), Box<dyn std::error::Error>> {{\n{code}\n# Ok(())\n# }}\n```\n")
        }
        // No example found: a doctest that fails, saying so.
        None => {
            "```rust\ncompile_error!(\"README.md has no ```rust block in its `## Using the library` section\");\n```\n"
                .to_string()
        }
    };
    if let Err(e) = std::fs::write(out_dir.join("readme_library.md"), doc) {
        println!("cargo::warning=could not write the README's library example: {e}");
    }
}
