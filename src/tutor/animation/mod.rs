//! Replaying requests at a human pace.
//!
//! A request crosses the stack in microseconds, so the diagram does not show it live: each
//! request becomes a *flight* that walks its route one step (one edge, or one wait in the
//! WSGI server's queue) per [`STEP_MS`] of animation time. A flight never runs ahead of the
//! trace: it holds at a box until the hop after it has really happened, so a slow app or a
//! queued request visibly waits. The animation clock only moves while not paused, scaled by
//! the speed. When more requests arrive than can be shown, the diagram switches to per-edge
//! counts instead of falling behind, and counts the flights it skipped.

use std::collections::VecDeque;

use super::traffic::{Request, ServedBy, Traffic, Via};

/// Animation time for one step at speed 1×.
pub const STEP_MS: u64 = 450;
/// How many flights are drawn at once.
pub const MAX_FLIGHTS: usize = 4;
/// More waiting than this and the diagram shows rates instead.
pub const MAX_BACKLOG: usize = 12;
/// The speeds `[` and `]` step through.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// The boxes of the diagram, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Browser,
    WebServer,
    WsgiServer,
    App,
}

/// One step of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Along edge `edge` (0: browser–web, 1: web–WSGI, 2: WSGI–app), rightwards if `forward`.
    Edge { edge: usize, forward: bool },
    /// Waiting in the WSGI server's queue for a free worker.
    Queue,
}

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

/// The route a request takes, as far as it is known, and how many steps have happened.
pub fn route(req: &Request) -> (Vec<Step>, usize) {
    use Step::Edge;
    let fwd = |edge| Edge {
        edge,
        forward: true,
    };
    let back = |edge| Edge {
        edge,
        forward: false,
    };
    let mut steps = Vec::new();
    let mut done = 0;
    let step = |s: Step, happened: bool, done_so_far: &mut usize, steps: &mut Vec<Step>| {
        if *done_so_far == steps.len() && happened {
            *done_so_far += 1;
        }
        steps.push(s);
    };
    let direct = req.via() == Via::Direct;
    if !direct {
        step(fwd(0), true, &mut done, &mut steps);
        let to_wsgi = req.forwarded.is_some()
            || req.reached_wsgi()
            || req
                .location
                .as_ref()
                .is_some_and(|(_, handler)| handler == "proxy");
        if !to_wsgi {
            // Static, return, or a web server error before any upstream: it turns back here.
            let answered = req.web_response.is_some();
            if answered || req.served_by().is_some() {
                step(back(0), answered, &mut done, &mut steps);
            }
            return (steps, done);
        }
        if req.served_by() == Some(ServedBy::WebError) && !req.reached_wsgi() {
            // The WSGI server did not answer: the 502 starts at the web server.
            step(back(0), true, &mut done, &mut steps);
            return (steps, done);
        }
        step(fwd(1), req.reached_wsgi(), &mut done, &mut steps);
    }
    if req.queued.is_some() {
        step(Step::Queue, req.dispatched.is_some(), &mut done, &mut steps);
    }
    let in_app = req.dispatched.is_some() || req.finished.is_some();
    let app_done = req.finished.is_some() || req.start_response.is_some();
    step(fwd(2), in_app, &mut done, &mut steps);
    step(back(2), app_done, &mut done, &mut steps);
    if direct {
        return (steps, done);
    }
    let wsgi_answered = req.wsgi_response.is_some() || req.upstream_answered.is_some();
    step(back(1), wsgi_answered, &mut done, &mut steps);
    step(back(0), req.web_response.is_some(), &mut done, &mut steps);
    (steps, done)
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
    /// Requests per edge seen recently, with their wall-clock times (ms).
    edge_hits: [VecDeque<u64>; 3],
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
            edge_hits: Default::default(),
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
        let (steps, _) = route(req);
        let mut seen = [false; 3];
        for step in steps {
            if let Step::Edge { edge, .. } = step {
                seen[edge] = true;
            }
        }
        for (edge, hit) in seen.into_iter().enumerate() {
            if hit {
                self.edge_hits[edge].push_back(now_ms);
            }
        }
        self.expire(now_ms);
    }

    fn expire(&mut self, now_ms: u64) {
        for hits in &mut self.edge_hits {
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
    pub fn edge_rates(&self) -> [usize; 3] {
        [
            self.edge_hits[0].len(),
            self.edge_hits[1].len(),
            self.edge_hits[2].len(),
        ]
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
        self.expire(now_ms);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Event;

    fn traffic(name: &str) -> Traffic {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/scenarios/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut t = Traffic::new();
        for line in text.lines() {
            t.apply(&serde_json::from_str::<Event>(line).unwrap());
        }
        t
    }

    fn edges(steps: &[Step]) -> Vec<(usize, bool)> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Edge { edge, forward } => Some((*edge, *forward)),
                Step::Queue => None,
            })
            .collect()
    }

    #[test]
    fn routes_turn_back_where_the_response_was_written() {
        let static_req = traffic("static");
        let (steps, done) = route(static_req.newest().unwrap());
        assert_eq!(edges(&steps), [(0, true), (0, false)]);
        assert_eq!(done, 2);

        let app = traffic("app");
        let (steps, done) = route(app.newest().unwrap());
        assert_eq!(
            edges(&steps),
            [
                (0, true),
                (1, true),
                (2, true),
                (2, false),
                (1, false),
                (0, false)
            ]
        );
        assert_eq!(done, steps.len());

        let bad = traffic("bad_gateway");
        let (steps, _) = route(bad.newest().unwrap());
        assert_eq!(edges(&steps), [(0, true), (0, false)]);

        let direct = traffic("direct");
        let (steps, _) = route(direct.newest().unwrap());
        assert_eq!(edges(&steps), [(2, true), (2, false)]);

        let queued = traffic("queued");
        assert!(queued.iter().any(|r| route(r).0.contains(&Step::Queue)));
    }

    #[test]
    fn a_flight_walks_at_human_pace_and_pause_freezes_it() {
        let t = traffic("app");
        let seq = t.newest().unwrap().seq;
        let mut anim = Animation::default();
        anim.add(seq, 0);
        anim.tick(0, &t);
        anim.tick(STEP_MS + STEP_MS / 2, &t);
        let dot = anim.dots(&t)[0];
        assert!(matches!(
            dot.position,
            Position::OnEdge {
                edge: 1,
                forward: true,
                ..
            }
        ));
        anim.paused = true;
        anim.tick(10 * STEP_MS, &t);
        assert_eq!(anim.dots(&t)[0], dot);
        anim.paused = false;
        anim.tick(20 * STEP_MS, &t);
        assert!(anim.flights.is_empty());
        assert!(!anim.in_flight());
    }

    #[test]
    fn heavy_traffic_switches_to_rates_and_counts_skipped_flights() {
        let t = traffic("app");
        let mut anim = Animation::default();
        for seq in 0..40 {
            anim.add(seq, 0);
        }
        assert!(anim.rates_mode);
        assert!(anim.skipped > 0);
        assert!(anim.flights.len() <= MAX_FLIGHTS);
        anim.count_edges(t.newest().unwrap(), 5);
        assert_eq!(anim.edge_rates(), [1, 1, 1]);
    }
}
