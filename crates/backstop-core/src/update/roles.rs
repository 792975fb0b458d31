//! `:role comms|scribe [off | to NAME]` and `:note TEXT`: the incident's
//! roles beside the driver, taken and handed over explicitly, and notes
//! for its timeline. A role row is journaled as asked and stands only when
//! the journal's order says so (`roles::Roles::apply`): this console learns
//! it holds a role when its own row comes back, like everyone else.

use crate::command::RoleCmd;
use crate::events::{Kind, Level};
use crate::model::State;
use crate::msg::{Effect, Shared, SharedWhat};
use crate::roles::{Change, Holder, Role, RoleRow};
use crate::runbook::Checklist;
use crate::time::Ts;

use super::room::rule::short;

/// Why a role was not taken, handed over or given up, or a note not kept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleRefused {
    #[error("no incident is open: roles and notes belong to a rollback's checklist")]
    NoIncident,
    #[error("the incident is still being opened in the journal: try again in a moment")]
    Opening,
    #[error("roles and notes live in the journal, and this console has none")]
    NoJournal,
    #[error("read-only: this console watches {0} and takes no role")]
    ReadOnly(String),
    #[error("the journal cannot record anything now: {0}")]
    JournalDown(String),
    #[error("you already are the {}", .0.title())]
    Already(Role),
    #[error("{holder} is the {} and is here: they hand it over (`:role {} to {me}`)", .role.title(), .role.word())]
    Held {
        holder: String,
        me: String,
        role: Role,
    },
    #[error("you are not the {} of {}", .0.title(), .1)]
    NotYours(Role, String),
    #[error("nobody here is called `{0}` (here: {1})")]
    Nobody(String, String),
    #[error("`{0}` names more than one person here ({1}): say more of the name")]
    Ambiguous(String, String),
    #[error("{} only watches (read-only) and cannot take the {}", .0, .1.title())]
    Watches(String, Role),
}

/// The open incident's checklist of `service`: this console's own, or the
/// one it follows from the driver.
pub fn incident_checklist(state: &State, service: usize) -> Option<&Checklist> {
    let rb = &state.services.get(service)?.rollback;
    rb.checklist
        .as_ref()
        .filter(|c| c.ended.is_none())
        .or_else(|| {
            rb.followed
                .as_ref()
                .map(|f| &f.checklist)
                .filter(|c| c.ended.is_none())
        })
}

/// Who holds `role` of `service`'s open incident.
pub fn holder(state: &State, service: usize, role: Role) -> Option<&Holder> {
    let c = incident_checklist(state, service)?;
    state.services[service]
        .rollback
        .roles
        .of_incident(role, c.incident)
}

/// The roles this console holds in `service`'s open incident.
pub fn mine(state: &State, service: usize) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| holder(state, service, *r).is_some_and(|h| h.session == state.session))
        .collect()
}

/// The service whose incident a command is about: the checklist on screen.
fn incident_service(state: &State) -> Result<usize, RoleRefused> {
    super::checklist::shown_checklist(state)
        .map(|(s, _)| s)
        .filter(|s| incident_checklist(state, *s).is_some())
        .ok_or(RoleRefused::NoIncident)
}

/// The service whose incident is on screen, if one is open.
pub fn incident_checklist_service(state: &State) -> Option<usize> {
    incident_service(state).ok()
}

fn writable(state: &State) -> Result<(), RoleRefused> {
    if state.session.is_empty() {
        return Err(RoleRefused::NoJournal);
    }
    if let Some(why) = &state.journal_down {
        return Err(RoleRefused::JournalDown(why.clone()));
    }
    Ok(())
}

/// `:role …`.
pub(super) fn command(
    state: &mut State,
    asked: Option<(Role, RoleCmd)>,
    now: Ts,
) -> Result<Vec<Effect>, RoleRefused> {
    let service = incident_service(state)?;
    let Some((role, cmd)) = asked else {
        let name = state.services[service].name.clone();
        let line = Role::ALL
            .iter()
            .map(|r| {
                let who = holder(state, service, *r).map_or("nobody", |h| short(&h.operator));
                format!("{}: {who}", r.title())
            })
            .collect::<Vec<_>>()
            .join(" · ");
        state
            .events
            .push_kind(now, name, Level::Info, Kind::Room, line);
        return Ok(Vec::new());
    };
    writable(state)?;
    let svc = &state.services[service];
    if svc.read_only {
        return Err(RoleRefused::ReadOnly(svc.name.clone()));
    }
    let incident = incident_checklist(state, service)
        .and_then(|c| c.incident)
        .ok_or(RoleRefused::Opening)?;
    let incident = Some(incident);
    let held = holder(state, service, role).cloned();
    let mine = held.as_ref().is_some_and(|h| h.session == state.session);
    let change = match cmd {
        RoleCmd::Take if mine => return Err(RoleRefused::Already(role)),
        RoleCmd::Take => {
            // Taken from a person still here only by their hand: a role
            // never moves behind its holder's back.
            if let Some(h) = &held
                && state.people.iter().any(|p| p.session == h.session)
            {
                return Err(RoleRefused::Held {
                    holder: short(&h.operator).to_string(),
                    me: short(&state.operator).to_string(),
                    role,
                });
            }
            Change::Take
        }
        RoleCmd::Release | RoleCmd::Hand(_) if !mine => {
            return Err(RoleRefused::NotYours(role, svc.name.clone()));
        }
        RoleCmd::Release => Change::Release,
        RoleCmd::Hand(name) => {
            let matches: Vec<_> = state
                .people
                .iter()
                .filter(|p| !p.me && p.what == "console")
                .filter(|p| short(&p.operator).starts_with(name.as_str()))
                .collect();
            let names = |v: &[&crate::model::Present]| {
                v.iter()
                    .map(|p| short(&p.operator).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            match &matches[..] {
                [] => {
                    let here: Vec<_> = state
                        .people
                        .iter()
                        .filter(|p| !p.me && p.what == "console")
                        .collect();
                    let here = names(&here);
                    return Err(RoleRefused::Nobody(
                        name,
                        if here.is_empty() {
                            "nobody else".into()
                        } else {
                            here
                        },
                    ));
                }
                [p] if p.read_only => {
                    return Err(RoleRefused::Watches(short(&p.operator).to_string(), role));
                }
                [p] => Change::Hand {
                    session: p.session.clone(),
                    operator: p.operator.clone(),
                },
                many => return Err(RoleRefused::Ambiguous(name, names(many))),
            }
        }
    };
    Ok(vec![Effect::Role {
        service: state.services[service].name.clone(),
        incident,
        role,
        change,
        from: held.map(|h| h.session),
        by: state.operator.clone(),
    }])
}

/// A role row, this console's or another's, in the journal's order.
pub(super) fn on_row(state: &mut State, row: &Shared) {
    let SharedWhat::Role {
        role,
        change,
        from,
        incident,
    } = &row.what
    else {
        return;
    };
    let name = row
        .scope
        .split('/')
        .next()
        .unwrap_or(&row.scope)
        .to_string();
    let Some(service) = state.services.iter().position(|s| s.name == name) else {
        return;
    };
    let r = RoleRow {
        role: *role,
        change: change.clone(),
        from: from.clone(),
        operator: row.operator.clone(),
        session: row.session.clone(),
        at: row.at,
        incident: *incident,
    };
    let mine = row.session == state.session;
    let result = state.services[service].rollback.roles.apply(&r);
    let who = short(&row.operator).to_string();
    let title = role.title();
    let (level, text) = match (&result, change) {
        (Err(lost), _) if mine => (Level::Warn, format!(":role {}: {lost}", role.word())),
        // Another's row that lost changes nothing here to speak of.
        (Err(_), _) => return,
        (Ok(()), Change::Take) if mine => (
            Level::Good,
            match role {
                Role::Comms => {
                    format!("you are the {title} of {name}: the update prompts come to you")
                }
                Role::Scribe => {
                    format!("you are the {title} of {name}: `:note TEXT` writes the timeline")
                }
            },
        ),
        (Ok(()), Change::Take) => (Level::Info, format!("{who} is the {title} now")),
        (Ok(()), Change::Hand { session, .. }) if *session == state.session => (
            Level::Good,
            format!("{who} handed you the {title} of {name}"),
        ),
        (Ok(()), Change::Hand { operator, .. }) => (
            Level::Info,
            format!("{who} handed the {title} to {}", short(operator)),
        ),
        (Ok(()), Change::Release) => (Level::Info, format!("{who} gave up the {title}")),
    };
    state
        .events
        .push_kind(row.at, name, level, Kind::Room, text);
}

/// `:note TEXT`: a line for the open incident's timeline, marked when the
/// scribe wrote it. It changes nothing, so a console that only watches
/// may keep the notes.
pub(super) fn note(state: &mut State, text: String, now: Ts) -> Result<Vec<Effect>, RoleRefused> {
    let service = incident_service(state)?;
    writable(state)?;
    let scribe = mine(state, service).contains(&Role::Scribe);
    let name = state.services[service].name.clone();
    let incident = incident_checklist(state, service).and_then(|c| c.incident);
    let by = state.operator.clone();
    let mark = if scribe { "scribe" } else { "note" };
    // The journal's row is the record (`Effect::Note`): this line is only
    // its echo here, and a room line is not journaled again.
    state.events.push_kind(
        now,
        name.clone(),
        Level::Info,
        Kind::Room,
        format!("{}: ({mark}) {text}", short(&by)),
    );
    if let Some(c) = state.services[service].rollback.checklist.as_ref()
        && c.ended.is_none()
    {
        state.services[service].rollback.note(
            now,
            crate::model::TimelineKind::Decision,
            format!("{}: ({mark}) {text}", short(&by)),
        );
    }
    Ok(vec![Effect::Note {
        service: name,
        incident,
        text,
        by,
        scribe,
    }])
}

/// The incident roles `session` holds, service by service:
/// `[(Role::Comms, "web")]`.
pub fn held_by(state: &State, session: &str) -> Vec<(Role, String)> {
    (0..state.services.len())
        .flat_map(|s| {
            Role::ALL.into_iter().filter_map(move |r| {
                holder(state, s, r)
                    .filter(|h| h.session == session)
                    .map(|_| (r, state.services[s].name.clone()))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::decision::Policy;
    use crate::model::{InputPurpose, Present};
    use crate::msg::{Msg, StepOutcome};
    use crate::update::testkit::*;

    const ALICE: &str = "alice#1-1";
    const BOB: &str = "bob#2-2";
    const CAROL: &str = "carol#3-3";

    fn command(s: &mut State, line: &str, at: i64) -> Vec<Effect> {
        update(s, Msg::Action(Action::CommandLine, Ts(at)));
        typed(s, line, at)
    }

    fn present(session: &str, me: bool) -> Present {
        Present {
            operator: format!("{}@bastion", &session[..session.find('#').unwrap()]),
            session: session.into(),
            what: "console".into(),
            since: Ts(0),
            read_only: false,
            drives: vec![],
            me,
        }
    }

    /// A row as the tail hands it (this console's own rows included).
    fn shared(id: i64, session: &str, at: i64, what: SharedWhat) -> Msg {
        let who = &session[..session.find('#').unwrap()];
        Msg::Shared {
            rows: vec![Shared {
                id,
                at: Ts(at),
                scope: "web".into(),
                operator: format!("{who}@bastion"),
                session: session.into(),
                person: who.into(),
                vouched: None,
                what,
            }],
            at: Ts(at),
        }
    }

    /// The role row an effect asks for, as the journal hands it back.
    fn written(id: i64, session: &str, at: i64, fx: &[Effect]) -> Msg {
        let [
            Effect::Role {
                role,
                change,
                from,
                incident,
                ..
            },
        ] = fx
        else {
            panic!("{fx:?}");
        };
        shared(
            id,
            session,
            at,
            SharedWhat::Role {
                role: *role,
                change: change.clone(),
                from: from.clone(),
                incident: *incident,
            },
        )
    }

    /// Alice drives web's incident 12 under SEV1; Bob and Carol follow it.
    fn room() -> (State, State, State) {
        let mut alice = recommended_and_started(Policy::default());
        alice.session = ALICE.into();
        reprobed(&mut alice);
        alice.services[0]
            .rollback
            .checklist
            .as_mut()
            .unwrap()
            .incident = Some(12);
        command(&mut alice, "sev 1 checkout is down", 6000);
        let published = alice.services[0].rollback.checklist.clone().unwrap();
        let follower = |session: &str| {
            let mut s = state(Policy::default());
            s.session = session.into();
            s.operator = format!("{}@bastion", &session[..session.find('#').unwrap()]);
            update(
                &mut s,
                shared(
                    1,
                    ALICE,
                    6000,
                    SharedWhat::Checklist(Box::new(published.clone())),
                ),
            );
            s
        };
        let (mut bob, mut carol) = (follower(BOB), follower(CAROL));
        for (s, me) in [(&mut alice, ALICE), (&mut bob, BOB), (&mut carol, CAROL)] {
            s.people = [ALICE, BOB, CAROL]
                .iter()
                .map(|p| present(p, *p == me))
                .collect();
        }
        (alice, bob, carol)
    }

    #[test]
    fn the_comms_lead_gets_the_update_and_the_driver_counts_it() {
        let (mut alice, mut bob, mut carol) = room();
        let fx = command(&mut bob, "role comms", 7000);
        assert!(
            matches!(
                &fx[..],
                [Effect::Role {
                    role: Role::Comms,
                    change: Change::Take,
                    from: None,
                    incident: Some(12),
                    ..
                }]
            ),
            "{fx:?}"
        );
        // Carol asked at the same instant, from the same view: her row
        // comes second in the journal, and loses on every console.
        let carols = command(&mut carol, "role comms", 7000);
        for s in [&mut alice, &mut bob, &mut carol] {
            update(s, written(2, BOB, 7000, &fx));
            update(s, written(3, CAROL, 7000, &carols));
            assert_eq!(held_by(s, BOB), vec![(Role::Comms, "web".to_string())]);
            assert_eq!(held_by(s, CAROL), vec![]);
        }
        assert!(
            carol
                .events
                .last()
                .unwrap()
                .text
                .contains("bob@bastion took the communications lead first"),
            "{}",
            carol.events.last().unwrap().text
        );
        // Held by someone here: only their hand moves it.
        command(&mut carol, "role comms", 8000);
        assert!(
            carol
                .events
                .last()
                .unwrap()
                .text
                .contains("they hand it over (`:role comms to carol@bastion`)"),
            "{}",
            carol.events.last().unwrap().text
        );

        // Five minutes after the opening: the prompt is Bob's, not Alice's.
        for s in [&mut alice, &mut bob] {
            update(s, Msg::Tick(Ts(304_000)));
        }
        assert!(alice.ui.input.is_none(), "the driver was prompted");
        update(&mut alice, Msg::Action(Action::StatusUpdate, Ts(306_500)));
        assert!(
            alice
                .events
                .last()
                .unwrap()
                .text
                .contains("bob@bastion is the communications lead"),
            "{}",
            alice.events.last().unwrap().text
        );
        let input = bob.ui.input.clone().expect("the comms lead is prompted");
        assert!(matches!(
            input.purpose,
            InputPurpose::Update { service: 0, run: 1 }
        ));
        assert!(
            input
                .text
                .starts_with("SEV1 web: rolling back green → blue"),
            "{}",
            input.text
        );
        let fx = update(
            &mut bob,
            Msg::Text(crate::msg::TextKey::Submit, Ts(307_000)),
        );
        assert!(
            matches!(
                &fx[..],
                [Effect::SendUpdate {
                    run: 1,
                    incident: Some(12),
                    ..
                }]
            ),
            "{fx:?}"
        );
        update(
            &mut bob,
            Msg::UpdateSent {
                service: 0,
                run: 1,
                by: "bob@bastion".into(),
                outcome: StepOutcome::ok(vec![]),
                at: Ts(307_500),
            },
        );
        // Bob's screen counts it at once; Alice's when the journal says so.
        let followed = &bob.services[0]
            .rollback
            .followed
            .as_ref()
            .unwrap()
            .checklist;
        assert_eq!(followed.comms.updates.len(), 1);
        update(
            &mut alice,
            shared(
                4,
                BOB,
                307_100,
                SharedWhat::Change {
                    work: "notify".into(),
                    text: "update: SEV1 web".into(),
                    route: None,
                },
            ),
        );
        update(
            &mut alice,
            shared(
                5,
                BOB,
                307_500,
                SharedWhat::Resolved {
                    intent: 4,
                    good: true,
                    level: Level::Good,
                    text: "done: update".into(),
                },
            ),
        );
        let c = &alice.services[0].rollback.checklist.as_ref().unwrap().comms;
        assert_eq!(c.updates.len(), 1);
        assert_eq!(c.updates[0].by, "bob@bastion");

        // Bob's console is gone: the role stays his, and meanwhile the
        // next update comes to the driver rather than to nobody.
        alice.people.retain(|p| p.session != BOB);
        update(&mut alice, Msg::Tick(Ts(590_000)));
        assert!(
            matches!(
                alice.ui.input.as_ref().map(|i| &i.purpose),
                Some(InputPurpose::Update { .. })
            ),
            "the driver was not prompted in the lead's absence"
        );
        assert_eq!(held_by(&alice, BOB), vec![(Role::Comms, "web".to_string())]);
    }

    #[test]
    fn a_role_is_handed_over_by_its_holder_and_taken_from_one_who_left() {
        let (mut alice, mut bob, mut carol) = room();
        let fx = command(&mut bob, "role scribe", 7000);
        for s in [&mut alice, &mut bob, &mut carol] {
            update(s, written(2, BOB, 7000, &fx));
        }
        // Only the holder hands it over, to someone here.
        command(&mut carol, "role scribe to alice", 7100);
        assert!(
            carol
                .events
                .last()
                .unwrap()
                .text
                .contains("you are not the scribe")
        );
        command(&mut bob, "role scribe to zed", 7100);
        assert!(
            bob.events
                .last()
                .unwrap()
                .text
                .contains("nobody here is called `zed`")
        );
        let fx = command(&mut bob, "role scribe to carol", 7200);
        assert!(
            matches!(&fx[..], [Effect::Role { change: Change::Hand { session, .. }, from: Some(f), .. }] if session == CAROL && f == BOB),
            "{fx:?}"
        );
        for s in [&mut alice, &mut bob, &mut carol] {
            update(s, written(3, BOB, 7200, &fx));
        }
        assert_eq!(
            held_by(&alice, CAROL),
            vec![(Role::Scribe, "web".to_string())]
        );
        // The scribe's note is marked.
        let fx = command(&mut carol, "note db failover started", 7300);
        assert!(
            matches!(&fx[..], [Effect::Note { scribe: true, .. }]),
            "{fx:?}"
        );
        let fx = command(&mut alice, "note rollback looks good", 7300);
        assert!(
            matches!(&fx[..], [Effect::Note { scribe: false, .. }]),
            "{fx:?}"
        );
        // Carol's console is gone: taking over names her.
        alice.people.retain(|p| p.session != CAROL);
        let fx = command(&mut alice, "role scribe", 7400);
        assert!(
            matches!(&fx[..], [Effect::Role { change: Change::Take, from: Some(f), .. }] if f == CAROL),
            "{fx:?}"
        );
        // Nothing moved by itself meanwhile.
        assert_eq!(
            held_by(&alice, CAROL),
            vec![(Role::Scribe, "web".to_string())]
        );
    }
}
