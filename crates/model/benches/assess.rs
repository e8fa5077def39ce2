//! `assess` on the 10,000-resource fixture (`assets/fixtures/large-10k.json`); the target is well
//! under 50 ms. Run with `cargo bench -p haven-model` (or `cargo xtask bench`, which reports it).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use haven_model::Topology;
use haven_model::findings::{Policy, assess};

/// Reads a topology fixture from `assets/fixtures/`.
fn fixture(name: &str) -> Topology {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    Topology::from_json(&text)
        .unwrap_or_else(|error| panic!("{} is not a topology: {error}", path.display()))
}

fn assess_large(c: &mut Criterion) {
    let topology = fixture("large-10k.json");
    let policy = Policy::default();
    // Reported by `cargo xtask bench` from target/criterion/assess/large-10k.
    let mut group = c.benchmark_group("assess");
    group.bench_function("large-10k", |b| {
        b.iter(|| assess(black_box(&topology), black_box(&policy)))
    });
    group.finish();
}

criterion_group!(benches, assess_large);
criterion_main!(benches);
