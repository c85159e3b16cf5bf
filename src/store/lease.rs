//! A held lease: renewed on a thread of its own (own runtime, own connection) every third of its
//! length, so nothing the run does can starve it; marked lost when another token holds the lock
//! or no renewal succeeded for a whole lease; released at the end.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};

use super::lock::{released, Fence, Loss};
use super::LOCK_ID;
use crate::error::{Error, Result};

/// A held lock, renewed in the background until [`Lease::release`].
#[derive(Debug)]
pub(crate) struct Lease {
    records: Collection<Document>,
    fence: Fence,
    status: Arc<AtomicU8>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    renewal: Option<std::thread::JoinHandle<()>>,
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
            let _ = tokio::task::spawn_blocking(move || renewal.join()).await;
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

fn loss_of(status: u8) -> Option<Loss> {
    match status {
        TAKEN_OVER => Some(Loss::TakenOver),
        UNRENEWABLE => Some(Loss::Unrenewable),
        _ => None,
    }
}

/// Renews the lease every third of its length on a thread of its own; marks it lost when
/// another token holds the lock, or when no renewal succeeded for a whole lease.
pub(super) fn start_renewal(
    records: Collection<Document>,
    fence: Fence,
    lease: Duration,
    options: ClientOptions,
) -> Lease {
    let status = Arc::new(AtomicU8::new(HELD));
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let shared = status.clone();
    let registry = records.name().to_string();
    let database = records.namespace().db;
    let token = fence.token.clone();
    let lease_ms = fence.lease_ms;
    let renewal = std::thread::Builder::new()
        .name("migo-lease".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(client) = Client::with_options(options) else {
                    return;
                };
                let records = client.database(&database).collection::<Document>(&registry);
                let mut last_renewed = Instant::now();
                loop {
                    let wait = (lease / 3).max(Duration::from_millis(10));
                    tokio::select! {
                        _ = &mut stopped => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                    let renewed = records
                        .update_one(
                            doc! {"_id": LOCK_ID, "token": &token},
                            vec![doc! {"$set": {"expires_at": {"$add": ["$$NOW", lease_ms]}}}],
                        )
                        .await;
                    match renewed {
                        Ok(r) if r.matched_count == 0 => {
                            tracing::warn!("the migrations lock was taken over by another process");
                            shared.store(TAKEN_OVER, Ordering::SeqCst);
                            return;
                        }
                        Ok(_) => {
                            last_renewed = Instant::now();
                            tracing::debug!("renewed the migrations lock");
                        }
                        Err(e) => {
                            tracing::warn!("cannot renew the migrations lock: {e}");
                            if last_renewed.elapsed() >= lease {
                                shared.store(UNRENEWABLE, Ordering::SeqCst);
                                return;
                            }
                        }
                    }
                }
            });
        })
        .ok();
    Lease {
        records,
        fence,
        status,
        stop: Some(stop),
        renewal,
    }
}
