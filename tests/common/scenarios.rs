//! Recorded trace events, `tests/fixtures/scenarios/NAME.jsonl`, one event a line.

use wsgi_tutor::trace::Event;

/// The events of one recorded scenario, in recorded order.
pub fn scenario(name: &str) -> Vec<Event> {
    let path = format!(
        "{}/tests/fixtures/scenarios/{name}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1)))
        .collect()
}
