//! From the parsed command line to one subcommand: `init` and `help` first (they need no
//! settings), then the settings, the environment's confirmation and remote, and the command.

use super::environment::follow_environment;
use super::fleet::{run_fleet, FleetCall};
use super::invocation::{check_extras, invocation, load_settings};
use crate::cli::{self, Cli, Command};
use crate::commands::{self, Context};
use crate::error::{Error, Result};
use crate::extensions::Extensions;
use crate::ground::output::Output;
use crate::plan::{Backward, Forward, Request};
use crate::run::context::RunContext;

/// `words` are the arguments after the program name, forwarded as they are to a remote.
pub(super) async fn dispatch(
    cli: &Cli,
    out: &Output,
    extensions: &Extensions,
    words: &[String],
    run: &RunContext,
) -> Result<()> {
    let builtins = cli::builtins();
    check_extras(&builtins, extensions)?;
    let g = &cli.global;
    let command = cli.command.as_ref().unwrap_or(&Command::List);
    if let Command::Completions { shell } = command {
        use clap::CommandFactory;
        use std::io::Write;
        // Generated in memory, then written: a closed stdout (`| head -1`) is not an error.
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut Cli::command(), "migo", &mut script);
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(&script).and_then(|()| stdout.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
                context: "cannot write the completion script to",
                path: "stdout".into(),
                source: e,
            }),
            _ => Ok(()),
        };
    }
    let mut invocation = invocation(g, command, words)?;
    invocation.require_no_drift = matches!(
        command,
        Command::Execute {
            require_no_drift: true,
            ..
        }
    );
    invocation.force = matches!(command, Command::Execute { force: true, .. });
    let request = change_request(command);
    let dry_runs = matches!(
        command,
        Command::Remove { .. }
            | Command::Restore { .. }
            | Command::Init { .. }
            | Command::Adopt { .. }
    );
    if g.dry_run && request.is_none() && !dry_runs {
        return Err(Error::Usage {
            message: "`--dry-run` applies to `execute`, `ignore`, `rollback`, `accept`, \
                      `forget`, `remove` and `restore` only"
                .into(),
            hint: Some("`list`, `check`, `history` and `version` never change anything".into()),
        });
    }
    let offline = matches!(command, Command::New { .. } | Command::Lint { .. });
    if let Command::Init {
        compiled,
        install_from,
        path,
    } = command
    {
        let request = crate::init::Request {
            connection: crate::init::Connection {
                uri: g.uri.clone(),
                host: g.host.clone(),
                port: g.port,
                database: g.database.clone(),
                user: g.user.clone(),
                auth_source: g.auth_source.clone(),
                timeout: g.timeout,
            },
            environments: g
                .environment
                .iter()
                .flat_map(|e| e.split(','))
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect(),
            compiled: *compiled,
            install: match (install_from, path) {
                (Some(url), _) => crate::init::Install::Git(url.clone()),
                (None, Some(dir)) => crate::init::Install::Path(dir.display().to_string()),
                (None, None) => crate::init::Install::Nothing,
            },
            dry_run: g.dry_run,
        };
        let cwd = std::env::current_dir().map_err(|e| Error::Io {
            context: "cannot read the working directory",
            path: ".".into(),
            source: e,
        })?;
        return crate::init::init(&cwd, &request, out);
    }
    let settings = load_settings(g, &builtins, extensions, offline);
    if let Command::Help = command {
        commands::help::help(&settings, out, &builtins, extensions);
        return Ok(());
    }
    let settings = settings?;
    if g.fleet || g.databases.is_some() || g.fail_fast {
        let call = FleetCall {
            g,
            builtins: &builtins,
            extensions,
            words,
            invocation: &invocation,
            out,
            run,
        };
        return run_fleet(call, &settings, command, request).await;
    }
    // Authoring and linting stay on this machine; everything else follows the environment.
    if !matches!(
        command,
        Command::New { .. } | Command::Squash { .. } | Command::Lint { .. }
    ) {
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
        sources: None,
        run,
    };
    if let Some(request) = request {
        return commands::change::change(ctx, request).await.map(drop);
    }
    match command {
        Command::New {
            name,
            format,
            backfill,
        } => commands::new::new(&settings, extensions, out, name, *format, *backfill),
        Command::Task(args) if extensions.extra(&args[0]).is_some() => {
            commands::task::extra(&settings, extensions, args).await
        }
        Command::Task(args) => {
            commands::task::task(&settings, out, args, &builtins, extensions, &run.children).await
        }
        Command::Unlock => commands::unlock::unlock(ctx).await,
        Command::Pause { name } => commands::pause::pause(ctx, name).await,
        Command::Dump => commands::backup::dump(ctx).await,
        Command::Restore { dir, trust_dump } => {
            commands::backup::restore(ctx, dir.as_deref(), *trust_dump).await
        }
        Command::Check => commands::status::check(ctx).await,
        Command::Lint { .. } => super::lint::lint(ctx, g, command),
        Command::Preflight { name } => commands::preflight::preflight(ctx, name.as_deref()).await,
        Command::Adopt {
            from,
            from_collection,
        } => commands::adopt::adopt(ctx, *from, from_collection.as_deref()).await,
        Command::Version => commands::status::version(ctx).await,
        Command::Remove { name } => commands::remove::remove(ctx, name).await,
        Command::History { limit, since } => {
            let filter = commands::history::HistoryFilter::new(*limit, *since);
            commands::history::history(ctx, filter).await
        }
        Command::Test { name, empty, .. } => {
            commands::test::test(ctx, name.as_deref(), *empty).await
        }
        Command::Drift => commands::drift::drift(ctx).await,
        Command::Snapshot { output, replay } => {
            commands::snapshot::snapshot(ctx, output.as_deref(), *replay).await
        }
        Command::Squash { to, keep, drop } => {
            let decisions = commands::squash::Decisions { keep, drop };
            commands::squash::squash(ctx, to, decisions).await
        }
        _ => commands::status::list(ctx).await,
    }
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
