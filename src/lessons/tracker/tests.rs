use super::*;
use crate::lessons::pack::Pack;
use crate::lessons::tasks::{EventKind, ServedBy, Via};

fn lesson(id: &str) -> Lesson {
    Pack::bundled().unwrap().get(id).cloned().unwrap()
}

fn request(path: &str, served_by: ServedBy, via: Option<Via>) -> Observation {
    Observation {
        method: "GET".into(),
        path: path.into(),
        status: 200,
        served_by: Some(served_by),
        via,
        ..Observation::default()
    }
}

#[test]
fn a_request_looked_at_again_replaces_its_first_look_and_counts_once() {
    let lesson = lesson("workers-are-processes");
    let mut progress = Progress::new();
    let mut tracker = Tracker::open(&lesson, &mut progress);
    let counter = |id, served_by| Observation {
        request: Some(id),
        ..request("/counter", served_by, Some(Via::WebServer))
    };
    // First judged before the WSGI server's side arrived, then again with it: one request.
    for _ in 0..5 {
        let done = tracker.on_request(&lesson, &mut progress, counter(1, ServedBy::Wsgi));
        assert!(done.is_empty());
    }
    assert!(tracker.why_not("counter").unwrap().contains("1 of 5"));
    // A fuller look can change the verdict on the same request.
    tracker.on_request(&lesson, &mut progress, counter(1, ServedBy::WsgiError));
    assert!(tracker.why_not("counter").is_some());
    for id in 2..=6 {
        tracker.on_request(&lesson, &mut progress, counter(id, ServedBy::Wsgi));
    }
    assert!(progress.is_done("workers-are-processes", "counter"));
}

#[test]
fn lesson_three_by_real_traffic_and_a_reload() {
    let lesson = lesson("web-server-decides");
    let mut progress = Progress::new();
    let mut tracker = Tracker::open(&lesson, &mut progress);
    assert_eq!(progress.current.as_deref(), Some("web-server-decides"));

    // The wrong way first: the stylesheet straight from the WSGI server's port.
    let done = tracker.on_request(
        &lesson,
        &mut progress,
        request("/static/style.css", ServedBy::Wsgi, Some(Via::Direct)),
    );
    assert!(done.is_empty());
    assert!(tracker.why_not("static-file").is_some());

    let done = tracker.on_request(
        &lesson,
        &mut progress,
        request("/static/style.css", ServedBy::Static, Some(Via::WebServer)),
    );
    assert_eq!(done, ["static-file"]);
    assert!(tracker.why_not("static-file").is_none());
    let done = tracker.on_request(
        &lesson,
        &mut progress,
        request("/", ServedBy::Wsgi, Some(Via::WebServer)),
    );
    assert_eq!(done, ["pass-through"]);
    // Done stays done, and is not reported twice.
    let again = tracker.on_request(
        &lesson,
        &mut progress,
        request("/static/style.css", ServedBy::Static, Some(Via::WebServer)),
    );
    assert!(!again.contains(&"static-file".to_owned()));

    let refused = StackEvent {
        kind: EventKind::ConfigReloaded,
        ok: false,
        workers: None,
        app: None,
    };
    assert!(
        tracker
            .on_event(&lesson, &mut progress, &refused)
            .is_empty()
    );
    let reloaded = StackEvent {
        ok: true,
        ..refused
    };
    assert_eq!(
        tracker.on_event(&lesson, &mut progress, &reloaded),
        ["reload"]
    );
    assert!(progress.is_done("web-server-decides", "static-file"));
    assert!(!complete(&lesson, &progress));
}

#[test]
fn quizzes_complete_on_the_right_answer_only() {
    let lesson = lesson("what-is-wsgi");
    let mut progress = Progress::new();
    let mut tracker = Tracker::open(&lesson, &mut progress);
    let quiz = lesson
        .tasks
        .iter()
        .find(|t| matches!(t.check, Check::Quiz(_)))
        .unwrap();
    let Check::Quiz(choices) = &quiz.check else {
        unreachable!()
    };
    let wrong = choices.iter().position(|c| !c.correct).unwrap();
    let right = choices.iter().position(|c| c.correct).unwrap();
    let answer = tracker
        .answer(&lesson, &mut progress, &quiz.id, wrong)
        .unwrap();
    assert!(!answer.correct && !answer.explain.is_empty());
    assert!(!progress.is_done(&lesson.id, &quiz.id));
    assert!(
        tracker
            .answer(&lesson, &mut progress, &quiz.id, right)
            .unwrap()
            .correct
    );
    assert!(progress.is_done(&lesson.id, &quiz.id));
    assert_eq!(tracker.answer(&lesson, &mut progress, &quiz.id, 99), None);
}

#[test]
fn hints_come_one_at_a_time_then_the_solution() {
    let with_hints = lesson("web-server-decides");
    let mut progress = Progress::new();
    let tracker = Tracker::open(&with_hints, &mut progress);
    let task = with_hints
        .tasks
        .iter()
        .find(|t| t.hints.len() >= 2 && t.solution.is_some())
        .unwrap();
    let first = tracker
        .next_hint(&with_hints, &mut progress, &task.id)
        .unwrap();
    assert_eq!(
        (first.shown, first.total, first.solution),
        (1, task.hints.len(), None)
    );
    for _ in 1..task.hints.len() {
        tracker.next_hint(&with_hints, &mut progress, &task.id);
    }
    let last = tracker
        .next_hint(&with_hints, &mut progress, &task.id)
        .unwrap();
    assert_eq!(last.shown, task.hints.len());
    assert_eq!(last.solution, task.solution.as_deref());
    // Remembered in the progress file.
    assert_eq!(
        tracker
            .hints(&with_hints, &progress, &task.id)
            .unwrap()
            .solution,
        task.solution.as_deref()
    );
}

#[test]
fn self_checks_toggle() {
    let checklist = lesson("checklist");
    let mut progress = Progress::new();
    let tracker = Tracker::open(&checklist, &mut progress);
    let item = checklist
        .tasks
        .iter()
        .find(|t| t.check == Check::SelfCheck)
        .unwrap();
    assert_eq!(
        tracker.toggle(&checklist, &mut progress, &item.id),
        Some(true)
    );
    assert_eq!(
        tracker.toggle(&checklist, &mut progress, &item.id),
        Some(false)
    );
    assert_eq!(
        tracker.toggle(&checklist, &mut progress, "no-such-task"),
        None
    );
}
