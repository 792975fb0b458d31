//! The screen: per-pane buffer tests, whole-app snapshots driven by keys and
//! injected messages, tiny terminals, and the event loop on a test backend.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use backstop::app::event_loop;
use backstop::config;
use backstop::core::model::{EndpointId, Origin};
use backstop::core::msg::Msg;
use backstop::core::time::Ts;
use backstop::core::update::update;
use backstop::engine::Engine;
use backstop::engine::initial_state;
use backstop::exec::Executor;
use backstop::keymap::{Key, KeyCode, Keymap};
use backstop::tui::{self, Theme, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

mod screen;
use screen::*;

#[test]
fn main_view_80x24() {
    insta::assert_snapshot!(draw(&scenario(), 80, 24));
}

#[test]
fn main_view_160x48() {
    insta::assert_snapshot!(draw(&scenario(), 160, 48));
}

#[test]
fn detail_of_the_failing_environment_by_keys() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char('j')));
    press(&mut s, &keymap, Key::plain(KeyCode::Enter));
    insta::assert_snapshot!(draw(&s, 80, 24));
    // ↓ moves the detail to the next environment.
    press(&mut s, &keymap, Key::plain(KeyCode::Down));
    let screen = text(draw(&s, 80, 24).buffer()).join("\n");
    assert!(screen.contains("checkout/blue · detail"), "{screen}");
    assert!(
        !screen.contains("s3cret"),
        "tokens in URLs must not be drawn:\n{screen}"
    );
}

#[test]
fn weights_dialog_preview_by_keys() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char('j')));
    press(&mut s, &keymap, Key::plain(KeyCode::Char('w')));
    press(&mut s, &keymap, Key::plain(KeyCode::Left)); // green 10 → 5
    press(&mut s, &keymap, Key::plain(KeyCode::Left)); // 5 → 1
    press(&mut s, &keymap, Key::plain(KeyCode::Left)); // 1 → 0
    press(&mut s, &keymap, Key::plain(KeyCode::Enter));
    let lines = vec![
        "nginx upstream web_pool in /etc/nginx/conf.d/web.conf:".to_string(),
        "  - server 10.0.0.2:8082 weight=10;".to_string(),
        "  + server 10.0.0.2:8082 down;".to_string(),
    ];
    let request = s.preview_requests;
    update(
        &mut s,
        Msg::WeightsPreview {
            service: 0,
            request,
            result: Ok(lines),
            at: at(26),
        },
    );
    insta::assert_snapshot!(draw(&s, 100, 30));
}

#[test]
fn help_by_keys() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char('?')));
    insta::assert_snapshot!(draw(&s, 80, 24));
}

#[test]
fn events_pane_alone_when_the_terminal_is_short() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    // Shift-Tab from the first pane wraps to the last: the event log.
    press(&mut s, &keymap, Key::plain(KeyCode::BackTab));
    let screen = text(draw(&s, 80, 9).buffer());
    assert!(
        screen.iter().any(|l| l.starts_with("┏ Events")),
        "{screen:#?}"
    );
    assert!(!screen.iter().any(|l| l.contains("Health")), "{screen:#?}");
    // The newest event is on screen, at the bottom of the log.
    let newest: String = s
        .events
        .last()
        .map(|e| e.text.chars().take(30).collect())
        .unwrap_or_default();
    let log: Vec<&String> = screen.iter().filter(|l| l.starts_with("┃ ")).collect();
    assert!(
        log.last().is_some_and(|l| l.contains(&newest)),
        "{newest:?} in {screen:#?}"
    );
}

#[test]
fn health_pane_buffer() {
    let s = scenario();
    let keymap = Keymap::defaults();
    let view = View {
        keymap: &keymap,
        theme: Theme::plain(),
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, 78, 6));
    tui::panes::health::render(&s, &view, buf.area, &mut buf);
    let lines = text(&buf);
    assert_eq!(
        lines,
        [
            "┏ Health ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
            "┃  SERVICE  ENV   VERSION  STATUS TRAFFIC FIRING          LATENCY FAILS SINCE┃",
            "┃› web      blue  v1.0.0   OK        90 %                     4ms     0 20s  ┃",
            "┃           green v1.0.1   CRIT      10 % health-failures     2ms     4 9s   ┃",
            "┃  checkout blue  v3.4.1   OK                               120ms     0 20s  ┃",
            "┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛",
        ]
    );
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    let one = draw(&s, 1, 1);
    assert_eq!(one.buffer().area, Rect::new(0, 0, 1, 1));
    let small = text(draw(&s, 20, 5).buffer());
    assert!(small[0].starts_with("backstop: terminal"), "{small:?}");
    for overlay in [None, Some(KeyCode::Enter), Some(KeyCode::Char('?'))] {
        if let Some(k) = overlay {
            press(&mut s, &keymap, Key::plain(k));
        }
        for w in (0..=130).step_by(13) {
            for h in (0..=30).step_by(3) {
                let view = View {
                    keymap: &keymap,
                    theme: Theme::plain(),
                };
                let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                tui::render(&s, &view, buf.area, &mut buf);
            }
        }
        press(&mut s, &keymap, Key::plain(KeyCode::Esc));
    }
}

#[test]
fn colour_is_only_a_second_channel() {
    // With colour, badges and borders are styled; without, the same words are there.
    let s = scenario();
    let keymap = Keymap::defaults();
    let render = |theme| {
        let view = View {
            keymap: &keymap,
            theme,
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 100, 30));
        tui::render(&s, &view, buf.area, &mut buf);
        buf
    };
    let (colour, plain) = (render(Theme { color: true }), render(Theme::plain()));
    assert_eq!(text(&colour), text(&plain));
    let has_fg = |b: &Buffer| {
        b.content()
            .iter()
            .any(|c| c.fg != ratatui::style::Color::Reset)
    };
    assert!(has_fg(&colour));
    assert!(!has_fg(&plain), "NO_COLOR: no foreground colours at all");
}

#[tokio::test]
async fn the_event_loop_draws_messages_and_quits_on_a_key() {
    use ratatui::crossterm::event::{Event, KeyCode as Ct, KeyEvent, KeyModifiers};
    let s0 = scenario();
    let state = initial_state(
        &config::parse(CONFIG, "backstop.toml", &|_| None).unwrap(),
        Origin::Drill,
        at(0),
    );
    let keymap = Keymap::defaults();
    let view = View {
        keymap: &keymap,
        theme: Theme::plain(),
    };
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let (key_tx, mut key_rx) = tokio::sync::mpsc::channel(16);
    let executor = Executor::new(None, Default::default(), tx.clone());
    let mut engine = Engine::from_parts(state, rx, tx.clone(), executor);
    // Replay the first probes of the scenario, then quit.
    let green = &s0.services[0].envs[1].endpoints[0];
    tx.send(Msg::Probed {
        endpoint: EndpointId {
            service: 0,
            env: 1,
            endpoint: 0,
        },
        result: green.last.clone().unwrap(),
    })
    .await
    .unwrap();
    let keys = async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        key_tx
            .send(Event::Key(KeyEvent::new(Ct::Char('q'), KeyModifiers::NONE)))
            .await
            .unwrap();
        key_tx
    };
    let (result, _key_tx) = tokio::join!(
        event_loop(
            &mut term,
            &mut engine,
            &view,
            &mut key_rx,
            std::future::pending()
        ),
        keys
    );
    result.unwrap();
    assert!(engine.state.quit);
    let screen = text(term.backend().buffer()).join("\n");
    assert!(
        screen.contains("CRIT"),
        "the probe result was drawn:\n{screen}"
    );
}

#[test]
fn a_long_list_scrolls_to_keep_the_selection_in_view() {
    let mut toml = String::new();
    for i in 0..30 {
        toml.push_str(&format!(
            "[services.svc{i:02}.environments.blue]\nendpoints = [{{ url = \"http://127.0.0.1:1/h\" }}]\n\
             [services.svc{i:02}.environments.green]\nendpoints = [{{ url = \"http://127.0.0.1:1/h\" }}]\n"
        ));
    }
    let cfg = config::parse(&toml, "many.toml", &|_| None).unwrap();
    let mut s = initial_state(&cfg, Origin::Config("many.toml".into()), at(0));
    let keymap = Keymap::defaults();
    for _ in 0..41 {
        press(&mut s, &keymap, Key::plain(KeyCode::Char('j')));
    }
    // Row 41 is svc20/green; it is drawn, marked, and its service is named
    // even though svc20/blue scrolled away above it.
    let screen = text(draw(&s, 80, 24).buffer());
    let marked: Vec<&String> = screen.iter().filter(|l| l.contains('›')).collect();
    assert_eq!(marked.len(), 1, "{screen:#?}");
    assert!(marked[0].contains("green"), "{screen:#?}");
    let first_row = screen
        .iter()
        .find(|l| l.contains("blue") || l.contains("green"))
        .unwrap();
    assert!(
        first_row.contains("svc"),
        "the top row names its service: {first_row}"
    );
}

#[test]
fn on_a_small_terminal_each_pane_keeps_the_event_log_under_it() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    for pane in [
        "Traffic",
        "Alarms & rules",
        "Decision",
        "Metrics",
        "Deployments",
    ] {
        press(&mut s, &keymap, Key::plain(KeyCode::Tab));
        let screen = text(draw(&s, 80, 24).buffer());
        assert!(
            screen.iter().any(|l| l.starts_with(&format!("┏ {pane}"))),
            "{pane} on top: {screen:#?}"
        );
        assert!(
            screen.iter().any(|l| l.contains("┌ Events")),
            "events below {pane}: {screen:#?}"
        );
    }
}

#[test]
fn why_view_by_keys() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char('e')));
    insta::assert_snapshot!(draw(&s, 120, 34));
}

#[test]
fn checklist_with_a_switch_preview_by_keys() {
    use backstop::core::msg::StepOutcome;
    let mut s = scenario();
    s.operator = "oncall@bastion".into();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char('j')));
    press(&mut s, &keymap, Key::plain(KeyCode::Char('r')));
    // The executor's answers, as they would arrive.
    let evidence = (1..=3)
        .map(|i| format!("probe {i}/3: CRIT — HTTP 503 · database critical"))
        .collect();
    update(
        &mut s,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 0,
            outcome: StepOutcome::ok(evidence),
            at: at(27),
        },
    );
    press(&mut s, &keymap, Key::plain(KeyCode::Enter)); // the message, previewed
    press(&mut s, &keymap, Key::plain(KeyCode::Char('y')));
    let sent = StepOutcome::ok(vec!["slack ($SLACK_WEBHOOK_URL): sent (HTTP 200)".into()]);
    update(
        &mut s,
        Msg::StepDone {
            service: 0,
            run: 1,
            step: 1,
            outcome: sent,
            at: at(29),
        },
    );
    press(&mut s, &keymap, Key::plain(KeyCode::Enter)); // the switch, previewed
    let lines = vec![
        "web via the nginx traffic provider:".to_string(),
        "  nginx upstream web_pool in /etc/nginx/conf.d/web.conf:".to_string(),
        "    - server 10.0.0.2:8082 weight=10;".to_string(),
        "    + server 10.0.0.2:8082 down;".to_string(),
    ];
    let request = s.preview_requests;
    update(
        &mut s,
        Msg::StepPreview {
            service: 0,
            run: 1,
            step: 3,
            request,
            result: Ok(lines),
            at: at(30),
        },
    );
    insta::assert_snapshot!(draw(&s, 140, 45));
    insta::assert_snapshot!("checklist_80x24", draw(&s, 80, 24));
}

/// A scored drill's header: its clock in scenario time, and — on real
/// providers — that real weights change, never "nothing real is touched".
#[test]
fn a_drill_header_shows_its_clock_and_what_is_real() {
    let mut s = scenario();
    let sc = backstop::config::drill::Scenarios::builtin();
    let bad = sc.get("bad-switch").unwrap();
    s.drill = Some(backstop::core::drill::DrillRun::new(bad, 0, 10.0, 1, s.now));
    s.now = Ts(s.now.millis() + 9_500);
    let wide = text(draw(&s, 140, 40).buffer());
    assert!(
        wide[0].contains("DRILL sandbox: nothing real is touched"),
        "{}",
        wide[0]
    );
    assert!(wide[0].contains("T+01:35 at 10x"), "{}", wide[0]);
    let narrow = text(draw(&s, 80, 24).buffer());
    assert!(
        narrow[0].contains(" DRILL sandbox   T+01:35 at 10x"),
        "{}",
        narrow[0]
    );

    s.drill.as_mut().unwrap().real_target = Some("ALB listener 89f4".into());
    let wide = text(draw(&s, 140, 40).buffer());
    assert!(
        wide[0].contains("DRILL: real weights change on ALB listener 89f4"),
        "{}",
        wide[0]
    );
    assert!(!wide[0].contains("nothing real"), "{}", wide[0]);
    let narrow = text(draw(&s, 80, 24).buffer());
    assert!(narrow[0].contains(" DRILL on AWS "), "{}", narrow[0]);
}

/// Types a line into whatever prompt is open, as the terminal would.
fn typed(s: &mut backstop::core::model::State, line: &str) {
    use backstop::core::msg::TextKey;
    for c in line.chars() {
        let now = s.now;
        update(s, Msg::Text(TextKey::Char(c), now));
    }
}

#[test]
fn command_line_with_its_completions() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char(':')));
    typed(&mut s, "rollback ");
    insta::assert_snapshot!("command_line_80x24", draw(&s, 80, 24));
    insta::assert_snapshot!("command_line_160x48", draw(&s, 160, 48));
}

#[test]
fn health_filtered_by_state() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char('/')));
    typed(&mut s, "crit");
    let now = s.now;
    update(&mut s, Msg::Text(backstop::core::msg::TextKey::Submit, now));
    let screen = text(draw(&s, 80, 24).buffer()).join("\n");
    assert!(screen.contains("Health · /crit · 1 of 3"), "{screen}");
    assert!(
        !screen
            .lines()
            .any(|l| l.starts_with('┃') && l.contains(" blue ")),
        "only the critical row:\n{screen}"
    );
    insta::assert_snapshot!("health_filtered_80x24", draw(&s, 80, 24));
    insta::assert_snapshot!("health_filtered_160x48", draw(&s, 160, 48));
}

#[test]
fn event_log_searched_with_matches_marked() {
    let mut s = scenario();
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::BackTab)); // the event log
    press(&mut s, &keymap, Key::plain(KeyCode::Char('/')));
    typed(&mut s, "green");
    let now = s.now;
    update(&mut s, Msg::Text(backstop::core::msg::TextKey::Submit, now));
    let screen = text(draw(&s, 80, 24).buffer()).join("\n");
    assert!(screen.contains("Events · /green · match 1 of"), "{screen}");
    insta::assert_snapshot!("event_search_80x24", draw(&s, 80, 24));
    press(&mut s, &keymap, Key::plain(KeyCode::Char('n')));
    let screen = text(draw(&s, 160, 48).buffer()).join("\n");
    assert!(screen.contains("/green · match 2 of"), "{screen}");
    insta::assert_snapshot!("event_search_160x48", draw(&s, 160, 48));
}

#[test]
fn a_one_key_change_asks_on_the_key_line() {
    let mut s = scenario();
    s.origin = backstop::core::model::Origin::Drill;
    let keymap = Keymap::defaults();
    press(&mut s, &keymap, Key::plain(KeyCode::Char('j')));
    press(&mut s, &keymap, Key::plain(KeyCode::Char('c')));
    let screen = text(draw(&s, 80, 24).buffer());
    let last = screen.last().cloned().unwrap_or_default();
    assert!(
        last.contains("Heal web/green (clear its faults)? y do it · any other key cancels"),
        "{last}"
    );
}

#[test]
fn the_header_names_the_context_and_says_production() {
    use backstop::core::model::ContextView;
    let mut s = scenario();
    s.origin = backstop::core::model::Origin::Config("contexts/prod.toml".into());
    s.context = Some(ContextView {
        name: "prod".into(),
        production: true,
        color: None,
    });
    let top = text(draw(&s, 80, 24).buffer())[0].clone();
    assert!(
        top.starts_with(" backstop ─  prod · PRODUCTION  shop-prod-eu"),
        "{top}"
    );
    insta::assert_snapshot!("context_production_80x24", draw(&s, 80, 24));
    insta::assert_snapshot!("context_production_160x48", draw(&s, 160, 48));
    s.context = Some(ContextView {
        name: "staging".into(),
        production: false,
        color: Some("blue".into()),
    });
    let top = text(draw(&s, 80, 24).buffer())[0].clone();
    assert!(
        top.starts_with(" backstop ─  staging  shop-prod-eu"),
        "{top}"
    );
    assert!(!top.contains("PRODUCTION"), "{top}");
}

/// Drills over three months: the trend view answers "are we faster?".
fn drills_over_three_months() -> Vec<backstop::core::trend::DrillPoint> {
    use backstop::core::trend::DrillPoint;
    // 2026-09-12, 2026-10-12, 2026-11-11 (00:00 UTC).
    let month = |m: i64| Ts((1_768_435_200 + (m - 1) * 30 * 86_400) * 1000);
    let p = |m: i64, scenario: &str, mttd: f64, mttr: f64, held: bool| DrillPoint {
        at: month(m),
        scenario: scenario.into(),
        mttd_secs: Some(mttd),
        mttr_secs: Some(mttr),
        held,
    };
    vec![
        p(9, "bad-switch", 420.0, 1500.0, false),
        p(9, "canary-errors", 200.0, 1080.0, true),
        p(10, "bad-switch", 150.0, 700.0, true),
        p(10, "slow-release", 130.0, 640.0, true),
        p(11, "bad-switch", 60.0, 300.0, true),
        p(11, "canary-errors", 90.0, 420.0, true),
    ]
}

#[test]
fn the_drill_trend_view() {
    use backstop::core::model::{Overlay, TrendView};
    use backstop::core::msg::Effect;
    let mut s = scenario();
    let keymap = Keymap::defaults();
    let fx = update(
        &mut s,
        Msg::Action(
            keymap.action(Key::plain(KeyCode::Char('T'))).unwrap(),
            at(30),
        ),
    );
    assert_eq!(fx, vec![Effect::ReadDrills]);
    assert_eq!(s.ui.overlay, Overlay::Trend);
    update(
        &mut s,
        Msg::DrillsRead {
            result: Ok(drills_over_three_months()),
            at: at(30),
        },
    );
    assert!(matches!(s.trend, TrendView::Ready(_)));
    let screen = text(draw(&s, 160, 48).buffer()).join("\n");
    assert!(
        screen.contains("MTTR: FASTER, 21m30s (2026-09) → 6m (2026-11); within the 15m target"),
        "{screen}"
    );
    assert!(
        screen.contains("OVER"),
        "September is over the MTTR target:\n{screen}"
    );
    insta::assert_snapshot!("drill_trend_80x24", draw(&s, 80, 24));
    insta::assert_snapshot!("drill_trend_160x48", draw(&s, 160, 48));
    // Esc closes it.
    press(&mut s, &keymap, Key::plain(KeyCode::Esc));
    assert_eq!(s.ui.overlay, Overlay::None);
}

#[test]
fn the_drill_trend_in_markdown() {
    let md = backstop::report::drill_trend_markdown(&drills_over_three_months());
    assert!(md.contains("## Trend: is the team getting faster?"), "{md}");
    assert!(
        md.contains("- MTTD: FASTER, 5m10s (2026-09) → 1m15s (2026-11); within the 5m target"),
        "{md}"
    );
    assert!(
        md.contains("### MTTR by month (median; ┆ the 15m target)"),
        "{md}"
    );
    assert!(md.contains("### MTTD by scenario"), "{md}");
    insta::assert_snapshot!("drill_trend_markdown", md);
}
