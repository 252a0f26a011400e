//! `App::update` driven by scripted messages and recorded trace events: state and effects
//! asserted, no terminal.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use wsgi_tutor::control::Command;
use wsgi_tutor::trace::{Event, Process};
use wsgi_tutor::tutor::app::{App, Effect, Msg, Planned, ServerExit, ServerState};
use wsgi_tutor::tutor::lessons;
use wsgi_tutor::tutor::overlays::{Overlay, RestoreList};
use wsgi_tutor::tutor::requests::Target;
use wsgi_tutor::tutor::theme::{Theme, ThemeKind};
use wsgi_tutor::tutor::traffic::ServedBy;
use wsgi_tutor::tutor::ui::layout::Pane;

use common::scenarios::scenario;

fn app() -> App {
    let (lessons, errors) = lessons::load(None);
    assert!(errors.is_empty());
    let mut app = App::new(lessons, Theme::new(ThemeKind::Dark), true);
    app.update(Msg::Planned(Planned {
        web_port: 8080,
        wsgi_port: 8000,
        lab: "/lab".into(),
        config: "/lab/nginx.conf".into(),
        app: "apps/site.py:application".into(),
        workers: 1,
        note: None,
        log: "/state/servers.log".into(),
    }));
    app
}

/// Open a lesson as if the learner had left off there.
fn open_at(app: &mut App, lesson_id: &str) {
    let mut progress = wsgi_tutor::lessons::progress::Progress::new();
    progress.current = Some(lesson_id.into());
    app.resume(progress);
}

/// The key that picks a quiz's right (or a wrong) choice.
fn choice_key(choices: &[wsgi_tutor::lessons::tasks::Choice], right: bool) -> Msg {
    let n = choices.iter().position(|c| c.correct == right).unwrap() + 1;
    key(char::from(b'0' + n as u8))
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn trace_events_build_the_traffic_and_the_stack() {
    let mut app = app();
    let events = scenario("all");
    app.update(Msg::Trace { events, now_ms: 0 });
    assert_eq!(app.watch.traffic.len(), 11);
    assert_eq!(app.stack.web.pid, Some(12604));
    assert_eq!(app.stack.web.port, 18080);
    // The recording ends with the WSGI server stopped and one reload.
    assert!(app.stack.workers.is_empty());
    assert!(app.notice().as_deref().unwrap().contains("reloaded"));
    let newest = app.watch.selected_request().unwrap();
    assert_eq!(newest.status(), Some(502));
    assert_eq!(newest.served_by(), Some(ServedBy::WebError));
    assert!(app.animating());
    // Human pace: the flights finish after a few seconds of ticks, then the timer stops.
    for t in 1..200 {
        app.update(Msg::Tick { now_ms: t * 100 });
    }
    assert!(!app.animating());
}

#[test]
fn the_request_menu_sends_real_requests_with_a_curl_twin() {
    let mut app = app();
    assert!(app.update(key('m')).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::RequestMenu(_))));
    app.update(key('j'));
    let effects = app.update(code(KeyCode::Enter));
    let [Effect::SendRequest { spec, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(spec.target, "/static/style.css");
    assert_eq!(spec.to, Target::WebServer);
    assert_eq!(
        spec.curl(8080, 8000),
        "curl -i 'http://127.0.0.1:8080/static/style.css'"
    );
    assert!(app.overlay.is_none());

    // Typing a request of one's own.
    app.update(key('m'));
    for _ in 0..20 {
        app.update(key('j'));
    }
    app.update(code(KeyCode::Enter));
    for c in "POST /form X-Color:teal -- name=Ada".chars() {
        app.update(key(c));
    }
    let effects = app.update(code(KeyCode::Enter));
    let [Effect::SendRequest { spec, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(spec.method, "POST");
    assert_eq!(spec.body.as_deref(), Some("name=Ada"));
    assert_eq!(
        spec.curl(8080, 8000),
        "curl -i -H 'X-Color: teal' -d 'name=Ada' 'http://127.0.0.1:8080/form'"
    );
}

#[test]
fn controls_become_effects_for_the_servers() {
    let mut app = app();
    app.update(Msg::Trace {
        events: scenario("app"),
        now_ms: 0,
    });
    app.stack.wsgi.state = ServerState::Listening;
    assert_eq!(app.update(key('s')), [Effect::StopWsgi]);
    app.update(Msg::ServerExited {
        process: Process::WsgiServer,
        exit: ServerExit::Stopped,
    });
    assert_eq!(app.stack.wsgi.state, ServerState::Stopped);
    assert_eq!(
        app.update(key('s')),
        [Effect::StartWsgi {
            app: "apps/site.py:application".into(),
            workers: 1
        }]
    );
    assert_eq!(
        app.update(key('R')),
        [Effect::Control(Process::WebServer, Command::Reload)]
    );
    assert_eq!(
        app.update(key('+')),
        [Effect::Control(Process::WsgiServer, Command::Workers(2))]
    );
    assert_eq!(
        app.update(key('-')),
        [Effect::Control(Process::WsgiServer, Command::Workers(1))]
    );
    assert!(app.update(key('-')).is_empty(), "never below one worker");
    assert_eq!(
        app.update(key('a')),
        [Effect::Control(Process::WsgiServer, Command::Reload)]
    );
    let effects = app.update(key('e'));
    assert!(
        matches!(effects.as_slice(), [Effect::Edit { path, .. }] if path.ends_with("nginx.conf"))
    );
    let effects = app.update(key('E'));
    assert!(
        matches!(effects.as_slice(), [Effect::Edit { path, .. }] if path.ends_with("apps/site.py"))
    );
    // Replay: once through the web server, once straight to the WSGI server.
    let effects = app.update(key('x'));
    let targets: Vec<Target> = effects
        .iter()
        .map(|e| match e {
            Effect::SendRequest { spec, .. } => spec.to,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(targets, [Target::WebServer, Target::WsgiServer]);
    for effect in &effects {
        let Effect::SendRequest { spec, .. } = effect else {
            unreachable!()
        };
        assert!(
            spec.headers
                .contains(&("x-tutor-replay".into(), "1".into()))
        );
    }
    assert_eq!(app.overlay, Some(Overlay::Compare { replay: 1 }));
    app.update(code(KeyCode::Esc));
    assert_eq!(app.update(key('M')), [Effect::SetMouseCapture(false)]);
    assert_eq!(app.update(key('q')), [Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn switching_apps_restarts_the_wsgi_server_with_the_choice() {
    let mut app = app();
    app.update(key('A'));
    app.update(key('j'));
    let effects = app.update(code(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::StartWsgi {
            app: "apps/hello.py:application".into(),
            workers: 1
        }]
    );
    // Or any APP spec, typed.
    app.update(key('A'));
    for _ in 0..20 {
        app.update(key('j'));
    }
    app.update(code(KeyCode::Enter));
    for c in "builtin:hello".chars() {
        app.update(key(c));
    }
    assert_eq!(
        app.update(code(KeyCode::Enter)),
        [Effect::StartWsgi {
            app: "builtin:hello".into(),
            workers: 1
        }]
    );
    assert_eq!(app.stack.app_spec, "builtin:hello");
}

#[test]
fn selection_follows_the_newest_until_the_learner_moves() {
    let mut app = app();
    app.update(Msg::Trace {
        events: scenario("all"),
        now_ms: 0,
    });
    assert!(app.watch.follow);
    let newest = app.watch.selected_request().unwrap().seq;
    app.update(key('j'));
    assert!(!app.watch.follow);
    assert_eq!(app.watch.selected_request().unwrap().seq, newest - 1);
    app.update(code(KeyCode::Enter));
    assert_eq!(app.focus, Pane::Inspector);
    app.update(key('j'));
    assert_eq!(app.watch.inspector_scroll, 1);
    app.update(code(KeyCode::Tab));
    assert_eq!(app.focus, Pane::Lesson);
    app.update(key('n'));
    assert_eq!(app.session.lesson_index, 1);
    app.update(key('p'));
    assert_eq!(app.session.lesson_index, 0);
    app.update(key('f'));
    assert!(app.watch.follow);
    // Following, a new request shows from the top of the inspector, not where the last
    // one was scrolled to.
    app.watch.inspector_scroll = 7;
    let mut fresh = scenario("static");
    for e in &mut fresh {
        e.request_id = Some(format!("{:032x}", 0xfeed));
    }
    app.update(Msg::Trace {
        events: fresh,
        now_ms: 1,
    });
    assert_eq!(app.watch.inspector_scroll, 0);
}

#[test]
fn help_opens_and_closes_and_ctrl_c_quits() {
    let mut app = app();
    app.update(key('?'));
    assert_eq!(app.overlay, Some(Overlay::Help));
    app.update(code(KeyCode::Esc));
    assert_eq!(app.overlay, None);
    // Even while typing a request.
    app.update(key('m'));
    for _ in 0..20 {
        app.update(key('j'));
    }
    app.update(code(KeyCode::Enter));
    let effects = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(effects, [Effect::Quit]);
}

#[test]
fn the_lesson_shows_live_ports_and_paths() {
    let app = app();
    let text: String = app
        .lesson_text()
        .lines
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect();
    assert!(!text.contains("{{"), "placeholders left: {text}");
    assert!(text.contains("8080"));
}

#[test]
fn the_mouse_selects_rows_scrolls_panes_and_switches_tabs() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mouse = |kind, column, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let mut app = app();
    app.update(Msg::Resize(120, 40));
    app.update(Msg::Trace {
        events: scenario("all"),
        now_ms: 0,
    });
    let traffic = app.areas().traffic.unwrap();
    let newest = app.watch.traffic.newest().unwrap().seq;
    // Row 0 is the border, row 1 the header, then the newest first.
    app.update(mouse(
        MouseEventKind::Down(MouseButton::Left),
        traffic.x + 5,
        traffic.y + 3,
    ));
    assert_eq!(app.focus, Pane::Traffic);
    assert!(!app.watch.follow);
    assert_eq!(app.watch.selected_request().unwrap().seq, newest - 1);
    let lesson = app.areas().lesson.unwrap();
    app.update(mouse(
        MouseEventKind::ScrollDown,
        lesson.x + 2,
        lesson.y + 2,
    ));
    assert_eq!(app.session.lesson_scroll, 3);
    // Moving the mouse changes nothing, so nothing is redrawn.
    app.dirty = false;
    app.update(mouse(MouseEventKind::Moved, 1, 1));
    assert!(!app.dirty);

    // Small terminal: a click on a tab switches to it.
    app.update(Msg::Resize(80, 24));
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), 1, 0));
    assert_eq!(app.focus, Pane::Lesson);
}

#[test]
fn restoring_a_lab_file_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let lab = wsgi_tutor::lab::Lab::prepare(Some(dir.path().to_path_buf())).unwrap();
    std::fs::write(lab.path().join("nginx.conf"), "# my edit\n").unwrap();
    let mut app = app();
    app.stack.lab = lab.path().to_path_buf();
    open_restore_list(&mut app);
    let Some(Overlay::Restore(RestoreList { modified, .. })) = &app.overlay else {
        panic!("{:?}", app.overlay);
    };
    assert_eq!(&modified[..2], [true, false]);
    // Any key but y keeps the file.
    app.update(code(KeyCode::Enter));
    assert!(app.update(key('n')).is_empty());
    assert!(app.overlay.is_none());
    open_restore_list(&mut app);
    app.update(code(KeyCode::Enter));
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    assert_eq!(
        app.update(key('y')),
        [Effect::RestoreFile {
            lab: lab.path().to_path_buf(),
            relative: "nginx.conf".into()
        }]
    );
}

/// `O`: the lab is read in an effect, whose answer opens the list.
fn open_restore_list(app: &mut App) {
    let effects = app.update(key('O'));
    let [Effect::ScanRestorable { lab }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert!(app.overlay.is_none(), "update itself reads no files");
    let scanned = wsgi_tutor::tutor::overlays::restore::scan(lab);
    app.update(Msg::RestoreScanned(scanned));
}

#[test]
fn lesson_three_tasks_complete_from_recorded_traffic_and_progress_is_saved() {
    let mut app = app();
    open_at(&mut app, "web-server-decides");
    assert_eq!(
        app.session.lessons[app.session.lesson_index].id,
        "web-server-decides"
    );

    let effects = app.update(Msg::Trace {
        events: scenario("all"),
        now_ms: 0,
    });
    for task in ["static-file", "listing", "pass-through"] {
        assert!(
            app.session.progress.is_done("web-server-decides", task),
            "{task} not done"
        );
    }
    let saved = effects.iter().find_map(|e| match e {
        Effect::SaveProgress(p) => Some(p),
        _ => None,
    });
    assert!(saved.is_some_and(|p| p.is_done("web-server-decides", "static-file")));
    assert!(
        app.notice()
            .as_deref()
            .is_some_and(|n| n.contains("task done"))
    );

    // A reload reported by the web server completes the event task.
    app.session.progress.unmark("web-server-decides", "reload");
    let reload = Event {
        ts_us: 1,
        process: Process::WebServer,
        pid: 1,
        request_id: None,
        hop: wsgi_tutor::trace::Hop::ConfigReloaded {
            ok: true,
            error: None,
        },
    };
    app.update(Msg::Trace {
        events: vec![reload],
        now_ms: 1,
    });
    assert!(app.session.progress.is_done("web-server-decides", "reload"));
}

#[test]
fn keys_h_c_and_digits_work_on_the_current_task() {
    use wsgi_tutor::lessons::tasks::Check;
    let mut app = app();
    // Lesson 3's first task has hints: h reveals them one at a time, then the solution.
    open_at(&mut app, "web-server-decides");
    let effects = app.update(key('h'));
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveProgress(_))));
    let text = format!("{:?}", app.lesson_text());
    assert!(text.contains("hint 1 of"), "{text}");

    // The checklist: self-checks ticked with c, then the quiz answered with a digit.
    open_at(&mut app, "checklist");
    let lesson = app.session.lessons[app.session.lesson_index].clone();
    for task in &lesson.tasks {
        match &task.check {
            Check::SelfCheck => {
                app.update(key('c'));
                assert!(
                    app.session.progress.is_done("checklist", &task.id),
                    "{}",
                    task.id
                );
                assert!(app.notice().as_deref().unwrap().starts_with("✓ ticked"));
            }
            Check::Quiz(choices) => {
                app.update(choice_key(choices, false));
                assert!(!app.session.progress.is_done("checklist", &task.id));
                assert!(format!("{:?}", app.lesson_text()).contains("not quite"));
                app.update(choice_key(choices, true));
                assert!(app.session.progress.is_done("checklist", &task.id));
                // The explanation stays under the quiz once it is done.
                assert!(format!("{:?}", app.lesson_text()).contains("✓ right"));
            }
            _ => break,
        }
    }
    // The last answer finished the lesson: the notice says how to go on.
    assert!(wsgi_tutor::lessons::tracker::complete(
        &lesson,
        &app.session.progress
    ));
    assert!(
        app.notice().as_deref().unwrap().contains("press n"),
        "{:?}",
        app.notice()
    );
}

#[test]
fn tasks_are_picked_with_t_and_quizzes_are_not_blocked_by_open_traffic_tasks() {
    use wsgi_tutor::lessons::tasks::Check;
    let mut app = app();
    // 7a: traffic tasks first (one waits 30 s for a timeout), a quiz, then a self-check.
    open_at(&mut app, "workers-are-processes");
    let lesson = app.session.lessons[app.session.lesson_index].clone();
    let quiz = lesson
        .tasks
        .iter()
        .find(|t| matches!(t.check, Check::Quiz(_)))
        .unwrap();
    let Check::Quiz(choices) = &quiz.check else {
        unreachable!()
    };
    // The first open task is a traffic task, yet a digit answers the quiz below it.
    app.update(choice_key(choices, true));
    assert!(
        app.session
            .progress
            .is_done("workers-are-processes", &quiz.id)
    );
    assert!(
        !app.session
            .progress
            .is_done("workers-are-processes", &lesson.tasks[0].id)
    );

    // T from the first task wraps to the last (the self-check); c ticks it, c again unticks.
    let last = lesson.tasks.last().unwrap();
    assert!(matches!(last.check, Check::SelfCheck));
    app.update(key('T'));
    assert!(format!("{:?}", app.lesson_text()).contains("▸"));
    app.update(key('c'));
    assert!(
        app.session
            .progress
            .is_done("workers-are-processes", &last.id)
    );
    app.update(key('c'));
    assert!(
        !app.session
            .progress
            .is_done("workers-are-processes", &last.id)
    );
    // t wraps back to the first task; c there is refused (it is checked from traffic).
    app.update(key('t'));
    assert_eq!(
        app.session.selected_task.as_deref(),
        Some(lesson.tasks[0].id.as_str())
    );
    app.update(key('c'));
    assert!(
        !app.session
            .progress
            .is_done("workers-are-processes", &lesson.tasks[0].id)
    );
    // Another lesson starts from its first open task again.
    app.update(key('n'));
    assert_eq!(app.session.selected_task, None);
}

#[test]
fn an_app_switch_counts_once_the_app_is_up_not_when_asked() {
    use wsgi_tutor::trace::Hop;
    let mut app = app();
    open_at(&mut app, "your-own-app");
    let booted = |pid| Msg::Trace {
        events: vec![Event {
            ts_us: 1,
            process: Process::WsgiServer,
            pid: 7,
            request_id: None,
            hop: Hop::WorkerBooted { worker_pid: pid },
        }],
        now_ms: 1,
    };
    let exited = |exit| Msg::ServerExited {
        process: Process::WsgiServer,
        exit,
    };
    let switch_to = |app: &mut App, spec: &str| {
        app.update(key('A'));
        for _ in 0..20 {
            app.update(key('j'));
        }
        app.update(code(KeyCode::Enter));
        for c in spec.chars() {
            app.update(key(c));
        }
        app.update(code(KeyCode::Enter));
    };

    // mine.py without `:app` fails to import its callable: the server exits, no tick.
    switch_to(&mut app, "apps/mine.py");
    app.update(exited(ServerExit::MakingWay));
    app.update(exited(ServerExit::Exited("exit status: 3".into())));
    app.update(booted(101)); // a later, unrelated boot does not count for it either
    assert!(!app.session.progress.is_done("your-own-app", "own-app"));

    // With the callable named, the old server makes way and a worker boots: done.
    switch_to(&mut app, "apps/mine.py:app");
    app.update(exited(ServerExit::MakingWay));
    assert!(!app.session.progress.is_done("your-own-app", "own-app"));
    app.update(booted(102));
    assert!(app.session.progress.is_done("your-own-app", "own-app"));
}

#[test]
fn a_refused_reload_keeps_its_reason_in_view_when_it_ticks_a_task() {
    use wsgi_tutor::trace::Hop;
    let mut app = app();
    open_at(&mut app, "static-files-that-404");
    app.update(Msg::Trace {
        events: vec![Event {
            ts_us: 1,
            process: Process::WebServer,
            pid: 7,
            request_id: None,
            hop: Hop::ConfigReloaded {
                ok: false,
                error: Some("[emerg] unknown directive \"alais\" in nginx.conf:12".into()),
            },
        }],
        now_ms: 1,
    });
    assert!(
        app.session
            .progress
            .is_done("static-files-that-404", "refused-reload")
    );
    let notice = app.notice().clone().unwrap();
    assert!(
        notice.starts_with("reload refused") && notice.contains("nginx.conf:12"),
        "{notice}"
    );
    assert!(notice.contains("✓ task done"), "{notice}");
}

#[test]
fn the_lesson_list_resets_one_lessons_tasks_after_a_confirmation() {
    let mut app = app();
    let mut progress = wsgi_tutor::lessons::progress::Progress::new();
    progress.mark_done("web-server-decides", "static-file");
    progress.mark_done("big-picture", "first-request");
    app.resume(progress);
    let three = app
        .session
        .lessons
        .iter()
        .position(|l| l.id == "web-server-decides")
        .unwrap();
    assert_eq!(app.session.lesson_counts(three).0, 1);
    app.update(key('L'));
    for _ in 0..three {
        app.update(key('j'));
    }
    // Any key but y keeps the tasks.
    app.update(key('r'));
    app.update(key('n'));
    assert!(
        app.session
            .progress
            .is_done("web-server-decides", "static-file")
    );
    app.update(key('L'));
    for _ in 0..three {
        app.update(key('j'));
    }
    app.update(key('r'));
    let effects = app.update(key('y'));
    assert!(
        !app.session
            .progress
            .is_done("web-server-decides", "static-file")
    );
    assert!(
        app.session.progress.is_done("big-picture", "first-request"),
        "other lessons are kept"
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveProgress(_))));
}

#[test]
fn an_edit_that_ticks_a_task_saves_progress_and_keeps_the_tick_in_view() {
    let mut app = app();
    open_at(&mut app, "your-own-app");
    let effects = app.update(key('E'));
    let [Effect::Edit { target, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    // The editor's answer goes through update like any message: its effects include the
    // save (once, only the reload and the save were dropped on the floor before).
    let effects = app.update(Msg::EditorDone {
        target: *target,
        ok: true,
    });
    assert!(app.session.progress.is_done("your-own-app", "reload-app"));
    assert!(
        effects.contains(&Effect::Control(Process::WsgiServer, Command::Reload)),
        "{effects:?}"
    );
    let saved = effects.iter().find_map(|e| match e {
        Effect::SaveProgress(p) => Some(p),
        _ => None,
    });
    assert!(saved.is_some_and(|p| p.is_done("your-own-app", "reload-app")));
    // "app saved: reloading the workers" comes in the same update; the tick stays.
    let notice = app.notice().unwrap();
    assert!(
        notice.contains("✓ task done: Edit the app and reload it"),
        "{notice}"
    );
    assert!(
        notice.contains("app saved: reloading the workers"),
        "{notice}"
    );
    // A key that says something else replaces it.
    app.update(key('R'));
    assert_eq!(
        app.notice().as_deref(),
        Some("asking the web server to reload nginx.conf")
    );
}

#[test]
fn planned_worker_exits_are_quiet_and_crashes_are_news() {
    use wsgi_tutor::trace::{ExitReason, Hop};
    let mut app = app();
    let exit = |pid, reason| Msg::Trace {
        events: vec![Event {
            ts_us: 1,
            process: Process::WsgiServer,
            pid: 7,
            request_id: None,
            hop: Hop::WorkerExited {
                worker_pid: pid,
                reason,
            },
        }],
        now_ms: 1,
    };
    app.update(Msg::Notice("before".into()));
    for (pid, reason) in [
        (1, ExitReason::WorkersDecreased),
        (2, ExitReason::Reload),
        (3, ExitReason::Shutdown),
    ] {
        app.update(exit(pid, reason));
        assert_eq!(app.notice().as_deref(), Some("before"), "{reason}");
    }
    app.update(exit(4, ExitReason::Crash));
    assert_eq!(app.notice().as_deref(), Some("worker 4 exited: crash"));
    assert_eq!(app.stack.worker_exits.len(), 4);
}

#[test]
fn quitting_from_outside_works_while_a_question_or_a_line_is_open() {
    // A closed terminal or SIGTERM while "reset this lesson?" is open: a `q` would only
    // answer no, and the tutor would live on without a screen.
    let mut app = app();
    app.update(key('L'));
    app.update(key('r'));
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    app.update(key('q'));
    assert!(!app.quit, "q answers the question");
    app.update(key('L'));
    app.update(key('r'));
    assert_eq!(app.update(Msg::Quit), [Effect::Quit]);
    assert!(app.quit);

    let mut app = self::app();
    app.update(key('m'));
    for _ in 0..20 {
        app.update(key('j'));
    }
    app.update(code(KeyCode::Enter)); // the last row: type a request
    app.update(key('q'));
    assert!(!app.quit, "q is typed into the line");
    assert_eq!(app.update(Msg::Quit), [Effect::Quit]);
}
