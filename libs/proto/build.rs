//! Compiles `proto/` with protox (pure Rust), so building needs no system `protoc`.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "gridcase/common/v1/common.proto",
    "gridcase/store/v1/admin.proto",
    "gridcase/intake/v1/intake.proto",
    "gridcase/triage/v1/triage.proto",
    "gridcase/dispatch/v1/dispatch.proto",
    "gridcase/dispatch/v1/notice.proto",
    "gridcase/supervision/v1/supervision.proto",
    "gridcase/evaluation/v1/evaluation.proto",
    "gridcase/query/v1/query.proto",
    "gridcase/people/v1/people.proto",
    "gridcase/people/v1/care.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let descriptors = protox::compile(PROTOS, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("gridcase_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
