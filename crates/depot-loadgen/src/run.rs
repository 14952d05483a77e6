//! The closed-loop driver: a fixed number of workers, each with its own keep-alive connection,
//! sending one request after another for a warm-up and then a measured window.
//!
//! An operation counts when it *completes* inside the window, whenever it started: in a steady
//! state, completions per second is the throughput, and no request is counted twice or cut.
//! Requests still in flight at the end finish (bounded by the per-request timeout) uncounted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use http::{Request, StatusCode};
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::Error;
use crate::body::{Payload, collect, drain};
use crate::conn::Connection;
use crate::request::Target;
use crate::stats::{Recorder, Summary};

/// How long to run and how hard.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Workers, each with one connection and one request in flight.
    pub concurrency: usize,
    /// Time run but not measured, so connections, caches and allocators settle.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// A bound on requests sent (warm-up included), whatever the time; `None` for time only.
    pub max_requests: Option<u64>,
    /// A request (or connect) taking longer fails, so a stuck server cannot stall the run.
    pub request_timeout: Duration,
}

/// One request ready to send, and what a good answer looks like.
#[derive(Debug)]
pub struct Prepared {
    /// The signed request.
    pub request: Request<Payload>,
    /// Payload bytes the request sends (its body length).
    pub sent: u64,
    /// The response body length the request must get, if known.
    pub expect_len: Option<u64>,
}

/// What a scenario sends: the `seq`-th request of worker `worker`, signed for `target` at `now`.
pub trait Generator: Send + Sync {
    /// Builds the request.
    fn prepare(
        &self,
        target: &Target,
        worker: usize,
        seq: u64,
        now: SystemTime,
    ) -> Result<Prepared, Error>;
}

/// Runs `generator` against `target` as `workload` says and summarizes the measured window.
///
/// Fails only when no connection can be opened at all; failed requests are counted in the
/// summary, not returned.
pub async fn run(
    target: &Target,
    workload: &Workload,
    generator: Arc<dyn Generator>,
) -> Result<Summary, Error> {
    let concurrency = workload.concurrency.max(1);
    // Connections first, outside the clock: the run measures requests, not handshakes.
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let connection = timeout(workload.request_timeout, Connection::open(target.addr))
            .await
            .map_err(|_| Error::Timeout)??;
        connections.push(connection);
    }

    let start = Instant::now();
    let clock = Clock {
        measure_from: start + workload.warmup,
        end: start + workload.warmup + workload.duration,
    };
    let sent = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for (id, connection) in connections.into_iter().enumerate() {
        let worker = Worker {
            id,
            target: target.clone(),
            generator: generator.clone(),
            clock,
            sent: sent.clone(),
            max_requests: workload.max_requests,
            request_timeout: workload.request_timeout,
        };
        workers.spawn(worker.run(connection));
    }

    // Each worker stops by `end` plus one request timeout (plus one reconnect); this bound is
    // only a second line of defence.
    let hard_stop = clock.end + 3 * workload.request_timeout + Duration::from_secs(5);
    let mut total = Recorder::default();
    let mut last_done: Option<Instant> = None;
    let mut stopped_by_count = false;
    loop {
        let remaining = hard_stop.saturating_duration_since(Instant::now());
        match timeout(remaining, workers.join_next()).await {
            Ok(Some(Ok(outcome))) => {
                stopped_by_count |= outcome.stopped_by_count;
                last_done = last_done.max(outcome.last_done);
                total.merge(outcome.recorder);
            }
            Ok(Some(Err(join_error))) => total.fail(&join_error),
            Ok(None) => break,
            Err(_) => {
                workers.abort_all();
                total.fail(&"workers did not stop in time and were aborted");
                break;
            }
        }
    }

    // A run cut short by the request bound measured a shorter window.
    let window = match (stopped_by_count, last_done) {
        (true, Some(done)) => done
            .min(clock.end)
            .saturating_duration_since(clock.measure_from),
        _ => workload.duration,
    };
    Ok(total.summarize(window))
}

#[derive(Debug, Clone, Copy)]
struct Clock {
    measure_from: Instant,
    end: Instant,
}

impl Clock {
    fn in_window(&self, at: Instant) -> bool {
        at >= self.measure_from && at <= self.end
    }
}

struct Worker {
    id: usize,
    target: Target,
    generator: Arc<dyn Generator>,
    clock: Clock,
    sent: Arc<AtomicU64>,
    max_requests: Option<u64>,
    request_timeout: Duration,
}

struct Outcome {
    recorder: Recorder,
    last_done: Option<Instant>,
    stopped_by_count: bool,
}

impl Worker {
    async fn run(self, connection: Connection) -> Outcome {
        let mut outcome = Outcome {
            recorder: Recorder::default(),
            last_done: None,
            stopped_by_count: false,
        };
        let mut connection = Some(connection);
        let mut seq = 0u64;
        while Instant::now() < self.clock.end {
            if let Some(max) = self.max_requests
                && self.sent.fetch_add(1, Ordering::Relaxed) >= max
            {
                outcome.stopped_by_count = true;
                break;
            }
            // Signed just before sending, as an SDK does; outside the latency measured.
            let prepared =
                match self
                    .generator
                    .prepare(&self.target, self.id, seq, SystemTime::now())
                {
                    Ok(prepared) => prepared,
                    Err(error) => {
                        // The same inputs would fail again: this worker is done.
                        outcome.recorder.fail(&error);
                        break;
                    }
                };
            seq += 1;
            let open = match connection.as_mut() {
                Some(open) => open,
                None => match timeout(self.request_timeout, Connection::open(self.target.addr))
                    .await
                    .unwrap_or(Err(Error::Timeout))
                {
                    Ok(open) => connection.insert(open),
                    Err(error) => {
                        outcome.recorder.fail(&error);
                        // A server that refuses connections would otherwise be hammered in a
                        // tight loop.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let sent = prepared.sent;
            let started = Instant::now();
            let result = timeout(self.request_timeout, exchange(open, prepared))
                .await
                .unwrap_or(Err(Error::Timeout));
            let done = Instant::now();
            match result {
                Ok(received) => {
                    if self.clock.in_window(done) {
                        outcome.recorder.record(done - started, sent + received);
                        outcome.last_done = Some(done);
                    }
                }
                Err(error) => {
                    outcome.recorder.fail(&error);
                    // The connection's state is unknown after a failure; start clean.
                    connection = None;
                }
            }
        }
        outcome
    }
}

/// Sends one request, reads the whole response, and checks status and length. Returns the
/// response body's length.
pub async fn exchange(connection: &mut Connection, prepared: Prepared) -> Result<u64, Error> {
    let response = connection.send(prepared.request).await?;
    let status = response.status();
    if status != StatusCode::OK {
        let (start, _) = collect(response.into_body(), 512).await?;
        return Err(Error::Status {
            status,
            body: String::from_utf8_lossy(&start).into_owned(),
        });
    }
    let received = drain(response.into_body()).await?;
    match prepared.expect_len {
        Some(expected) if expected != received => Err(Error::BodyLength { expected, received }),
        _ => Ok(received),
    }
}
