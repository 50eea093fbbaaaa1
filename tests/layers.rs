//! The layers of `src/` (see `src/lib.rs`): no module uses one from a
//! layer above its own, and no two modules use each other, directly or
//! round about. Rust accepts cycles between modules of one crate; this
//! test is what refuses them.
//!
//! It reads the sources as text: every `crate::a::b` path, in `use` lines
//! (braces included) and in code, outside `#[cfg(test)]` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each room of `src/` and its layer, lowest first.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("model", 0),
    ("process", 1),
    ("ui", 1),
    ("view", 1),
    ("tools", 2),
    ("shell", 2),
    ("host", 3),
    ("reconcile", 4),
    ("checks", 5),
    ("cli", 6),
    ("session", 6),
    ("commands", 6),
];

fn layer(module: &str) -> Option<u8> {
    let room = module.split("::").next().unwrap_or(module);
    LAYERS
        .iter()
        .find(|(name, _)| *name == room)
        .map(|(_, l)| *l)
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `src/reconcile/hooks/mod.rs` → `reconcile::hooks`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|c| c != "mod")
        .collect();
    parts.join("::")
}

/// The code of a file without its test modules (`#[cfg(test)]`, or
/// `#[cfg(all(test, unix))]` for tests of one platform).
fn code(text: &str) -> &str {
    ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .map_or(text, |at| &text[..at])
}

/// Every `crate::...` path the code names, brace lists expanded one level.
fn paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            for item in inner[..end].split(',') {
                let item = item.trim();
                if !item.is_empty() {
                    found.insert(path_start(item));
                }
            }
        } else {
            found.insert(path_start(rest));
        }
    }
    found
}

/// `a::b::Thing;...` → `a::b` (the module part: lowercase segments).
fn path_start(text: &str) -> String {
    let mut segments = Vec::new();
    for segment in text.split("::") {
        let word: String = segment
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() || !word.starts_with(|c: char| c.is_ascii_lowercase()) {
            break;
        }
        segments.push(word.clone());
        if word.len() != segment.len() {
            break;
        }
    }
    segments.join("::")
}

/// The module a path names: the longest known module that starts it.
fn target(modules: &BTreeSet<String>, path: &str) -> Option<String> {
    let mut best = None;
    let mut prefix = String::new();
    for segment in path.split("::") {
        if !prefix.is_empty() {
            prefix.push_str("::");
        }
        prefix.push_str(segment);
        if modules.contains(&prefix) {
            best = Some(prefix.clone());
        }
    }
    best
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        if matches!(module.as_str(), "lib" | "main" | "testdata") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let uses: BTreeSet<String> = paths(code(&text))
            .iter()
            .filter_map(|p| target(&modules, p))
            .filter(|t| *t != module)
            .collect();
        edges.insert(module, uses);
    }
    edges
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let mut upward = Vec::new();
    for (module, uses) in graph() {
        let mine = layer(&module)
            .unwrap_or_else(|| panic!("{module} is in no layer: add its room to LAYERS"));
        for used in uses {
            let theirs = layer(&used).unwrap_or_else(|| panic!("{used} is in no layer"));
            if theirs > mine {
                upward.push(format!(
                    "{module} (layer {mine}) uses {used} (layer {theirs})"
                ));
            }
        }
    }
    assert!(upward.is_empty(), "upward edges:\n{}", upward.join("\n"));
}

#[test]
fn no_modules_use_each_other_round_about() {
    let edges = graph();
    let mut cycles = BTreeSet::new();
    for start in edges.keys() {
        // A path from `start` back to itself.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    cycles.insert(cycle.join(" → "));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "cycles:\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The test itself can fail: a made-up upward edge is found.
#[test]
fn the_reader_finds_paths_in_braces_and_code() {
    let found = paths("use crate::{tools::engine::Engine, host::tls};\nlet x = crate::reconcile::plan::Plan::default();");
    assert!(found.contains("tools::engine"), "{found:?}");
    assert!(found.contains("host::tls"), "{found:?}");
    assert!(found.contains("reconcile::plan"), "{found:?}");
    assert_eq!(layer("reconcile::plan"), Some(4));
    assert_eq!(code("a\n#[cfg(test)]\nmod tests { crate::x }"), "a\n");
    assert_eq!(
        code("a\n#[cfg(all(test, unix))]\nmod tests { crate::x }"),
        "a\n"
    );
}
