//! The crypto threads: a fixed pool, one thread per core, where the slow
//! cryptography runs (argon2id, SRP's modular exponentiations, RS256
//! signatures), never on the threads that serve requests. Each marks itself
//! to `cognate_crypto::meter`, which counts measured calls made anywhere
//! else (`/metrics`: `cognate_crypto_inline_calls_total`), so the benchmark's
//! test can show the rule holds.

use crate::{Error, Fault, Result};

type Job = Box<dyn FnOnce() + Send>;

/// Runs `f` on one of a few long-lived threads, one per core: the slow
/// cryptography (argon2id, SRP's modular exponentiations, RS256 signatures)
/// runs there, never on the threads that serve requests.
///
/// Argon2 takes 19 MiB and a core for each hash. On short-lived blocking
/// threads every new thread gets its own allocator arena, which keeps its
/// 19 MiB after the hash is done: hundreds of MiB under load. A fixed set of
/// threads bounds both the memory and the CPU oversubscription; extra work
/// waits in the queue. The pool is process-wide because the cores are.
/// An SRP step or a signature takes milliseconds; on a request thread it
/// would hold up every other request that thread serves, so it comes here
/// too (the hand-off costs microseconds).
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static QUEUE: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        for i in 0..n {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("cognate-crypto-{i}")).spawn(move || {
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
        tx
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    queue
        .send(Box::new(move || {
            let _ = tx.send(f());
        }))
        .map_err(|_| Error::internal(Fault::Other, "the crypto threads are gone"))?;
    rx.await.map_err(|_| Error::internal(Fault::Other, "a crypto thread dropped its work"))
}
