//! The command line, end to end: parse, load settings (with whatever a custom binary compiled
//! in), dispatch to one subcommand, and render an error once with its exit code.

use std::ffi::OsString;

use clap::Parser;

use std::sync::Arc;

use crate::api::{Extensions, Extra, Migration};
use crate::cli::{self, Cli, ColorChoice, Command, GlobalArgs};
use crate::commands;
use crate::config::Settings;
use crate::error::{exit, Error, Result};
use crate::migration::compiled::Compiled;
use crate::plan::{Backward, Forward, Request};
use crate::ui::logging;
use crate::ui::output::{ColorWhen, Output};

/// A migo command line with compiled migrations and extras: the library's entry point for a
/// team's own binary. `migo` itself is `App::new()` with nothing added.
#[derive(Debug, Clone, Default)]
pub struct App {
    extensions: Extensions,
}

impl App {
    /// Plain migo.
    pub fn new() -> App {
        App::default()
    }

    /// Adds a compiled migration to the numbered sequence.
    pub fn migration(mut self, migration: impl Migration) -> App {
        let compiled = Compiled(Arc::new(migration));
        self.extensions.migrations.push(compiled);
        self
    }

    /// Adds an extra subcommand.
    pub fn extra(mut self, extra: impl Extra) -> App {
        self.extensions.extras.push(Arc::new(extra));
        self
    }

    /// Runs the process's command line and exits with migo's exit code.
    pub fn main(self) -> ! {
        let code = self.run(std::env::args_os());
        std::process::exit(i32::from(code))
    }

    /// Runs with `args` (including the program name) and returns the exit code.
    pub fn run<I, T>(&self, args: I) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        run(args, &self.extensions)
    }
}

fn run<I, T>(args: I, extensions: &Extensions) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // `--help` and `--version`: clap's own text, on stdout.
            let _ = e.print();
            return exit::OK;
        }
        Err(e) => {
            let error = usage_error(&e);
            Output::new(ColorWhen::Auto, false, false).error(&error);
            return error.exit_code();
        }
    };
    let g = &cli.global;
    let color = match g.color {
        ColorChoice::Auto => ColorWhen::Auto,
        ColorChoice::Always => ColorWhen::Always,
        ColorChoice::Never => ColorWhen::Never,
    };
    let out = Output::new(color, g.json, g.quiet);
    logging::init(g.verbose, g.quiet);
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match dispatch(&cli, &out, extensions, &words) {
        Ok(()) => exit::OK,
        Err(e) if e.is_already_shown() => e.exit_code(),
        Err(e) => {
            if out.json && !e.is_reported_in_json() {
                out.print(
                    &serde_json::json!({"error": {
                        "message": e.to_string(), "hint": e.hint(), "exit_code": e.exit_code()
                    }})
                    .to_string(),
                );
            }
            out.error(&e);
            e.exit_code()
        }
    }
}

/// `words` are the arguments after the program name, forwarded as they are to a remote.
fn dispatch(cli: &Cli, out: &Output, extensions: &Extensions, words: &[String]) -> Result<()> {
    let builtins = cli::builtins();
    check_extras(&builtins, extensions)?;
    let g = &cli.global;
    let command = cli.command.as_ref().unwrap_or(&Command::List);
    let line = format!("migo {}", words.join(" "));
    let options = commands::ChangeOptions {
        dry_run: g.dry_run,
        yes: g.yes,
        wait: g.wait.map(std::time::Duration::from_secs),
        command_line: &line,
    };
    let request = change_request(command);
    let dry_runs = matches!(command, Command::Remove { .. } | Command::Restore { .. });
    if g.dry_run && request.is_none() && !dry_runs {
        return Err(Error::Usage {
            message: "`--dry-run` applies to `execute`, `ignore`, `rollback`, `accept`, \
                      `remove` and `restore` only"
                .into(),
            hint: Some("`list`, `check`, `history` and `version` never change anything".into()),
        });
    }
    if let Command::Completions { shell } = command {
        use clap::CommandFactory;
        clap_complete::generate(*shell, &mut Cli::command(), "migo", &mut std::io::stdout());
        return Ok(());
    }
    let settings = load_settings(cli, &builtins, extensions);
    // Authoring stays on this machine; everything else follows the environment.
    if let (Ok(loaded), false) = (
        &settings,
        matches!(command, Command::Help | Command::New { .. }),
    ) {
        match follow_environment(loaded, command, g, words, &line)? {
            Some(0) => return Ok(()),
            Some(code) => return Err(Error::RemoteExit { code }),
            None => {}
        }
    }
    match command {
        Command::Help => commands::help(settings, out, &builtins, extensions),
        Command::New { name, format } => commands::new(&settings?, out, name, *format),
        Command::Task(args) if extensions.extra(&args[0]).is_some() => {
            block_on(commands::extra(&settings?, args))
        }
        Command::Task(args) => commands::task(&settings?, args),
        command => block_on(async {
            let settings = settings?;
            if let Some(request) = request {
                return commands::change(&settings, out, request, options).await;
            }
            match command {
                Command::Unlock => commands::unlock(&settings, out, &line).await,
                Command::Dump => commands::dump(&settings, out, &line).await,
                Command::Restore { dir } => commands::restore(&settings, out, dir, options).await,
                Command::Check => commands::check(&settings, out).await,
                Command::Version => commands::version(&settings, out).await,
                Command::Remove { name } => commands::remove(&settings, out, name, g.dry_run).await,
                Command::History { limit, since } => {
                    let filter = commands::HistoryFilter {
                        limit: (*limit > 0).then_some(*limit),
                        since: *since,
                    };
                    commands::history(&settings, out, filter).await
                }
                Command::Test {
                    name,
                    pending: _,
                    empty,
                } => commands::roundtrip(&settings, out, name.as_deref(), *empty).await,
                _ => commands::list(&settings, out).await,
            }
        }),
    }
}

/// A compiled extra may not take a built-in subcommand's name.
fn check_extras(builtins: &[(String, String)], extensions: &Extensions) -> Result<()> {
    match extensions
        .extras
        .iter()
        .find(|e| builtins.iter().any(|(name, _)| name == e.name()))
    {
        Some(extra) => Err(Error::Usage {
            message: format!(
                "the compiled extra `{0}` would shadow the built-in subcommand `{0}`",
                extra.name()
            ),
            hint: Some("rename the extra in the binary's source".into()),
        }),
        None => Ok(()),
    }
}

/// The settings from the command line, `MIGO_*` and migo.toml, with what the binary compiled
/// in. A task may take neither a built-in's name nor a compiled extra's.
fn load_settings(
    cli: &Cli,
    builtins: &[(String, String)],
    extensions: &Extensions,
) -> Result<Settings> {
    let reserved: Vec<&str> = builtins
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(extensions.extras.iter().map(|e| e.name()))
        .collect();
    let mut settings = Settings::load(&cli.global.overrides(), &reserved)?;
    settings.extensions = extensions.clone();
    settings.remote_origin = cli.global.remote_origin.clone();
    Ok(settings)
}

/// A `confirm = true` environment asks before a change; an environment with a `remote` runs the
/// command there (unless `--local`) and gives its exit code, `None` when it runs here.
fn follow_environment(
    settings: &Settings,
    command: &Command,
    g: &GlobalArgs,
    words: &[String],
    line: &str,
) -> Result<Option<u8>> {
    let changes = changes_something(command) && !g.dry_run;
    if settings.confirm && changes {
        let env = settings.environment.as_deref().unwrap_or_default();
        crate::ui::prompt::confirm(&format!("`{line}` changes the `{env}` environment"), g.yes)?;
    }
    let (Some(remote), Some(env), false) = (&settings.remote, &settings.environment, g.local)
    else {
        return Ok(None);
    };
    let mut forwarded = without_env_flag(words);
    if settings.confirm && changes {
        forwarded.insert(0, "--yes".into()); // confirmed here; the remote has no terminal
    }
    let me = crate::identity::Identity::current().to_string();
    forwarded.splice(0..0, ["--remote-origin".to_string(), me]);
    crate::remote::run(remote, env, &forwarded).map(Some)
}

/// Whether `command` may change the database (a `confirm = true` environment asks first).
fn changes_something(command: &Command) -> bool {
    !matches!(
        command,
        Command::List
            | Command::Check
            | Command::History { .. }
            | Command::Version
            | Command::Help
            | Command::Completions { .. }
            | Command::New { .. }
            | Command::Test { .. }
    )
}

/// The arguments without `--env NAME` / `--env=NAME`: the remote command sets its own.
fn without_env_flag(words: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for word in words {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        match word.as_str() {
            "--env" => skip_next = true,
            w if w.starts_with("--env=") => {}
            _ => kept.push(word.clone()),
        }
    }
    kept
}

/// The subcommands that change migrations' state, as the request [`commands::change`] plans.
fn change_request(command: &Command) -> Option<Request<'_>> {
    let count = |n: &u64| usize::try_from(*n).unwrap_or(usize::MAX);
    Some(match command {
        Command::Execute { name: Some(n), .. } => Request::Execute(Forward::Name(n)),
        Command::Execute { steps: Some(n), .. } => Request::Execute(Forward::Steps(count(n))),
        Command::Execute { to: Some(n), .. } => Request::Execute(Forward::To(n)),
        Command::Execute { .. } => Request::Execute(Forward::All),
        Command::Ignore { name } => Request::Ignore(name.as_deref()),
        Command::Rollback { name: Some(n), .. } => Request::Rollback(Backward::Name(n)),
        Command::Rollback { last: Some(n), .. } => Request::Rollback(Backward::Last(count(n))),
        Command::Rollback { to: Some(n), .. } => Request::Rollback(Backward::To(n)),
        // clap requires one of NAME, --last, --to, --all.
        Command::Rollback { .. } => Request::Rollback(Backward::All),
        Command::Accept { name } => Request::Accept(name),
        _ => return None,
    })
}

/// Clap's multi-line usage error as migo's one line: the first line is the message, the rest
/// (possible values, tips, usage) the hint.
fn usage_error(e: &clap::Error) -> Error {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut message = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" continues on the next line.
    if message.ends_with(':') {
        if let Some(next) = lines.next() {
            message = format!("{} {next}", message.trim_end_matches(':'));
        }
    }
    let rest: Vec<&str> = lines.collect();
    Error::Usage {
        message,
        hint: (!rest.is_empty()).then(|| rest.join("; ")),
    }
}

/// Runs the database work on a single-threaded runtime: migo does one thing at a time.
fn block_on<F: std::future::Future<Output = Result<()>>>(future: F) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the async runtime",
            path: ".".into(),
            source: e,
        })?
        .block_on(future)
}
