//! Lays out the release `haven`'s code: the functions its dashboard runs from the start to the
//! first EC2 list, recorded in `link/haven.order` by `cargo xtask layout`, are placed first and
//! together. The linker otherwise interleaves them with the code that start never runs (the
//! SDK's other operations, `up`, `down`, replication), and each page fault maps the pages
//! around it: measured (docs/benchmarks.md), 29 MiB of code resident at the list unordered,
//! 9 MiB ordered.
//!
//! The file names functions by their mangled symbols, which depend on the compiler and the
//! crate versions: it is used only with the rustc it was recorded with, on the target whose
//! default linker (rust-lld) reads it, and a stale entry is skipped.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    let order = Path::new("link/haven.order");
    println!("cargo:rerun-if-changed={}", order.display());
    if env::var("PROFILE").as_deref() != Ok("release") {
        return;
    }
    let Ok(text) = std::fs::read_to_string(order) else {
        return;
    };
    let target = env::var("TARGET").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    // rust-lld is the default linker of this target only; a linker chosen by the user may not
    // know `--symbol-ordering-file`.
    if target != "x86_64-unknown-linux-gnu"
        || flags.contains("link")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
    {
        return;
    }
    let recorded = text
        .lines()
        .find_map(|l| l.strip_prefix("# recorded with "))
        .unwrap_or_default();
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let current = Command::new(rustc)
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if recorded != current {
        println!(
            "cargo:warning=the code layout in crates/tui/link/haven.order was recorded with \
             {recorded}, this build uses {current}: not applied (the dashboard starts with \
             about 20 MiB more code resident); `cargo xtask layout` records it again"
        );
        return;
    }
    let path = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(order);
    println!(
        "cargo:rustc-link-arg-bin=haven=-Wl,--symbol-ordering-file={}",
        path.display()
    );
    // Entries the build no longer has (renamed, inlined) are skipped without a word.
    println!("cargo:rustc-link-arg-bin=haven=-Wl,--no-warn-symbol-ordering");
}
