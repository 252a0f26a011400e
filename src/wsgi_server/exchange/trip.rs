//! The request being served, as the logs and the trace need to know it: kept apart from the
//! exchange because the handler (for refusals) and the built-in apps finish requests too.

use std::time::Instant;

use crate::trace::{Hop, TraceSink};
use crate::wsgi_server::log::{self, Level};
use crate::wsgi_server::worker::AppErrorReport;

/// What the logs and the trace need to know about the request being served.
pub struct Trip {
    pub request_id: String,
    pub started: Instant,
    pub queue_us: u64,
    pub method: String,
    pub path: String,
    pub remote: String,
    pub request_line: String,
    pub referer: String,
    pub user_agent: String,
    pub sink: TraceSink,
}

impl Trip {
    /// The request is answered: access log line, `finished` and `response_sent` events.
    pub fn finish(&self, status: u16, bytes: u64, app_us: u64, headers: Vec<(String, String)>) {
        log::access(&log::Access {
            remote: &self.remote,
            request_line: &self.request_line,
            status,
            bytes: Some(bytes),
            referer: &self.referer,
            user_agent: &self.user_agent,
        });
        let total_us = self.started.elapsed().as_micros() as u64;
        let queue_us = self.queue_us;
        self.sink.emit(Some(&self.request_id), || Hop::Finished {
            status,
            queue_us,
            app_us,
            total_us,
        });
        self.sink
            .emit(Some(&self.request_id), || Hop::ResponseSent {
                status,
                bytes,
                total_us,
                headers,
            });
    }

    /// Log an application error the gunicorn way and put it in the trace.
    pub fn app_error(&self, worker_pid: u32, report: &AppErrorReport) {
        let text = match (report.kind.as_str(), &report.traceback) {
            ("exception", Some(tb)) => {
                format!("Error handling request {}\n{}", self.path, tb.trim_end())
            }
            ("spec", _) => format!(
                "WSGI spec violation in {} {}: {}",
                self.method, self.path, report.message
            ),
            (_, Some(tb)) => format!("{}\n{}", report.message, tb.trim_end()),
            (_, None) => report.message.clone(),
        };
        log::error_log(worker_pid, Level::Error, &text);
        self.sink.emit(Some(&self.request_id), || Hop::AppError {
            kind: report.kind.clone(),
            message: report.message.clone(),
            traceback: report.traceback.clone(),
        });
    }
}
