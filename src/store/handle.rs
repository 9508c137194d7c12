//! Async access to the cache: a [`Store`] on its own OS thread, called through a channel.
//!
//! rusqlite is synchronous; running each connection on a dedicated thread keeps SQLite work off
//! the tokio workers and off the UI loop. Each handle is one connection, so the UI's reads and an
//! engine's writes run side by side (WAL). The job channel needs no bound of its own: every
//! [`StoreHandle::call`] waits for its answer, so at most one job per calling task waits.

use std::path::Path;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::{Result, Store, StoreError};

type Job = Box<dyn FnOnce(&mut Store) + Send>;

#[derive(Clone)]
pub struct StoreHandle {
    tx: mpsc::Sender<Job>,
}

impl StoreHandle {
    /// Open the cache in `data_dir` on a new thread.
    pub fn open_in_dir(data_dir: &Path) -> Result<StoreHandle> {
        Self::spawn(Store::open_in_dir(data_dir)?)
    }

    /// Run an already opened store on a new thread.
    pub fn spawn(mut store: Store) -> Result<StoreHandle> {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("tern-store".into())
            .spawn(move || {
                for job in rx {
                    job(&mut store);
                }
            })
            .map_err(|e| StoreError::Invalid(format!("cannot start the cache thread: {e}")))?;
        Ok(StoreHandle { tx })
    }

    /// Run `f` on the store's thread and wait for its answer.
    pub async fn call<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Box::new(move |s: &mut Store| {
                let _ = reply.send(f(s));
            }))
            .map_err(|_| StoreError::Invalid("the cache thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Invalid("the cache thread has stopped".into()))?
    }
}
