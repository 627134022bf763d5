//! Loop and process figures in Prometheus's text exposition format,
//! version 0.0.4 (what `GET /metrics` of `eddy-server --metrics` serves).
//!
//! ```
//! use eddy::prometheus::Exposition;
//!
//! let lp = eddy::Loop::new()?;
//! let mut out = Exposition::default();
//! out.loop_metrics(&[(vec![("worker", "0".to_string())], lp.metrics())]);
//! out.process();
//! assert!(out.text().contains("eddy_loop_iterations_total{worker=\"0\"}"));
//! # Ok::<(), eddy::event_loop::Error>(())
//! ```

use std::fmt::Write;
use std::time::Duration;

use eddy_http::server::{CloseReason, ServerStats};
use eddy_loop::{Histogram, LoopMetrics, LoopPhase};

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Label pairs of one series.
pub type Labels = Vec<(&'static str, String)>;

/// A page of metric families, written one family at a time.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", help.replace('\\', "\\\\"));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample line.
    pub fn sample(&mut self, name: &str, labels: &[(&str, String)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    /// A family with one sample per series.
    pub fn each<T>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        series: &[(Labels, T)],
        value: impl Fn(&T) -> Option<f64>,
    ) {
        self.family(name, kind, help);
        for (labels, t) in series {
            if let Some(v) = value(t) {
                self.sample(name, labels, v);
            }
        }
    }

    fn summary(&mut self, name: &str, help: &str, series: &[(Labels, &Histogram)]) {
        self.family(name, "summary", help);
        for (labels, h) in series {
            for (q, v) in [("0.5", h.p50()), ("0.99", h.p99())] {
                let mut l = labels.clone();
                l.push(("quantile", q.to_string()));
                self.sample(name, &l, secs(v));
            }
            self.sample(&format!("{name}_sum"), labels, secs(h.sum()));
            self.sample(&format!("{name}_count"), labels, h.count() as f64);
        }
        let max = format!("{name}_max");
        self.family(&max, "gauge", &format!("The largest value of {name}."));
        for (labels, h) in series {
            self.sample(&max, labels, secs(h.max()));
        }
    }

    /// The figures of one or more loops, each series with its labels
    /// (e.g. `worker="0"`).
    pub fn loop_metrics(&mut self, loops: &[(Labels, LoopMetrics)]) {
        self.each(
            "eddy_loop_iterations_total",
            "counter",
            "Loop iterations run.",
            loops,
            |m| Some(m.iterations as f64),
        );
        self.each(
            "eddy_loop_events_total",
            "counter",
            "Events epoll_wait returned.",
            loops,
            |m| Some(m.events as f64),
        );
        self.each(
            "eddy_loop_idle_seconds_total",
            "counter",
            "Time blocked in epoll_wait.",
            loops,
            |m| Some(secs(m.idle)),
        );
        self.each(
            "eddy_loop_recorded_seconds_total",
            "counter",
            "Time since the loop started recording.",
            loops,
            |m| Some(secs(m.elapsed)),
        );
        self.family(
            "eddy_loop_phase_seconds_total",
            "counter",
            "Time spent in each phase of the loop's iterations.",
        );
        for (labels, m) in loops {
            for phase in LoopPhase::ALL {
                let mut l = labels.clone();
                l.push(("phase", phase.name().to_string()));
                self.sample(
                    "eddy_loop_phase_seconds_total",
                    &l,
                    secs(m.phases.get(phase)),
                );
            }
        }
        self.each(
            "eddy_loop_utilization_ratio",
            "gauge",
            "Share of the last one-second window the loop was not waiting in epoll_wait.",
            loops,
            |m| m.utilization,
        );
        let delays: Vec<(Labels, &Histogram)> = loops
            .iter()
            .map(|(l, m)| (l.clone(), &m.timer_delay))
            .collect();
        self.summary(
            "eddy_loop_timer_delay_seconds",
            "How late timers fired after their deadline.",
            &delays,
        );
        let busy: Vec<(Labels, &Histogram)> = loops
            .iter()
            .map(|(l, m)| (l.clone(), &m.iteration_busy))
            .collect();
        self.summary(
            "eddy_loop_iteration_busy_seconds",
            "How long each iteration's callbacks ran (the wait aside).",
            &busy,
        );
    }

    /// The counters of one or more HTTP servers, each series with its
    /// labels (e.g. `worker="0"`).
    pub fn server_stats(&mut self, servers: &[(Labels, ServerStats)]) {
        self.each(
            "eddy_http_connections_accepted_total",
            "counter",
            "HTTP connections accepted.",
            servers,
            |s| Some(s.accepted as f64),
        );
        self.family(
            "eddy_http_connections_closed_total",
            "counter",
            "HTTP connections closed, by reason.",
        );
        for (labels, s) in servers {
            for reason in CloseReason::ALL {
                let mut l = labels.clone();
                l.push(("reason", reason.name().to_string()));
                let n = s.closed.get(reason);
                self.sample("eddy_http_connections_closed_total", &l, n as f64);
            }
        }
        self.each(
            "eddy_http_requests_total",
            "counter",
            "HTTP requests whose head was received.",
            servers,
            |s| Some(s.requests as f64),
        );
        self.family(
            "eddy_http_responses_total",
            "counter",
            "HTTP responses finished, by status class.",
        );
        for (labels, s) in servers {
            for class in 1..=5u16 {
                let mut l = labels.clone();
                l.push(("class", format!("{class}xx")));
                let n = s.responses.get(class);
                self.sample("eddy_http_responses_total", &l, n as f64);
            }
        }
        self.family(
            "eddy_http_parse_errors_total",
            "counter",
            "Requests the parser refused, by llhttp error code.",
        );
        for (labels, s) in servers {
            for (kind, n) in &s.parse_errors {
                let mut l = labels.clone();
                l.push(("kind", kind.llhttp_name().to_string()));
                self.sample("eddy_http_parse_errors_total", &l, *n as f64);
            }
        }
        self.each(
            "eddy_http_received_bytes_total",
            "counter",
            "Bytes read from HTTP clients.",
            servers,
            |s| Some(s.bytes_in as f64),
        );
        self.each(
            "eddy_http_sent_bytes_total",
            "counter",
            "Bytes written to HTTP clients.",
            servers,
            |s| Some(s.bytes_out as f64),
        );
        self.each(
            "eddy_http_pipelined_requests_total",
            "counter",
            "Requests that arrived while an earlier one on their connection was unanswered.",
            servers,
            |s| Some(s.pipelined as f64),
        );
        self.each(
            "eddy_http_pipeline_depth_max",
            "gauge",
            "The most requests seen in flight on one connection.",
            servers,
            |s| Some(s.max_pipeline_depth as f64),
        );
        self.each(
            "eddy_http_backpressure_pauses_total",
            "counter",
            "Times reading paused because output reached the high-water mark.",
            servers,
            |s| Some(s.backpressure_pauses as f64),
        );
        self.each(
            "eddy_http_backpressure_seconds_total",
            "counter",
            "Time connections spent paused for backpressure.",
            servers,
            |s| Some(s.backpressure_ms as f64 / 1000.0),
        );
    }

    /// This process's resident memory and open fds, from `/proc/self`
    /// (families left out when it cannot be read).
    pub fn process(&mut self) {
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            });
        if let Some(kb) = rss {
            self.family(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            self.sample("process_resident_memory_bytes", &[], (kb * 1024) as f64);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            // The directory's own fd, open while it is read, is not counted.
            let fds = dir.count().saturating_sub(1);
            self.family(
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
            );
            self.sample("process_open_fds", &[], fds as f64);
        }
    }

    /// The page so far.
    pub fn text(&self) -> &str {
        &self.out
    }

    /// The page.
    pub fn into_text(self) -> String {
        self.out
    }
}
