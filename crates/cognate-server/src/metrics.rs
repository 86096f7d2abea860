//! Prometheus metrics: requests by service, operation and outcome, and a
//! latency histogram per operation. Rendered by hand in the text format.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS_MS: &[f64] = &[1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0];

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (service, operation) → outcome → count: recording an outcome seen
    /// before allocates nothing.
    requests: BTreeMap<(&'static str, &'static str), BTreeMap<String, u64>>,
    latency: BTreeMap<(&'static str, &'static str), Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; 11],
    count: u64,
    sum_ms: f64,
}

impl Metrics {
    /// Records one request. `outcome` is "ok" or the error name.
    pub fn record(&self, service: &'static str, operation: &'static str, outcome: &str, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let Ok(mut m) = self.inner.lock() else { return };
        let outcomes = m.requests.entry((service, operation)).or_default();
        match outcomes.get_mut(outcome) {
            Some(n) => *n += 1,
            None => {
                outcomes.insert(outcome.to_string(), 1);
            }
        }
        let h = m.latency.entry((service, operation)).or_default();
        for (i, le) in BUCKETS_MS.iter().enumerate() {
            if ms <= *le
                && let Some(b) = h.buckets.get_mut(i)
            {
                *b += 1;
            }
        }
        h.count += 1;
        h.sum_ms += ms;
    }

    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let Ok(m) = self.inner.lock() else { return String::new() };
        let mut out = String::new();
        out.push_str("# HELP cognate_requests_total API requests by service, operation and outcome.\n");
        out.push_str("# TYPE cognate_requests_total counter\n");
        for ((svc, op), outcomes) in &m.requests {
            for (outcome, n) in outcomes {
                let _ = writeln!(
                    out,
                    "cognate_requests_total{{service=\"{svc}\",operation=\"{op}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP cognate_request_duration_seconds API request latency.\n");
        out.push_str("# TYPE cognate_request_duration_seconds histogram\n");
        for ((svc, op), h) in &m.latency {
            for (i, le) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "cognate_request_duration_seconds_bucket{{service=\"{svc}\",operation=\"{op}\",le=\"{}\"}} {}",
                    le / 1000.0,
                    h.buckets.get(i).copied().unwrap_or(0)
                );
            }
            let _ = writeln!(
                out,
                "cognate_request_duration_seconds_bucket{{service=\"{svc}\",operation=\"{op}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "cognate_request_duration_seconds_sum{{service=\"{svc}\",operation=\"{op}\"}} {}",
                h.sum_ms / 1000.0
            );
            let _ = writeln!(
                out,
                "cognate_request_duration_seconds_count{{service=\"{svc}\",operation=\"{op}\"}} {}",
                h.count
            );
        }
        out
    }
}
