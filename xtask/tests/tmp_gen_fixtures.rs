#[path = "../src/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

#[test]
fn generate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/fixtures");
    let written = fixtures::write_all(&dir).unwrap();
    for p in written {
        println!("{} {}", p.display(), std::fs::metadata(&p).unwrap().len());
    }
}
