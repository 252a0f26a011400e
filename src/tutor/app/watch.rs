//! What the learner watches: the traffic joined from both trace streams, its animation,
//! which request is selected (or following the newest), the inspector's scroll and the
//! replays sent.

use crate::lessons::tasks::Observation;
use crate::trace::{Event, Hop, Process};
use crate::tutor::animation::Animation;
use crate::tutor::requests::{self, RequestSpec};
use crate::tutor::traffic::{Request, Traffic};

pub struct Watch {
    pub traffic: Traffic,
    pub animation: Animation,
    /// The selected request (by seq); `None` with `follow` means the newest.
    pub selected: Option<u64>,
    pub follow: bool,
    pub inspector_scroll: u16,
    /// The trace clock when the tutor started: the traffic list's times count from here.
    pub start_us: u64,
    newest_seq: Option<u64>,
    replays: u64,
}

impl Default for Watch {
    fn default() -> Watch {
        Watch {
            traffic: Traffic::new(),
            animation: Animation::default(),
            selected: None,
            follow: true,
            inspector_scroll: 0,
            start_us: crate::trace::now_us(),
            newest_seq: None,
            replays: 0,
        }
    }
}

impl Watch {
    /// The request the inspector shows.
    pub fn selected_request(&self) -> Option<&Request> {
        match self.selected {
            Some(seq) if !self.follow => self.traffic.get(seq),
            _ => self.traffic.newest(),
        }
    }

    /// A trace event joins its request; when that request is now complete (or its WSGI
    /// side arrived late), what the lesson should judge.
    pub fn on_event(&mut self, event: &Event, now_ms: u64) -> Option<Observation> {
        let was_complete = event
            .request_id
            .as_deref()
            .and_then(|id| self.traffic.by_request_id(id))
            .is_some_and(Request::is_complete);
        let seq = self.traffic.apply(event)?;
        // Judged when the answer is in, and again when the WSGI server's side of it arrives
        // later (its trace comes through another pipe than the web server's).
        let late_wsgi_news = was_complete && event.process == Process::WsgiServer;
        let request = self.traffic.get(seq);
        let observation = request
            .filter(|r| (!was_complete || late_wsgi_news) && r.is_complete())
            .map(Request::observation);
        if self.newest_seq.is_none_or(|n| seq > n) {
            self.newest_seq = Some(seq);
            // Following, the inspector now shows another request: from its top.
            if self.follow {
                self.inspector_scroll = 0;
            }
            self.animation.add(seq, now_ms);
        }
        if matches!(event.hop, Hop::ResponseSent { .. })
            && let Some(req) = self.traffic.get(seq).filter(|r| r.is_complete())
        {
            self.animation.count_edges(req, now_ms);
        }
        observation
    }

    pub fn tick(&mut self, now_ms: u64) {
        self.animation.tick(now_ms, &self.traffic);
    }

    /// The frame timer: move the flights; once none moves, leave rate mode if it is over.
    pub fn frame(&mut self, now_ms: u64) {
        self.tick(now_ms);
        if !self.animation.in_flight() {
            self.animation.idle();
        }
    }

    pub fn follow_newest(&mut self) {
        self.follow = true;
        self.selected = None;
    }

    /// Freeze the selection on the request shown now.
    pub fn pin(&mut self) {
        if self.follow {
            self.selected = self.traffic.newest().map(|r| r.seq);
            self.follow = false;
        }
    }

    pub fn select(&mut self, seq: u64) {
        self.selected = Some(seq);
        self.follow = false;
        self.inspector_scroll = 0;
    }

    /// Move through the list, which shows the newest first: "down" is older.
    pub fn move_selection(&mut self, delta: i32) {
        let Some(newest) = self.traffic.newest().map(|r| r.seq) else {
            return;
        };
        let oldest = self.traffic.iter().next().map_or(0, |r| r.seq);
        let current = if self.follow {
            newest
        } else {
            self.selected.unwrap_or(newest)
        };
        let next = (current as i64 - i64::from(delta)).clamp(oldest as i64, newest as i64);
        self.selected = Some(next as u64);
        self.follow = next as u64 == newest && delta < 0;
        self.inspector_scroll = 0;
    }

    pub fn scroll_inspector(&mut self, delta: i32) {
        let max = self.selected_request().map_or(0, |r| r.environ.len() + 80) as i32;
        self.inspector_scroll = (i32::from(self.inspector_scroll) + delta).clamp(0, max) as u16;
    }

    /// The next replay of the selected request: its number and the two requests to send.
    pub fn replay(&mut self) -> Option<(u64, [RequestSpec; 2])> {
        let specs = requests::replay_specs(self.selected_request()?, self.replays + 1)?;
        self.replays += 1;
        Some((self.replays, specs))
    }
}
