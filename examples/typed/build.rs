//! Generates `$OUT_DIR/policy.rs` from the shipped policy. A policy error fails the build with the
//! same diagnostics `handover check` prints.

fn main() -> Result<(), handover::codegen::Error> {
    handover::codegen::Builder::new("../../rules").write_to_out_dir("policy.rs")?;
    Ok(())
}
