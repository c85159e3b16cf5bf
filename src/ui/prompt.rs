//! Confirmations: a question on the terminal, or `--yes` from a script; with neither, a refusal.

use crate::error::{Error, Result};
use crate::ground::refusal::Refusal;

/// Asks "`what`?" on a terminal; without one, `--yes` is the only way on.
pub(crate) fn confirm(what: &str, yes: bool) -> Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused(Refusal::NeedsConfirmation {
            what: what.to_string(),
        }));
    }
    // `what` may name what a server named (a fleet's databases): no control character reaches
    // the terminal.
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "{}. Go ahead? [y/N] ",
        crate::ground::escape::escape(what)
    );
    let _ = stderr.flush();
    drop(stderr);
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        return Ok(());
    }
    Err(Error::Refused(Refusal::NotConfirmed))
}
