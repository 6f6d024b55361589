//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and keeps the
//! descriptor set for gRPC server reflection.

use std::{env, fs, path::PathBuf};

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=migrations");

    let files = [
        "proto/tessera/v1/assets.proto",
        "proto/tessera/v1/ai_providers.proto",
        "proto/tessera/v1/auth.proto",
        "proto/tessera/v1/api_keys.proto",
        "proto/tessera/v1/public_assets.proto",
        "proto/tessera/v1/users.proto",
        "proto/tessera/v1/storage_profiles.proto",
        "proto/tessera/v1/workflows.proto",
        "proto/tessera/v1/uploads.proto",
    ];
    let descriptors = protox::compile(files, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("tessera_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .bytes(".")
        .compile_fds(descriptors)?;
    Ok(())
}
