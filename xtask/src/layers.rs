//! The module graph of a domain crate, and the layer rule checked on it.
//!
//! `cargo xtask layers` reads every `.rs` file under `crates/cognate-idp/src`
//! and draws an edge from a module to each module it names: a `crate::…` or
//! `super::…` path (in a `use` or inline), or a method it calls on `self`
//! whose `fn` is defined in exactly one other module (the domain is one big
//! `impl Idp` spread over files, so calls are the dependencies imports do not
//! show). The modules sit in layers, `base` < `model` < `flows`, by their
//! first path component; the crate root and its tests stand above all.
//!
//! The rule: no edge goes to a higher layer, and no circle of edges exists
//! between modules (a circle is something shared that wants to move down).
//! `cargo xtask layers --dot` prints the graph for Graphviz instead.
//!
//! This is text analysis, not name resolution: it sees what a reader sees.
//! Method names defined in more than one module are not followed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first.
const LAYERS: &[&str] = &["base", "model", "flows"];

pub struct Graph {
    /// module path (`model::users`) -> the modules it depends on.
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

/// The module path of a source file relative to `src`.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_string();
    }
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The text of a file without comments and string literals, so that paths
/// in prose or messages are not taken for dependencies.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\n'); lifetimes ('a) have no closing quote.
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifiers that follow `prefix` (e.g. `crate::`) with `::` between
/// them: `crate::model::users::attrs_of` gives ["model", "users", "attrs_of"].
/// A `{` group ends the path (its items are read by the caller, one level).
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find(prefix) {
        let start = from + at;
        from = start + prefix.len();
        if start > 0 && code[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let mut segs = Vec::new();
        let mut rest = &code[from..];
        loop {
            let len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            if len == 0 {
                break;
            }
            segs.push(&rest[..len]);
            rest = &rest[len..];
            if let Some(r) = rest.strip_prefix("::") {
                rest = r;
            } else {
                break;
            }
        }
        if rest.starts_with('{') {
            // `crate::{a, b::c}`: each item of the group, one level deep.
            let end = rest.find('}').unwrap_or(rest.len());
            for item in rest[1..end].split(',') {
                let mut p = segs.clone();
                p.extend(item.trim().split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "self"));
                out.push(p);
            }
        }
        out.push(segs);
    }
    out
}

/// The longest prefix of `path` that names a known module.
fn resolve(path: &[&str], modules: &BTreeSet<String>, aliases: &BTreeMap<String, String>) -> Option<String> {
    let mut path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    if let Some(first) = path.first()
        && let Some(real) = aliases.get(first)
    {
        let mut p: Vec<String> = real.split("::").map(str::to_string).collect();
        p.extend(path.drain(1..));
        path = p;
    }
    (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| modules.contains(m))
}

pub fn graph(src: &Path) -> Result<Graph, String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut code: BTreeMap<String, String> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(src).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        // Unit tests (a `#[cfg(test)] mod tests` at the end of a file, or
        // the crate's `tests` module) are not part of the graph.
        let module = module_of(rel);
        if module == "tests" {
            continue;
        }
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        code.insert(module, code_only(text));
    }
    let modules: BTreeSet<String> = code.keys().cloned().collect();

    // The crate root's `pub use layer::{a, b}` re-exports: `crate::a` is
    // `crate::layer::a`.
    let mut aliases = BTreeMap::new();
    if let Some(root) = code.get("") {
        for p in paths_after(root, "pub use ") {
            if p.len() >= 2 && LAYERS.contains(&p[0]) {
                let real = p.join("::");
                if modules.contains(&real) {
                    aliases.insert(p[p.len() - 1].to_string(), real);
                }
            }
        }
    }

    // Where each method on `self` is defined (names defined once only).
    let mut defined: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, c) in &code {
        for (i, _) in c.match_indices("fn ") {
            if i > 0 && c[..i].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let rest = &c[i + 3..];
            let len = rest.find(|ch: char| !is_ident(ch)).unwrap_or(0);
            let after = rest[len..].trim_start();
            let after = if after.starts_with('<') { after.find('>').map_or("", |e| &after[e + 1..]) } else { after };
            if after.trim_start().trim_start_matches('(').trim_start().starts_with("&self")
                || after.trim_start().trim_start_matches('(').trim_start().starts_with("&mut self")
            {
                defined.entry(rest[..len].to_string()).or_default().insert(m.clone());
            }
        }
    }

    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, c) in &code {
        let mut deps = BTreeSet::new();
        for p in paths_after(c, "crate::") {
            if let Some(t) = resolve(&p, &modules, &aliases) {
                deps.insert(t);
            }
        }
        let parent: Vec<&str> = if m.is_empty() { vec![] } else { m.split("::").collect() };
        for p in paths_after(c, "super::") {
            let base = &parent[..parent.len().saturating_sub(1)];
            let mut full: Vec<&str> = base.to_vec();
            full.extend(p);
            if let Some(t) = (1..=full.len()).rev().map(|n| full[..n].join("::")).find(|x| modules.contains(x)) {
                deps.insert(t);
            }
        }
        for (i, _) in c.match_indices("self.") {
            let rest = &c[i + 5..];
            let len = rest.find(|ch: char| !is_ident(ch)).unwrap_or(0);
            if !rest[len..].starts_with('(') {
                continue;
            }
            if let Some(owners) = defined.get(&rest[..len])
                && owners.len() == 1
            {
                deps.extend(owners.iter().cloned());
            }
        }
        deps.remove(m);
        // The crate root is where the shared type (`Idp`) lives.
        deps.remove("");
        edges.insert(m.clone(), deps);
    }
    Ok(Graph { edges })
}

/// A module's layer: its index in [`LAYERS`], or above them all for the
/// crate root and anything outside the layers (tests).
fn layer(module: &str) -> usize {
    let first = module.split("::").next().unwrap_or("");
    LAYERS.iter().position(|l| *l == first).unwrap_or(LAYERS.len())
}

/// Edges into a higher layer, and circles, as readable lines.
pub fn violations(g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for (from, tos) in &g.edges {
        for to in tos {
            if layer(to) > layer(from) {
                out.push(format!("{from} ({}) depends on {to} ({})", layer_name(from), layer_name(to)));
            }
        }
    }
    for group in circles(g) {
        out.push(format!("circle: {}", path_around(g, &group).join(" -> ")));
    }
    out
}

/// One real circle through the first module of a strongly connected group:
/// the shortest way from it back to itself (breadth first, inside the group).
fn path_around(g: &Graph, group: &[String]) -> Vec<String> {
    let members: BTreeSet<&str> = group.iter().map(String::as_str).collect();
    let start = group[0].as_str();
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in g.edges.get(v).into_iter().flatten().map(String::as_str) {
            if !members.contains(w) || came_from.contains_key(w) {
                continue;
            }
            came_from.insert(w, v);
            if w == start {
                let mut path = vec![start.to_string()];
                let mut at = v;
                while at != start {
                    path.push(at.to_string());
                    at = came_from[at];
                }
                path.push(start.to_string());
                path.reverse();
                return path;
            }
            queue.push_back(w);
        }
    }
    group.to_vec()
}

fn layer_name(m: &str) -> &str {
    LAYERS.get(layer(m)).copied().unwrap_or("root")
}

/// Every strongly connected group of two or more modules (Tarjan), each as
/// its members in order, first repeated at the end.
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(tos) = s.g.edges.get(v) {
            for w in tos {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.reverse();
                group.push(group[0].clone());
                s.out.push(group);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

pub fn dot(g: &Graph) -> String {
    let mut out = String::from("digraph modules {\n  rankdir=BT;\n");
    for (from, tos) in &g.edges {
        for to in tos {
            out.push_str(&format!("  \"{from}\" -> \"{to}\";\n"));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_groups_are_read_without_comments_or_strings() {
        let code = code_only(
            "use crate::{Error, model::users};\n// crate::flows::x\nlet s = \"crate::flows::y\";\nlet c = '\"'; crate::base::page::encode(x)",
        );
        let paths = paths_after(&code, "crate::");
        assert!(paths.contains(&vec!["model", "users"]));
        assert!(paths.contains(&vec!["base", "page", "encode"]));
        assert!(!paths.iter().any(|p| p.first() == Some(&"flows")), "{paths:?}");
    }

    #[test]
    fn upward_edges_and_circles_are_reported() {
        let mut edges = BTreeMap::new();
        edges.insert("base::a".to_string(), BTreeSet::from(["model::b".to_string()]));
        edges.insert("model::b".to_string(), BTreeSet::from(["model::c".to_string()]));
        edges.insert("model::c".to_string(), BTreeSet::from(["model::b".to_string()]));
        let v = violations(&Graph { edges });
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].starts_with("base::a (base) depends on model::b"));
        assert_eq!(v[1], "circle: model::b -> model::c -> model::b");
    }

    /// The rule holds in cognate-idp.
    #[test]
    fn cognate_idp_keeps_its_layers() {
        let src = crate::codegen::workspace_root().join("crates/cognate-idp/src");
        let g = graph(&src).expect("sources read");
        assert!(g.edges.len() > 10, "modules found: {:?}", g.edges.keys());
        let v = violations(&g);
        assert!(v.is_empty(), "layer rule broken (cargo xtask layers):\n{}", v.join("\n"));
    }
}
