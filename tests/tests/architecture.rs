//! The invariants of `ARCHITECTURE.md`, checked on the source tree: which crate may depend on
//! which, that modules inside a crate do not import each other in a circle, and that the
//! functions of the planner, teardown and map stay short enough to read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The haven crates, their directories, and the haven crates each may depend on.
const CRATES: &[(&str, &str, &[&str])] = &[
    ("haven-model", "crates/model", &[]),
    ("haven-aws", "crates/aws", &["haven-model"]),
    (
        "haven-replicate",
        "crates/replicate",
        &["haven-model", "haven-aws"],
    ),
    (
        "haven-tui",
        "crates/tui",
        &["haven-model", "haven-aws", "haven-replicate"],
    ),
    // The tests' independent oracle: its lab builder and proxy use no haven code; only
    // `metrics` reads a discovered topology (haven-model's plain data) to feed moto.
    ("haven-testkit", "crates/testkit", &["haven-model"]),
];

/// The `[dependencies]` names of a manifest (dev-dependencies are the tests' business).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            names.push(name.to_string());
        }
    }
    names
}

#[test]
fn only_haven_aws_speaks_to_aws_and_the_crates_depend_downwards() {
    let mut checked = 0;
    for (name, dir, allowed) in CRATES {
        let path = root().join(dir).join("Cargo.toml");
        let manifest = std::fs::read_to_string(&path).expect("read a manifest");
        for dependency in dependencies(&manifest) {
            let sdk = dependency.starts_with("aws-sdk-") || dependency == "aws-config";
            if sdk {
                assert!(
                    ["haven-aws", "haven-testkit"].contains(name),
                    "{name} depends on {dependency}: only haven-aws speaks to AWS (and \
                     haven-testkit, the tests' independent oracle)"
                );
            }
            if dependency.starts_with("haven-") {
                assert!(
                    allowed.contains(&dependency.as_str()),
                    "{name} depends on {dependency}; it may depend on {allowed:?} only \
                     (model ← aws ← replicate ← tui)"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "the manifests were read: {checked} dependencies"
    );
    for manifest in ["tests/Cargo.toml", "xtask/Cargo.toml"] {
        let text = std::fs::read_to_string(root().join(manifest)).expect("read a manifest");
        let sdk: Vec<String> = dependencies(&text)
            .into_iter()
            .filter(|d| d.starts_with("aws-sdk-") || d == "aws-config")
            .collect();
        assert!(sdk.is_empty(), "{manifest} depends on the AWS SDK: {sdk:?}");
    }
}

/// A crate's modules: module path (`["dashboard", "state"]`) → source file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("read a source directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("inside src");
            let mut module: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            // Binaries are crates of their own; tests may reach anywhere.
            let test = |m: &String| m == "tests" || m.ends_with("_tests");
            if module.first().is_some_and(|m| m == "bin") || module.iter().any(test) {
                continue;
            }
            found.insert(module, path);
        }
    }
    found
}

/// The line where a file's inline `#[cfg(test)] mod … {` begins (its end when it has none).
fn tests_start(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .position(|pair| {
            pair[0] == "#[cfg(test)]" && pair[1].starts_with("mod ") && pair[1].ends_with('{')
        })
        .unwrap_or(lines.len())
}

/// The code of a file without comments (doc links are not imports) and without its
/// `#[cfg(test)]` tail (tests may reach anywhere).
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().take(tests_start(text)) {
        let line = line.split("//").next().unwrap_or_default();
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The paths a file names from `crate::` or `super::`, resolved to absolute module paths (a
/// path may end in an item; the caller keeps the module prefix).
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        if !text.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &text[i..];
        let (mut base, mut j) = if rest.starts_with("crate::") {
            (Vec::new(), i + "crate::".len())
        } else if rest.starts_with("super::") {
            let preceded = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
            if preceded {
                i += 1;
                continue;
            }
            // A file's own module path; `super` is its parent.
            let mut base = module.to_vec();
            let mut j = i;
            while text[j..].starts_with("super::") {
                base.pop();
                j += "super::".len();
            }
            (base, j)
        } else {
            i += 1;
            continue;
        };
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            i += 1;
            continue;
        }
        let mut path = std::mem::take(&mut base);
        loop {
            if text[j..].starts_with('{') {
                let mut depth = 0;
                let mut item_start = j + 1;
                for (k, c) in text[j..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' | ',' if depth == 1 => {
                            let item = text[item_start..j + k].trim();
                            let head: String = item
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                                .collect();
                            let mut full = path.clone();
                            full.extend(
                                head.split("::")
                                    .filter(|s| !s.is_empty() && *s != "self")
                                    .map(str::to_string),
                            );
                            found.push(full);
                            item_start = j + k + 1;
                            if c == '}' {
                                break;
                            }
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                break;
            }
            let name: String = text[j..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                found.push(path);
                break;
            }
            path.push(name.clone());
            j += name.len();
            if text[j..].starts_with("::") {
                j += 2;
            } else {
                found.push(path);
                break;
            }
        }
        i = j.max(i + 1);
    }
    found
}

/// Cycles between sibling modules: `a` → `b` when `a` (or a module inside it) names `b` (or a
/// module inside it). A child naming its parent's items is not an edge.
fn sibling_cycles(src: &Path) -> Vec<String> {
    let modules = modules(src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = code(&std::fs::read_to_string(file).expect("read a source file"));
        for target in references(module, &text) {
            // The longest prefix of the path that is a module.
            let Some(target) = (1..=target.len())
                .rev()
                .map(|n| target[..n].to_vec())
                .find(|prefix| modules.contains_key(prefix))
            else {
                continue;
            };
            // Where the two paths part: the siblings under their common parent.
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common < module.len() && common < target.len() {
                edges
                    .entry(module[..=common].to_vec())
                    .or_default()
                    .insert(target[..=common].to_vec());
            }
        }
    }
    let mut cycles = BTreeSet::new();
    for start in edges.keys() {
        // Depth-first from each module, looking for a way back to it.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let mut names: Vec<String> = path.iter().map(|m| m.join("::")).collect();
                    let rotate = names
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, n)| (*n).clone())
                        .map(|(i, _)| i)
                        .unwrap_or(0);
                    names.rotate_left(rotate);
                    cycles.insert(names.join(" → "));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    cycles.into_iter().collect()
}

#[test]
fn no_module_imports_its_way_back_to_itself() {
    let mut all = Vec::new();
    for (name, dir, _) in CRATES {
        for cycle in sibling_cycles(&root().join(dir).join("src")) {
            all.push(format!("{name}: {cycle}"));
        }
    }
    assert!(
        all.is_empty(),
        "import cycles between modules (move what both need into a module of its own):\n{}",
        all.join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let src = dir.path();
    std::fs::create_dir_all(src.join("view")).expect("mkdir");
    std::fs::write(src.join("lib.rs"), "mod view;\nmod model;\n").expect("write");
    std::fs::write(src.join("model.rs"), "pub struct M;\n").expect("write");
    std::fs::write(src.join("view/mod.rs"), "mod a;\nmod b;\npub struct V;\n").expect("write");
    std::fs::write(
        src.join("view/a.rs"),
        "use super::{b::B, V};\nuse crate::model::M; // crate::view::b in a comment\npub struct A;\n",
    )
    .expect("write");
    std::fs::write(src.join("view/b.rs"), "pub struct B(super::a::A);\n").expect("write");
    assert_eq!(sibling_cycles(src), ["view::a → view::b"]);
    std::fs::write(src.join("view/b.rs"), "pub struct B(super::V);\n").expect("write");
    assert!(sibling_cycles(src).is_empty());
}

/// The longest functions of a file: (lines, name, first line).
fn functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate().take(tests_start(text)) {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let signature = ["pub ", "pub(crate) ", "pub(super) ", "async ", "const "]
            .iter()
            .fold(trimmed, |t, prefix| t.strip_prefix(prefix).unwrap_or(t));
        let Some(after) = signature.strip_prefix("fn ") else {
            continue;
        };
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if line.trim_end().ends_with(';') {
            continue; // a declaration without a body
        }
        let close = format!("{indent}}}");
        if let Some(end) = lines[i..].iter().position(|l| *l == close) {
            found.push((end + 1, name, i + 1));
        }
    }
    found
}

/// Functions longer than this are split into named steps (`plan/`'s tiers are the example).
const LONGEST: usize = 150;

#[test]
fn the_planner_teardown_and_map_have_no_function_over_150_lines() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("crates/model/src/plan"))
        .expect("read plan/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("tests"))
        })
        .collect();
    files.push(root().join("crates/tui/src/dashboard/map.rs"));
    let mut long = Vec::new();
    let mut measured = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        for (lines, name, at) in functions(&text) {
            measured += 1;
            if lines > LONGEST {
                long.push(format!("{}:{at} {name}: {lines} lines", file.display()));
            }
        }
    }
    assert!(measured > 30, "the functions were found: {measured}");
    assert!(
        long.is_empty(),
        "functions over {LONGEST} lines (split them into named steps):\n{}",
        long.join("\n")
    );
}

/// Every non-test source file of a crate, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for path in modules(dir).into_values() {
        let text = std::fs::read_to_string(&path).expect("read a source file");
        found.push((path, code(&text)));
    }
    found
}

#[test]
fn haven_model_is_pure_no_io_and_no_clock() {
    const IO: &[&str] = &[
        "std::fs",
        "std::process",
        "std::env",
        "std::io::stdin",
        "std::io::stdout",
        "tokio",
        "Utc::now",
        "SystemTime::now",
        "Instant::now",
        "println!",
        "eprintln!",
    ];
    let files = sources(&root().join("crates/model/src"));
    assert!(files.len() > 20, "the sources were read: {}", files.len());
    let found: Vec<String> = files
        .iter()
        .flat_map(|(path, text)| {
            IO.iter()
                .filter(|needle| text.contains(*needle))
                .map(move |needle| format!("{}: {needle}", path.display()))
        })
        .collect();
    assert!(
        found.is_empty(),
        "haven-model is pure logic (I/O at the edges, the clock passed in):\n{}",
        found.join("\n")
    );
}
