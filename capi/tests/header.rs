//! The checked-in header `capi/include/vitalring.h` is exactly what cbindgen generates from
//! `src/lib.rs` with `cbindgen.toml`. Regenerate it with
//! `VITALRING_BLESS_HEADER=1 cargo test -p vitalring-capi --test header`.

use std::path::Path;

#[test]
fn checked_in_header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = dir.join("include/vitalring.h");
    if std::env::var_os("VITALRING_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "capi/include/vitalring.h is stale: regenerate it with \
         VITALRING_BLESS_HEADER=1 cargo test -p vitalring-capi --test header"
    );
}
