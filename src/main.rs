//! The `migo` binary: a shim over [`migo::run`].

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(migo::run(std::env::args_os()))
}
