//! The traffic model: every request the servers report, joined across both servers'
//! trace streams by `request_id`, in a bounded history.
//!
//! The two streams arrive independently, so a request's hops can come in any order (the
//! WSGI server's `received` may be read before the web server's `proxied`). Each event only
//! fills in its part of a [`Request`]; what the request *is* — which layer served it, how
//! long each part took — is derived from whatever has arrived so far.
//!
//! Here is the bounded store, [`Traffic`], that finds an event's request by id;
//! `request.rs` is one [`Request`] and what it derives (served by, via, timing, the
//! lessons' observation); `fold.rs` puts one event's hop into its request.

mod fold;
mod request;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};

use crate::trace::{Event, Hop};
pub use request::{Forwarded, Received, Request, Response, ServedBy, Timing, Via};

/// How many requests the history keeps; older ones are dropped and counted.
pub const HISTORY: usize = 500;

/// Every request seen, newest last, at most [`HISTORY`].
#[derive(Debug, Default)]
pub struct Traffic {
    requests: VecDeque<Request>,
    by_id: HashMap<String, u64>,
    next_seq: u64,
    capacity: usize,
    /// Requests pushed out of the history.
    pub evicted: u64,
    /// Events the servers could not write fast enough (their `dropped` events).
    pub dropped_events: u64,
    /// Events for requests already evicted, ignored.
    pub late_events: u64,
}

impl Traffic {
    pub fn new() -> Self {
        Self::with_capacity(HISTORY)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Traffic {
            capacity: capacity.max(1),
            ..Traffic::default()
        }
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Request> + ExactSizeIterator {
        self.requests.iter()
    }

    pub fn get(&self, seq: u64) -> Option<&Request> {
        let first = self.requests.front()?.seq;
        self.requests.get(seq.checked_sub(first)? as usize)
    }

    pub fn by_request_id(&self, id: &str) -> Option<&Request> {
        self.get(*self.by_id.get(id)?)
    }

    pub fn newest(&self) -> Option<&Request> {
        self.requests.back()
    }

    /// Fold one event in; returns the request it touched, if any.
    pub fn apply(&mut self, event: &Event) -> Option<u64> {
        if let Hop::Dropped { count } = event.hop {
            self.dropped_events += count;
            return None;
        }
        let id = event.request_id.as_deref()?;
        let seq = if let Some(&seq) = self.by_id.get(id) {
            seq
        } else {
            if !starts_request(&event.hop) && self.next_seq > 0 && self.was_evicted(id) {
                self.late_events += 1;
                return None;
            }
            self.insert(id)
        };
        let first = self.requests.front().map_or(0, |r| r.seq);
        let Some(req) = self.requests.get_mut((seq - first) as usize) else {
            self.late_events += 1;
            return None;
        };
        fold::fold(req, event);
        Some(seq)
    }

    fn was_evicted(&self, _id: &str) -> bool {
        // Ids are random, so an unknown id is a new request unless the history is full and
        // its first event is not a start; such a straggler is counted, not kept.
        self.evicted > 0
    }

    fn insert(&mut self, id: &str) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.requests.len() == self.capacity
            && let Some(old) = self.requests.pop_front()
        {
            self.by_id.remove(&old.id);
            self.evicted += 1;
        }
        self.requests.push_back(Request {
            seq,
            id: id.to_owned(),
            ..Request::default()
        });
        self.by_id.insert(id.to_owned(), seq);
        seq
    }
}

fn starts_request(hop: &Hop) -> bool {
    matches!(hop, Hop::Received { .. })
}

/// Parse a JSON-lines trace, skipping lines that are not events.
pub fn parse_lines(text: &str) -> Vec<Event> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Event>(line).ok())
        .collect()
}
