//! The signals that end `serve` and the tutor, watched for the whole run so that none is
//! missed between two waits.

pub struct Signals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    /// SIGTERM and SIGINT (Ctrl-C); with `hangup`, SIGHUP too (a closed terminal).
    pub fn new(hangup: bool) -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = [SignalKind::terminate(), SignalKind::interrupt()]
                .into_iter()
                .chain(hangup.then(SignalKind::hangup))
                .filter_map(|kind| signal(kind).ok())
                .collect();
            Signals { streams }
        }
        #[cfg(not(unix))]
        {
            let _ = hangup;
            Signals {}
        }
    }

    /// The next of those signals (Ctrl-C where there are no signals).
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                return std::future::pending().await;
            }
            let waits = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            let _ = futures_util::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
