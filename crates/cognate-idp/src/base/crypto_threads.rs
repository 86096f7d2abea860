//! The crypto threads: two fixed pools, one thread per core each, where the
//! slow cryptography runs, never on the threads that serve requests: one for
//! argon2id (milliseconds and 19 MiB per hash), one for the sub-millisecond
//! work (RS256 signatures, SRP's modular exponentiations), so the latter
//! never queues behind the former. Each marks itself
//! to `cognate_crypto::meter`, which counts measured calls made anywhere
//! else (`/metrics`: `cognate_crypto_inline_calls_total`), so the benchmark's
//! test can show the rule holds.

use crate::{Error, Fault, Result};

type Job = Box<dyn FnOnce() + Send>;

/// One pool: a queue and the threads that take from it.
struct Pool {
    queue: std::sync::mpsc::Sender<Job>,
}

impl Pool {
    fn start(name: &'static str) -> Pool {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        for i in 0..n {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("cognate-{name}-{i}")).spawn(move || {
                cognate_crypto::meter::mark_crypto_thread();
                loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a crypto thread");
            }
        }
        Pool { queue: tx }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.queue
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| Error::internal(Fault::Other, "the crypto threads are gone"))?;
        rx.await.map_err(|_| Error::internal(Fault::Other, "a crypto thread dropped its work"))
    }
}

/// Runs `f`, which takes a core for milliseconds (argon2id), on one of a
/// few long-lived threads, one per core, never on the threads that serve
/// requests.
///
/// Argon2 takes 19 MiB and a core for each hash. On short-lived blocking
/// threads every new thread gets its own allocator arena, which keeps its
/// 19 MiB after the hash is done: hundreds of MiB under load. A fixed set of
/// threads bounds both the memory and the CPU oversubscription; extra work
/// waits in the queue. The pool is process-wide because the cores are.
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static LONG: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
    LONG.get_or_init(|| Pool::start("crypto")).run(f).await
}

/// Runs `f`, cryptography of a millisecond or less (an RS256 signature, an
/// SRP step), on a pool of its own, one thread per core. On a request
/// thread it would hold up every request that thread serves; behind
/// argon2id hashes in one queue it would wait up to a hash's time (the
/// bench's mixed scenario showed refreshes' p99 at 17 ms that way). Its own
/// threads share the cores with argon2id's through the OS scheduler, which
/// runs a short job within a time slice.
pub async fn run_short<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static SHORT: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
    SHORT.get_or_init(|| Pool::start("crypto-short")).run(f).await
}
