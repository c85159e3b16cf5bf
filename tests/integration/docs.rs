//! The documentation stays true to the code: every source file has its row in the architecture
//! page, every exit code and `MIGO_*` variable is documented, every subcommand is in the
//! README, and every page the README links to exists.

use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn sources(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            found.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

#[test]
fn every_source_file_is_in_the_architecture_page() {
    let page = read("docs/architecture.md");
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let missing: Vec<&String> = files
        .iter()
        .filter(|f| !page.contains(&format!("| `{f}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/architecture.md: {missing:?}"
    );
}

#[test]
fn every_exit_code_and_variable_is_documented() {
    let codes = read("docs/exit-codes.md");
    let error = read("src/error.rs");
    for line in error
        .lines()
        .filter(|l| l.contains("pub(crate) const ") && l.contains(": u8 = "))
    {
        let code = line.rsplit("= ").next().unwrap().trim_end_matches(';');
        assert!(
            codes.contains(&format!("| {code} |"))
                || (codes.contains("| 130, 143 |") && (code == "130" || code == "143")),
            "exit code {code} is not in docs/exit-codes.md"
        );
    }
    let configuration = read("docs/configuration.md");
    let variables = read("src/config/variables.rs");
    for name in variables
        .split('"')
        .filter(|w| w.starts_with("MIGO_") && !w.contains(' '))
    {
        assert!(
            configuration.contains(name),
            "{name} is not in docs/configuration.md"
        );
    }
}

#[test]
fn every_subcommand_is_in_the_readme_and_its_links_exist() {
    let readme = read("README.md");
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_migo"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let commands = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap();
    let names = commands
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "));
    for line in names {
        let name = line.split_whitespace().next().unwrap();
        assert!(
            readme.contains(&format!("`{name}")) || readme.contains(&format!(", `{name}")),
            "subcommand `{name}` is not in the README"
        );
    }
    for link in readme.split("](").skip(1) {
        let target = link.split(')').next().unwrap().split('#').next().unwrap();
        if target.starts_with("http") || target.is_empty() {
            continue;
        }
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(target).exists(),
            "README links to {target}, which does not exist"
        );
    }
}
