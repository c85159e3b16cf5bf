//! One run's shared state, made once at the binary's edge and passed down: the runtime, the stop
//! token the signal listener sets, the registry of child process groups, and the lease renewer
//! (started at the first lock). Nothing of it lives in process-wide statics, so two runs in one
//! process (a custom binary's tests, say) cannot see each other's signals or children.

use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::ground::stop::Stop;
use crate::halt::Halt;
use crate::process::group::Children;
use crate::run::signals::{self, Listener};
use crate::store::lease::{LeaseWatch, Renewer};

/// What every part of one run shares.
#[derive(Debug)]
pub(crate) struct RunContext {
    /// migo's own async runtime: one thread, as migo does one thing at a time.
    pub(crate) runtime: tokio::runtime::Runtime,
    /// Set by SIGINT/SIGTERM; read by every wait and step.
    pub(crate) stop: Stop,
    /// The process groups of the children running now.
    pub(crate) children: Children,
    /// Renews the leases of this run; started by the first lock.
    renewer: OnceLock<std::result::Result<Renewer, String>>,
    /// The scratch databases found on the server when this run first made one (listed once per
    /// run; `None` until then): those a killed migo left are dropped (`run::replay`).
    pub(crate) scratch_found: Mutex<Option<Vec<String>>>,
    /// Hears SIGINT and SIGTERM for the whole run.
    _signals: Listener,
}

impl RunContext {
    /// The runtime, and the signal listener (installed before this returns).
    pub(crate) fn new() -> Result<RunContext> {
        let io = |context: &'static str| {
            move |e: std::io::Error| Error::Io {
                context,
                path: ".".into(),
                source: e,
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("cannot start the async runtime"))?;
        let stop = Stop::default();
        let children = Children::default();
        let signals = signals::listen(stop.clone(), children.clone())
            .map_err(io("cannot listen for SIGINT and SIGTERM"))?;
        Ok(RunContext {
            runtime,
            stop,
            children,
            renewer: OnceLock::new(),
            scratch_found: Mutex::new(None),
            _signals: signals,
        })
    }

    /// The lease renewer, started on first use; an error (and no lock taken) when its thread
    /// cannot start, so no run believes it holds a lease nobody renews.
    pub(crate) fn renewer(&self) -> Result<&Renewer> {
        self.renewer
            .get_or_init(|| Renewer::start().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| {
                Error::Registry(format!(
                    "cannot start the thread that renews the migrations lock: {e}"
                ))
            })
    }

    /// What a step checks to know whether to stop: this run's signals, and `lease` when one is
    /// held.
    pub(crate) fn halt(&self, lease: Option<LeaseWatch>) -> Halt {
        Halt::new(self.stop.clone(), lease)
    }
}
