//! The layers of `src/` (see `src/lib.rs`): no module uses one from a
//! layer above its own, and no two modules use each other, directly or
//! round about. Rust accepts cycles between modules of one crate; this
//! test is what refuses them.
//!
//! It parses each file with `syn` and follows every path that names a
//! module of the crate: `crate::`, `super::` and `self::` paths, in `use`
//! trees (groups nested at any depth) and in code, and inside macro calls
//! (`crate::outln!("{}", crate::x::y())`) as tokens. Test code (items under
//! `#[cfg(test)]` or `#[cfg(all(test, ...))]`, wherever they stand in the
//! file) is checked by the same rule, apart from production code, so a
//! test helper cannot hide the code after it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

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

/// Whether a `#[cfg(...)]` holds only under test: `test`, or `all(...)`
/// with `test` among its terms.
fn test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        if !a.path().is_ident("cfg") {
            return false;
        }
        let Ok(meta) = a.parse_args::<syn::Meta>() else {
            return false;
        };
        match meta {
            syn::Meta::Path(p) => p.is_ident("test"),
            syn::Meta::List(list) if list.path.is_ident("all") => list
                .tokens
                .into_iter()
                .any(|t| matches!(t, TokenTree::Ident(i) if i == "test")),
            _ => false,
        }
    })
}

/// The paths a file names, production and test code apart, each made
/// absolute (`a::b::c`, from the crate's root).
#[derive(Default, Debug)]
struct Named {
    code: BTreeSet<String>,
    tests: BTreeSet<String>,
}

struct Reader<'a> {
    /// The module being read: the file's, then `::inner` for inline modules.
    at: Vec<String>,
    in_test: usize,
    named: &'a mut Named,
}

impl Reader<'_> {
    fn add(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let mut absolute: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.at.clone(),
            "super" => self.at.clone(),
            _ => return,
        };
        let mut rest = &segments[1..];
        if first == "super" {
            absolute.pop();
            while rest.first().is_some_and(|s| s == "super") {
                absolute.pop();
                rest = &rest[1..];
            }
        }
        absolute.extend(rest.iter().cloned());
        let path = absolute.join("::");
        if self.in_test > 0 {
            self.named.tests.insert(path);
        } else {
            self.named.code.insert(path);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.add(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.add(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.add(&prefix.clone()),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }

    /// `crate::a::b` written as tokens, in a macro's arguments.
    fn tokens(&mut self, stream: TokenStream) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id)
                    if ["crate", "super", "self"].contains(&id.to_string().as_str()) =>
                {
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    loop {
                        let colons = matches!(
                            (&tokens.get(j), &tokens.get(j + 1)),
                            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                                if a.as_char() == ':' && b.as_char() == ':'
                        );
                        match tokens.get(j + 2) {
                            Some(TokenTree::Ident(next)) if colons => {
                                segments.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    if segments.len() > 1 {
                        self.add(&segments);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => &[],
        };
        let test = test_only(attrs);
        self.in_test += usize::from(test);
        syn::visit::visit_item(self, item);
        self.in_test -= usize::from(test);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.at.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.at.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.add(&segments);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

/// What `text`, the source of `module`, names.
fn named(module: &str, text: &str) -> Named {
    let file = syn::parse_file(text).unwrap_or_else(|e| panic!("{module}: {e}"));
    let mut named = Named::default();
    let mut reader = Reader {
        at: module.split("::").map(String::from).collect(),
        in_test: 0,
        named: &mut named,
    };
    reader.visit_file(&file);
    named
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

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Each module's uses of the others: by its code, and by its tests.
fn graphs() -> (Graph, Graph) {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let (mut code, mut tests) = (Graph::new(), Graph::new());
    for file in &files {
        let module = module_of(&src, file);
        if matches!(module.as_str(), "lib" | "main" | "testdata") {
            continue;
        }
        let found = named(&module, &std::fs::read_to_string(file).unwrap());
        let resolve = |paths: &BTreeSet<String>| -> BTreeSet<String> {
            paths
                .iter()
                .filter_map(|p| target(&modules, p))
                .filter(|t| *t != module && !matches!(t.as_str(), "lib" | "testdata"))
                .collect()
        };
        let (mine, test_uses) = (resolve(&found.code), resolve(&found.tests));
        code.insert(module.clone(), mine);
        tests.insert(module, test_uses);
    }
    (code, tests)
}

fn upward(edges: &Graph, what: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (module, uses) in edges {
        let mine = layer(module)
            .unwrap_or_else(|| panic!("{module} is in no layer: add its room to LAYERS"));
        for used in uses {
            let theirs = layer(used).unwrap_or_else(|| panic!("{used} is in no layer"));
            if theirs > mine {
                found.push(format!(
                    "{module} (layer {mine}) uses {used} (layer {theirs}) in its {what}"
                ));
            }
        }
    }
    found
}

fn cycles(edges: &Graph) -> BTreeSet<String> {
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
    cycles
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let (code, tests) = graphs();
    let mut found = upward(&code, "code");
    found.extend(upward(&tests, "tests"));
    assert!(found.is_empty(), "upward edges:\n{}", found.join("\n"));
}

#[test]
fn no_modules_use_each_other_round_about() {
    let (code, tests) = graphs();
    // Tests count too: a module's tests that reach back into a module
    // using it tie the two together as much as code does.
    let mut both = code.clone();
    for (module, uses) in tests {
        both.entry(module).or_default().extend(uses);
    }
    let found = cycles(&both);
    assert!(
        found.is_empty(),
        "cycles:\n{}",
        found.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The reader itself: what it must find, it finds.
#[test]
fn the_reader_follows_groups_super_macros_and_sees_past_test_items() {
    let text = r#"
        use crate::{tools::{engine::Engine, swarm}, host::tls as t};
        use super::sibling::*;
        #[cfg(test)]
        fn helper() { crate::checks::verify::on(); }
        #[cfg(all(test, unix))]
        mod unix_tests { use super::super::up; }
        pub fn after_the_test_items() {
            let x = crate::reconcile::plan::Plan::default();
            crate::outln!("{}", crate::commands::status::table());
            self::inner::f();
        }
    "#;
    let found = named("process::runner", text);
    for wanted in [
        "tools::engine::Engine",
        "tools::swarm",
        "host::tls",
        "process::sibling",
        "reconcile::plan::Plan::default",
        "commands::status::table",
        "process::runner::inner::f",
    ] {
        assert!(found.code.contains(wanted), "{wanted}: {found:?}");
    }
    assert!(found.tests.contains("checks::verify::on"), "{found:?}");
    assert!(found.tests.contains("process::up"), "{found:?}");
    assert!(!found.code.contains("checks::verify::on"), "{found:?}");

    // A planted upward edge after a test-only item fails the rule.
    let modules: BTreeSet<String> = ["process::runner", "commands::status", "checks::verify"]
        .map(String::from)
        .into();
    let edges: Graph = [(
        "process::runner".to_string(),
        found
            .code
            .iter()
            .filter_map(|p| target(&modules, p))
            .collect(),
    )]
    .into();
    let up = upward(&edges, "code");
    assert_eq!(
        up,
        ["process::runner (layer 1) uses commands::status (layer 6) in its code"]
    );
    assert_eq!(layer("reconcile::plan"), Some(4));
    let looped: Graph = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(cycles(&looped).len(), 2);
}
