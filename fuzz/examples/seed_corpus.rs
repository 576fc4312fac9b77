//! Writes the seed corpus: `cargo run --example seed_corpus` (from `fuzz/`) creates
//! `corpus/<target>/seed-*` for every target. The files are committed; rerun after a wire
//! format change.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, name, bytes) in vitalring_fuzz::seeds::all() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(&name), &bytes)?;
        println!("{target}/{name}: {} bytes", bytes.len());
    }
    Ok(())
}
