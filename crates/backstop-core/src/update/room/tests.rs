//! The war room walked through `update`: two consoles' states, the rows
//! one writes handed to the other as the live tail would.

use super::super::testkit::*;
use crate::action::Action;
use crate::decision::Policy;
use crate::model::{InputPurpose, LeaseView, Pane, State};
use crate::msg::{ApprovalAct, Effect, LeaseAct, Msg, Shared, SharedWhat, StepWork};
use crate::runbook::StepStatus;
use crate::time::Ts;
use crate::traffic::Weights;
use crate::update::update;

const ALICE: &str = "alice#1-1";
const BOB: &str = "bob#2-2";

fn two_person(allow_override: bool) -> State {
    let mut s = recommended_and_started(Policy {
        approvals: 2,
        allow_override,
        ..Policy::default()
    });
    s.session = ALICE.into();
    s.person = "ops@bastion".into();
    s.vouched = Some("ops@bastion".into());
    reprobed(&mut s);
    s
}

/// A row from another console, as the tail hands it to core.
fn row(session: &str, person: &str, what: SharedWhat) -> Msg {
    Msg::Shared {
        rows: vec![Shared {
            id: 1,
            at: Ts(7300),
            scope: "web".into(),
            operator: format!("{person} from 10.0.0.9"),
            session: session.into(),
            person: person.into(),
            vouched: Some(person.into()),
            what,
        }],
        at: Ts(7300),
    }
}

fn verdict(request: u64, person: &str, act: ApprovalAct) -> Msg {
    row(
        BOB,
        person,
        SharedWhat::Approval {
            driver: ALICE.into(),
            request,
            act,
        },
    )
}

/// The switch previewed and confirmed: the approval it asks for.
fn asked(s: &mut State) -> u64 {
    let fx = switching(s);
    let [
        Effect::Approval {
            request,
            act: ApprovalAct::Ask { lines, .. },
            driver,
            ..
        },
    ] = &fx[..]
    else {
        panic!("the key asks a second person instead of switching: {fx:?}");
    };
    assert_eq!(driver, ALICE);
    assert_eq!(lines, &["web via sandbox".to_string()], "the exact preview");
    assert!(matches!(current(s).1, StepStatus::AwaitingApproval { .. }));
    *request
}

fn switches(fx: &[Effect]) -> bool {
    fx.iter().any(|e| {
        matches!(
            e,
            Effect::Step {
                work: StepWork::Switch { .. },
                ..
            }
        )
    })
}

#[test]
fn a_second_person_approves_and_the_previewed_change_runs() {
    let mut s = two_person(false);
    let request = asked(&mut s);
    // The driver's own identity from another console: refused, still waiting.
    let fx = update(
        &mut s,
        verdict(request, "ops@bastion", ApprovalAct::Approve),
    );
    assert!(
        matches!(&fx[..], [Effect::Approval { act: ApprovalAct::Refuse(why), .. }] if why.contains("own change")),
        "{fx:?}"
    );
    assert!(matches!(current(&s).1, StepStatus::AwaitingApproval { .. }));
    // An answer to another request changes nothing.
    let fx = update(
        &mut s,
        verdict(request + 7, "bob@bastion", ApprovalAct::Approve),
    );
    assert!(!switches(&fx), "{fx:?}");
    // Bob approves: exactly the previewed switch runs, attributed to both.
    let fx = update(
        &mut s,
        verdict(request, "bob@bastion", ApprovalAct::Approve),
    );
    assert!(switches(&fx), "{fx:?}");
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(
        c.current().unwrap().by.as_deref(),
        Some("ops@bastion, approved by bob@bastion")
    );
}

/// Once slipped (issue 17): the switch ran on an approval that arrived
/// while the driver typed a line (now more likely: a note's line opens by
/// itself). It waits for the line to close, then runs at the next tick.
#[test]
fn an_approval_while_a_line_is_typed_waits_for_the_line() {
    let mut s = two_person(false);
    let request = asked(&mut s);
    update(&mut s, Msg::Action(Action::CommandLine, Ts(7200)));
    let fx = update(
        &mut s,
        verdict(request, "bob@bastion", ApprovalAct::Approve),
    );
    assert!(!switches(&fx), "nothing behind the typist: {fx:?}");
    assert!(update(&mut s, Msg::Tick(Ts(7400))).is_empty());
    update(&mut s, Msg::Text(crate::msg::TextKey::Cancel, Ts(7500)));
    let fx = update(&mut s, Msg::Tick(Ts(7600)));
    assert!(
        switches(&fx),
        "the held approval runs once the line is closed: {fx:?}"
    );
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(
        c.current().unwrap().by.as_deref(),
        Some("ops@bastion, approved by bob@bastion")
    );
}

#[test]
fn an_approval_counts_only_from_a_second_account_the_room_vouches_for() {
    // A name typed at the keyboard, nothing vouching for it: refused.
    let mut s = two_person(false);
    let request = asked(&mut s);
    let Msg::Shared { mut rows, at } =
        verdict(request, "bob (self-declared)", ApprovalAct::Approve)
    else {
        unreachable!()
    };
    rows[0].vouched = None;
    let fx = update(&mut s, Msg::Shared { rows, at });
    assert!(
        matches!(&fx[..], [Effect::Approval { act: ApprovalAct::Refuse(why), .. }] if why.contains("nothing vouches")),
        "{fx:?}"
    );
    // Another name, but the driver's own account (`USER=bob`, a second
    // console of the same login): refused.
    let Msg::Shared { mut rows, at } = verdict(request, "bob", ApprovalAct::Approve) else {
        unreachable!()
    };
    rows[0].vouched = Some("ops@bastion".into());
    let fx = update(&mut s, Msg::Shared { rows, at });
    assert!(
        matches!(&fx[..], [Effect::Approval { act: ApprovalAct::Refuse(why), .. }] if why.contains("driver's own account")),
        "{fx:?}"
    );
    assert!(matches!(current(&s).1, StepStatus::AwaitingApproval { .. }));

    // A team on one shared login opts in: the name counts, and says so.
    let mut s = two_person(false);
    s.services[0].rollback.policy.self_declared_approvers = true;
    let request = asked(&mut s);
    let Msg::Shared { mut rows, at } = verdict(request, "bob", ApprovalAct::Approve) else {
        unreachable!()
    };
    rows[0].vouched = Some("ops@bastion".into());
    let fx = update(&mut s, Msg::Shared { rows, at });
    assert!(switches(&fx), "{fx:?}");
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(
        c.current().unwrap().by.as_deref(),
        Some("ops@bastion, approved by bob (self-declared)")
    );
}

#[test]
fn a_rejection_an_expiry_and_a_moved_world_each_leave_nothing_changed() {
    // Rejected, with the reason on the step.
    let mut s = two_person(false);
    let request = asked(&mut s);
    let fx = update(
        &mut s,
        verdict(
            request,
            "bob@bastion",
            ApprovalAct::Reject("wrong env".into()),
        ),
    );
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(current(&s).1, StepStatus::Current);
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert!(
        c.current()
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.contains("rejected by bob@bastion") && e.contains("wrong env"))
    );

    // Nobody answers within the expiry: back to its turn, said on the journal.
    let mut s = two_person(false);
    let request = asked(&mut s);
    assert!(update(&mut s, Msg::Tick(Ts(7200 + 119_000))).is_empty());
    let fx = update(&mut s, Msg::Tick(Ts(7200 + 120_500)));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Approval { request: r, act: ApprovalAct::Expire, .. } if *r == request)),
        "{fx:?}"
    );
    assert_eq!(current(&s).1, StepStatus::Current);
    // A late approval finds nothing waiting.
    let fx = update(
        &mut s,
        verdict(request, "bob@bastion", ApprovalAct::Approve),
    );
    assert!(!switches(&fx), "{fx:?}");

    // The weights moved after the preview: the approval is void, and the
    // change is previewed again instead of run.
    let mut s = two_person(false);
    let request = asked(&mut s);
    update(
        &mut s,
        Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([("blue", 50), ("green", 50)])),
            at: Ts(7250),
        },
    );
    let fx = update(
        &mut s,
        verdict(request, "bob@bastion", ApprovalAct::Approve),
    );
    assert!(!switches(&fx), "{fx:?}");
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Step {
                work: StepWork::PreviewSwitch { .. },
                ..
            }
        )),
        "{fx:?}"
    );
}

#[test]
fn the_driver_overrides_only_where_the_configuration_allows_it() {
    let mut s = two_person(false);
    asked(&mut s);
    assert!(update(&mut s, Msg::Action(Action::Override, Ts(7300))).is_empty());
    assert!(s.ui.input.is_none(), "no override without allow_override");

    let mut s = two_person(true);
    let request = asked(&mut s);
    update(&mut s, Msg::Action(Action::Override, Ts(7300)));
    assert!(matches!(
        s.ui.input.as_ref().map(|i| &i.purpose),
        Some(InputPurpose::OverrideReason { .. })
    ));
    let fx = typed(&mut s, "bob is unreachable, site down", 7400);
    assert!(switches(&fx), "{fx:?}");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Approval { request: r, act: ApprovalAct::Override(why), .. } if *r == request && why.contains("unreachable"))),
        "{fx:?}"
    );
}

#[test]
fn auto_mode_hands_a_two_person_change_to_a_person() {
    let mut s = state(Policy {
        mode: crate::decision::Mode::Auto,
        approvals: 2,
        ..Policy::default()
    });
    probe(&mut s, 0, 1000, crate::health::HealthStatus::Ok);
    let mut fx = Vec::new();
    for t in [1000, 3000, 5000] {
        fx = probe(&mut s, 1, t, crate::health::HealthStatus::Critical);
    }
    let seen = answer(&mut s, fx, 5500);
    assert!(!switches(&seen), "auto mode never switches alone: {seen:?}");
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert!(
        c.auto_stopped
            .as_deref()
            .is_some_and(|w| w.contains("two-person")),
        "{:?}",
        c.auto_stopped
    );
}

fn lease(session: &str, operator: &str, lost: bool) -> Msg {
    Msg::People {
        people: vec![],
        leases: vec![LeaseView {
            service: "web".into(),
            operator: operator.into(),
            session: session.into(),
            token: 3,
            since: Ts(1000),
            lost,
            quiet_s: if lost { 42 } else { 1 },
        }],
        at: Ts(7000),
    }
}

#[test]
fn a_handover_by_request_carries_the_checklist_on_under_the_new_driver() {
    // Alice drives web, three steps into the checklist.
    let mut alice = recommended_and_started(Policy::default());
    alice.session = ALICE.into();
    alice.person = "alice".into();
    reprobed(&mut alice);
    update(&mut alice, lease(ALICE, "alice", false));
    let fx = update(&mut alice, Msg::Action(Action::OpenDetail, Ts(5000)));
    answer(&mut alice, fx, 5000);
    update(&mut alice, Msg::Action(Action::OpenDetail, Ts(6000)));
    let published = alice.services[0].rollback.checklist.clone().unwrap();

    // Bob's console follows it, and cannot act on the service.
    let mut bob = state(Policy::default());
    bob.session = BOB.into();
    bob.person = "bob".into();
    bob.operator = "bob@bastion".into();
    update(&mut bob, lease(ALICE, "alice", false));
    update(
        &mut bob,
        row(
            ALICE,
            "alice",
            SharedWhat::Checklist(Box::new(published.clone())),
        ),
    );
    assert!(bob.has_checklist(), "the observer's screen shows it");
    assert!(bob.services[0].rollback.checklist.is_none());
    assert!(update(&mut bob, Msg::Action(Action::StartRollback, Ts(6100))).is_empty());
    assert!(
        bob.events
            .iter()
            .any(|e| e.text.contains("alice drives web")),
        "refused, saying who drives"
    );
    // Bob asks; Alice's console sees the request and hands over.
    let fx = update(&mut bob, Msg::Action(Action::Drive, Ts(6200)));
    assert!(
        matches!(
            &fx[..],
            [Effect::Lease {
                act: LeaseAct::Ask,
                ..
            }]
        ),
        "{fx:?}"
    );
    update(&mut alice, row(BOB, "bob", SharedWhat::AskToDrive));
    assert!(alice.services[0].rollback.asked.is_some());
    // `H` asks first; `y` hands over.
    assert!(update(&mut alice, Msg::Action(Action::HandOver, Ts(6300))).is_empty());
    assert!(alice.ui.armed.is_some());
    let fx = update(&mut alice, Msg::Action(Action::Confirm, Ts(6700)));
    let [
        Effect::Lease {
            act: act @ LeaseAct::HandOver { session, .. },
            ..
        },
    ] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert_eq!(session, BOB);
    update(
        &mut alice,
        Msg::LeaseDone {
            service: "web".into(),
            act: act.clone(),
            result: Ok("handed over".into()),
            at: Ts(6400),
        },
    );
    assert!(
        alice.services[0].rollback.checklist.is_none(),
        "alice now follows it"
    );
    assert!(alice.services[0].rollback.followed.is_some());

    // Bob is handed the lease: the checklist carries on here, same step,
    // same incident, the steps done by alice still hers.
    let fx = update(
        &mut bob,
        row(
            ALICE,
            "alice",
            SharedWhat::HandedOver {
                session: BOB.into(),
                operator: "bob@bastion".into(),
            },
        ),
    );
    assert!(
        matches!(
            &fx[..],
            [Effect::Lease {
                act: LeaseAct::Take { from: None, .. },
                ..
            }]
        ),
        "{fx:?}"
    );
    assert!(
        bob.services[0].rollback.checklist.is_none(),
        "nothing is adopted before the lease is granted"
    );
    let [Effect::Lease { act, .. }] = &fx[..] else {
        unreachable!()
    };
    update(
        &mut bob,
        Msg::LeaseDone {
            service: "web".into(),
            act: act.clone(),
            result: Ok("you drive web (lease 4)".into()),
            at: Ts(6500),
        },
    );
    let c = bob.services[0].rollback.checklist.as_ref().unwrap();
    assert_eq!(c.cursor, published.cursor);
    assert_eq!(c.steps[0].by, published.steps[0].by);
    assert_eq!(bob.ui.focus, Pane::Checklist);
}

#[test]
fn a_lost_driver_is_taken_over_only_after_a_yes_that_names_them() {
    let mut bob = state(Policy::default());
    bob.session = BOB.into();
    bob.person = "bob".into();
    update(&mut bob, lease(ALICE, "alice@bastion", true));
    update(&mut bob, Msg::Action(Action::SelectNext, Ts(7000)));
    assert!(update(&mut bob, Msg::Action(Action::Drive, Ts(7000))).is_empty());
    let prompt = &bob.ui.input.as_ref().unwrap().prompt;
    assert!(
        prompt.contains("alice@bastion") && prompt.contains("42s"),
        "{prompt}"
    );
    assert!(typed(&mut bob, "no", 7100).is_empty());
    update(&mut bob, Msg::Action(Action::Drive, Ts(7200)));
    let fx = typed(&mut bob, "yes", 7300);
    assert!(
        matches!(&fx[..], [Effect::Lease { act: LeaseAct::Take { from: Some(f), .. }, .. }] if f == "alice@bastion"),
        "{fx:?}"
    );
}

#[test]
fn a_checklist_opened_as_another_took_the_lease_is_abandoned_untouched() {
    let mut s = recommended_and_started(Policy::default());
    s.session = BOB.into();
    let fx = update(
        &mut s,
        Msg::LeaseDone {
            service: "web".into(),
            act: LeaseAct::Take {
                from: None,
                incident: None,
            },
            result: Err("web is driven by alice since 14:02:11".into()),
            at: Ts(5200),
        },
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::CloseIncident { ending, .. } if ending.contains("alice"))),
        "{fx:?}"
    );
    let c = s.services[0].rollback.checklist.as_ref().unwrap();
    assert!(c.ended.is_some());
}

#[test]
fn a_published_checklist_reads_back_the_same() {
    let s = recommended_and_started(Policy::default());
    let c = s.services[0].rollback.checklist.clone().unwrap();
    let text = serde_json::to_string(&c).unwrap();
    let back: crate::runbook::Checklist = serde_json::from_str(&text).unwrap();
    assert_eq!(back, c, "what observers follow is what the driver has");
}

#[test]
fn a_drill_score_names_who_drove_who_approved_and_each_handover() {
    let s = recommended_and_started(Policy::default());
    let mut c = s.services[0].rollback.checklist.clone().unwrap();
    c.steps[0].by = Some("alice".into());
    c.steps[1].by = Some("alice, approved by bob".into());
    c.steps[2].by = Some("bob".into());
    c.steps[3].by = Some("bob, two-person rule OVERRIDDEN".into());
    let crew = crate::drill::Crew::of(&c);
    assert_eq!(crew.drivers, ["alice", "bob"]);
    assert_eq!(
        crew.approvals,
        [format!("bob approved {}", c.steps[1].title)]
    );
    assert_eq!(
        crew.handovers,
        [format!("alice → bob before {}", c.steps[2].title)]
    );
}

#[test]
fn weights_set_by_hand_are_refused_under_the_two_person_rule() {
    let mut s = state(Policy {
        approvals: 2,
        ..Policy::default()
    });
    update(&mut s, Msg::Action(Action::SelectNext, Ts(1000)));
    update(&mut s, Msg::Action(Action::SetWeights, Ts(1000)));
    assert!(s.ui.editor.is_none(), "no dialog to move weights alone");
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("two-person rule") && e.text.contains("cannot set weights"))
    );
}
