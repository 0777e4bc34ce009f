//! No two files in `src/` refer to each other.
//!
//! Reads the library's module tree from `src/lib.rs` (following `mod name;` declarations and
//! `#[path]`), collects the modules each file refers to, and fails on every pair of files that
//! refer to each other, naming both files and the lines. A file refers to a module through a
//! `use` tree (braces and nesting included), a qualified path (`crate::a::b`, `super::…`,
//! `self::…`) or a path that starts with a child module the file declares (`child::run()`);
//! each path counts for the longest module prefix it names (`crate::plan::Peer` refers to
//! `plan`). Declaring a module (`mod child;`) is not a reference, so a parent that only declares
//! its children is fine; a parent that calls or re-exports a child is fine too, as long as the
//! child does not refer back to it. `#[cfg(test)]` items (test modules inline or in their own
//! file), comments and string literals are ignored. A second check goes one step further: no
//! ring of three or more files (`a` → `b` → `c` → `a`) either.
//!
//! The usual fix for a pair: what both files need moves into a third, leaf file that neither
//! imports back (shared clap arguments in `cli/args.rs`, a type two siblings share in its own
//! file), so the parent only declares and dispatches. Plain std only; the scanner's own tests
//! below make sure it finds a pair when there is one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A file's module path inside the crate (`[]` for the crate root).
type ModPath = Vec<String>;

#[test]
fn no_two_files_in_src_refer_to_each_other() {
    let pairs = src_modules().pairs();
    assert!(
        pairs.is_empty(),
        "{} pair(s) of files refer to each other; move what both need into a file neither \
         imports back:\n{}",
        pairs.len(),
        pairs.join("\n")
    );
}

/// The same rule, one step further: no ring of three or more files either (`a` → `b` → `c` →
/// `a`), so the files of `src/` form layers.
#[test]
fn no_ring_of_files_in_src_refers_back_to_its_start() {
    let modules = src_modules();
    let rings: Vec<String> = modules
        .cycles()
        .iter()
        .filter(|ring| ring.len() > 2)
        .map(|ring| modules.describe_ring(ring))
        .collect();
    assert!(
        rings.is_empty(),
        "{} ring(s) of files refer back to their start; move what the last one needs from the \
         first into a file below both:\n{}",
        rings.len(),
        rings.join("\n")
    );
}

/// Every file of `src/`, scanned; fails when a file escapes the scan or the scan finds
/// implausibly little.
fn src_modules() -> CrateModules {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = BTreeMap::new();
    read_dir(root, Path::new("src"), &mut sources);
    assert!(
        sources.len() > 50,
        "expected the whole of src/, read {} files",
        sources.len()
    );

    let crate_modules = scan(&sources);
    // Every file under src/ is either a module of the library, a test module (ignored), or the
    // binary's root: nothing escapes the check by not being reached.
    let unaccounted: Vec<&String> = sources
        .keys()
        .filter(|path| {
            path.as_str() != "src/main.rs"
                && !crate_modules.files.contains_key(*path)
                && !crate_modules.test_files.contains(*path)
        })
        .collect();
    assert!(
        unaccounted.is_empty(),
        "files under src/ that no `mod` declaration reaches: {unaccounted:?}"
    );
    assert!(
        crate_modules.edges.len() > 100,
        "expected the library's imports, found {} (is the scanner broken?)",
        crate_modules.edges.len()
    );
    crate_modules
}

fn read_dir(root: &Path, rel: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(root.join(rel))
        .unwrap_or_else(|e| panic!("reading {}: {e}", rel.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().expect("file name").to_owned();
        let rel_path = rel.join(&name);
        if path.is_dir() {
            read_dir(root, &rel_path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            out.insert(slash_path(&rel_path), text);
        }
    }
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

// ---------------------------------------------------------------------------------------------
// The scanner: sources (path → text, paths like `src/a/b.rs`) in, modules and references out.
// ---------------------------------------------------------------------------------------------

/// The crate's file modules and who refers to whom.
struct CrateModules {
    /// File path → module path, for every file reached from `src/lib.rs`.
    files: BTreeMap<String, ModPath>,
    /// Files reached only through `#[cfg(test)]` module declarations (not checked).
    test_files: BTreeSet<String>,
    /// (from, to) → the lines in `from`'s file that refer to `to`.
    edges: BTreeMap<(ModPath, ModPath), Vec<usize>>,
}

impl CrateModules {
    /// Every pair of files that refer to each other, one line each, sorted.
    fn pairs(&self) -> Vec<String> {
        let file_of: BTreeMap<&ModPath, &String> = self
            .files
            .iter()
            .map(|(file, module)| (module, file))
            .collect();
        let mut out = Vec::new();
        for ((from, to), lines) in &self.edges {
            if from >= to {
                continue;
            }
            if let Some(back) = self.edges.get(&(to.clone(), from.clone())) {
                out.push(format!(
                    "  {} ↔ {}: {} refers to {} at line(s) {}; {} refers to {} at line(s) {}",
                    display(from),
                    display(to),
                    file_of[from],
                    display(to),
                    join_lines(lines),
                    file_of[to],
                    display(from),
                    join_lines(back),
                ));
            }
        }
        out
    }

    /// One shortest ring through the first module of every group of modules that reach each
    /// other (a strongly connected component with more than one member); a pair is a ring of
    /// two.
    fn cycles(&self) -> Vec<Vec<ModPath>> {
        let mut graph: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
        for (from, to) in self.edges.keys() {
            graph.entry(from).or_default().push(to);
            graph.entry(to).or_default();
        }
        let mut rings = Vec::new();
        for component in components(&graph) {
            let set: BTreeSet<&ModPath> = component.iter().copied().collect();
            let start = component[0];
            // Breadth-first from `start` inside the component, back to `start`.
            let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            'search: while let Some(at) = queue.pop_front() {
                for &next in &graph[at] {
                    if next == start {
                        let mut ring = vec![at.clone()];
                        let mut back = at;
                        while back != start {
                            back = came_from[back];
                            ring.push(back.clone());
                        }
                        ring.reverse();
                        rings.push(ring);
                        break 'search;
                    }
                    if set.contains(next) && !came_from.contains_key(next) {
                        came_from.insert(next, at);
                        queue.push_back(next);
                    }
                }
            }
        }
        rings
    }

    /// `a → b (src/a.rs:3) → c (src/b.rs:9) → a (src/c.rs:1)`.
    fn describe_ring(&self, ring: &[ModPath]) -> String {
        let file_of: BTreeMap<&ModPath, &String> = self
            .files
            .iter()
            .map(|(file, module)| (module, file))
            .collect();
        let mut text = format!("  {}", display(&ring[0]));
        for (k, from) in ring.iter().enumerate() {
            let to = &ring[(k + 1) % ring.len()];
            let lines = &self.edges[&(from.clone(), to.clone())];
            text.push_str(&format!(
                " → {} ({}:{})",
                display(to),
                file_of[from],
                join_lines(lines)
            ));
        }
        text
    }

    /// The pairs as module names, for the scanner's own tests.
    fn pair_names(&self) -> Vec<(String, String)> {
        self.edges
            .keys()
            .filter(|(from, to)| from < to && self.edges.contains_key(&(to.clone(), from.clone())))
            .map(|(from, to)| (display(from), display(to)))
            .collect()
    }
}

/// Tarjan's strongly connected components with more than one member, each sorted.
fn components<'a>(graph: &BTreeMap<&'a ModPath, Vec<&'a ModPath>>) -> Vec<Vec<&'a ModPath>> {
    struct State<'a> {
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        out: Vec<Vec<&'a ModPath>>,
    }
    fn visit<'a>(
        v: &'a ModPath,
        graph: &BTreeMap<&'a ModPath, Vec<&'a ModPath>>,
        st: &mut State<'a>,
    ) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        st.on_stack.insert(v);
        for &w in &graph[v] {
            if !st.index.contains_key(w) {
                visit(w, graph, st);
                let low = st.low[v].min(st.low[w]);
                st.low.insert(v, low);
            } else if st.on_stack.contains(w) {
                let low = st.low[v].min(st.index[w]);
                st.low.insert(v, low);
            }
        }
        if st.low[v] == st.index[v] {
            let mut component = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                st.out.push(component);
            }
        }
    }
    let mut st = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in graph.keys() {
        if !st.index.contains_key(v) {
            visit(v, graph, &mut st);
        }
    }
    st.out.sort();
    st.out
}

fn display(module: &ModPath) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds the module tree from `src/lib.rs` and every file's references.
fn scan(sources: &BTreeMap<String, String>) -> CrateModules {
    let mut files = BTreeMap::new();
    let mut test_files = BTreeSet::new();
    let mut parsed = BTreeMap::new();
    let mut queue = vec![("src/lib.rs".to_owned(), ModPath::new(), true)];
    while let Some((file, module, mod_rs)) = queue.pop() {
        let Some(text) = sources.get(&file) else {
            panic!("module {} declared but no file {file}", display(&module));
        };
        let tokens = lex(text);
        let (kept, removed) = strip_cfg_test(&tokens);
        let dir = parent_dir(&file);
        let child_dir = if mod_rs {
            dir.clone()
        } else {
            format!("{dir}/{}", file_stem(&file))
        };
        for decl in mod_decls(&removed) {
            if let Some(path) = child_file(sources, &dir, &child_dir, &decl) {
                test_files.insert(path);
            }
        }
        let mut children = BTreeSet::new();
        for decl in mod_decls(&kept) {
            let path = child_file(sources, &dir, &child_dir, &decl).unwrap_or_else(|| {
                panic!("{file}: no file for `mod {};`", decl.name);
            });
            let mut child = module.clone();
            child.push(decl.name.clone());
            // A `#[path]` file and a `mod.rs` keep their children beside them.
            let child_mod_rs = decl.path.is_some() || path.ends_with("/mod.rs");
            queue.push((path, child, child_mod_rs));
            children.insert(decl.name);
        }
        files.insert(file.clone(), module.clone());
        parsed.insert(file, (module, kept, children));
    }

    let modules: BTreeSet<ModPath> = files.values().cloned().collect();
    let mut edges: BTreeMap<(ModPath, ModPath), Vec<usize>> = BTreeMap::new();
    for (module, tokens, children) in parsed.values() {
        for (path, line, scope) in references(tokens, children) {
            let mut base = module.clone();
            base.extend(scope);
            let Some(target) = resolve(&base, &path, children, &modules) else {
                continue;
            };
            if &target != module {
                let lines = edges.entry((module.clone(), target)).or_default();
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
        }
    }
    CrateModules {
        files,
        test_files,
        edges,
    }
}

fn parent_dir(file: &str) -> String {
    file.rsplit_once('/').map_or("", |(dir, _)| dir).to_owned()
}

fn file_stem(file: &str) -> &str {
    let name = file.rsplit_once('/').map_or(file, |(_, name)| name);
    name.strip_suffix(".rs").unwrap_or(name)
}

/// The file a `mod name;` declaration loads, if it exists among the sources.
fn child_file(
    sources: &BTreeMap<String, String>,
    dir: &str,
    child_dir: &str,
    decl: &ModDecl,
) -> Option<String> {
    let candidates = match &decl.path {
        Some(path) => vec![format!("{dir}/{path}")],
        None => vec![
            format!("{child_dir}/{}.rs", decl.name),
            format!("{child_dir}/{}/mod.rs", decl.name),
        ],
    };
    candidates.into_iter().find(|c| sources.contains_key(c))
}

/// Resolves a path written in module `base` (file module plus inline modules) to the longest
/// file module it names; `None` for paths outside the crate.
fn resolve(
    base: &ModPath,
    path: &[String],
    children: &BTreeSet<String>,
    modules: &BTreeSet<ModPath>,
) -> Option<ModPath> {
    let first = path.first()?;
    let mut full = match first.as_str() {
        "crate" => path[1..].to_vec(),
        "self" => base.iter().chain(&path[1..]).cloned().collect(),
        "super" => {
            let mut full = base.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                full.pop()?;
                rest = &rest[1..];
            }
            full.extend(rest.iter().cloned());
            full
        }
        name if children.contains(name) => base.iter().chain(path).cloned().collect(),
        _ => return None,
    };
    while !modules.contains(&full) {
        full.pop()?;
    }
    Some(full)
}

// ---------------------------------------------------------------------------------------------
// Lexing: just enough of Rust to tell paths from comments, strings and char literals.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    /// A string literal's raw text (only `#[path = "…"]` reads it).
    Str(String),
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

impl Token {
    fn is_ident(&self, name: &str) -> bool {
        matches!(&self.tok, Tok::Ident(s) if s == name)
    }
    fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }
}

fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' || (is_str_prefix(&chars, i) && !prev_is_ident_char(&chars, i)) {
            // "…", b"…", c"…", r"…", r#"…"#, br#"…"#, cr"…"
            let start_line = line;
            let mut j = i;
            while chars[j] != '"' && chars[j] != 'r' {
                j += 1; // b or c prefix
            }
            let raw = chars[j] == 'r';
            let mut hashes = 0;
            if raw {
                j += 1;
                while chars[j] == '#' {
                    hashes += 1;
                    j += 1;
                }
            }
            j += 1; // the opening quote
            let mut content = String::new();
            while j < chars.len() {
                let d = chars[j];
                if d == '\n' {
                    line += 1;
                }
                if !raw && d == '\\' {
                    content.push(d);
                    content.push(at(j + 1));
                    if at(j + 1) == '\n' {
                        line += 1;
                    }
                    j += 2;
                    continue;
                }
                if d == '"' && (0..hashes).all(|k| at(j + 1 + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                content.push(d);
                j += 1;
            }
            out.push(Token {
                tok: Tok::Str(content),
                line: start_line,
            });
            i = j;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}', b'x' handled via the ident path) or a
            // lifetime / label ('a, 'static): only literals are skipped whole.
            if at(i + 1) == '\\' {
                let mut j = i + 3; // past the escaped character
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
            }
        } else if c == 'b' && at(i + 1) == '\'' && !prev_is_ident_char(&chars, i) {
            // b'x', b'\n'
            let mut j = i + 2;
            if at(j) == '\\' {
                j += 1;
            }
            j += 1;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            i = j + 1;
        } else if is_ident_char(c) {
            if c == 'r' && at(i + 1) == '#' && is_ident_char(at(i + 2)) {
                i += 2; // r#ident
            }
            let name_start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            if c.is_ascii_digit() {
                continue; // a number
            }
            out.push(Token {
                tok: Tok::Ident(chars[name_start..i].iter().collect()),
                line,
            });
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn prev_is_ident_char(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident_char(chars[i - 1])
}

/// `b"`, `c"`, `r"`, `r#"`, `br"`, `br#"`, `cr"`, `cr#"` at `i`.
fn is_str_prefix(chars: &[char], i: usize) -> bool {
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    let mut j = i;
    if at(j) == 'b' || at(j) == 'c' {
        j += 1;
        if at(j) == '"' {
            return true;
        }
    }
    if at(j) != 'r' {
        return false;
    }
    j += 1;
    while at(j) == '#' {
        j += 1;
    }
    at(j) == '"'
}

// ---------------------------------------------------------------------------------------------
// Items: `#[cfg(test)]` removal, `mod` declarations, references.
// ---------------------------------------------------------------------------------------------

/// Splits tokens into the kept ones and the `#[cfg(test)]` items removed.
fn strip_cfg_test(tokens: &[Token]) -> (Vec<Token>, Vec<Token>) {
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !is_cfg_test(tokens, i) {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let start = i;
        // The attribute, any further attributes, then the item itself: up to a `;` outside
        // brackets, or the `}` that closes its body (a `use` tree's braces end at its `;`).
        let mut depth = 0usize;
        let mut in_attr = true;
        let mut is_use = false;
        while i < tokens.len() {
            let t = &tokens[i];
            if depth == 0 && !in_attr && t.is_ident("use") {
                is_use = true;
            }
            match t.tok {
                Tok::Punct('{' | '(' | '[') => depth += 1,
                // The block around a field or a statement closes: the item ended before it.
                Tok::Punct('}' | ')' | ']') if depth == 0 => break,
                Tok::Punct('}' | ')' | ']') => {
                    depth -= 1;
                    if depth == 0 && in_attr && t.is_punct(']') {
                        in_attr = tokens.get(i + 1).is_some_and(|n| n.is_punct('#'));
                    } else if depth == 0 && t.is_punct('}') && !is_use && !in_attr {
                        i += 1;
                        break;
                    }
                }
                // `;` ends an item or statement, `,` a field or an arm.
                Tok::Punct(';' | ',') if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        removed.extend_from_slice(&tokens[start..i]);
    }
    (kept, removed)
}

/// `#[cfg(test)]` at `i`.
fn is_cfg_test(tokens: &[Token], i: usize) -> bool {
    let want = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    tokens.len() >= i + want.len() && want.iter().zip(&tokens[i..]).all(|(w, t)| *w == t.tok)
}

struct ModDecl {
    name: String,
    /// `#[path = "…"]`, relative to the declaring file's directory.
    path: Option<String>,
}

/// Out-of-line `mod name;` declarations outside inline modules.
fn mod_decls(tokens: &[Token]) -> Vec<ModDecl> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut pending_path = None;
    for (i, t) in tokens.iter().enumerate() {
        match &t.tok {
            Tok::Punct('{') => {
                depth += 1;
                pending_path = None;
            }
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                pending_path = None;
            }
            Tok::Punct(';') => pending_path = None,
            Tok::Ident(id) if id == "path" && i >= 2 && tokens[i - 1].is_punct('[') => {
                if tokens.get(i + 1).is_some_and(|t| t.is_punct('='))
                    && let Some(Tok::Str(s)) = tokens.get(i + 2).map(|t| &t.tok)
                {
                    pending_path = Some(s.clone());
                }
            }
            Tok::Ident(id) if id == "mod" && depth == 0 => {
                if let Some(Tok::Ident(name)) = tokens.get(i + 1).map(|t| &t.tok)
                    && tokens.get(i + 2).is_some_and(|t| t.is_punct(';'))
                {
                    out.push(ModDecl {
                        name: name.clone(),
                        path: pending_path.take(),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// Every path that may name a module of the crate: (segments, line, inline module scope).
/// From `use` trees (each leaf spelled in full) and from qualified paths in code that start
/// with `crate`, `super`, `self` or a declared child module.
fn references(tokens: &[Token], children: &BTreeSet<String>) -> Vec<(Vec<String>, usize, ModPath)> {
    let mut out = Vec::new();
    let mut scope: Vec<(String, usize)> = Vec::new(); // inline modules and their brace depth
    let mut depth = 0usize;
    let mut i = 0;
    let scope_path = |scope: &[(String, usize)]| -> ModPath {
        scope.iter().map(|(name, _)| name.clone()).collect()
    };
    while i < tokens.len() {
        let t = &tokens[i];
        match &t.tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if scope.last().is_some_and(|(_, d)| *d == depth) {
                    scope.pop();
                }
            }
            // Paths in attribute strings: `#[serde(with = "crate::resources::labels")]`.
            Tok::Str(text) if in_attribute(tokens, i) => {
                let path: Vec<String> = text.split("::").map(str::to_owned).collect();
                let first = path[0].as_str();
                let is_path = path
                    .iter()
                    .all(|s| !s.is_empty() && s.chars().all(is_ident_char));
                if is_path
                    && (matches!(first, "crate" | "super" | "self")
                        || (scope.is_empty() && children.contains(first)))
                {
                    out.push((path, t.line, scope_path(&scope)));
                }
            }
            Tok::Ident(id) if id == "mod" => {
                if let Some(Tok::Ident(name)) = tokens.get(i + 1).map(|t| &t.tok)
                    && tokens.get(i + 2).is_some_and(|t| t.is_punct('{'))
                {
                    scope.push((name.clone(), depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(id) if id == "use" => {
                let mut j = i + 1;
                let mut leaves = Vec::new();
                use_tree(tokens, &mut j, Vec::new(), &mut leaves);
                let here = scope_path(&scope);
                for (path, line) in leaves {
                    out.push((path, line, here.clone()));
                }
                // Skip to the end of the declaration.
                while j < tokens.len() && !tokens[j].is_punct(';') {
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            Tok::Ident(first) if i == 0 || tokens[i - 1].tok != Tok::PathSep => {
                let starts_path = matches!(first.as_str(), "crate" | "super" | "self")
                    || (scope.is_empty() && children.contains(first));
                if starts_path && tokens.get(i + 1).is_some_and(|n| n.tok == Tok::PathSep) {
                    let mut path = vec![first.clone()];
                    let mut line = t.line;
                    let mut j = i + 1;
                    while tokens.get(j).is_some_and(|n| n.tok == Tok::PathSep) {
                        match tokens.get(j + 1) {
                            Some(Token {
                                tok: Tok::Ident(seg),
                                line: l,
                            }) => {
                                path.push(seg.clone());
                                line = *l;
                                j += 2;
                            }
                            _ => break,
                        }
                    }
                    out.push((path, line, scope_path(&scope)));
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether token `i` is inside a `#[…]` attribute.
fn in_attribute(tokens: &[Token], i: usize) -> bool {
    let mut depth = 0usize;
    for k in (0..i).rev() {
        match tokens[k].tok {
            Tok::Punct(']' | ')' | '}') => depth += 1,
            Tok::Punct('(' | '{') => depth = depth.saturating_sub(1),
            Tok::Punct('[') if depth == 0 => {
                return k > 0 && (tokens[k - 1].is_punct('#') || tokens[k - 1].is_punct('!'));
            }
            Tok::Punct('[') => depth -= 1,
            Tok::Punct(';') => return false,
            _ => {}
        }
    }
    false
}

/// Parses one use tree at `*j` under `prefix`, pushing each leaf path (and its line).
fn use_tree(
    tokens: &[Token],
    j: &mut usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, usize)>,
) {
    let mut line;
    if tokens.get(*j).is_some_and(|t| t.tok == Tok::PathSep) {
        *j += 1; // `use ::std::…`
    }
    loop {
        let Some(t) = tokens.get(*j) else { return };
        match &t.tok {
            Tok::Ident(seg) => {
                // `self` inside braces names the prefix itself.
                if seg != "self" || prefix.is_empty() {
                    prefix.push(seg.clone());
                }
                line = t.line;
                *j += 1;
                if tokens.get(*j).is_some_and(|n| n.tok == Tok::PathSep) {
                    *j += 1;
                    continue;
                }
                break;
            }
            Tok::Punct('*') => {
                line = t.line;
                *j += 1;
                break;
            }
            Tok::Punct('{') => {
                *j += 1;
                loop {
                    match tokens.get(*j) {
                        None => return,
                        Some(t) if t.is_punct('}') => {
                            *j += 1;
                            return;
                        }
                        Some(t) if t.is_punct(',') => *j += 1,
                        Some(_) => {
                            let before = *j;
                            use_tree(tokens, j, prefix.clone(), out);
                            if *j == before {
                                *j += 1; // never stall on something unexpected
                            }
                        }
                    }
                }
            }
            _ => return,
        }
    }
    if tokens.get(*j).is_some_and(|t| t.is_ident("as")) {
        *j += 2;
    }
    if !prefix.is_empty() {
        out.push((prefix, line));
    }
}

// ---------------------------------------------------------------------------------------------
// The scanner's own tests: it must find a pair when there is one, so the check above cannot
// pass by finding nothing.
// ---------------------------------------------------------------------------------------------

fn crate_of(files: &[(&str, &str)]) -> CrateModules {
    let sources = files
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    scan(&sources)
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn scanner_finds_two_siblings_importing_each_other() {
    let modules = crate_of(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        ("src/a.rs", "use crate::b::B;\npub struct A(B);\n"),
        ("src/b.rs", "pub struct B;\nfn f(_: super::a::A) {}\n"),
    ]);
    assert_eq!(modules.pair_names(), vec![pair("a", "b")]);
    let report = modules.pairs().join("\n");
    assert!(
        report.contains("src/a.rs refers to b at line(s) 1"),
        "{report}"
    );
    assert!(
        report.contains("src/b.rs refers to a at line(s) 2"),
        "{report}"
    );
}

#[test]
fn scanner_finds_a_ring_of_three_files() {
    let modules = crate_of(&[
        ("src/lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
        ("src/a.rs", "use crate::b::B;\n"),
        ("src/b.rs", "pub struct B(crate::c::C);\n"),
        (
            "src/c.rs",
            "pub struct C;\nuse super::d::D;\n\nuse crate::a::A;\n",
        ),
        ("src/d.rs", "pub struct D;\n"),
    ]);
    assert!(modules.pair_names().is_empty());
    let rings = modules.cycles();
    assert_eq!(rings.len(), 1, "{rings:?}");
    assert_eq!(
        modules.describe_ring(&rings[0]),
        "  a → b (src/a.rs:1) → c (src/b.rs:1) → a (src/c.rs:4)"
    );
}

#[test]
fn scanner_finds_nested_use_trees_and_globs() {
    let modules = crate_of(&[
        ("src/lib.rs", "mod x;\nmod y;\nmod z;\n"),
        (
            "src/x/mod.rs",
            "mod inner;\nuse crate::{\n    y::{self},\n    z::{Z as Zed, *},\n};\n",
        ),
        ("src/x/inner.rs", "pub fn f() {}\n"),
        ("src/y.rs", "use crate::x::*;\n"),
        (
            "src/z.rs",
            "use crate::x::inner::f;\nuse super::x as other;\n",
        ),
    ]);
    // z → x::inner is not z → x: only x ↔ y and x ↔ z (through `super::x`).
    assert_eq!(modules.pair_names(), vec![pair("x", "y"), pair("x", "z")]);
}

#[test]
fn scanner_finds_a_parent_dispatching_to_a_child_that_imports_it() {
    let modules = crate_of(&[
        ("src/lib.rs", "pub mod cli;\n"),
        (
            "src/cli/mod.rs",
            "mod run;\npub struct Common;\npub fn entry() { run::run() }\n",
        ),
        ("src/cli/run.rs", "use super::Common;\npub fn run() {}\n"),
    ]);
    assert_eq!(modules.pair_names(), vec![pair("cli", "cli::run")]);
}

#[test]
fn scanner_finds_a_reexport_with_a_child_importing_its_parent() {
    let modules = crate_of(&[
        ("src/lib.rs", "pub mod plan;\n"),
        (
            "src/plan/mod.rs",
            "mod peer;\npub use peer::Peer;\npub struct Family;\n",
        ),
        (
            "src/plan/peer.rs",
            "pub struct Peer(crate::plan::Family);\n",
        ),
    ]);
    assert_eq!(modules.pair_names(), vec![pair("plan", "plan::peer")]);
}

#[test]
fn scanner_accepts_a_parent_that_only_declares_and_dispatches() {
    let modules = crate_of(&[
        ("src/lib.rs", "pub mod cli;\npub mod plan;\n"),
        (
            "src/cli/mod.rs",
            "//! Dispatch only.\nmod args;\nmod run;\npub use args::Cli;\n\
             pub fn entry(cli: Cli) { run::run(cli) }\n",
        ),
        ("src/cli/args.rs", "pub struct Cli;\n"),
        (
            "src/cli/run.rs",
            "use super::args::Cli;\nuse crate::plan::plan;\npub fn run(_: Cli) { plan() }\n",
        ),
        (
            "src/plan/mod.rs",
            "mod family;\npub use family::Family;\npub fn plan() {}\n",
        ),
        ("src/plan/family.rs", "pub enum Family { V4 }\n"),
    ]);
    assert_eq!(modules.pair_names(), Vec::<(String, String)>::new());
    assert!(modules.edges.contains_key(&(
        vec!["cli".to_owned()],
        vec!["cli".to_owned(), "run".to_owned()]
    )));
    assert!(modules.edges.contains_key(&(
        vec!["cli".to_owned(), "run".to_owned()],
        vec!["plan".to_owned()]
    )));
}

#[test]
fn scanner_ignores_tests_comments_and_strings() {
    let modules = crate_of(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "src/a.rs",
            "use crate::b::B;\npub struct A;\n\
             #[cfg(test)]\n#[path = \"a_tests.rs\"]\nmod tests;\n\
             #[cfg(test)]\nmod more { use crate::b::{x, y}; fn f() { super::super::b::g() } }\n\
             #[cfg(test)]\nuse crate::b::{p, q};\n",
        ),
        ("src/a_tests.rs", "use crate::b::B;\n"),
        (
            "src/b.rs",
            "// crate::a::A in a comment\n/* and crate::a::A /* nested */ here */\n\
             /// [`crate::a::A`] in a doc\npub struct B;\n\
             const S: &str = \"crate::a::A\";\nconst R: &str = r#\"super::a\"#;\n\
             const C: char = '\\'';\nfn g<'a>(x: &'a str) -> &'a str { x }\n",
        ),
    ]);
    assert_eq!(modules.pair_names(), Vec::<(String, String)>::new());
    assert!(modules.test_files.contains("src/a_tests.rs"));
    assert!(!modules.files.contains_key("src/a_tests.rs"));
    // The kept reference is still seen.
    assert_eq!(
        modules
            .edges
            .get(&(vec!["a".to_owned()], vec!["b".to_owned()])),
        Some(&vec![1])
    );
}

#[test]
fn scanner_resolves_inline_modules_and_mod_rs_children() {
    let modules = crate_of(&[
        ("src/lib.rs", "pub mod resources;\n"),
        ("src/resources/mod.rs", "mod labels;\nmod types;\n"),
        (
            "src/resources/labels.rs",
            "pub mod loose { use super::Labels; fn f() -> super::super::types::T {} }\n\
             pub struct Labels;\n",
        ),
        (
            "src/resources/types.rs",
            "use super::labels::loose;\npub struct T;\n",
        ),
    ]);
    // Inside `labels::loose`, `super::super::types` is `resources::types`: a pair.
    assert_eq!(
        modules.pair_names(),
        vec![pair("resources::labels", "resources::types")]
    );
}
