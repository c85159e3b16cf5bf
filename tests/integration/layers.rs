//! The modules stand on floors and every import points down (docs/architecture.md): a stage
//! never reaches up into a stage built on it, and no two modules import each other. Read from
//! the sources' own `crate::…` paths, test code left out (it may use anything).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The floors from the bottom up; a module may import only modules on lower floors.
const FLOORS: &[&[&str]] = &[
    &["ground", "api", "identity"],
    &["error"],
    &["plan"],
    &["config"],
    &["store"],
    &["schema", "halt"],
    &["process"],
    &["migration", "backup", "remote"],
    &["extensions", "cli", "lint", "preflight", "run"],
    &["ui"],
    &["commands", "init"],
    &["fleet"],
    &["app"],
    &["lib", "main"],
];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// The top-level module a file under `src/` belongs to.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// The code of a file without its comments and its `#[cfg(test)]` part.
fn code(text: &str) -> String {
    let mut kept = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = line.split("//").next().unwrap_or("");
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// The top-level modules a piece of code names after `crate::`, in paths and in
/// `use crate::{a::b, c}` groups.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            let mut ident = String::new();
            for c in group.chars() {
                if c.is_alphanumeric() || c == '_' {
                    if item_start {
                        ident.push(c);
                    }
                    continue;
                }
                if !ident.is_empty() {
                    found.insert(std::mem::take(&mut ident));
                    item_start = false;
                }
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => item_start = true,
                    _ => {}
                }
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(ident);
        }
    }
    found
}

fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            found.push(path);
        }
    }
}

#[test]
fn every_import_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut climbs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let from = module_of(relative);
        let from_floor = floor(&from).unwrap_or_else(|| {
            panic!(
                "src/{}: give `{from}` a floor in FLOORS",
                relative.display()
            )
        });
        for to in imports(&code(&std::fs::read_to_string(file).unwrap())) {
            let Some(to_floor) = floor(&to) else { continue };
            if to != from && to_floor >= from_floor {
                climbs
                    .entry(format!("{from} -> {to}"))
                    .or_default()
                    .insert(format!("src/{}", relative.display()));
            }
        }
    }
    assert!(
        climbs.is_empty(),
        "imports that climb or stay on their floor (move the shared thing down): {climbs:#?}"
    );
}

#[test]
fn the_reader_sees_paths_and_groups() {
    let found =
        imports("use crate::{config::Target, ground::{a, b}, run};\nlet x = crate::store::X;");
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, ["config", "ground", "run", "store"]);
}
