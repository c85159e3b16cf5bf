//! A held lease: renewed on the process's renewer thread (own runtime, own connection per
//! deployment) every third of its length, so nothing the run does can starve it; marked lost
//! when another token holds the lock or no renewal succeeded for a whole lease; released at the
//! end.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};

use super::connection::ClientCache;
use super::lock::{released, Fence, Loss};
use super::LOCK_ID;
use crate::config::Target;
use crate::error::{Error, Result};

/// A held lock, renewed in the background until [`Lease::release`].
#[derive(Debug)]
pub(crate) struct Lease {
    records: Collection<Document>,
    fence: Fence,
    status: Arc<AtomicU8>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

const HELD: u8 = 0;
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

/// Tells whether a lease was lost.
#[derive(Debug, Clone)]
pub(crate) struct LeaseWatch(Arc<AtomicU8>);

impl LeaseWatch {
    /// The loss, if the lease was lost.
    pub(crate) fn loss(&self) -> Option<Loss> {
        loss_of(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
impl LeaseWatch {
    /// A lease another run took over, for tests of what a run does then.
    pub(crate) fn taken_over() -> LeaseWatch {
        LeaseWatch(Arc::new(AtomicU8::new(TAKEN_OVER)))
    }
}

fn loss_of(status: u8) -> Option<Loss> {
    match status {
        TAKEN_OVER => Some(Loss::TakenOver),
        UNRENEWABLE => Some(Loss::Unrenewable),
        _ => None,
    }
}

/// Renews the lease every third of its length on the renewer (see [`renewer`]); marks it lost
/// when another token holds the lock, or when no renewal succeeded for a whole lease.
pub(super) fn start_renewal(
    records: Collection<Document>,
    fence: Fence,
    lease: Duration,
    deployment: Deployment,
) -> Lease {
    let status = Arc::new(AtomicU8::new(HELD));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let renewal = Renewal {
        registry: records.name().to_string(),
        database: records.namespace().db,
        token: fence.token.clone(),
        lease_ms: fence.lease_ms,
        lease,
        status: status.clone(),
    };
    let task = renewer().map(|handle| handle.spawn(renewal.run(deployment, stopped)));
    Lease {
        records,
        fence,
        status,
        stop: Some(stop),
        renewal: task,
    }
}

/// One lease's renewal loop.
struct Renewal {
    registry: String,
    database: String,
    token: String,
    lease_ms: i64,
    lease: Duration,
    status: Arc<AtomicU8>,
}

impl Renewal {
    async fn run(self, deployment: Deployment, mut stopped: tokio::sync::oneshot::Receiver<()>) {
        let Some(client) = deployment.client() else {
            return;
        };
        let records = client
            .database(&self.database)
            .collection::<Document>(&self.registry);
        let mut last_renewed = Instant::now();
        loop {
            let wait = (self.lease / 3).max(Duration::from_millis(10));
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep(wait) => {}
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
                    self.status.store(TAKEN_OVER, Ordering::SeqCst);
                    return;
                }
                Ok(_) => {
                    last_renewed = Instant::now();
                    tracing::debug!("renewed the migrations lock");
                }
                Err(e) => {
                    tracing::warn!("cannot renew the migrations lock: {e}");
                    if last_renewed.elapsed() >= self.lease {
                        self.status.store(UNRENEWABLE, Ordering::SeqCst);
                        return;
                    }
                }
            }
        }
    }
}

/// The renewer: one thread with a runtime of its own for every lease of the process, so nothing
/// a run does on its own thread (a blocking compiled migration, a slow dump) can starve a
/// renewal, and a fleet's hundred leases cost one thread, not a hundred.
fn renewer() -> Option<&'static tokio::runtime::Handle> {
    static RENEWER: OnceLock<Option<tokio::runtime::Handle>> = OnceLock::new();
    RENEWER
        .get_or_init(|| {
            let (sender, handle) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("migo-lease".into())
                .spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    let _ = sender.send(runtime.handle().clone());
                    runtime.block_on(std::future::pending::<()>());
                })
                .ok()?;
            handle.recv().ok()
        })
        .as_ref()
}

/// The renewer's clients, made on the renewer's runtime (their pools live there), one per
/// deployment for all its leases.
static RENEWAL_CLIENTS: ClientCache = ClientCache::new();

/// The deployment a lease is renewed on: its key, and how to connect when the renewer has no
/// client for it yet (resolved only then: a fleet's members share the first one's client, and a
/// `mongodb+srv` name is not looked up again for each).
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    key: String,
    options: Option<ClientOptions>,
}

impl Deployment {
    /// `target`'s deployment.
    pub(crate) async fn of(target: &Target) -> Result<Deployment> {
        let key = target.cluster_key();
        let options = match RENEWAL_CLIENTS.get(&key) {
            Some(_) => None,
            None => Some(target.client_options().await?),
        };
        Ok(Deployment { key, options })
    }

    /// The renewer's client for it (call on the renewer's runtime).
    fn client(self) -> Option<Client> {
        if let Some(client) = RENEWAL_CLIENTS.get(&self.key) {
            return Some(client);
        }
        let client = Client::with_options(self.options?).ok()?;
        RENEWAL_CLIENTS.insert(self.key, client.clone());
        Some(client)
    }
}
