//! Replaying requests at a human pace.
//!
//! A request crosses the stack in microseconds, so the diagram does not show it live: each
//! request becomes a *flight* that walks its route one step (one edge, or one wait in the
//! WSGI server's queue) per [`STEP_MS`] of animation time. A flight never runs ahead of the
//! trace: it holds at a box until the hop after it has really happened, so a slow app or a
//! queued request visibly waits. The animation clock only moves while not paused, scaled by
//! the speed. When more requests arrive than can be shown, the diagram switches to per-edge
//! counts instead of falling behind, and counts the flights it skipped.
//!
//! Here are the flights and the clock; `route.rs` is the route a request takes through
//! the boxes, `rates.rs` the per-edge counts of the heavy-traffic view.

mod rates;
mod route;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use super::traffic::{Request, ServedBy, Traffic, Via};
use rates::EdgeRates;
pub use route::{Step, Stop, route};

/// Animation time for one step at speed 1×.
pub const STEP_MS: u64 = 450;
/// How many flights are drawn at once.
pub const MAX_FLIGHTS: usize = 4;
/// More waiting than this and the diagram shows rates instead.
pub const MAX_BACKLOG: usize = 12;
/// The speeds `[` and `]` step through.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// How a request ended, for colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Ok,
    ClientError,
    ServerError,
}

impl Outcome {
    pub fn of(req: &Request) -> Outcome {
        match req.status() {
            None => Outcome::Pending,
            Some(s) if s >= 500 => Outcome::ServerError,
            Some(s) if s >= 400 => Outcome::ClientError,
            Some(_) => Outcome::Ok,
        }
    }
}

/// One request being replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    pub seq: u64,
    /// Animation clock when it started.
    pub start_ms: f64,
}

/// Where a flight is drawn now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// On an edge, `progress` 0..1 in the direction of travel.
    OnEdge {
        edge: usize,
        forward: bool,
        progress: f64,
    },
    /// Holding at a box, waiting for the next hop to happen.
    At(Stop),
    /// In the WSGI server's queue.
    Queued,
}

/// A flight as the diagram draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dot {
    pub seq: u64,
    pub position: Position,
    pub outcome: Outcome,
    pub served_by: Option<ServedBy>,
}

#[derive(Debug, Clone)]
pub struct Animation {
    pub flights: Vec<Flight>,
    pub backlog: VecDeque<u64>,
    pub paused: bool,
    speed_index: usize,
    /// Animation time, ms: moves only while not paused.
    pub clock_ms: f64,
    last_tick_ms: Option<u64>,
    /// Showing per-edge rates because traffic is too heavy to replay.
    pub rates_mode: bool,
    rates: EdgeRates,
    /// Flights not shown because traffic was too heavy.
    pub skipped: u64,
}

impl Default for Animation {
    fn default() -> Self {
        Animation {
            flights: Vec::new(),
            backlog: VecDeque::new(),
            paused: false,
            speed_index: 2,
            clock_ms: 0.0,
            last_tick_ms: None,
            rates_mode: false,
            rates: EdgeRates::default(),
            skipped: 0,
        }
    }
}

fn stop_after(step: Step) -> Position {
    match step {
        Step::Edge { edge, forward } => {
            let stops = [Stop::Browser, Stop::WebServer, Stop::WsgiServer, Stop::App];
            Position::At(if forward {
                stops[edge + 1]
            } else {
                stops[edge]
            })
        }
        Step::Queue => Position::Queued,
    }
}

impl Animation {
    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed_index]
    }

    pub fn faster(&mut self) {
        self.speed_index = (self.speed_index + 1).min(SPEEDS.len() - 1);
    }

    pub fn slower(&mut self) {
        self.speed_index = self.speed_index.saturating_sub(1);
    }

    /// A new request appeared: replay it, or count it when traffic is heavy.
    pub fn add(&mut self, seq: u64, now_ms: u64) {
        if self.flights.len() < MAX_FLIGHTS && self.backlog.is_empty() {
            self.flights.push(Flight {
                seq,
                start_ms: self.clock_ms,
            });
        } else {
            self.backlog.push_back(seq);
        }
        if self.backlog.len() > MAX_BACKLOG {
            self.rates_mode = true;
            self.skipped += self.backlog.len() as u64;
            self.backlog.clear();
        }
        let _ = now_ms;
    }

    /// Count a finished request on the edges it crossed (for the rates view).
    pub fn count_edges(&mut self, req: &Request, now_ms: u64) {
        self.rates.count(req, now_ms);
    }

    /// Requests per second on each edge over the last second.
    pub fn edge_rates(&self) -> [usize; 3] {
        self.rates.per_second()
    }

    /// Whether the screen must be redrawn on a timer.
    pub fn in_flight(&self) -> bool {
        !self.paused && !self.flights.is_empty() || self.rates_mode
    }

    /// Advance the clock to wall time `now_ms`; retire finished flights, start waiting ones.
    pub fn tick(&mut self, now_ms: u64, traffic: &Traffic) {
        if let Some(last) = self.last_tick_ms
            && !self.paused
        {
            self.clock_ms += now_ms.saturating_sub(last) as f64 * self.speed();
        }
        self.last_tick_ms = Some(now_ms);
        let clock = self.clock_ms;
        let step_ms = STEP_MS as f64;
        self.flights.retain(|f| {
            let Some(req) = traffic.get(f.seq) else {
                return false;
            };
            let (steps, done) = route(req);
            let finished = req.is_complete() && done == steps.len();
            !(finished && clock - f.start_ms >= steps.len() as f64 * step_ms)
        });
        while self.flights.len() < MAX_FLIGHTS {
            let Some(seq) = self.backlog.pop_front() else {
                break;
            };
            self.flights.push(Flight {
                seq,
                start_ms: self.clock_ms,
            });
        }
        self.rates.expire(now_ms);
        if self.rates_mode && self.backlog.is_empty() && self.edge_rates().iter().all(|&n| n < 5) {
            self.rates_mode = false;
        }
    }

    /// Forget the wall clock (when the timer stops), so a pause in ticks is not a jump.
    pub fn idle(&mut self) {
        self.last_tick_ms = None;
    }

    /// Where each flight is now.
    pub fn dots(&self, traffic: &Traffic) -> Vec<Dot> {
        let step_ms = STEP_MS as f64;
        self.flights
            .iter()
            .filter_map(|f| {
                let req = traffic.get(f.seq)?;
                let (steps, done) = route(req);
                let elapsed = (self.clock_ms - f.start_ms).max(0.0);
                let index = (elapsed / step_ms) as usize;
                let position = if index >= done {
                    match done.checked_sub(1) {
                        Some(last) => stop_after(steps[last]),
                        // A direct request starts at the WSGI server: it skipped the rest.
                        None if req.via() == Via::Direct => Position::At(Stop::WsgiServer),
                        None => Position::At(Stop::Browser),
                    }
                } else {
                    match steps[index] {
                        Step::Edge { edge, forward } => Position::OnEdge {
                            edge,
                            forward,
                            progress: (elapsed - index as f64 * step_ms) / step_ms,
                        },
                        Step::Queue => Position::Queued,
                    }
                };
                Some(Dot {
                    seq: f.seq,
                    position,
                    outcome: Outcome::of(req),
                    served_by: req.served_by(),
                })
            })
            .collect()
    }
}
