//! A fixed set of threads that compute password hashes, one job at a time each, first come
//! first served.
//!
//! Why not tokio's blocking pool: it starts a new thread whenever none is free and retires idle
//! ones, and glibc gives each new thread its own malloc arena, so argon2's 19 MiB working block
//! was freshly mapped and faulted in on most logins (measured: 50–60 % of raw verify throughput
//! on 2 cores; 79–83 % with the arenas capped). A few long-lived threads reuse their arenas, and
//! hashing memory stays bounded by threads × one block.
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads. Dropping the pool lets them finish their job and exit.
pub struct HashPool {
    jobs: Mutex<Sender<Job>>,
}

impl HashPool {
    /// Starts `threads` (at least one) hashing threads.
    pub fn new(threads: usize) -> HashPool {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new().name(format!("gatehoused-hash-{i}")).spawn(move || worker(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a hashing thread");
            }
        }
        HashPool { jobs: Mutex::new(tx) }
    }

    /// Runs `f` on a hashing thread and waits for its result without blocking the runtime.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| "the hashing threads are gone".to_string())?;
        rx.await.map_err(|_| "a hashing job failed".to_string())
    }
}

/// Takes jobs until the pool is dropped; a job that panics loses only its own answer.
fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panic() {
        let pool = HashPool::new(2);
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
        #[allow(clippy::panic)]
        let failed = pool.run(|| -> u32 { panic!("boom") }).await;
        assert!(failed.is_err());
        let results = futures_join(&pool).await;
        assert_eq!(results, (0..8).map(|i| i * 2).collect::<Vec<_>>());
    }

    async fn futures_join(pool: &HashPool) -> Vec<u32> {
        let mut out = Vec::new();
        for i in 0..8u32 {
            out.push(pool.run(move || i * 2).await.unwrap());
        }
        out
    }
}
