//! Tidy checks on the source tree itself: rules of the architecture that no
//! compiler enforces, kept true by failing `cargo xtask test`.
//!
//! - No import circle between the files of a crate: a file that `use`s
//!   `crate::a` depends on `a.rs`, and no chain of such uses may lead back.
//!   Re-exports at a crate or module root (`pub use` in `lib.rs`, `main.rs`,
//!   `mod.rs`, or `study.rs` beside `study/`) are the API surface, not
//!   dependencies: a path through one is followed to the file that defines
//!   the item.
//! - `crates/analysis` chooses report sections by what the runs contain, so
//!   no dataset name appears in its code outside `report/notes.rs`, where the
//!   originals' bugs are told study by study.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// The source roots checked: every crate's `src/` and the xtask's.
fn source_roots() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut roots: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .expect("crates/")
        .map(|e| e.expect("dir entry").path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    roots.push(root.join("xtask").join("src"));
    roots.sort();
    roots
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `report/verdict.rs` → `[report, verdict]`; `lib.rs`, `main.rs` → `[]`;
/// `plots/mod.rs` → `[plots]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("file under its root");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    let top_level = parts.is_empty();
    if !(stem == "mod" || (top_level && (stem == "lib" || stem == "main"))) {
        parts.push(stem.to_string());
    }
    parts
}

/// The text with comments and string literals blanked (lengths kept), so
/// that a path in a doc comment or a message is not taken for an import.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out.push(' ');
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                out.push(if b[i] == b'\n' { '\n' } else { ' ' });
                i += 1;
            }
            out.push_str("  ");
            i += 2;
        } else if b[i] == b'"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(if b[i] == b'\n' { '\n' } else { ' ' });
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '{' (a lifetime has no closing quote).
            out.push_str("   ");
            i += 3;
        } else {
            let ch = text[i..].chars().next().expect("a char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into full paths.
fn expand_use_tree(tree: &str) -> Vec<Vec<String>> {
    // Whitespace matters only in `x as y`: keep one space there alone.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let tree = words
        .join(" ")
        .replace(" as ", "\u{0}")
        .replace(' ', "")
        .replace('\u{0}', " as ");
    let mut out = Vec::new();
    expand_into(&tree, &mut Vec::new(), &mut out);
    out
}

fn expand_into(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let added: Vec<String> = head
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let n = added.len();
        prefix.extend(added);
        for part in split_top_level(inner) {
            if part == "self" {
                out.push(prefix.clone());
            } else if !part.is_empty() {
                expand_into(part, prefix, out);
            }
        }
        prefix.truncate(prefix.len() - n);
    } else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        let mut full = prefix.clone();
        full.extend(
            path.split("::")
                .filter(|s| !s.is_empty() && *s != "*")
                .map(str::to_string),
        );
        out.push(full);
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// One path a file names: absolute from the crate root, and whether it is a
/// `pub use` re-export.
struct Reference {
    path: Vec<String>,
    reexport: bool,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// How many inline `mod name {` blocks enclose each byte of `code`.
fn inline_mod_depths(code: &str) -> Vec<usize> {
    let b = code.as_bytes();
    let mut stack: Vec<bool> = Vec::new();
    let mut depths = vec![0; b.len()];
    let mut depth = 0;
    for i in 0..b.len() {
        match b[i] {
            b'{' => {
                let before = code[..i].trim_end();
                let ident_start = before.rfind(|c: char| !is_ident(c)).map_or(0, |p| p + 1);
                let opens_mod =
                    before[..ident_start].trim_end().ends_with("mod") && ident_start < before.len();
                stack.push(opens_mod);
                if opens_mod {
                    depth += 1;
                }
            }
            b'}' => depth -= usize::from(stack.pop() == Some(true)),
            _ => {}
        }
        depths[i] = depth;
    }
    depths
}

/// Every `crate::…` and `super::…` path in the file, and `self::…` in its
/// `use`s, made absolute.
fn references(module: &[String], code: &str) -> Vec<Reference> {
    let depths = inline_mod_depths(code);
    let absolute = |at: usize, mut segments: Vec<String>| -> Option<Vec<String>> {
        let first = segments.first()?.clone();
        match first.as_str() {
            "crate" => {
                segments.remove(0);
                Some(segments)
            }
            "self" if depths[at] == 0 => {
                segments.remove(0);
                let mut full = module.to_vec();
                full.extend(segments);
                Some(full)
            }
            "super" => {
                // Inside an inline module, `super` first climbs out of it.
                let mut inline = depths[at];
                let mut base = module.to_vec();
                while segments.first().map(String::as_str) == Some("super") {
                    segments.remove(0);
                    if inline > 0 {
                        inline -= 1;
                    } else {
                        base.pop()?;
                    }
                }
                if inline > 0 {
                    // Still inside the file itself.
                    return Some(module.to_vec());
                }
                base.extend(segments);
                Some(base)
            }
            _ => None,
        }
    };

    let mut out = Vec::new();
    let mut use_spans = Vec::new();
    // `use` statements, with their trees.
    let mut search = 0;
    while let Some(found) = code[search..].find("use ") {
        let at = search + found;
        search = at + 4;
        let before_ok = at == 0 || !is_ident(code[..at].chars().last().unwrap_or(' '));
        if !before_ok {
            continue;
        }
        let Some(end) = code[at..].find(';') else {
            break;
        };
        let tree = code[at + 4..at + end].trim();
        if !["crate", "super", "self"]
            .iter()
            .any(|k| tree.starts_with(k))
        {
            continue;
        }
        let prefix = code[..at].trim_end();
        let reexport = prefix.ends_with("pub") || prefix.ends_with(')');
        use_spans.push(at..at + end);
        for path in expand_use_tree(tree) {
            if let Some(path) = absolute(at, path) {
                out.push(Reference { path, reexport });
            }
        }
    }
    // Paths written inline: `crate::a::b(…)`, `super::x::Y`.
    for key in ["crate::", "super::"] {
        let mut search = 0;
        while let Some(found) = code[search..].find(key) {
            let at = search + found;
            search = at + key.len();
            if use_spans.iter().any(|s| s.contains(&at)) {
                continue;
            }
            if at > 0 && is_ident(code[..at].chars().last().unwrap_or(' ')) {
                continue;
            }
            let tail: String = code[at..]
                .chars()
                .take_while(|&c| is_ident(c) || c == ':')
                .collect();
            let segments: Vec<String> = tail
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if let Some(path) = absolute(at, segments) {
                out.push(Reference {
                    path,
                    reexport: false,
                });
            }
        }
    }
    out
}

struct Crate {
    name: String,
    /// Module path → file.
    files: BTreeMap<Vec<String>, PathBuf>,
    /// Module path → references in that file.
    refs: BTreeMap<Vec<String>, Vec<Reference>>,
}

impl Crate {
    fn load(src: &Path) -> Crate {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let mut files = BTreeMap::new();
        let mut refs = BTreeMap::new();
        for file in paths {
            let module = module_path(src, &file);
            let code = code_only(&fs::read_to_string(&file).expect("read source"));
            refs.insert(module.clone(), references(&module, &code));
            files.insert(module, file);
        }
        let name = src
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Crate { name, files, refs }
    }

    /// Whether `module` has modules of its own (`lib.rs`, `mod.rs`, or
    /// `study.rs` beside `study/`): its `pub use`s are then its API.
    fn is_root(&self, module: &[String]) -> bool {
        self.files
            .keys()
            .any(|m| m.len() > module.len() && m.starts_with(module))
    }

    /// The file that defines what `path` names: its longest module prefix,
    /// then through that module's re-exports when it is a root file.
    fn resolve(&self, path: &[String], hops: usize) -> Option<Vec<String>> {
        let module = (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| self.files.contains_key(m))?;
        let Some(item) = path.get(module.len()) else {
            return Some(module);
        };
        if hops < 8 && self.is_root(&module) {
            for r in self.refs[&module].iter().filter(|r| r.reexport) {
                if r.path.last() == Some(item) {
                    let mut target = r.path.clone();
                    target.extend_from_slice(&path[module.len() + 1..]);
                    return self.resolve(&target, hops + 1).or(Some(module));
                }
            }
        }
        Some(module)
    }

    /// File → files it imports.
    fn edges(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (module, refs) in &self.refs {
            let root = self.is_root(module);
            let targets = edges.entry(module.clone()).or_default();
            for r in refs {
                if root && r.reexport {
                    continue;
                }
                if let Some(to) = self.resolve(&r.path, 0) {
                    if &to != module {
                        targets.insert(to);
                    }
                }
            }
        }
        edges
    }

    fn display(&self, module: &Vec<String>) -> String {
        let root = workspace_root();
        self.files[module]
            .strip_prefix(&root)
            .unwrap_or(&self.files[module])
            .display()
            .to_string()
    }
}

/// The strongly connected components of more than one file (Tarjan).
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<BTreeSet<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        out: Vec<BTreeSet<Vec<String>>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.edges.get(v) {
            for w in targets {
                let Some((w, _)) = s.edges.get_key_value(w) else {
                    continue;
                };
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn circle_report(krate: &Crate) -> Vec<String> {
    let edges = krate.edges();
    circles(&edges)
        .into_iter()
        .map(|component| {
            let inner: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|to| component.contains(*to))
                        .map(|to| format!("{} → {}", krate.display(from), krate.display(to)))
                        .collect::<Vec<_>>()
                })
                .collect();
            format!("{}: {}", krate.name, inner.join(", "))
        })
        .collect()
}

#[test]
fn no_import_circle_between_the_files_of_a_crate() {
    let found: Vec<String> = source_roots()
        .iter()
        .flat_map(|src| circle_report(&Crate::load(src)))
        .collect();
    assert!(
        found.is_empty(),
        "import circles between files (move what both need into a third file):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_circle_check_finds_a_planted_circle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("demo").join("src");
    fs::create_dir_all(src.join("shapes")).expect("mkdir");
    let write = |name: &str, text: &str| fs::write(src.join(name), text).expect("write");
    write(
        "lib.rs",
        "mod a;\nmod shapes;\npub use crate::a::A;\npub use crate::shapes::Circle;\n",
    );
    write("a.rs", "use crate::Circle;\npub struct A;\n");
    write(
        "shapes/mod.rs",
        "mod circle;\npub use self::circle::Circle;\npub use crate::shapes::circle::Circle as C;\n",
    );
    write(
        "shapes/circle.rs",
        "// use crate::nothing;\npub struct Circle(crate::A);\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
    );
    let krate = Crate::load(&src);
    let report = circle_report(&krate);
    assert_eq!(report.len(), 1, "{report:?}");
    assert!(report[0].contains("a.rs → ") && report[0].contains("shapes/circle.rs → "));

    // Break it: the circle's struct stops naming A.
    write("shapes/circle.rs", "pub struct Circle;\n");
    assert!(circle_report(&Crate::load(&src)).is_empty());
}

/// Dataset names a report section might be tempted to test for.
const DATASET_NAMES: [&str; 4] = ["mnist", "maestro", "adding", "cifar"];

/// Whether `name` stands in `text` as a word (`_` counts as a break, so
/// `ADDING_PLATEAU` names it and `padding` does not).
fn names_word(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().last();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[test]
fn analysis_names_no_dataset_outside_the_notes() {
    let src = workspace_root().join("crates").join("analysis").join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        if file.ends_with("report/notes.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).expect("read source");
        // Code and string literals, not comments: a string is where a
        // dataset name would choose a section.
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("").to_lowercase();
            for name in DATASET_NAMES {
                if names_word(&code, name) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "crates/analysis names a dataset outside report/notes.rs; let the runs' contents choose:\n{}",
        found.join("\n")
    );
}
