//! Lays out the release `haven`'s code: the functions its dashboard runs from the start to the
//! first EC2 list, recorded in `link/haven.order` by `cargo xtask layout`, are placed first and
//! together. The linker otherwise interleaves them with the code that start never runs (the
//! SDK's other operations, `up`, `down`, replication), and each page fault maps the pages
//! around it: measured (docs/benchmarks.md), 29 MiB of code resident at the list unordered,
//! 9 MiB ordered. Where the C library allows, its relocations are packed (see
//! [`packed_relocations`]).
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
    let target = env::var("TARGET").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    // rust-lld is the default linker of this target only; a linker chosen by the user may not
    // know these options.
    if target != "x86_64-unknown-linux-gnu"
        || flags.contains("link")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
    {
        return;
    }
    if packed_relocations() {
        println!("cargo:rustc-link-arg-bin=haven=-Wl,-z,pack-relative-relocs");
    }
    let Ok(text) = std::fs::read_to_string(order) else {
        return;
    };
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

/// Whether the C library of the machine building haven (and so, nearly always, running it) can
/// apply packed relative relocations (`DT_RELR`, glibc 2.36). A position-independent `haven`
/// has about 160,000 relative relocations: as `.rela.dyn` they are 3.9 MB that the loader reads
/// whole at every start, packed a few kB. A binary copied to a machine with an older glibc
/// refuses to start, naming the missing `GLIBC_ABI_DT_RELR`.
fn packed_relocations() -> bool {
    if env::var("HOST").ok() != env::var("TARGET").ok() {
        return false;
    }
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut version = text
        .trim()
        .strip_prefix("glibc ")
        .unwrap_or_default()
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (version.next().unwrap_or(0), version.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}
