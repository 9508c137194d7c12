//! A bounded queue between tasks that never blocks its senders: the UI's commands to an
//! account worker, and every worker's events to the UI.
//!
//! Hand-written because neither tokio's channels nor a crate give what these two need: a
//! bounded channel either blocks the sender (the UI thread must never wait on a worker, and a
//! worker must not stall its sync while the UI sits in `$EDITOR`) or refuses the newest item
//! (a refused Shutdown or search answer would be lost). Here an item that adds nothing to one
//! already waiting is merged into it ([`Merge`]: a second "sync now", a newer progress count,
//! a cache change already announced), so the queue holds about one item per kind of news in
//! the worst burst; past `cap` the oldest item is dropped with a warning, so memory stays
//! bounded whatever happens.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// How a new item folds into one already waiting.
pub trait Merge: Sized {
    /// Fold `new` into `self` (waiting in the queue, not yet read) when `self` can carry what
    /// `new` says; else give `new` back to be queued after it.
    fn merge(&mut self, new: Self) -> Result<(), Self>;
}

struct Shared<T> {
    items: Mutex<VecDeque<T>>,
    ready: Notify,
    senders: AtomicUsize,
    cap: usize,
}

impl<T> Shared<T> {
    fn items(&self) -> MutexGuard<'_, VecDeque<T>> {
        // A panic while the lock was held left a consistent queue (every change is one call).
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A queue holding at most `cap` items, for one receiver and any number of senders.
pub fn queue<T: Merge>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        items: Mutex::new(VecDeque::new()),
        ready: Notify::new(),
        senders: AtomicUsize::new(1),
        cap: cap.max(1),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Merge> Sender<T> {
    /// Queue an item (merged into a waiting one when it can be); never blocks.
    pub fn send(&self, item: T) {
        let mut items = self.shared.items();
        let mut item = item;
        for waiting in items.iter_mut().rev() {
            match waiting.merge(item) {
                Ok(()) => return,
                Err(back) => item = back,
            }
        }
        if items.len() >= self.shared.cap {
            items.pop_front();
            tracing::warn!(
                cap = self.shared.cap,
                "queue full: the oldest item was dropped"
            );
        }
        items.push_back(item);
        drop(items);
        self.shared.ready.notify_one();
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::SeqCst);
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.ready.notify_one(); // the receiver learns that nothing more comes
        }
    }
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The oldest item, if one waits.
    pub fn try_recv(&mut self) -> Option<T> {
        self.shared.items().pop_front()
    }

    pub fn is_empty(&self) -> bool {
        self.shared.items().is_empty()
    }

    /// The next item; None once it is empty and every sender is gone.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            // Registered before looking, so a send between the look and the wait still wakes.
            let ready = self.shared.ready.notified();
            if let Some(item) = self.shared.items().pop_front() {
                return Some(item);
            }
            if self.shared.senders.load(Ordering::SeqCst) == 0 {
                return None;
            }
            ready.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Item {
        Once(u32),
        Count(u32),
    }

    impl Merge for Item {
        fn merge(&mut self, new: Self) -> Result<(), Self> {
            match (self, new) {
                (Item::Once(a), Item::Once(b)) if *a == b => Ok(()),
                (Item::Count(a), Item::Count(b)) => {
                    *a = b;
                    Ok(())
                }
                (_, new) => Err(new),
            }
        }
    }

    #[tokio::test]
    async fn merges_what_adds_nothing_and_keeps_the_order_of_the_rest() {
        let (tx, mut rx) = queue(16);
        for i in [Item::Once(1), Item::Count(1), Item::Once(2), Item::Once(1)] {
            tx.send(i);
        }
        tx.send(Item::Count(7));
        drop(tx);
        let mut got = Vec::new();
        while let Some(i) = rx.recv().await {
            got.push(i);
        }
        assert_eq!(got, [Item::Once(1), Item::Count(7), Item::Once(2)]);
    }

    #[tokio::test]
    async fn drops_the_oldest_past_its_cap() {
        let (tx, mut rx) = queue(3);
        for n in 0..10 {
            tx.send(Item::Once(n));
        }
        assert_eq!(rx.try_recv(), Some(Item::Once(7)));
        assert_eq!(rx.try_recv(), Some(Item::Once(8)));
        assert_eq!(rx.try_recv(), Some(Item::Once(9)));
        assert!(rx.is_empty());
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_a_send_and_ends_with_the_last_sender() {
        let (tx, mut rx) = queue(4);
        let tx2 = tx.clone();
        let reader = tokio::spawn(async move {
            let first = rx.recv().await;
            let end = rx.recv().await;
            (first, end)
        });
        tokio::task::yield_now().await;
        tx2.send(Item::Once(5));
        drop(tx2);
        drop(tx);
        let (first, end) = tokio::time::timeout(std::time::Duration::from_secs(10), reader)
            .await
            .expect("the receiver woke")
            .unwrap();
        assert_eq!(first, Some(Item::Once(5)));
        assert_eq!(end, None);
    }
}
