//! A held lease: renewed on the run's [`Renewer`] thread (own runtime, own connection per
//! deployment) every third of its length, so nothing the run does can starve it; marked lost
//! when another token holds the lock, or when renewals kept failing for two thirds of a lease (so
//! the run stops before the server considers the lease expired and another run may take it);
//! released at the end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};

use super::fence::{released, Fence};

use super::LOCK_ID;
use crate::config::Target;
use crate::error::{Error, Result};
use crate::ground::stop::Loss;

/// A held lock, renewed in the background until [`Lease::release`].
#[derive(Debug)]
pub(crate) struct Lease {
    records: Collection<Document>,
    fence: Fence,
    status: Arc<LeaseState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

const TAKEN_OVER: u8 = 1;
const UNRENEWABLE: u8 = 2;

impl Lease {
    /// What fences this lease's writes.
    pub(crate) fn fence(&self) -> &Fence {
        &self.fence
    }

    /// A handle that tells whether the lease was lost, for code running without the lease.
    pub(crate) fn watch(&self) -> LeaseWatch {
        LeaseWatch(self.status.clone())
    }

    /// Stops renewing and releases the lock (its token becomes null), if it is still ours.
    pub(crate) async fn release(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(renewal) = self.renewal.take() {
            let _ = renewal.await;
        }
        self.records
            .update_one(
                doc! {"_id": LOCK_ID, "token": &self.fence.token},
                vec![released()],
            )
            .await
            .map(drop)
            .map_err(Error::database("cannot release the migrations lock"))
    }
}

/// A lease's state, shared by its holder and its renewal: lost or not, and whether renewals
/// are held off.
#[derive(Debug, Default)]
pub(crate) struct LeaseState {
    status: AtomicU8,
    /// Open [`Hold`]s: while any is, the renewal writes nothing.
    held: AtomicUsize,
}

impl LeaseState {
    fn lost(&self, why: u8) {
        self.status.store(why, Ordering::SeqCst);
    }
}

/// Tells whether a lease was lost.
#[derive(Debug, Clone)]
pub(crate) struct LeaseWatch(Arc<LeaseState>);

impl LeaseWatch {
    /// The loss, if the lease was lost.
    pub(crate) fn loss(&self) -> Option<Loss> {
        loss_of(self.0.status.load(Ordering::SeqCst))
    }

    /// Holds renewals off until the guard is dropped: for a transaction whose fence statement
    /// writes the lock document (and renews the lease when it commits), which a renewal
    /// writing that document meanwhile would make conflict. A hold longer than the lease lets
    /// another run take the lease over; the transaction's fence then conflicts with that
    /// takeover, or finds it, and the transaction writes nothing.
    pub(crate) fn hold(&self) -> Hold {
        self.0.held.fetch_add(1, Ordering::SeqCst);
        Hold(self.0.clone())
    }
}

/// Renewals held off while alive (see [`LeaseWatch::hold`]).
#[derive(Debug)]
pub(crate) struct Hold(Arc<LeaseState>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
impl LeaseWatch {
    /// A lease another run took over, for tests of what a run does then.
    pub(crate) fn taken_over() -> LeaseWatch {
        let state = LeaseState::default();
        state.lost(TAKEN_OVER);
        LeaseWatch(Arc::new(state))
    }
}

fn loss_of(status: u8) -> Option<Loss> {
    match status {
        TAKEN_OVER => Some(Loss::TakenOver),
        UNRENEWABLE => Some(Loss::Unrenewable),
        _ => None,
    }
}

/// Renews the lease on `renewer` every third of its length; marks it lost when another token
/// holds the lock, or when no renewal succeeded for two thirds of a lease.
pub(super) fn start_renewal(
    records: Collection<Document>,
    fence: Fence,
    lease: Duration,
    deployment: Deployment,
    renewer: &Renewer,
) -> Lease {
    let status = Arc::new(LeaseState::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let renewal = Renewal {
        registry: records.name().to_string(),
        database: records.namespace().db,
        token: fence.token.clone(),
        lease_ms: fence.lease_ms,
        lease,
        status: status.clone(),
    };
    let clients = renewer.clients.clone();
    let task = renewer
        .handle
        .spawn(async move { renewal.run(deployment.client(&clients), stopped).await });
    Lease {
        records,
        fence,
        status,
        stop: Some(stop),
        renewal: Some(task),
    }
}

/// One lease's renewal loop.
struct Renewal {
    registry: String,
    database: String,
    token: String,
    lease_ms: i64,
    lease: Duration,
    status: Arc<LeaseState>,
}

impl Renewal {
    async fn run(
        self,
        client: std::result::Result<Client, String>,
        mut stopped: tokio::sync::oneshot::Receiver<()>,
    ) {
        let client = match client {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!("cannot connect to renew the migrations lock: {e}");
                self.status.lost(UNRENEWABLE);
                return;
            }
        };
        let records = client
            .database(&self.database)
            .collection::<Document>(&self.registry);
        let mut last_renewed = Instant::now();
        // The server counts a lease from its last renewal; giving up at two thirds of it leaves
        // the last third for the run to stop before anyone may take the lease over.
        let give_up = self.lease * 2 / 3;
        let mut wait = self.lease / 3;
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
            }
            if self.status.held.load(Ordering::SeqCst) > 0 {
                // A transaction's fence renews it when it commits.
                continue;
            }
            let renewed = records
                .update_one(
                    doc! {"_id": LOCK_ID, "token": &self.token},
                    vec![doc! {"$set": {"expires_at": {"$add": ["$$NOW", self.lease_ms]}}}],
                )
                .await;
            match renewed {
                Ok(r) if r.matched_count == 0 => {
                    tracing::warn!("the migrations lock was taken over by another process");
                    self.status.lost(TAKEN_OVER);
                    return;
                }
                Ok(_) => {
                    last_renewed = Instant::now();
                    wait = self.lease / 3;
                    tracing::debug!("renewed the migrations lock");
                }
                Err(e) => {
                    tracing::warn!("cannot renew the migrations lock: {e}");
                    if last_renewed.elapsed() >= give_up {
                        self.status.lost(UNRENEWABLE);
                        return;
                    }
                    // Try again soon: a server that restarts is back in seconds.
                    wait = (self.lease / 12).min(give_up.saturating_sub(last_renewed.elapsed()));
                }
            }
        }
    }
}

/// The run's renewer: one thread with a runtime of its own for every lease of the run, so
/// nothing the run does on its own thread (a blocking compiled migration, a slow dump) can
/// starve a renewal, and a fleet's hundred leases cost one thread, not a hundred. Its clients
/// (one per deployment) are made and live on its runtime. Stopped when dropped.
#[derive(Debug)]
pub(crate) struct Renewer {
    handle: tokio::runtime::Handle,
    clients: RenewalClients,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Renewer {
    /// Starts the renewer's thread and runtime.
    pub(crate) fn start() -> std::io::Result<Renewer> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("migo-lease".into())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Renewer {
            handle,
            clients: RenewalClients::default(),
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The renewer's clients by deployment key.
#[derive(Debug, Clone, Default)]
struct RenewalClients(Arc<Mutex<HashMap<String, Client>>>);

impl RenewalClients {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Client>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The deployment a lease is renewed on: its key, and how to connect when the renewer has no
/// client for it yet (resolved only then: a fleet's members share the first one's client, and a
/// `mongodb+srv` name is not looked up again for each).
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    key: String,
    options: Option<ClientOptions>,
}

impl Deployment {
    /// `target`'s deployment, as `renewer` will reach it.
    pub(crate) async fn of(target: &Target, renewer: &Renewer) -> Result<Deployment> {
        let key = target.cluster_key();
        let known = renewer.clients.lock().contains_key(&key);
        let options = match known {
            true => None,
            false => Some(target.client_options().await?),
        };
        Ok(Deployment { key, options })
    }

    /// The renewer's client for it (call on the renewer's runtime).
    fn client(self, clients: &RenewalClients) -> std::result::Result<Client, String> {
        if let Some(client) = clients.lock().get(&self.key) {
            return Ok(client.clone());
        }
        let options = self
            .options
            .ok_or_else(|| "no connection options for this deployment".to_string())?;
        let client = Client::with_options(options).map_err(|e| e.to_string())?;
        clients.lock().insert(self.key, client.clone());
        Ok(client)
    }
}
