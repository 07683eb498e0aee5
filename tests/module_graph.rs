//! Modules import downward only: the file-level import graph of `src/` has no cycle.
//!
//! Every path a file names (`use` trees and paths in code, after following its `use` aliases)
//! that starts at `crate::`, `super::`, `self::` or, in a folder's module file, at one of its
//! child modules, is resolved to the file that defines the module it reaches. A folder's module
//! file naming its own children (declaring and re-exporting them) is the module tree, not an
//! import, so edges to a file's own descendants are not counted. Paths inside macro calls are not
//! seen.
//!
//! `cargo test --test module_graph -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module path from the crate root (`["sim", "evolve"]`); the root is empty.
type ModPath = Vec<String>;

/// Known cycles tolerated for now, each with the reason; empty once none is left.
const TOLERATED: &[(&str, &str)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("main.rs") {
            out.push(path);
        }
    }
}

/// `sim/mod.rs` → `["sim"]`, `sim/evolve.rs` → `["sim", "evolve"]`, `lib.rs` → `[]`. (`main.rs`
/// is another crate, which reaches the library as `dustwatch::`; it is not read.)
fn module_of(relative: &str) -> ModPath {
    let stem = relative.trim_end_matches(".rs");
    let mut parts: ModPath = stem.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

/// Collects every path a file names: the leaves of its `use` trees (with their local names) and
/// the paths in its code.
#[derive(Default)]
struct Paths {
    uses: Vec<(String, Vec<String>)>,
    code: Vec<Vec<String>>,
}

impl Paths {
    fn use_tree(&mut self, prefix: &[String], tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                let mut next = prefix.to_vec();
                next.push(p.ident.to_string());
                self.use_tree(&next, &p.tree);
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    let alias = prefix.last().cloned().unwrap_or_default();
                    self.uses.push((alias, prefix.to_vec()));
                } else {
                    let mut full = prefix.to_vec();
                    full.push(name.clone());
                    self.uses.push((name, full));
                }
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.to_vec();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.uses.push((r.rename.to_string(), full));
            }
            syn::UseTree::Glob(_) => self.uses.push((String::new(), prefix.to_vec())),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&[], &item.tree);
    }

    /// `pub(super)` and `pub(in path)` name a module without importing it.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.code
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

struct Crate {
    /// Module path → file (relative to `src/`).
    files: BTreeMap<ModPath, String>,
}

impl Crate {
    /// The file defining the longest prefix of `path` that is a module file.
    fn file_of(&self, path: &[String]) -> Option<&String> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.files.get(&path[..n]))
    }

    fn children_of(&self, module: &ModPath) -> BTreeSet<String> {
        self.files
            .keys()
            .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
            .map(|k| k[module.len()].clone())
            .collect()
    }

    /// `segments` as seen from `module` (a file's module), made absolute; `None` for paths
    /// outside the crate.
    fn absolute(&self, module: &ModPath, segments: &[String]) -> Option<ModPath> {
        let (first, rest) = segments.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([module.as_slice(), rest].concat()),
            "super" => {
                let mut base = module[..module.len().saturating_sub(1)].to_vec();
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                Some([base.as_slice(), rest].concat())
            }
            name if self.children_of(module).contains(name) => {
                Some([module.as_slice(), segments].concat())
            }
            _ => None,
        }
    }
}

/// File → the files it imports.
fn import_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let relative = |p: &Path| {
        p.strip_prefix(src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/")
    };
    let krate = Crate {
        files: paths
            .iter()
            .map(|p| (module_of(&relative(p)), relative(p)))
            .collect(),
    };
    let mut graph = BTreeMap::new();
    for path in &paths {
        let file = relative(path);
        let module = module_of(&file);
        let text = std::fs::read_to_string(path).expect("readable source");
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut found = Paths::default();
        found.visit_file(&ast);
        let mut aliases = BTreeMap::new();
        let mut targets = Vec::new();
        for (alias, segments) in &found.uses {
            if let Some(absolute) = krate.absolute(&module, segments) {
                aliases.insert(alias.clone(), absolute.clone());
                targets.push(absolute);
            }
        }
        for segments in &found.code {
            let absolute = match aliases.get(&segments[0]) {
                Some(base) if segments.len() > 1 => {
                    Some([base.as_slice(), &segments[1..]].concat())
                }
                _ => krate.absolute(&module, segments),
            };
            targets.extend(absolute);
        }
        let edges: BTreeSet<String> = targets
            .iter()
            .filter_map(|t| krate.file_of(t))
            .filter(|target| {
                let target_module = module_of(target);
                // Not itself, not one of its own descendants (the module tree).
                !(target_module.len() >= module.len() && target_module.starts_with(&module))
            })
            .cloned()
            .collect();
        graph.insert(file, edges);
    }
    graph
}

/// The strongly connected components with more than one file (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

fn src_graph() -> BTreeMap<String, BTreeSet<String>> {
    import_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_import_cycle_between_files_of_src() {
    let graph = src_graph();
    for (file, imports) in &graph {
        let list: Vec<&str> = imports.iter().map(String::as_str).collect();
        println!("{file} -> {}", list.join(" "));
    }
    let tolerated: BTreeSet<&str> = TOLERATED.iter().map(|(files, _)| *files).collect();
    let all: Vec<String> = cycles(&graph)
        .into_iter()
        .map(|c| c.join(" <-> "))
        .collect();
    let gone: Vec<&&str> = tolerated
        .iter()
        .filter(|t| !all.iter().any(|c| c == **t))
        .collect();
    assert!(
        gone.is_empty(),
        "no longer a cycle, remove from TOLERATED: {gone:?}"
    );
    let cycles: Vec<&String> = all
        .iter()
        .filter(|c| !tolerated.contains(c.as_str()))
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles between files of src/ (each file imports the others, directly or not):\n{}",
        cycles
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The graph sees `use` trees, aliases, `super::` and code paths, and reports a cycle.
#[test]
fn a_cycle_is_found_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::create_dir(src.join("sim")).expect("mkdir");
    for (file, text) in [
        ("lib.rs", "pub mod sim; pub mod cli;"),
        ("cli.rs", "use crate::sim; fn f() { sim::evolve::tick(); }"),
        (
            "sim/mod.rs",
            "pub mod evolve; pub mod scenario; pub use evolve::tick;",
        ),
        (
            "sim/evolve.rs",
            "use super::scenario::{Node, seed as s};\npub fn tick() {}",
        ),
        (
            "sim/scenario.rs",
            "pub struct Node; pub fn seed() { super::evolve::tick() }",
        ),
    ] {
        std::fs::write(src.join(file), text).expect("write");
    }
    let graph = import_graph(src);
    let edges = |f: &str| graph[f].iter().cloned().collect::<Vec<_>>();
    assert_eq!(edges("cli.rs"), ["sim/evolve.rs", "sim/mod.rs"]);
    assert_eq!(edges("sim/mod.rs"), Vec::<String>::new(), "own children");
    assert_eq!(edges("sim/evolve.rs"), ["sim/scenario.rs"]);
    assert_eq!(
        cycles(&graph),
        [vec![
            "sim/evolve.rs".to_string(),
            "sim/scenario.rs".to_string()
        ]]
    );
}
