//! Traffic weights and request metrics.

use crate::events::Level;
use crate::model::{EnvId, ExternalAlarm, Overlay, State, TrafficMetrics, WeightChange};
use crate::msg::EnvSnapshot;
use crate::rules::AlarmState;
use crate::time::Ts;
use crate::traffic::{EditStage, Weights};

pub(super) fn on_read(state: &mut State, service: usize, result: Result<Weights, String>, at: Ts) {
    let Some(svc) = state.services.get_mut(service) else {
        return;
    };
    let name = svc.name.clone();
    let Some(t) = svc.traffic.as_mut() else {
        return;
    };
    match result {
        Ok(w) => {
            if t.error.take().is_some() {
                state.events.push_kind(
                    at,
                    name.clone(),
                    Level::Good,
                    crate::events::Kind::Traffic,
                    format!("traffic: {} readable again", t.provider),
                );
            }
            match &t.weights {
                None => {
                    let text = format!("traffic via {}: {}", t.provider, split(&w));
                    state.events.push_kind(
                        at,
                        name,
                        Level::Info,
                        crate::events::Kind::Traffic,
                        text,
                    );
                }
                Some(before) if !before.same_split(&w) => {
                    // Not changed from here: someone or something else moved it.
                    let change = Weights::describe_change(before, &w);
                    t.last_change = Some(WeightChange {
                        at,
                        by: "outside backstop".into(),
                        from: Some(before.clone()),
                        to: w.clone(),
                    });
                    state.events.push_kind(
                        at,
                        name,
                        Level::Warn,
                        crate::events::Kind::Traffic,
                        format!("traffic changed outside backstop: {change}"),
                    );
                }
                Some(_) => {}
            }
            t.weights = Some(w);
            t.read_at = Some(at);
        }
        Err(e) => {
            if t.error.as_deref() != Some(e.as_str()) {
                state.events.push_kind(
                    at,
                    name,
                    Level::Bad,
                    crate::events::Kind::Traffic,
                    format!("traffic: cannot read {}: {e}", t.provider),
                );
            }
            t.error = Some(e);
        }
    }
}

/// `blue 90 % · green 10 %`
pub fn split(w: &Weights) -> String {
    w.0.iter()
        .zip(w.percents())
        .map(|(e, p)| format!("{} {p} %", e.env))
        .collect::<Vec<_>>()
        .join(" · ")
}

pub(super) fn on_metrics(state: &mut State, source: &str, snapshots: Vec<EnvSnapshot>, at: Ts) {
    for s in snapshots {
        let Some(env) = state.env_mut(EnvId {
            service: s.service,
            env: s.env,
        }) else {
            continue;
        };
        let m = &mut env.metrics;
        m.error_1m.push(s.one_min.error_rate);
        m.error_5m.push(s.five_min.error_rate);
        m.p95_1m.push(s.one_min.p95_ms.unwrap_or(0.0));
        m.p95_5m.push(s.five_min.p95_ms.unwrap_or(0.0));
        m.traffic = Some(TrafficMetrics {
            source: source.to_string(),
            at,
            one_min: s.one_min,
            five_min: s.five_min,
            extra: s.extra,
            tally: s.tally,
        });
    }
}

/// External alarms replace what was known of them, one by one.
pub(super) fn on_alarms(state: &mut State, alarms: Vec<(usize, ExternalAlarm)>, at: Ts) {
    for (service, alarm) in alarms {
        let Some(svc) = state.services.get_mut(service) else {
            continue;
        };
        let name = svc.name.clone();
        match svc.alarms.iter_mut().find(|a| a.name == alarm.name) {
            Some(known) if known.state == alarm.state => *known = alarm,
            Some(known) => {
                let text = format!(
                    "alarm {} {} → {}: {}",
                    alarm.name,
                    known.state.word(),
                    alarm.state.word(),
                    alarm.reason
                );
                *known = alarm;
                let level = if known.state == AlarmState::Alarm {
                    Level::Bad
                } else {
                    Level::Info
                };
                state
                    .events
                    .push_kind(at, name, level, crate::events::Kind::Rule, text);
            }
            None => {
                let text = format!(
                    "alarm {} is {} ({})",
                    alarm.name,
                    alarm.state.word(),
                    alarm.source
                );
                let level = if alarm.state == AlarmState::Alarm {
                    Level::Bad
                } else {
                    Level::Info
                };
                svc.alarms.push(alarm);
                state
                    .events
                    .push_kind(at, name, level, crate::events::Kind::Rule, text);
            }
        }
    }
}

/// The provider's words for the dialog's change: shown only if they answer
/// the request the dialog waits on (not an earlier one, made for another choice).
pub(super) fn on_preview(
    state: &mut State,
    service: usize,
    request: u64,
    result: Result<Vec<String>, String>,
    at: Ts,
) {
    let Some(ed) = state.ui.editor.as_mut() else {
        return;
    };
    if ed.service != service || ed.stage != EditStage::AwaitingPreview || ed.request != request {
        return;
    }
    match result {
        Ok(lines) => ed.stage = EditStage::Previewing(lines),
        Err(e) => {
            ed.stage = EditStage::Failed(e.clone());
            let name = state
                .services
                .get(service)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            state.events.push_kind(
                at,
                name,
                Level::Bad,
                crate::events::Kind::Traffic,
                format!("set weights: the change cannot be previewed: {e}"),
            );
        }
    }
}

pub(super) fn on_set(
    state: &mut State,
    service: usize,
    from: Weights,
    to: Weights,
    by: String,
    log: Vec<String>,
    at: Ts,
) {
    let Some(svc) = state.services.get_mut(service) else {
        return;
    };
    let name = svc.name.clone();
    if let Some(t) = svc.traffic.as_mut() {
        let via = t.provider.clone();
        t.weights = Some(to.clone());
        t.last_change = Some(WeightChange {
            at,
            by: by.clone(),
            from: Some(from.clone()),
            to: to.clone(),
        });
        for line in log {
            state.events.push_kind(
                at,
                name.clone(),
                Level::Info,
                crate::events::Kind::Traffic,
                format!("{via}: {line}"),
            );
        }
        state.events.push_kind(
            at,
            name,
            Level::Good,
            crate::events::Kind::Traffic,
            format!(
                "weights set by {by} via {via}: {}",
                Weights::describe_change(&from, &to)
            ),
        );
    }
    if state
        .ui
        .editor
        .as_ref()
        .is_some_and(|e| e.service == service)
    {
        state.ui.editor = None;
        if state.ui.overlay == Overlay::Weights {
            state.ui.overlay = Overlay::None;
        }
    }
}

pub(super) fn on_failed(
    state: &mut State,
    service: usize,
    error: String,
    log: Vec<String>,
    at: Ts,
) {
    let name = state
        .services
        .get(service)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    for line in log {
        state.events.push_kind(
            at,
            name.clone(),
            Level::Info,
            crate::events::Kind::Traffic,
            line,
        );
    }
    state.events.push_kind(
        at,
        name,
        Level::Bad,
        crate::events::Kind::Traffic,
        format!("set weights failed: {error}"),
    );
    if let Some(ed) = state.ui.editor.as_mut()
        && ed.service == service
        && ed.stage == EditStage::Applying
    {
        ed.stage = EditStage::Failed(error);
    }
}

/// A polled source answered (how many items) or failed: logged when it
/// starts failing, when its error changes, and when it recovers.
pub(super) fn on_source(
    state: &mut State,
    source: &str,
    kind: crate::model::SourceKind,
    result: Result<usize, String>,
    at: Ts,
) {
    let i = match state.sources.iter().position(|s| s.name == source) {
        Some(i) => i,
        None => {
            state.sources.push(crate::model::SourceStatus {
                name: source.to_string(),
                kind,
                ok_at: None,
                error: None,
                items: 0,
            });
            state.sources.len() - 1
        }
    };
    let s = &mut state.sources[i];
    match result {
        Ok(items) => {
            s.ok_at = Some(at);
            s.items = items;
            if let Some((e, since)) = s.error.take() {
                let took =
                    crate::time::age(std::time::Duration::from_secs(at.since(since).as_secs()));
                state.events.push(
                    at,
                    source,
                    Level::Good,
                    format!("readable again after {took} ({e})"),
                );
            }
        }
        Err(e) => {
            if s.error.as_ref().is_none_or(|(old, _)| *old != e) {
                let since = s.error.as_ref().map_or(at, |(_, since)| *since);
                s.error = Some((e.clone(), since));
                state
                    .events
                    .push(at, source, Level::Bad, format!("cannot read: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::action::Action;
    use crate::metrics::WindowStats;
    use crate::model::{EndpointState, EnvState, Origin, Role, ServiceState, TrafficState};
    use crate::msg::{Effect, Msg};
    use crate::update::update;

    /// The provider's answer to the dialog's latest preview request.
    fn weights_previewed(s: &mut State, lines: Vec<String>, at: i64) {
        let request = s.preview_requests;
        update(
            s,
            Msg::WeightsPreview {
                service: 0,
                request,
                result: Ok(lines),
                at: Ts(at),
            },
        );
    }

    fn drill() -> State {
        let env = |name: &str| {
            EnvState::new(
                name,
                vec![EndpointState::new(
                    "http://x".into(),
                    Role::Health,
                    Duration::from_secs(2),
                    Duration::from_secs(1),
                )],
            )
        };
        let mut s = State::new(
            "drill",
            Origin::Drill,
            vec![ServiceState::new(
                "web",
                vec![env("blue"), env("green")],
                Some(TrafficState::new("sandbox", "sandbox router")),
                crate::decision::Policy::default(),
                crate::testkit::default_runbook(),
                Ts(0),
            )],
            Ts(0),
        );
        s.operator = "ops@bastion".into();
        s
    }

    fn w(blue: u32, green: u32) -> Weights {
        Weights::from_percents([("blue", blue), ("green", green)])
    }

    fn act(s: &mut State, a: Action) -> Vec<Effect> {
        update(s, Msg::Action(a, Ts(5)))
    }

    #[test]
    fn the_first_read_is_logged_and_outside_changes_are_noticed() {
        let mut s = drill();
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(w(90, 10)),
                at: Ts(1),
            },
        );
        assert_eq!(
            s.events.last().map(|e| e.text.as_str()),
            Some("traffic via sandbox: blue 90 % · green 10 %")
        );
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(w(90, 10)),
                at: Ts(2),
            },
        );
        assert_eq!(s.events.total(), 1, "an unchanged read is not news");
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(w(50, 50)),
                at: Ts(3),
            },
        );
        let t = s.services[0].traffic.as_ref().expect("traffic");
        assert_eq!(
            t.last_change.as_ref().map(|c| c.by.as_str()),
            Some("outside backstop")
        );
        assert!(s.events.last().is_some_and(|e| {
            e.text
                .contains("changed outside backstop: blue 90 → 50 %, green 10 → 50 %")
        }));
    }

    #[test]
    fn read_errors_are_shown_once_and_cleared() {
        let mut s = drill();
        for t in 1..=3 {
            update(
                &mut s,
                Msg::TrafficRead {
                    service: 0,
                    result: Err("nginx: no such file".into()),
                    at: Ts(t),
                },
            );
        }
        assert_eq!(s.events.total(), 1);
        assert_eq!(
            s.services[0]
                .traffic
                .as_ref()
                .and_then(|t| t.error.clone())
                .as_deref(),
            Some("nginx: no such file")
        );
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(w(100, 0)),
                at: Ts(4),
            },
        );
        assert!(
            s.services[0]
                .traffic
                .as_ref()
                .is_some_and(|t| t.error.is_none())
        );
    }

    #[test]
    fn set_weights_previews_then_needs_a_second_key() {
        let mut s = drill();
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(w(90, 10)),
                at: Ts(1),
            },
        );
        act(&mut s, Action::SelectNext); // green
        assert!(act(&mut s, Action::SetWeights).is_empty());
        assert_eq!(s.ui.overlay, Overlay::Weights);
        act(&mut s, Action::Increase); // green 10 → 25
        // Confirm before a preview does nothing.
        assert!(act(&mut s, Action::Confirm).is_empty());
        let fx = act(&mut s, Action::OpenDetail);
        assert_eq!(
            fx,
            vec![Effect::PreviewWeights {
                service: "web".into(),
                from: w(90, 10),
                to: w(75, 25),
                request: 1,
            }]
        );
        weights_previewed(&mut s, vec!["router: blue 90 → 75 %".into()], 6);
        assert!(matches!(
            s.ui.editor.as_ref().map(|e| &e.stage),
            Some(EditStage::Previewing(_))
        ));
        let fx = act(&mut s, Action::Confirm);
        assert_eq!(
            fx,
            vec![Effect::SetWeights {
                service: "web".into(),
                from: w(90, 10),
                to: w(75, 25),
                by: "ops@bastion".into(),
            }]
        );
        // While applying, keys do nothing; the outcome closes the dialog.
        assert!(act(&mut s, Action::Back).is_empty());
        assert_eq!(s.ui.overlay, Overlay::Weights);
        update(
            &mut s,
            Msg::WeightsSet {
                service: 0,
                from: w(90, 10),
                to: w(75, 25),
                by: "ops@bastion".into(),
                log: vec![],
                at: Ts(7),
            },
        );
        assert_eq!(s.ui.overlay, Overlay::None);
        let t = s.services[0].traffic.as_ref().expect("traffic");
        assert_eq!(t.weights, Some(w(75, 25)));
        assert_eq!(
            t.last_change.as_ref().map(|c| c.by.as_str()),
            Some("ops@bastion")
        );
        assert!(
            s.events.last().is_some_and(|e| e.text
                == "weights set by ops@bastion via sandbox: blue 90 → 75 %, green 10 → 25 %")
        );
    }

    #[test]
    fn a_changed_choice_discards_the_preview_and_failures_stay_visible() {
        let mut s = drill();
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(w(90, 10)),
                at: Ts(1),
            },
        );
        act(&mut s, Action::SetWeights);
        act(&mut s, Action::Increase); // blue 90 → 95
        act(&mut s, Action::OpenDetail);
        weights_previewed(&mut s, vec![], 6);
        act(&mut s, Action::Increase);
        assert_eq!(
            s.ui.editor.as_ref().map(|e| e.stage.clone()),
            Some(EditStage::Editing)
        );
        assert!(
            act(&mut s, Action::Confirm).is_empty(),
            "no stale preview is applied"
        );
        act(&mut s, Action::OpenDetail);
        weights_previewed(&mut s, vec![], 6);
        act(&mut s, Action::Confirm);
        update(
            &mut s,
            Msg::WeightsFailed {
                service: 0,
                error: "nginx -t failed".into(),
                log: vec![],
                at: Ts(8),
            },
        );
        assert_eq!(
            s.ui.editor.as_ref().map(|e| e.stage.clone()),
            Some(EditStage::Failed("nginx -t failed".into()))
        );
        act(&mut s, Action::Back);
        assert_eq!(s.ui.overlay, Overlay::None);
    }

    #[test]
    fn no_dialog_without_a_provider_or_known_weights() {
        let mut s = drill();
        act(&mut s, Action::SetWeights);
        assert_eq!(s.ui.overlay, Overlay::None);
        assert!(
            s.events
                .last()
                .is_some_and(|e| e.text.contains("not known yet"))
        );
        s.services[0].traffic = None;
        act(&mut s, Action::SetWeights);
        assert!(
            s.events
                .last()
                .is_some_and(|e| e.text.contains("no traffic provider"))
        );
    }

    #[test]
    fn metrics_update_the_windows_and_history() {
        let mut s = drill();
        let stats = |e: f64| WindowStats {
            window_secs: 60,
            requests: 100,
            errors: (e * 100.0) as u64,
            rate: 5.0,
            error_rate: e,
            p50_ms: Some(2.0),
            p95_ms: Some(9.0),
            p99_ms: Some(20.0),
        };
        let snap = EnvSnapshot {
            service: 0,
            env: 1,
            one_min: stats(0.08),
            five_min: stats(0.02),
            extra: vec![],
            tally: None,
        };
        update(
            &mut s,
            Msg::Metrics {
                source: "sandbox traffic".into(),
                snapshots: vec![snap],
                at: Ts(9),
            },
        );
        let m = &s.services[0].envs[1].metrics;
        assert_eq!(m.traffic.as_ref().map(|t| t.one_min.error_rate), Some(0.08));
        assert_eq!(m.error_1m.last(), Some(0.08));
        assert_eq!(m.p95_5m.last(), Some(9.0));
    }
}
