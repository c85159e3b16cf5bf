//! The command line, end to end: parse, resolve the settings (with whatever a custom binary
//! compiled in), dispatch to one subcommand, and render an error once with its exit code.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::api::{Extra, Migration};
use crate::cli::{self, Cli, ColorChoice, Command, GlobalArgs};
use crate::commands::{self, Context, Invocation};
use crate::config::{variables, Settings, Sources};
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

/// What a custom binary compiled in: its migrations and extras, and its name (recorded with the
/// migrations it applies, so plain `migo` can say which binary has them).
#[derive(Clone, Default)]
pub(crate) struct Extensions {
    pub(crate) migrations: Vec<Compiled>,
    pub(crate) extras: Vec<Arc<dyn Extra>>,
    pub(crate) binary: String,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extras: Vec<&str> = self.extras.iter().map(|e| e.name()).collect();
        f.debug_struct("Extensions")
            .field("migrations", &self.migrations)
            .field("extras", &extras)
            .field("binary", &self.binary)
            .finish()
    }
}

impl Extensions {
    /// The compiled extra called `name`.
    pub(crate) fn extra(&self, name: &str) -> Option<&Arc<dyn Extra>> {
        self.extras.iter().find(|e| e.name() == name)
    }
}

impl App {
    /// Plain migo.
    pub fn new() -> App {
        App::default()
    }

    /// Adds a compiled migration to the numbered sequence.
    pub fn migration(mut self, migration: impl Migration) -> App {
        self.extensions
            .migrations
            .push(Compiled(Arc::new(migration)));
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
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let mut extensions = self.extensions.clone();
        extensions.binary = args
            .first()
            .and_then(|a| std::path::Path::new(a).file_stem())
            .map_or_else(|| "migo".into(), |s| s.to_string_lossy().into_owned());
        run(&args, &extensions)
    }
}

fn run(args: &[OsString], extensions: &Extensions) -> u8 {
    let cli = match Cli::try_parse_from(args) {
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
    let result = runtime().and_then(|runtime| {
        runtime.block_on(async {
            crate::run::signals::install();
            dispatch(&cli, &out, extensions, &words).await
        })
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) if e.is_already_shown() => e.exit_code(),
        Err(e) => {
            if out.json && !e.is_reported_in_json() {
                out.print(
                    &serde_json::json!({"error": {
                        "message": e.to_string(), "hint": e.hint(), "reason": e.reason(),
                        "exit_code": e.exit_code()
                    }})
                    .to_string(),
                );
            }
            out.error(&e);
            e.exit_code()
        }
    }
}

/// The runtime: one thread, as migo does one thing at a time (the lease renews on a thread of
/// its own).
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the async runtime",
            path: ".".into(),
            source: e,
        })
}

/// `words` are the arguments after the program name, forwarded as they are to a remote.
async fn dispatch(
    cli: &Cli,
    out: &Output,
    extensions: &Extensions,
    words: &[String],
) -> Result<()> {
    let builtins = cli::builtins();
    check_extras(&builtins, extensions)?;
    let g = &cli.global;
    let command = cli.command.as_ref().unwrap_or(&Command::List);
    if let Command::Completions { shell } = command {
        use clap::CommandFactory;
        clap_complete::generate(*shell, &mut Cli::command(), "migo", &mut std::io::stdout());
        return Ok(());
    }
    let invocation = invocation(g, words)?;
    let request = change_request(command);
    let dry_runs = matches!(command, Command::Remove { .. } | Command::Restore { .. });
    if g.dry_run && request.is_none() && !dry_runs {
        return Err(Error::Usage {
            message: "`--dry-run` applies to `execute`, `ignore`, `rollback`, `accept`, \
                      `forget`, `remove` and `restore` only"
                .into(),
            hint: Some("`list`, `check`, `history` and `version` never change anything".into()),
        });
    }
    let offline = matches!(command, Command::New { .. });
    let settings = load_settings(g, &builtins, extensions, offline);
    if let Command::Help = command {
        commands::help::help(&settings, out, &builtins, extensions);
        return Ok(());
    }
    let settings = settings?;
    // Authoring stays on this machine; everything else follows the environment.
    if !matches!(command, Command::New { .. }) {
        match follow_environment(&settings, command, g, words, &invocation)? {
            Some(0) => return Ok(()),
            Some(code) => return Err(Error::RemoteExit { code }),
            None => {}
        }
    }
    let ctx = Context {
        settings: &settings,
        out,
        app: extensions,
        invocation: &invocation,
    };
    if let Some(request) = request {
        return commands::change::change(ctx, request).await;
    }
    match command {
        Command::New { name, format } => {
            commands::new::new(&settings, extensions, out, name, *format)
        }
        Command::Task(args) if extensions.extra(&args[0]).is_some() => {
            commands::task::extra(&settings, extensions, args).await
        }
        Command::Task(args) => commands::task::task(&settings, out, args).await,
        Command::Unlock => commands::unlock::unlock(ctx).await,
        Command::Dump => commands::backup::dump(ctx).await,
        Command::Restore { dir, trust_dump } => {
            commands::backup::restore(ctx, dir, *trust_dump).await
        }
        Command::Check => commands::status::check(ctx).await,
        Command::Version => commands::status::version(ctx).await,
        Command::Remove { name } => commands::remove::remove(ctx, name).await,
        Command::History { limit, since } => {
            let filter = commands::history::HistoryFilter {
                limit: (*limit > 0).then_some(*limit),
                since: *since,
            };
            commands::history::history(ctx, filter).await
        }
        Command::Test { name, empty, .. } => {
            commands::test::test(ctx, name.as_deref(), *empty).await
        }
        _ => commands::status::list(ctx).await,
    }
}

/// The per-run options: the redacted command line, confirmations, the wait for the lock.
fn invocation(g: &GlobalArgs, words: &[String]) -> Result<Invocation> {
    let wait = match g.wait {
        Some(secs) => Some(secs),
        None => match variables::text("MIGO_WAIT")? {
            Some(text) => {
                let secs = variables::number("MIGO_WAIT", &text)?;
                let secs = u64::try_from(secs)
                    .ok()
                    .filter(|s| *s <= 86_400)
                    .ok_or_else(|| Error::Config {
                        location: "MIGO_WAIT".into(),
                        message: format!("{secs} is out of range: from 0 to 86400 seconds"),
                        hint: Some("set MIGO_WAIT to the seconds to wait for a held lock".into()),
                    })?;
                Some(secs)
            }
            None => None,
        },
    };
    let shown: Vec<String> = words
        .iter()
        .map(|w| crate::ui::escape::escape(&crate::secret::redact_text(w)))
        .collect();
    Ok(Invocation {
        command_line: format!("migo {}", shown.join(" ")).trim_end().to_string(),
        dry_run: g.dry_run,
        yes: g.yes,
        wait: wait.map(Duration::from_secs),
        remote_origin: g.remote_origin.clone(),
    })
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

/// The settings from the flags, `MIGO_*` variables and migo.toml. A task may take neither a
/// built-in's name nor a compiled extra's.
fn load_settings(
    g: &GlobalArgs,
    builtins: &[(String, String)],
    extensions: &Extensions,
    offline: bool,
) -> Result<Settings> {
    let reserved: Vec<&str> = builtins
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(extensions.extras.iter().map(|e| e.name()))
        .collect();
    let mut overrides = variables::overrides()?;
    overrides.extend(g.overrides());
    let sources = Sources {
        config: match &g.config {
            Some(path) => Some(path.clone()),
            None => variables::text("MIGO_CONFIG")?.map(Into::into),
        },
        environment: match &g.environment {
            Some(env) => Some(env.clone()),
            None => variables::text("MIGO_ENV")?,
        },
        overrides,
        offline,
    };
    Settings::load(&sources, &reserved)
}

/// A `confirm = true` environment asks before a change; an environment with a `remote` runs the
/// command there (unless `--local`) and gives its exit code, `None` when it runs here.
fn follow_environment(
    settings: &Settings,
    command: &Command,
    g: &GlobalArgs,
    words: &[String],
    invocation: &Invocation,
) -> Result<Option<u8>> {
    let changes = changes_something(command) && !g.dry_run;
    if settings.confirm && changes {
        let env = settings.environment().unwrap_or_default();
        crate::ui::prompt::confirm(
            &format!(
                "`{}` changes the `{env}` environment",
                invocation.command_line
            ),
            g.yes,
        )?;
    }
    let (Some(remote), Some(env), false) = (&settings.remote, settings.environment(), g.local)
    else {
        return Ok(None);
    };
    let mut forwarded = crate::remote::forwarded_arguments(words);
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

/// The subcommands that change migrations' state, as the request `change` plans.
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
        Command::Forget { name } => Request::Forget(name),
        _ => return None,
    })
}

/// Clap's multi-line usage error as migo's one line: the first line is the message, the rest
/// (possible values, tips, usage) the hint.
fn usage_error(e: &clap::Error) -> Error {
    let text = crate::secret::redact_text(&e.render().to_string());
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
        message: crate::ui::escape::escape(&message),
        hint: (!rest.is_empty()).then(|| crate::ui::escape::escape(&rest.join("; "))),
    }
}
