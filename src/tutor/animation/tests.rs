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
