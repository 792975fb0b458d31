//! Probe answers on their way to the console, a few milliseconds' worth at
//! a time.
//!
//! One message per answer woke the console (or the headless command) for
//! every answer: at 10,000 endpoints that was 3,000–10,000 wake-ups a
//! second, each a futex call and a context switch on both sides. Answers
//! are gathered for `GATHER` after the first one and sent as one
//! `Msg::ProbedMany`: core records each answer in its turn and judges each
//! service once per batch. A human sees no difference: probes run about
//! once a second, and their answers arrive 5 ms later at most.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use crate::core::model::{EndpointId, ProbeResult};
use crate::core::msg::Msg;

/// How long answers are gathered after the first one.
pub const GATHER: Duration = Duration::from_millis(5);

/// Answers in one message at most: the console applies a message whole
/// before it looks at the keyboard again, so a message stays well under
/// its 2 ms slice.
const PER_MESSAGE: usize = 128;

/// Answers held at most while the console is too busy to take them; the
/// probes that answer next wait (as they waited on the channel before).
const HELD: usize = 8 * 1024;

type Answer = (EndpointId, ProbeResult);

#[derive(Default)]
pub struct Answers {
    held: Mutex<Vec<Answer>>,
    /// The first answer of a batch is held.
    first: Notify,
    /// A batch was taken: there is room again.
    room: Notify,
}

impl Answers {
    /// Hold an answer for the next batch; waits while `HELD` are held.
    pub async fn put(&self, answer: Answer) {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            // Registered before the check, so a batch taken in between
            // still wakes us.
            room.as_mut().enable();
            {
                let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
                if held.len() < HELD {
                    if held.is_empty() {
                        self.first.notify_one();
                    }
                    held.push(answer);
                    return;
                }
            }
            room.await;
        }
    }

    /// Send what is held, a batch every time a first answer arrives plus
    /// `GATHER`, until the receiver has gone.
    pub async fn forward(&self, tx: mpsc::Sender<Msg>) {
        loop {
            self.first.notified().await;
            tokio::time::sleep(GATHER).await;
            let batch = std::mem::take(&mut *self.held.lock().unwrap_or_else(|e| e.into_inner()));
            self.room.notify_waiters();
            let mut batch = batch.into_iter().peekable();
            while batch.peek().is_some() {
                let part: Vec<Answer> = batch.by_ref().take(PER_MESSAGE).collect();
                if tx.send(Msg::ProbedMany(part)).await.is_err() {
                    return; // the console has gone
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::health::HealthReport;
    use crate::core::time::Ts;

    fn answer(i: usize) -> Answer {
        let id = EndpointId {
            service: 0,
            env: 0,
            endpoint: i,
        };
        let result = ProbeResult {
            at: Ts(i as i64),
            latency_ms: 1.0,
            report: HealthReport::unreachable("x"),
            late: None,
        };
        (id, result)
    }

    fn endpoints(m: &Msg) -> Vec<usize> {
        match m {
            Msg::ProbedMany(v) => v.iter().map(|(id, _)| id.endpoint).collect(),
            other => panic!("{other:?}"),
        }
    }

    /// Answers, forwarding into a channel of `capacity`.
    fn forwarding(capacity: usize) -> (std::sync::Arc<Answers>, mpsc::Receiver<Msg>) {
        let answers = std::sync::Arc::new(Answers::default());
        let (tx, rx) = mpsc::channel(capacity);
        let f = answers.clone();
        tokio::spawn(async move { f.forward(tx).await });
        (answers, rx)
    }

    #[tokio::test(start_paused = true)]
    async fn answers_go_in_order_in_batches_of_at_most_a_message() {
        let (answers, mut rx) = forwarding(16);
        for i in 0..300 {
            answers.put(answer(i)).await;
        }
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while got.len() < 300 {
            let m = rx.recv().await.unwrap();
            sizes.push(endpoints(&m).len());
            got.extend(endpoints(&m));
        }
        assert_eq!(got, (0..300).collect::<Vec<_>>());
        assert_eq!(sizes, vec![128, 128, 44]);
        // A lone answer later is a batch of its own, GATHER after it.
        answers.put(answer(7)).await;
        let t0 = tokio::time::Instant::now();
        let m = rx.recv().await.unwrap();
        assert_eq!(endpoints(&m), vec![7]);
        assert_eq!(t0.elapsed(), GATHER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_console_that_takes_nothing_holds_the_probes_back() {
        let (answers, mut rx) = forwarding(1);
        let p = answers.clone();
        let putter = tokio::spawn(async move {
            for i in 0..3 * HELD {
                p.put(answer(i)).await;
            }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Nothing taken: one message in the channel, one waiting to be
        // sent, HELD more held, and the probes wait.
        assert!(!putter.is_finished());
        let held = answers.held.lock().unwrap().len();
        assert_eq!(held, HELD);
        // Taken, everything arrives, in order.
        let mut got = Vec::new();
        while got.len() < 3 * HELD {
            got.extend(endpoints(&rx.recv().await.unwrap()));
        }
        assert_eq!(got, (0..3 * HELD).collect::<Vec<_>>());
        putter.await.unwrap();
    }
}
