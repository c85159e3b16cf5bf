//! Diagnostic logs (tracing) on stderr: off by default, `-v` for migo's steps, `-vv` for every
//! command sent; `MIGO_LOG` takes a tracing filter and wins over both.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber for the chosen verbosity.
pub(crate) fn init(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "migo=debug",
        (false, _) => "migo=trace,mongodb=debug",
    };
    let filter = EnvFilter::try_from_env("MIGO_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
