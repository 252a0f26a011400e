//! The per-edge rates the diagram shows instead of flights when traffic is too heavy to
//! replay: how many requests crossed each edge in the last second of wall time.

use std::collections::VecDeque;

use super::route::{Step, route};
use crate::tutor::traffic::Request;

/// Requests per edge seen recently, with their wall-clock times (ms).
#[derive(Debug, Clone, Default)]
pub(super) struct EdgeRates {
    hits: [VecDeque<u64>; 3],
}

impl EdgeRates {
    /// Count a finished request on the edges it crossed.
    pub(super) fn count(&mut self, req: &Request, now_ms: u64) {
        let (steps, _) = route(req);
        let mut seen = [false; 3];
        for step in steps {
            if let Step::Edge { edge, .. } = step {
                seen[edge] = true;
            }
        }
        for (edge, hit) in seen.into_iter().enumerate() {
            if hit {
                self.hits[edge].push_back(now_ms);
            }
        }
        self.expire(now_ms);
    }

    pub(super) fn expire(&mut self, now_ms: u64) {
        for hits in &mut self.hits {
            while hits.front().is_some_and(|&t| t + 1000 < now_ms) {
                hits.pop_front();
            }
            // Bounded whatever the load: a second at most 100k requests per edge.
            while hits.len() > 100_000 {
                hits.pop_front();
            }
        }
    }

    /// Requests per second on each edge over the last second.
    pub(super) fn per_second(&self) -> [usize; 3] {
        [self.hits[0].len(), self.hits[1].len(), self.hits[2].len()]
    }
}
