use super::*;

#[test]
fn worker_exit_reasons_keep_their_wire_words() {
    for reason in [
        ExitReason::Shutdown,
        ExitReason::Reload,
        ExitReason::WorkersDecreased,
        ExitReason::MaxRequests,
        ExitReason::Timeout,
        ExitReason::FailedToBoot,
        ExitReason::Crash,
    ] {
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, format!("\"{reason}\""));
        assert_eq!(serde_json::from_str::<ExitReason>(&json).unwrap(), reason);
    }
    let line = r#"{"ts_us":1,"process":"wsgi-server","pid":2,"event":"worker_exited","worker_pid":3,"reason":"workers decreased"}"#;
    let event: Event = serde_json::from_str(line).unwrap();
    assert!(matches!(
        event.hop,
        Hop::WorkerExited {
            reason: ExitReason::WorkersDecreased,
            ..
        }
    ));
}

#[test]
fn events_round_trip_as_one_json_line_with_flat_fields() {
    let event = Event {
        ts_us: 7,
        process: Process::WebServer,
        pid: 42,
        request_id: Some("ab".repeat(16)),
        hop: Hop::StaticServed {
            path: "/lab/static/a.css".into(),
            status: 200,
            size: 12,
        },
    };
    let line = serde_json::to_string(&event).unwrap();
    assert!(!line.contains('\n'));
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["event"], "static_served");
    assert_eq!(value["process"], "web-server");
    assert_eq!(value["size"], 12);
    assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
}

#[test]
fn sink_writes_lines_and_the_clock_moves_forward() {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    struct Pipe(std::sync::mpsc::Sender<Vec<u8>>);
    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.send(buf.to_vec()).ok();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = TraceSink::to_writer(Process::WsgiServer, Pipe(tx));
    let before = now_us();
    sink.emit(None, || Hop::WorkerBooted { worker_pid: 9 });
    let mut text = Vec::new();
    while !text.ends_with(b"\n") {
        text.extend(rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap());
    }
    let event: Event = serde_json::from_slice(&text).unwrap();
    assert_eq!(event.hop, Hop::WorkerBooted { worker_pid: 9 });
    assert!(event.ts_us >= before);
}

#[test]
fn losses_are_reported_while_the_backlog_drains_not_only_after() {
    use std::sync::{Condvar, Mutex};
    // A reader that stalls (the tutor busy drawing) until the test lets it go.
    struct Stalled {
        gate: Arc<(Mutex<bool>, Condvar)>,
        seen: Arc<Mutex<Vec<u8>>>,
    }
    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, cv) = &*self.gate;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            self.seen.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = TraceSink::to_writer(
        Process::WebServer,
        Stalled {
            gate: gate.clone(),
            seen: seen.clone(),
        },
    );
    let emitted = QUEUE_EVENTS + 5_000;
    for _ in 0..emitted {
        sink.emit(None, || Hop::WorkerBooted { worker_pid: 1 });
    }
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut text = seen.lock().unwrap().clone();
        // Whole lines only: the writer hands its buffer over in pieces.
        text.truncate(
            text.iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |at| at + 1),
        );
        let events: Vec<Event> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        let mut lost = 0;
        let mut first_report = None;
        for (at, event) in events.iter().enumerate() {
            if let Hop::Dropped { count } = event.hop {
                lost += count as usize;
                first_report.get_or_insert(at);
            }
        }
        let delivered = events.len()
            - events
                .iter()
                .filter(|e| matches!(e.hop, Hop::Dropped { .. }))
                .count();
        if delivered + lost == emitted {
            // The writer takes a buffer's worth before it stalls; the rest overflowed.
            assert!(lost > 1_000, "{lost} lost");
            let at = first_report.expect("a loss report");
            assert!(
                at < QUEUE_EVENTS / 4,
                "the loss was reported only after {at} of {} events",
                events.len()
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {delivered} + {lost} of {emitted} accounted for"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
