//! A closed stdout (`migo completions bash | head -1`, `migo list | head -1`) is not an error:
//! migo stops writing and exits as it would have, with no panic and no message.

use std::process::Stdio;

use crate::push;
use crate::test::{Run, Test};

/// Runs `migo ARGS` in `t` with stdout a pipe whose reading end is already closed, so that
/// every write to it fails with a broken pipe.
fn closed_stdout(t: &Test, args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = t
        .command(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Run::from_output(&output)
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let t = Test::new()
        .config("[tasks.lines]\ndescription = \"Many lines\"\nrun = 'seq 1 20000'\n")
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2));
    t.run(&["execute", "0001_a"]).success();
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["list"],
        &["list", "--json"],
        &["history"],
        &["version"],
        &["help"],
        &["--help"],
        &["lines"],
    ] {
        let run = closed_stdout(&t, args);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (0, ""),
            "migo {}",
            args.join(" ")
        );
    }
    // A run that fails still says why, on stderr, with its own exit code.
    let run = closed_stdout(&t, &["check"]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: migrations are not up to date"),
        "{}",
        run.stderr
    );
}
