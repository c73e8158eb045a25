//! Limits on serving: a rate per caller (and per caller of a tool), caps on the calls running
//! at once (all together and per tool) with a bounded wait queue, a result size cap, and a
//! per-address request rate before authentication. The server asks [`Limits::admit`] before a
//! call runs and holds the returned [`Admission`] while it runs. Configured in the site file's
//! `profiles.<p>.limits` (docs/limits.md).

mod rate;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::load::limits_config::LimitsConfig;

/// Why a call was not run; what the client should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The caller is over a rate: retry after this long.
    Rate { retry_after: Duration },
    /// No slot became free within the queue timeout, or the queue was full.
    Busy { retry_after: Duration },
}

impl Refusal {
    /// The JSON-RPC error code (implementation-defined range; -32020.. is the spec's).
    pub fn code(&self) -> i32 {
        match self {
            Refusal::Rate { .. } => -32001,
            Refusal::Busy { .. } => -32002,
        }
    }

    pub fn retry_after(&self) -> Duration {
        match self {
            Refusal::Rate { retry_after } | Refusal::Busy { retry_after } => *retry_after,
        }
    }

    pub fn message(&self) -> String {
        let secs = self.retry_after().as_secs_f64().max(0.001);
        match self {
            Refusal::Rate { .. } => format!("rate limit exceeded: retry in {secs:.3} s"),
            Refusal::Busy { .. } => format!("server busy: no free slot for this call; retry in {secs:.3} s"),
        }
    }
}

/// Held while a call runs: its concurrency slots.
pub struct Admission {
    _global: Option<OwnedSemaphorePermit>,
    _tool: Option<OwnedSemaphorePermit>,
}

pub struct Limits {
    per_caller: Option<rate::Rate<String>>,
    per_tool_caller: HashMap<String, rate::Rate<String>>,
    global: Option<Arc<Semaphore>>,
    per_tool: HashMap<String, Arc<Semaphore>>,
    queue: usize,
    waiting: AtomicUsize,
    queue_timeout: Duration,
    per_address: Option<rate::Rate<IpAddr>>,
    pub max_result_bytes: Option<u64>,
    /// What one SQL query may return, checked while it is fetched.
    pub result_cap: crate::db::ResultCap,
    admitted: AtomicUsize,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Limits {
    pub fn new(cfg: &LimitsConfig) -> Limits {
        let burst = |per_minute: u32| cfg.burst.unwrap_or((per_minute / 10).max(1));
        Limits {
            per_caller: cfg.calls_per_minute.map(|n| rate::Rate::new(n, MINUTE, burst(n))),
            per_tool_caller: cfg
                .tool_calls_per_minute
                .iter()
                .map(|(tool, n)| (tool.clone(), rate::Rate::new(*n, MINUTE, burst(*n))))
                .collect(),
            global: cfg.max_concurrent_calls.map(|n| Arc::new(Semaphore::new(n as usize))),
            per_tool: cfg
                .max_concurrent
                .iter()
                .map(|(t, n)| (t.clone(), Arc::new(Semaphore::new(*n as usize))))
                .collect(),
            queue: cfg.queue.map(|q| q as usize).unwrap_or(usize::MAX),
            waiting: AtomicUsize::new(0),
            queue_timeout: Duration::from_secs(cfg.queue_timeout_seconds.unwrap_or(30)),
            per_address: cfg.requests_per_second_per_address.map(|n| rate::Rate::new(n, Duration::from_secs(1), n)),
            max_result_bytes: cfg.max_result_bytes,
            result_cap: crate::db::ResultCap { rows: cfg.max_result_rows, bytes: cfg.max_result_bytes },
            admitted: AtomicUsize::new(0),
        }
    }

    /// Whether any call limit is configured (otherwise admission costs nothing).
    pub fn limits_calls(&self) -> bool {
        self.per_caller.is_some()
            || !self.per_tool_caller.is_empty()
            || self.global.is_some()
            || !self.per_tool.is_empty()
    }

    /// Rates first (a throttled caller never takes a slot), then a slot, waiting in the queue
    /// at most the queue timeout.
    pub async fn admit(&self, caller: &str, tool: &str) -> Result<Admission, Refusal> {
        if self.admitted.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.shrink();
        }
        let key = caller.to_string();
        if let Some(r) = &self.per_caller {
            r.check(&key).map_err(|retry_after| Refusal::Rate { retry_after })?;
        }
        if let Some(r) = self.per_tool_caller.get(tool) {
            r.check(&key).map_err(|retry_after| Refusal::Rate { retry_after })?;
        }
        let tool_sem = self.per_tool.get(tool).cloned();
        if self.global.is_none() && tool_sem.is_none() {
            return Ok(Admission { _global: None, _tool: None });
        }
        let busy = Refusal::Busy { retry_after: Duration::from_secs(1) };
        // a permit free right now needs no queue place
        let fast = |s: &Option<Arc<Semaphore>>| s.as_ref().map(|s| s.clone().try_acquire_owned());
        if let (Some(Ok(g)), None) | (None, Some(Ok(g))) = (fast(&self.global), fast(&tool_sem)) {
            return Ok(if self.global.is_some() {
                Admission { _global: Some(g), _tool: None }
            } else {
                Admission { _global: None, _tool: Some(g) }
            });
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy);
        }
        let wait = async {
            // the tool's slot first: a call waiting for a busy tool holds no global slot
            let t = match tool_sem {
                Some(s) => Some(s.acquire_owned().await.expect("never closed")),
                None => None,
            };
            let g = match &self.global {
                Some(s) => Some(s.clone().acquire_owned().await.expect("never closed")),
                None => None,
            };
            Admission { _global: g, _tool: t }
        };
        let outcome = tokio::time::timeout(self.queue_timeout, wait).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        outcome.map_err(|_| busy)
    }

    /// `Err(retry_after)` when `address` sends requests faster than allowed.
    pub fn admit_address(&self, address: IpAddr) -> Result<(), Duration> {
        match &self.per_address {
            Some(r) => r.check(&address),
            None => Ok(()),
        }
    }

    pub fn limits_addresses(&self) -> bool {
        self.per_address.is_some()
    }

    fn shrink(&self) {
        for r in self.per_caller.iter().chain(self.per_tool_caller.values()) {
            r.shrink();
        }
        if let Some(r) = &self.per_address {
            r.shrink();
        }
    }
}
