//! The maps in the docs point at real places: every `src/...` and `tests/...`
//! path named in ARCHITECTURE.md, README.md and RELIABILITY.md exists, so a
//! newcomer's one guess lands.

use std::path::Path;

/// Backticked paths under `src/` or `tests/` in `text` (a `<name>` placeholder
/// stands for any file of that folder, so its folder is checked).
fn named_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| t.starts_with("src/") || t.starts_with("tests/"))
        .map(|t| match t.find('<') {
            Some(i) => t[..i].to_string(),
            None => t.to_string(),
        })
        .collect()
}

fn assert_paths_exist(doc: &str, min: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(doc)).unwrap();
    let paths = named_paths(&text);
    assert!(
        paths.len() >= min,
        "{doc}: expected at least {min} paths, found {paths:?}"
    );
    let missing: Vec<&String> = paths.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "{doc} names paths that do not exist: {missing:?}"
    );
}

#[test]
fn architecture_names_real_files() {
    assert_paths_exist("ARCHITECTURE.md", 15);
}

#[test]
fn readme_names_real_files() {
    assert_paths_exist("README.md", 5);
}

#[test]
fn reliability_names_real_files() {
    assert_paths_exist("RELIABILITY.md", 2);
}
