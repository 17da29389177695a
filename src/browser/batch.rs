//! Gathers API calls of one kind into batches. A call made while a request of its kind
//! is on its way waits for it, and every call waiting then goes in the next request.
//! A lone call goes at once and alone; many small files, which would each make their
//! own call, make one request per batch, as many as the server is quick to answer.
//!
//! A request that has not answered within [`PATIENCE`] stops holding the calls back:
//! the next call starts a request of its own. Without that, one request that never
//! answers would hold every later call for ever, the engine's retries after its API
//! timeout (at least a second) included.

use crate::browser::clock;
use crate::core::wire::MAX_BATCH;
use crate::core::{Failure, Instant};
use futures_channel::oneshot;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// How long calls wait for a request on its way before they go without it.
const PATIENCE: Duration = Duration::from_secs(1);

/// How many answers of a batch are handed over in one task of the page.
const ANSWERS_PER_TASK: usize = 8;

/// A queue of calls of one kind. Cloning gives another handle to the same queue.
pub struct Batcher<Q, A>(Rc<RefCell<Queue<Q, A>>>);

impl<Q, A> Clone for Batcher<Q, A> {
    fn clone(&self) -> Self {
        Batcher(self.0.clone())
    }
}

type Reply<A> = oneshot::Sender<Result<A, Failure>>;

struct Queue<Q, A> {
    waiting: Vec<(Q, Reply<A>)>,
    /// The senders at work, by number, each with when it sent its request on its way
    /// (or was started): one that is not overdue sends what waits next.
    senders: BTreeMap<u64, Instant>,
    next_sender: u64,
}

impl<Q: 'static, A: 'static> Batcher<Q, A> {
    /// An empty queue.
    pub fn new() -> Self {
        Batcher(Rc::new(RefCell::new(Queue {
            waiting: Vec::new(),
            senders: BTreeMap::new(),
            next_sender: 0,
        })))
    }

    /// Makes `call`, in a batch with the calls that wait beside it; `send` sends a
    /// batch when no request is on its way, or only overdue ones. A call whose batch
    /// was lost fails as a network failure, which the engine retries.
    /// `send` sends one batch of calls and answers each, in order.
    pub async fn call<F, Fut>(&self, call: Q, send: F) -> Result<A, Failure>
    where
        F: Fn(Vec<Q>) -> Fut + 'static,
        Fut: Future<Output = Vec<Result<A, Failure>>> + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let now = clock::now();
        let lead = {
            let mut queue = self.0.borrow_mut();
            queue.waiting.push((call, reply));
            let served = queue
                .senders
                .values()
                .any(|&since| now.saturating_since(since) < PATIENCE);
            (!served).then(|| {
                let sender = queue.next_sender;
                queue.next_sender += 1;
                queue.senders.insert(sender, now);
                sender
            })
        };
        if let Some(sender) = lead {
            // Sent from a task of its own, a moment later: the calls made meanwhile,
            // in this turn of the event loop, go in the same request.
            let queue = self.0.clone();
            wasm_bindgen_futures::spawn_local(drain(queue, sender, send));
        }
        answer.await.unwrap_or(Err(Failure::Network))
    }
}

impl<Q: 'static, A: 'static> Default for Batcher<Q, A> {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends what waits, batch after batch, until nothing does; `sender` is its number.
async fn drain<Q, A, F, Fut>(queue: Rc<RefCell<Queue<Q, A>>>, sender: u64, send: F)
where
    F: Fn(Vec<Q>) -> Fut,
    Fut: Future<Output = Vec<Result<A, Failure>>>,
{
    loop {
        let batch: Vec<(Q, Reply<A>)> = {
            let mut q = queue.borrow_mut();
            if q.waiting.is_empty() {
                q.senders.remove(&sender);
                return;
            }
            q.senders.insert(sender, clock::now());
            let n = q.waiting.len().min(MAX_BATCH);
            q.waiting.drain(..n).collect()
        };
        let (calls, replies): (Vec<Q>, Vec<Reply<A>>) = batch.into_iter().unzip();
        let results = send(calls).await;
        // A reply without a result (a short answer) is dropped: its call fails. Each
        // answer wakes a file's upload, which then does its next step in the same task:
        // a few at a time keep each task short.
        for (i, (reply, result)) in replies.into_iter().zip(results).enumerate() {
            if i > 0 && i % ANSWERS_PER_TASK == 0 {
                gloo_timers::future::TimeoutFuture::new(0).await;
            }
            let _ = reply.send(result);
        }
    }
}
