//! The room's promise, as a property of `update` over several consoles.
//!
//! Two to four consoles — one of them read-only at times, two of them the
//! same person's account — share one simulated journal: its rows (the
//! live tail hands each console the others' rows, late and in bursts),
//! its leases with their fencing tokens (taken, renewed while a console
//! runs, lost when it is frozen or killed, handed over), and the room's
//! rules the real journal judges every intent by (`crate::room::judge`).
//! Random interleavings of every key and command — the war room's `D`,
//! `H`, `a`, `R`, `O`, the `:` line, the why view, typed words and pastes —
//! and of every message — probes, traffic reads, tail deliveries, who is
//! here, lease results, the journal going down, failed sources and effects
//! — play against it, with clocks that jump past cooldowns and limits.
//!
//! After every message, for the console it reached:
//! - a read-only console emits nothing that acts (no intent, lease,
//!   approval, incident or acknowledgement), by any path;
//! - a change covered by the two-person rule runs only on an approval
//!   from a second account the room vouches for (or a permitted override);
//! - a rollback a console sends while it has seen every row of the room is
//!   one the journal's own rules take: the console judged the room, not
//!   only itself;
//! - nothing acting is sent for a service another live console drives, as
//!   far as this console knows;
//!
//! - a console caught up with the journal sees the incident's roles (the
//!   communications lead, the scribe) held by whom the journal's order
//!   says, the same on every console, whatever raced;
//!
//! and of the journal, always: an intent is written only under the current
//! token of its service's lease, at most one change per service is without
//! an outcome, every intent has at most one outcome, and a provider is
//! called only while the lease still holds.
//!
//! A count over all the walks shows that they reach what matters: changes
//! made, approvals given and refused, take-overs, handovers, the journal's
//! guards refusing. `PROPTEST_CASES` sets how many walks; failing seeds are
//! kept in `proptest-regressions/` beside this file.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

use crate::action::Action;
use crate::decision::{Mode, Policy};
use crate::health::{HealthReport, HealthStatus};
use crate::model::{
    EndpointId, EndpointState, EnvState, LeaseView, Origin, Present, ProbeResult, Role,
    ServiceState, State, TrafficState,
};
use crate::msg::{
    ApprovalAct, Effect, LeaseAct, Msg, Shared, SharedWhat, StepOutcome, StepWork, TextKey,
};
use crate::room::{Guard, Open, judge};
use crate::runbook::{Checklist, StepStatus};
use crate::time::Ts;
use crate::traffic::Weights;
use crate::update::update;

/// How long a lease outlives its last heartbeat here.
const EXPIRY_MS: i64 = 30_000;

/// The accounts and names of the consoles: two of them are alice's (one
/// account, two consoles), the others bob's and carol's.
const PEOPLE: [(&str, &str); 4] = [
    ("alice", "alice@bastion"),
    ("bob", "bob@bastion"),
    ("alice", "alice@bastion"),
    ("carol", "carol@bastion"),
];

/// The room's policy for web: short guards, so walks reach them.
fn policy(two_person: bool, allow_override: bool, auto: bool) -> Policy {
    Policy {
        mode: if auto { Mode::Auto } else { Mode::Advise },
        cooldown: Duration::from_secs(60),
        max_rollbacks: 2,
        rollback_window: Duration::from_secs(3600),
        approvals: if two_person { 2 } else { 1 },
        allow_override,
        ..Policy::default()
    }
}

/// One console: web, blue and green behind a traffic provider.
fn console(i: usize, read_only: bool, p: &Policy) -> State {
    let ep = || {
        vec![EndpointState::new(
            "http://x/health".into(),
            Role::Health,
            Duration::from_secs(2),
            Duration::from_secs(1),
        )]
    };
    let mut web = ServiceState::new(
        "web",
        vec![EnvState::new("blue", ep()), EnvState::new("green", ep())],
        Some(TrafficState::new("command", "platform CLI")),
        p.clone(),
        crate::testkit::default_runbook(),
        Ts(0),
    );
    web.read_only = read_only;
    let mut s = State::new("room", Origin::Config("room.toml".into()), vec![web], Ts(0));
    let (name, account) = PEOPLE[i];
    s.operator = format!("{name} (self-declared; {account})");
    s.person = name.into();
    s.vouched = Some(account.into());
    s.session = session(i);
    s.room = "room".into();
    s
}

fn session(i: usize) -> String {
    format!("{}#{}-1", PEOPLE[i].0, 100 + i)
}

/// What the journal holds.
#[derive(Clone, Debug)]
enum What {
    Intent {
        work: String,
        text: String,
        route: Option<(String, String)>,
        token: i64,
    },
    Outcome {
        intent: i64,
        good: bool,
    },
    Approval {
        driver: String,
        request: u64,
        act: ApprovalAct,
    },
    Drives,
    HandedOver {
        session: String,
        operator: String,
    },
    Ask,
    Checklist(Box<Checklist>),
    Role {
        role: crate::roles::Role,
        change: crate::roles::Change,
        from: Option<String>,
        incident: Option<i64>,
    },
}

#[derive(Clone, Debug)]
struct Row {
    id: i64,
    at: i64,
    console: usize,
    what: What,
}

/// A service's lease.
#[derive(Clone, Debug)]
struct Lease {
    holder: usize,
    token: i64,
    beat: i64,
    since: i64,
}

/// A change whose intent is written, its provider not yet called.
#[derive(Clone, Debug)]
struct Running {
    console: usize,
    run: u64,
    step: usize,
    work: StepWork,
    intent: i64,
    token: i64,
}

/// One console, and its executor's side.
struct Seat {
    s: State,
    alive: bool,
    paused: bool,
    /// The last row the tail handed it.
    cursor: i64,
    /// The lease token its executor holds (web's).
    token: Option<i64>,
    /// Effects waiting for the executor.
    inbox: Vec<Effect>,
    /// Its journal answers (a table may not).
    journal_up: bool,
    /// Its checklist as last published.
    published: Option<Checklist>,
    /// Approval requests it got a valid second person's approval for.
    approved: Vec<u64>,
}

/// The room: consoles, the journal, the leases, the world.
struct Room {
    now: i64,
    seats: Vec<Seat>,
    rows: Vec<Row>,
    /// Each intent's outcomes so far, by the intent's row.
    outcomes: std::collections::HashMap<i64, usize>,
    lease: Option<Lease>,
    next_token: i64,
    running: Vec<Running>,
    weights: Weights,
    health: [HealthStatus; 2],
    incidents: i64,
    two_person: bool,
    allow_override: bool,
}

/// What the simulated journal answers a console it will not serve: the
/// real room's refusals (`room::Error`), as far as the walks meet them.
/// Consoles get them in words, as the engine hands them on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
enum Refused {
    #[error("read-only: no {0}")]
    ReadOnly(&'static str),
    #[error("{0} drives web")]
    Held(String),
    #[error("the journal does not answer: nothing was changed")]
    Down,
    #[error("not this console's to hand over")]
    NotYours,
    #[error("the lease is no longer this console's")]
    Fenced,
    /// The room's rules (`core::room::judge`), in its words.
    #[error("{0}")]
    Guarded(String),
}

/// A promise of the room a walk broke: the property's failure, one kind
/// per promise.
#[derive(Debug, thiserror::Error)]
enum Broken {
    #[error(
        "console {console}: an acting effect reached the root's last check by a path that skipped the question"
    )]
    SkippedQuestion { console: usize },
    #[error("read-only console {console} emitted {effect}")]
    ReadOnlyActed { console: usize, effect: String },
    #[error("the executor of read-only console {console} asked to approve")]
    ReadOnlyApproves { console: usize },
    #[error("read-only console {console} wrote intent {intent}")]
    ReadOnlyWrote { console: usize, intent: i64 },
    #[error("console {console} sent {work} while {driver} drives web")]
    BesideTheDriver {
        console: usize,
        work: String,
        driver: String,
    },
    #[error(
        "console {console} sent {work} under the two-person rule without a second account's approval (request {request:?}, msg {msg})"
    )]
    Unapproved {
        console: usize,
        work: String,
        request: Option<u64>,
        msg: String,
    },
    #[error(
        "console {console}, caught up with the journal, sent {work} that the room refuses: {why}"
    )]
    RoomRefuses {
        console: usize,
        work: String,
        why: Refused,
    },
    #[error("intent {intent} under token {token} after one under {newest}")]
    OlderToken {
        intent: i64,
        token: i64,
        newest: i64,
    },
    #[error("intent {intent} has {outcomes} outcomes")]
    Outcomes { intent: i64, outcomes: usize },
    #[error("{open} changes of web without an outcome at once")]
    OpenAtOnce { open: usize },
    #[error(
        "console {console}, caught up, sees the roles {seen:?}; the journal's order says {journal:?}"
    )]
    RolesDiffer {
        console: usize,
        seen: Box<crate::roles::Roles>,
        journal: Box<crate::roles::Roles>,
    },
    #[error("words typed at console {console}'s keys ({words:?}) acted: {acted}")]
    TypingActed {
        console: usize,
        words: &'static str,
        acted: String,
    },
}

/// What the walks reached, over all of them.
static COUNT: [AtomicUsize; 11] = [const { AtomicUsize::new(0) }; 11];
const CHANGES: usize = 0;
const APPROVED: usize = 1;
const REFUSED_APPROVALS: usize = 2;
const TAKE_OVERS: usize = 3;
const HANDOVERS: usize = 4;
const GUARDED: usize = 5;
const FENCED: usize = 6;
const READ_ONLY_WALKS: usize = 7;
const KILLS_AND_PAUSES: usize = 8;
const ROLES_TAKEN: usize = 9;
const ROLE_RACES_LOST: usize = 10;

fn count(what: usize) {
    COUNT[what].fetch_add(1, Ordering::Relaxed);
}

#[derive(Clone, Debug)]
enum Op {
    Key(usize, Action),
    Text(usize, TextKey),
    /// Type a word at a console (`yes`, `okay`, a reason).
    Type(usize, &'static str),
    Wait(u32),
    /// The world's health of an environment, then probes of it everywhere.
    World(usize, HealthStatus),
    Probe(usize),
    Traffic(usize),
    Tail(usize),
    People(usize),
    /// The executor of a console takes up one of its effects.
    Exec(usize, usize),
    /// A provider call of a change in flight.
    Provider(usize, bool),
    JournalDown(usize, bool),
    Pause(usize),
    Resume(usize),
    Kill(usize),
    Failed(usize),
    /// A person at console `i` takes the next step of its checklist (⏎,
    /// its executor's answer, `y`, the change made).
    Step(usize),
    /// Every executor does what it was asked, every provider answers.
    Settle,
    /// Every console's tail catches up.
    TailAll,
    /// `a` then `y` at console `i`.
    Approve(usize),
    /// `D` then a typed `yes` at console `i` (a take-over, if offered).
    TakeOver(usize),
    /// Whoever drives hands over, when asked (`H` then `y`).
    Hand,
    /// Words typed at console `i`'s keys as if a line were open.
    Words(usize, &'static str),
    /// Console `i` is stopped (Ctrl-Z) past the lease's expiry; console
    /// `j` takes over; `i` resumes, its executor carrying on with what it
    /// had in hand.
    Frozen(usize, usize),
    /// A `:role …` command line at console `i`.
    Role(usize, &'static str),
    /// Console `i`'s account answers the request console `j` waits on with
    /// an approval written straight into the journal (another binary,
    /// `USER=bob`): only its proof can say whose it is.
    Forge(usize, usize),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    let c = 0..n;
    let keys = prop_oneof![
        4 => Just(Action::Confirm),
        4 => Just(Action::OpenDetail),
        3 => Just(Action::StartRollback),
        2 => Just(Action::Back),
        2 => Just(Action::Drive),
        2 => Just(Action::Approve),
        1 => Just(Action::HandOver),
        1 => Just(Action::Reject),
        1 => Just(Action::Override),
        1 => Just(Action::Explain),
        1 => Just(Action::Skip),
        1 => Just(Action::Abort),
        1 => Just(Action::SetWeights),
        1 => Just(Action::Increase),
        1 => Just(Action::CommandLine),
        1 => Just(Action::People),
        1 => prop::sample::select(vec![
            Action::SelectNext,
            Action::SelectPrev,
            Action::NextPane,
            Action::PrevPane,
            Action::Help,
            Action::ExportReport,
            Action::CycleWindow,
            Action::Filter,
        ]),
    ];
    let text = prop_oneof![
        Just(TextKey::Char('y')),
        Just(TextKey::Char('a')),
        Just(TextKey::Submit),
        Just(TextKey::Cancel),
        Just(TextKey::Backspace),
        Just(TextKey::Paste("ay\nyes\nr\n".into())),
    ];
    let words = prop::sample::select(vec!["yes", "okay", "say", "rollback web", "a y", "ok"]);
    let status = prop::sample::select(HealthStatus::ALL.to_vec());
    prop_oneof![
        12 => c.clone().prop_map(Op::Step),
        8 => Just(Op::Settle),
        6 => Just(Op::TailAll),
        4 => c.clone().prop_map(Op::Approve),
        2 => c.clone().prop_map(Op::TakeOver),
        2 => Just(Op::Hand),
        2 => (c.clone(), prop::sample::select(vec!["okay", "say yes", "ay", "Hy", "a y", "fy cy"]))
            .prop_map(|(i, w)| Op::Words(i, w)),
        2 => (c.clone(), c.clone()).prop_map(|(i, j)| Op::Frozen(i, j)),
        2 => (c.clone(), c.clone()).prop_map(|(i, j)| Op::Forge(i, j)),
        3 => (c.clone(), prop::sample::select(vec![
            "role comms", "role comms", "role scribe", "role comms off",
            "role scribe off", "role comms to bob", "role comms to carol", "role scribe to alice",
        ]))
            .prop_map(|(i, w)| Op::Role(i, w)),
        8 => (c.clone(), keys).prop_map(|(i, a)| Op::Key(i, a)),
        3 => (c.clone(), text).prop_map(|(i, t)| Op::Text(i, t)),
        2 => (c.clone(), words).prop_map(|(i, w)| Op::Type(i, w)),
        3 => prop_oneof![9 => 0u32..5_000, 1 => 30_000u32..200_000].prop_map(Op::Wait),
        3 => (0usize..2, status).prop_map(|(e, s)| Op::World(e, s)),
        8 => c.clone().prop_map(Op::Probe),
        3 => c.clone().prop_map(Op::Traffic),
        8 => c.clone().prop_map(Op::Tail),
        3 => c.clone().prop_map(Op::People),
        10 => (c.clone(), any::<usize>()).prop_map(|(i, k)| Op::Exec(i, k)),
        4 => (any::<usize>(), prop::bool::weighted(0.9)).prop_map(|(k, ok)| Op::Provider(k, ok)),
        1 => (c.clone(), prop::bool::weighted(0.7)).prop_map(|(i, up)| Op::JournalDown(i, up)),
        1 => c.clone().prop_map(Op::Pause),
        3 => c.clone().prop_map(Op::Resume),
        1 => (c.clone(), prop::bool::weighted(0.3)).prop_map(|(i, k)| if k { Op::Kill(i) } else { Op::Resume(i) }),
        1 => c.prop_map(Op::Failed),
    ]
}

/// A room of `n` consoles: which are read-only, and the rules.
#[derive(Clone, Debug)]
struct Setup {
    n: usize,
    read_only: Vec<bool>,
    two_person: bool,
    allow_override: bool,
    auto: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (2usize..=4)
        .prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec(prop::bool::weighted(0.25), n),
                any::<bool>(),
                prop::bool::weighted(0.3),
                prop::bool::weighted(0.3),
            )
        })
        .prop_map(|(n, mut read_only, two_person, allow_override, auto)| {
            // Someone may drive.
            read_only[0] = false;
            Setup {
                n,
                read_only,
                two_person,
                allow_override,
                auto,
            }
        })
}

fn probe(status: HealthStatus, at: i64) -> ProbeResult {
    ProbeResult {
        at: Ts(at),
        latency_ms: 3.0,
        report: HealthReport {
            status,
            http_status: Some(if status.is_failure() { 503 } else { 200 }),
            version: Some("1.0.1".into()),
            checks: vec![],
            summary: format!("status {status}"),
            error: None,
        },
        late: None,
    }
}

impl Room {
    fn new(set: &Setup) -> Room {
        let p = policy(set.two_person, set.allow_override, set.auto);
        let seats = (0..set.n)
            .map(|i| Seat {
                s: console(i, set.read_only[i], &p),
                alive: true,
                paused: false,
                cursor: 0,
                token: None,
                inbox: Vec::new(),
                journal_up: true,
                published: None,
                approved: Vec::new(),
            })
            .collect();
        let mut room = Room {
            now: 1_000,
            seats,
            rows: Vec::new(),
            outcomes: std::collections::HashMap::new(),
            lease: None,
            next_token: 1,
            running: Vec::new(),
            weights: Weights::from_percents([("blue", 0), ("green", 100)]),
            health: [HealthStatus::Ok, HealthStatus::Ok],
            incidents: 0,
            two_person: set.two_person,
            allow_override: set.allow_override,
        };
        for i in 0..set.n {
            let at = room.now;
            let w = room.weights.clone();
            room.deliver(
                i,
                Msg::TrafficRead {
                    service: 0,
                    result: Ok(w),
                    at: Ts(at),
                },
            )
            .ok();
        }
        if set.read_only.iter().any(|r| *r) {
            count(READ_ONLY_WALKS);
        }
        room
    }

    fn head(&self) -> i64 {
        self.rows.last().map_or(0, |r| r.id)
    }

    fn write(&mut self, console: usize, what: What) -> i64 {
        let id = self.head() + 1;
        match &what {
            What::Intent { .. } => {
                self.outcomes.insert(id, 0);
            }
            What::Outcome { intent, .. } => *self.outcomes.entry(*intent).or_default() += 1,
            _ => {}
        }
        self.rows.push(Row {
            id,
            at: self.now,
            console,
            what,
        });
        id
    }

    /// The lease of web is held, and by whom, as of now.
    fn holder(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    fn lost(&self, l: &Lease) -> bool {
        let seat = &self.seats[l.holder];
        !seat.alive || self.now - l.beat > EXPIRY_MS
    }

    /// Heartbeats: a console that runs renews what its executor holds.
    fn beat(&mut self) {
        if let Some(l) = self.lease.as_mut() {
            let seat = &self.seats[l.holder];
            if seat.alive && !seat.paused && seat.token == Some(l.token) {
                l.beat = self.now;
            }
        }
    }

    /// Changes of web without an outcome, as the journal holds them.
    fn open(&self) -> Vec<Open> {
        self.rows
            .iter()
            .filter_map(|r| match &r.what {
                What::Intent { text, .. } => Some((r.id, r.console, text.clone())),
                _ => None,
            })
            .filter(|(id, _, _)| self.outcomes.get(id).is_none_or(|n| *n == 0))
            .map(|(intent, c, text)| Open {
                intent,
                operator: self.seats[c].s.operator.clone(),
                text,
            })
            .collect()
    }

    /// When each rollback of web landed, from every row.
    fn rollbacks(&self) -> Vec<Ts> {
        self.rows
            .iter()
            .filter_map(|r| match &r.what {
                What::Outcome { intent, good: true } => {
                    let i = self.rows.iter().find(|x| x.id == *intent)?;
                    matches!(&i.what, What::Intent { route: Some(_), .. }).then_some(Ts(r.at))
                }
                _ => None,
            })
            .collect()
    }

    /// The journal's own judgement of an intent, a rollback or not, now.
    fn judged(&self, rollback: bool) -> Result<(), Refused> {
        let g = Guard::of(&self.seats[0].s.services[0].rollback.policy);
        judge(
            "web",
            &self.open(),
            &self.rollbacks(),
            rollback.then_some(&g),
            Ts(self.now),
        )
        .map_err(Refused::Guarded)
    }

    /// Rows another console wrote, as the tail hands them to `i`.
    fn shared(&self, i: usize, rows: &[Row]) -> Vec<Shared> {
        rows.iter()
            // A console's own role rows come back to it: the order decides.
            .filter(|r| r.console != i || matches!(r.what, What::Role { .. }))
            .map(|r| {
                let writer = &self.seats[r.console].s;
                let (what, vouched) = match &r.what {
                    What::Intent {
                        work, text, route, ..
                    } => (
                        SharedWhat::Change {
                            work: work.clone(),
                            text: text.clone(),
                            route: route.clone(),
                        },
                        writer.vouched.clone(),
                    ),
                    What::Outcome { intent, good } => (
                        SharedWhat::Resolved {
                            intent: *intent,
                            good: *good,
                            level: crate::events::Level::Info,
                            text: "outcome".into(),
                        },
                        writer.vouched.clone(),
                    ),
                    // An answer's proof: the account the room vouches
                    // wrote it, whatever name it declared.
                    What::Approval {
                        driver,
                        request,
                        act,
                    } => (
                        SharedWhat::Approval {
                            driver: driver.clone(),
                            request: *request,
                            act: act.clone(),
                        },
                        writer.vouched.clone(),
                    ),
                    What::Drives => (
                        SharedWhat::Drives {
                            text: "drives web".into(),
                        },
                        writer.vouched.clone(),
                    ),
                    What::HandedOver { session, operator } => (
                        SharedWhat::HandedOver {
                            session: session.clone(),
                            operator: operator.clone(),
                        },
                        writer.vouched.clone(),
                    ),
                    What::Ask => (SharedWhat::AskToDrive, writer.vouched.clone()),
                    What::Checklist(c) => {
                        (SharedWhat::Checklist(c.clone()), writer.vouched.clone())
                    }
                    What::Role {
                        role,
                        change,
                        from,
                        incident,
                    } => (
                        SharedWhat::Role {
                            role: *role,
                            change: change.clone(),
                            from: from.clone(),
                            incident: *incident,
                        },
                        writer.vouched.clone(),
                    ),
                };
                Shared {
                    id: r.id,
                    at: Ts(r.at),
                    scope: "web".into(),
                    operator: writer.operator.clone(),
                    session: writer.session.clone(),
                    person: writer.person.clone(),
                    vouched,
                    what,
                }
            })
            .collect()
    }

    /// Who is here and who drives, as console `i` reads it.
    fn people(&self, i: usize) -> Msg {
        let people = self
            .seats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.alive)
            .map(|(k, s)| Present {
                operator: s.s.operator.clone(),
                session: s.s.session.clone(),
                what: "console".into(),
                since: Ts(0),
                read_only: s.s.services[0].read_only,
                drives: Vec::new(),
                me: k == i,
            })
            .collect();
        let leases = self
            .holder()
            .map(|l| LeaseView {
                service: "web".into(),
                operator: self.seats[l.holder].s.operator.clone(),
                session: self.seats[l.holder].s.session.clone(),
                token: l.token,
                since: Ts(l.since),
                lost: self.lost(l),
                quiet_s: (self.now - l.beat) / 1000,
            })
            .into_iter()
            .collect();
        Msg::People {
            people,
            leases,
            at: Ts(self.now),
        }
    }

    /// Hand `msg` to console `i`, check the promise, keep what it asked for.
    fn deliver(&mut self, i: usize, msg: Msg) -> Result<(), Broken> {
        if !self.seats[i].alive || self.seats[i].paused {
            return Ok(());
        }
        let before = self.seats[i].s.services[0]
            .rollback
            .checklist
            .as_ref()
            .and_then(|c| c.current())
            .map(|s| s.status.clone());
        let overriding = matches!(
            self.seats[i].s.ui.input.as_ref().map(|x| &x.purpose),
            Some(crate::model::InputPurpose::OverrideReason { .. })
        ) && msg == Msg::Text(TextKey::Submit, msg.at());
        let meanwhile = self.seats[i].s.services[0]
            .rollback
            .approved_meanwhile
            .clone();
        // The approvals this message brings, and whether each is valid.
        if let Msg::Shared { rows, .. } = &msg {
            for r in rows {
                if let SharedWhat::Approval {
                    driver,
                    request,
                    act: ApprovalAct::Approve,
                } = &r.what
                    && *driver == self.seats[i].s.session
                {
                    let valid = r.vouched.is_some()
                        && r.vouched != self.seats[i].s.vouched
                        && r.person != self.seats[i].s.person;
                    if valid {
                        self.seats[i].approved.push(*request);
                    }
                }
            }
        }
        let fx = update(&mut self.seats[i].s, msg.clone());
        self.check(i, &msg, &fx, before, overriding, meanwhile)?;
        // The room's guards at work on this console: held back by a
        // rollback another console made, or a change of theirs in flight.
        let rb = &self.seats[i].s.services[0].rollback;
        let me = &self.seats[i].s.operator;
        let blocked_by_room = matches!(
            &rb.decision,
            crate::decision::Decision::Blocked {
                block: crate::decision::Block::Cooldown { .. }
                    | crate::decision::Block::MaxRollbacks { .. },
                ..
            }
        ) && rb.history.iter().any(|r| &r.by != me);
        if blocked_by_room || !rb.elsewhere.is_empty() && !fx.is_empty() {
            count(GUARDED);
        }
        self.publish(i);
        self.seats[i].inbox.extend(fx);
        Ok(())
    }

    /// The rules of the promise for what console `i` just did.
    fn check(
        &self,
        i: usize,
        msg: &Msg,
        fx: &[Effect],
        before: Option<StepStatus>,
        overriding: bool,
        meanwhile: Option<(u64, String)>,
    ) -> Result<(), Broken> {
        let s = &self.seats[i].s;
        let read_only = s.services[0].read_only;
        if s.events
            .iter()
            .any(|e| e.text.starts_with("refused at the root"))
        {
            return Err(Broken::SkippedQuestion { console: i });
        }
        for e in fx {
            let acting = matches!(
                e,
                Effect::Lease { .. }
                    | Effect::Role { .. }
                    | Effect::Approval { .. }
                    | Effect::OpenIncident { .. }
                    | Effect::CloseIncident { .. }
                    | Effect::AckInterrupted { .. }
                    | Effect::SetWeights { .. }
            ) || matches!(e, Effect::Step { work, .. } if work.mutates());
            if read_only && acting {
                return Err(Broken::ReadOnlyActed {
                    console: i,
                    effect: format!("{e:?}"),
                });
            }
            let Effect::Step { work, .. } = e else {
                continue;
            };
            if !work.mutates() {
                continue;
            }
            // Nobody else drives it, as far as this console knows.
            if let Some(l) = s.leases.iter().find(|l| l.service == "web")
                && l.session != s.session
                && !l.lost
            {
                return Err(Broken::BesideTheDriver {
                    console: i,
                    work: format!("{work:?}"),
                    driver: l.operator.clone(),
                });
            }
            // The two-person rule: a second vouched account's approval.
            let covered = matches!(
                work,
                StepWork::Switch { .. } | StepWork::Revert { .. } | StepWork::Command { .. }
            );
            if self.two_person && covered {
                let request = match &before {
                    Some(StepStatus::AwaitingApproval { request, .. }) => Some(*request),
                    _ => None,
                };
                let approved = request.is_some_and(|r| {
                    self.seats[i].approved.contains(&r)
                        || meanwhile.as_ref().is_some_and(|(m, _)| *m == r)
                });
                let overridden = overriding && self.allow_override;
                if !(approved || overridden) {
                    return Err(Broken::Unapproved {
                        console: i,
                        work: format!("{work:?}"),
                        request,
                        msg: format!("{msg:?}"),
                    });
                }
            }
            // The room's rules, judged by a console that has seen every row.
            if matches!(work, StepWork::Switch { .. } | StepWork::Revert { .. })
                && self.seats[i].cursor == self.head()
                && let Err(why) = self.judged(true)
            {
                return Err(Broken::RoomRefuses {
                    console: i,
                    work: format!("{work:?}"),
                    why,
                });
            }
        }
        Ok(())
    }

    /// The checklist a console drives, published when it changed (as the
    /// engine does).
    fn publish(&mut self, i: usize) {
        let c = self.seats[i].s.services[0].rollback.checklist.clone();
        if c == self.seats[i].published {
            return;
        }
        self.seats[i].published = c.clone();
        if let (Some(c), true) = (c, self.seats[i].journal_up) {
            self.write(i, What::Checklist(Box::new(c)));
        }
    }

    /// The lease for console `i`'s executor: its own, or a free one
    /// (`take_over`: also a lost driver's, a person having confirmed).
    fn take(&mut self, i: usize, take_over: bool) -> Result<i64, Refused> {
        if self.seats[i].s.services[0].read_only {
            return Err(Refused::ReadOnly("lease"));
        }
        let now = self.now;
        match self.lease.clone() {
            // Its own (taken before, or handed to it): a heartbeat.
            Some(l) if l.holder == i => {
                self.seats[i].token = Some(l.token);
                if let Some(l) = self.lease.as_mut() {
                    l.beat = now;
                }
                Ok(l.token)
            }
            Some(l) if l.holder != i && !(take_over && self.lost(&l)) => {
                Err(Refused::Held(self.seats[l.holder].s.operator.clone()))
            }
            previous => {
                if previous.as_ref().is_some_and(|l| l.holder != i) {
                    count(TAKE_OVERS);
                }
                let token = self.next_token;
                self.next_token += 1;
                self.lease = Some(Lease {
                    holder: i,
                    token,
                    beat: now,
                    since: now,
                });
                self.seats[i].token = Some(token);
                self.write(i, What::Drives);
                Ok(token)
            }
        }
    }

    /// The lease `token` is web's current one (the fence's one test).
    fn current(&self, token: i64) -> bool {
        self.lease.as_ref().is_some_and(|l| l.token == token)
    }

    /// Console `i`'s executor takes up effect `k` of its inbox.
    fn exec(&mut self, i: usize, k: usize) -> Result<(), Broken> {
        if self.seats[i].inbox.is_empty() || !self.seats[i].alive || self.seats[i].paused {
            return Ok(());
        }
        let k = k % self.seats[i].inbox.len();
        let e = self.seats[i].inbox.remove(k);
        let at = Ts(self.now);
        let up = self.seats[i].journal_up;
        let msgs: Vec<Msg> = match e {
            Effect::Step {
                service,
                run,
                step,
                work,
                ..
            } => match &work {
                StepWork::PreviewSwitch { request, .. }
                | StepWork::PreviewRevert { request, .. } => {
                    vec![Msg::StepPreview {
                        service,
                        run,
                        step,
                        request: *request,
                        result: Ok(vec![format!("preview#{request}")]),
                        at,
                    }]
                }
                w if !w.mutates() => vec![Msg::StepDone {
                    service,
                    run,
                    step,
                    outcome: StepOutcome::ok(vec!["checked".into()]),
                    at,
                }],
                _ => {
                    let failed = |why: String| Msg::StepDone {
                        service,
                        run,
                        step,
                        outcome: StepOutcome::failed(why, vec![]),
                        at,
                    };
                    let rollback =
                        matches!(work, StepWork::Switch { .. } | StepWork::Revert { .. });
                    let name = work.name().replace(' ', "-");
                    match self.intent(i, &name, rollback, up) {
                        Ok((intent, token)) => {
                            self.running.push(Running {
                                console: i,
                                run,
                                step,
                                work: work.clone(),
                                intent,
                                token,
                            });
                            Vec::new()
                        }
                        Err(why) => vec![failed(why.to_string())],
                    }
                }
            },
            Effect::SetWeights { from, to, .. } => {
                // The operator's manual escape: a change, not a rollback.
                match self.intent(i, "set-weights", false, up) {
                    Ok((intent, token)) => {
                        if self.current(token) {
                            self.weights = to.clone();
                            count(CHANGES);
                            self.write(i, What::Outcome { intent, good: true });
                            vec![Msg::WeightsSet {
                                service: 0,
                                from,
                                to,
                                by: "sim".into(),
                                log: vec![],
                                at,
                            }]
                        } else {
                            self.write(
                                i,
                                What::Outcome {
                                    intent,
                                    good: false,
                                },
                            );
                            vec![Msg::WeightsFailed {
                                service: 0,
                                error: "the lease moved".into(),
                                log: vec![],
                                at,
                            }]
                        }
                    }
                    Err(why) => vec![Msg::WeightsFailed {
                        service: 0,
                        error: why.to_string(),
                        log: vec![],
                        at,
                    }],
                }
            }
            Effect::PreviewWeights { request, .. } => vec![Msg::WeightsPreview {
                service: 0,
                request,
                result: Ok(vec![format!("preview#{request}")]),
                at,
            }],
            Effect::OpenIncident { service, .. } => {
                self.incidents += 1;
                vec![Msg::IncidentOpened {
                    service,
                    id: self.incidents,
                    at,
                }]
            }
            Effect::Lease { act, .. } => {
                let result = if !up {
                    Err(Refused::Down)
                } else {
                    match &act {
                        LeaseAct::Take { from, .. } => self
                            .take(i, from.is_some())
                            .map(|t| format!("you drive web (lease {t})")),
                        LeaseAct::Ask => {
                            self.write(i, What::Ask);
                            Ok("asked".into())
                        }
                        LeaseAct::HandOver { session, operator } => {
                            let to = self.seats.iter().position(|s| &s.s.session == session);
                            match (self.lease.clone(), to) {
                                (Some(l), Some(to))
                                    if l.holder == i && self.seats[i].token == Some(l.token) =>
                                {
                                    let token = self.next_token;
                                    self.next_token += 1;
                                    self.lease = Some(Lease {
                                        holder: to,
                                        token,
                                        beat: self.now,
                                        since: self.now,
                                    });
                                    self.seats[i].token = None;
                                    count(HANDOVERS);
                                    self.write(
                                        i,
                                        What::HandedOver {
                                            session: session.clone(),
                                            operator: operator.clone(),
                                        },
                                    );
                                    Ok("handed over".into())
                                }
                                _ => Err(Refused::NotYours),
                            }
                        }
                    }
                };
                vec![Msg::LeaseDone {
                    service: "web".into(),
                    act,
                    // As the engine hands a console the room's answer: in words.
                    result: result.map_err(|e| e.to_string()),
                    at,
                }]
            }
            Effect::Approval {
                driver,
                request,
                act,
                ..
            } => {
                if self.seats[i].s.services[0].read_only {
                    return Err(Broken::ReadOnlyApproves { console: i });
                }
                if up {
                    self.write(
                        i,
                        What::Approval {
                            driver,
                            request,
                            act,
                        },
                    );
                }
                Vec::new()
            }
            Effect::AckInterrupted { intent, .. } => {
                let token = self.take(i, false);
                match token {
                    Ok(t) if up && self.current(t) => {
                        let answered = self.rows.iter().any(
                            |o| matches!(o.what, What::Outcome { intent: x, .. } if x == intent),
                        );
                        if !answered {
                            self.write(i, What::Outcome { intent, good: true });
                        }
                        Vec::new()
                    }
                    _ => Vec::new(),
                }
            }
            // A role row is written as asked (no lease, no fence): its
            // standing is the journal order's.
            Effect::Role {
                role,
                change,
                from,
                incident,
                ..
            } => {
                if up {
                    self.write(
                        i,
                        What::Role {
                            role,
                            change,
                            from,
                            incident,
                        },
                    );
                }
                Vec::new()
            }
            Effect::CheckReal { intent, .. } => vec![Msg::RealState {
                intent,
                text: "blue 0 % · green 100 %".into(),
                at,
            }],
            _ => Vec::new(),
        };
        for m in msgs {
            self.deliver(i, m)?;
        }
        Ok(())
    }

    /// The intent of a change from console `i`, if the room writes it:
    /// under its lease's fence, judged by the room's rules.
    fn intent(
        &mut self,
        i: usize,
        work: &str,
        rollback: bool,
        up: bool,
    ) -> Result<(i64, i64), Refused> {
        if !up {
            return Err(Refused::Down);
        }
        if self.seats[i].s.services[0].read_only {
            return Err(Refused::ReadOnly("intent"));
        }
        let token = match self.seats[i].token {
            Some(t) if self.current(t) => t,
            Some(_) => {
                count(FENCED);
                self.seats[i].token = None;
                return Err(Refused::Fenced);
            }
            None => self.take(i, false)?,
        };
        if let Err(why) = self.judged(rollback) {
            count(GUARDED);
            return Err(why);
        }
        let route = rollback.then(|| ("green".to_string(), "blue".to_string()));
        let id = self.write(
            i,
            What::Intent {
                work: work.to_string(),
                text: work.replace('-', " "),
                route,
                token,
            },
        );
        Ok((id, token))
    }

    /// A provider call of change `k` in flight: only while its lease holds.
    fn provider(&mut self, k: usize, ok: bool) -> Result<(), Broken> {
        if self.running.is_empty() {
            return Ok(());
        }
        let k = k % self.running.len();
        let r = self.running[k].clone();
        let seat = &self.seats[r.console];
        if !seat.alive || seat.paused {
            // A stopped process does not call its provider.
            return Ok(());
        }
        self.running.remove(k);
        let at = Ts(self.now);
        let holds = self.current(r.token);
        let good = holds && ok;
        if good {
            if let StepWork::Switch { to, .. } = &r.work {
                self.weights = to.clone();
            }
            count(CHANGES);
        } else if !holds {
            count(FENCED);
        }
        if self.seats[r.console].journal_up {
            self.write(
                r.console,
                What::Outcome {
                    intent: r.intent,
                    good,
                },
            );
        }
        let mut msgs = Vec::new();
        if let (true, StepWork::Switch { from, to }) = (good, &r.work) {
            msgs.push(Msg::WeightsSet {
                service: 0,
                from: from.clone(),
                to: to.clone(),
                by: "sim".into(),
                log: vec![],
                at,
            });
        }
        msgs.push(Msg::StepDone {
            service: 0,
            run: r.run,
            step: r.step,
            outcome: if good {
                StepOutcome::ok(vec!["done".into()])
            } else if holds {
                StepOutcome::failed("the provider failed", vec![])
            } else {
                StepOutcome::failed("the lease moved: nothing was changed", vec![])
            },
            at,
        });
        for m in msgs {
            self.deliver(r.console, m)?;
        }
        Ok(())
    }

    /// The journal's own promises, always.
    fn journal_holds(&self) -> Result<(), Broken> {
        let mut open = 0;
        let mut newest_token = 0;
        for r in &self.rows {
            if let What::Intent { token, .. } = r.what {
                // Fencing tokens only grow: no intent under an older lease
                // after one under a newer.
                if token < newest_token {
                    return Err(Broken::OlderToken {
                        intent: r.id,
                        token,
                        newest: newest_token,
                    });
                }
                newest_token = token;
                let outcomes = self.outcomes.get(&r.id).copied().unwrap_or(0);
                if outcomes > 1 {
                    return Err(Broken::Outcomes {
                        intent: r.id,
                        outcomes,
                    });
                }
                if outcomes == 0 {
                    open += 1;
                }
                if self.seats[r.console].s.services[0].read_only {
                    return Err(Broken::ReadOnlyWrote {
                        console: r.console,
                        intent: r.id,
                    });
                }
            }
        }
        if open > 1 {
            return Err(Broken::OpenAtOnce { open });
        }
        Ok(())
    }

    /// The roles as the journal's order says: every role row, folded.
    fn journal_roles(&self) -> crate::roles::Roles {
        let mut roles = crate::roles::Roles::default();
        for r in &self.rows {
            if let What::Role {
                role,
                change,
                from,
                incident,
            } = &r.what
            {
                let w = &self.seats[r.console].s;
                let row = crate::roles::RoleRow {
                    role: *role,
                    change: change.clone(),
                    from: from.clone(),
                    operator: w.operator.clone(),
                    session: w.session.clone(),
                    at: Ts(r.at),
                    incident: *incident,
                };
                let stood = roles.apply(&row).is_ok();
                count(if stood { ROLES_TAKEN } else { ROLE_RACES_LOST });
            }
        }
        roles
    }

    /// Every console caught up with the journal sees the roles it says.
    fn roles_agree(&self) -> Result<(), Broken> {
        let journal = self.journal_roles();
        for (i, seat) in self.seats.iter().enumerate() {
            if !seat.alive || seat.paused || seat.cursor != self.head() {
                continue;
            }
            let seen = &seat.s.services[0].rollback.roles;
            if *seen != journal {
                return Err(Broken::RolesDiffer {
                    console: i,
                    seen: Box::new(seen.clone()),
                    journal: Box::new(journal),
                });
            }
        }
        Ok(())
    }

    fn play(&mut self, op: Op) -> Result<(), Broken> {
        let at = Ts(self.now);
        match op {
            Op::Key(i, a) => self.deliver(i, Msg::Action(a, at))?,
            Op::Text(i, t) => self.deliver(i, Msg::Text(t, at))?,
            Op::Type(i, word) => {
                for c in word.chars() {
                    self.deliver(i, Msg::Text(TextKey::Char(c), at))?;
                }
                self.deliver(i, Msg::Text(TextKey::Submit, at))?;
            }
            Op::Wait(ms) => {
                self.now += i64::from(ms);
                self.beat();
                for i in 0..self.seats.len() {
                    self.deliver(i, Msg::Tick(Ts(self.now)))?;
                }
            }
            Op::World(env, status) => {
                self.health[env] = status;
                for i in 0..self.seats.len() {
                    self.probe(i, env)?;
                }
            }
            Op::Probe(i) => {
                self.probe(i, 0)?;
                self.probe(i, 1)?;
            }
            Op::Traffic(i) => {
                let w = self.weights.clone();
                self.deliver(
                    i,
                    Msg::TrafficRead {
                        service: 0,
                        result: Ok(w),
                        at,
                    },
                )?;
            }
            Op::Tail(i) => {
                if self.seats[i].paused || !self.seats[i].alive {
                    return Ok(());
                }
                let from = self.seats[i].cursor;
                let rows: Vec<Row> = self.rows.iter().filter(|r| r.id > from).cloned().collect();
                self.seats[i].cursor = self.head();
                let shared = self.shared(i, &rows);
                if !shared.is_empty() {
                    self.deliver(i, Msg::Shared { rows: shared, at })?;
                }
            }
            Op::People(i) => {
                let m = self.people(i);
                self.deliver(i, m)?;
            }
            Op::Exec(i, k) => self.exec(i, k)?,
            Op::Provider(k, ok) => self.provider(k, ok)?,
            Op::JournalDown(i, up) => {
                self.seats[i].journal_up = up;
                let down = (!up).then(|| "the table does not answer".to_string());
                self.deliver(i, Msg::JournalHealth { down, at })?;
            }
            Op::Pause(i) => {
                if self.seats[i].alive && !self.seats[i].paused {
                    count(KILLS_AND_PAUSES);
                }
                self.seats[i].paused = true;
            }
            Op::Resume(i) => self.seats[i].paused = false,
            Op::Kill(i) => {
                // Never every console: someone is left to act.
                if self.seats.iter().filter(|s| s.alive).count() > 1 && self.seats[i].alive {
                    count(KILLS_AND_PAUSES);
                    self.seats[i].alive = false;
                    self.running.retain(|r| r.console != i);
                }
            }
            Op::Failed(i) => self.deliver(
                i,
                Msg::EffectFailed {
                    effect: "something".into(),
                    error: "it failed".into(),
                    at,
                },
            )?,
            Op::Step(i) => {
                self.deliver(i, Msg::Action(Action::OpenDetail, at))?;
                self.settle(Some(i))?;
                self.deliver(i, Msg::Action(Action::Confirm, at))?;
                self.settle(Some(i))?;
            }
            Op::Settle => self.settle(None)?,
            Op::TailAll => {
                for i in 0..self.seats.len() {
                    self.play(Op::Tail(i))?;
                }
                self.roles_agree()?;
            }
            Op::Role(i, line) => {
                self.deliver(i, Msg::Action(Action::CommandLine, at))?;
                self.play(Op::Type(i, line))?;
            }
            Op::Approve(i) => {
                // Asked, read, answered.
                self.deliver(i, Msg::Action(Action::Approve, at))?;
                self.now += 500;
                self.deliver(i, Msg::Action(Action::Confirm, Ts(self.now)))?;
            }
            Op::Words(i, words) => {
                // Typed at the keys as fast as people type, no line open:
                // whatever the letters are bound to, nothing may act.
                let before = self.seats[i].inbox.len();
                for c in words.chars() {
                    if let Some(a) = key_of(c) {
                        self.deliver(i, Msg::Action(a, Ts(self.now)))?;
                    }
                    self.now += 80;
                }
                let acted: Vec<&Effect> = self.seats[i].inbox[before..]
                    .iter()
                    .filter(|e| {
                        matches!(
                            e,
                            Effect::Approval {
                                act: ApprovalAct::Approve,
                                ..
                            } | Effect::Lease { .. }
                        ) || matches!(e, Effect::Step { work, .. } if work.mutates())
                    })
                    .collect();
                if !acted.is_empty() {
                    return Err(Broken::TypingActed {
                        console: i,
                        words,
                        acted: format!("{acted:?}"),
                    });
                }
            }
            Op::TakeOver(i) => {
                self.deliver(i, Msg::Action(Action::Drive, at))?;
                self.play(Op::Type(i, "yes"))?;
                self.settle(Some(i))?;
            }
            Op::Frozen(i, j) => {
                if i == j || !self.seats[i].alive {
                    return Ok(());
                }
                // Stopped with a change in hand: its intent written, its
                // provider not yet called.
                self.deliver(i, Msg::Action(Action::OpenDetail, at))?;
                self.execute(i)?;
                self.deliver(i, Msg::Action(Action::Confirm, at))?;
                self.execute(i)?;
                self.play(Op::Pause(i))?;
                self.play(Op::Wait(40_000))?;
                self.play(Op::People(j))?;
                self.play(Op::TakeOver(j))?;
                self.play(Op::Step(j))?;
                self.play(Op::Resume(i))?;
                self.settle(Some(i))?;
            }
            Op::Forge(i, j) => {
                let waiting = self.seats[j].s.services[0]
                    .rollback
                    .checklist
                    .as_ref()
                    .and_then(|c| c.current())
                    .and_then(|s| match s.status {
                        StepStatus::AwaitingApproval { request, .. } => Some(request),
                        _ => None,
                    });
                if let (Some(request), true) = (waiting, i != j) {
                    let driver = self.seats[j].s.session.clone();
                    self.write(
                        i,
                        What::Approval {
                            driver,
                            request,
                            act: ApprovalAct::Approve,
                        },
                    );
                    self.play(Op::Tail(j))?;
                }
            }
            Op::Hand => {
                if let Some(l) = self.lease.clone() {
                    self.deliver(l.holder, Msg::Action(Action::HandOver, at))?;
                    self.now += 500;
                    self.deliver(l.holder, Msg::Action(Action::Confirm, Ts(self.now)))?;
                    self.settle(Some(l.holder))?;
                }
            }
        }
        self.beat();
        self.now += 50;
        self.journal_holds()
    }

    /// Console `i`'s executor does all it was asked, providers aside.
    fn execute(&mut self, i: usize) -> Result<(), Broken> {
        while !self.seats[i].inbox.is_empty() && self.seats[i].alive && !self.seats[i].paused {
            self.exec(i, 0)?;
        }
        Ok(())
    }

    /// The executors do all they were asked (of console `only`, or all),
    /// and the providers answer, in order: a few rounds, as answers ask
    /// for more.
    fn settle(&mut self, only: Option<usize>) -> Result<(), Broken> {
        for _ in 0..4 {
            for i in 0..self.seats.len() {
                if only.is_some_and(|o| o != i) {
                    continue;
                }
                while !self.seats[i].inbox.is_empty()
                    && self.seats[i].alive
                    && !self.seats[i].paused
                {
                    self.exec(i, 0)?;
                }
            }
            let mut k = 0;
            while k < self.running.len() {
                let r = &self.running[k];
                let mine = only.is_none_or(|o| o == r.console);
                let seat = &self.seats[r.console];
                if mine && seat.alive && !seat.paused {
                    self.provider(k, true)?;
                } else {
                    k += 1;
                }
            }
        }
        Ok(())
    }

    fn probe(&mut self, i: usize, env: usize) -> Result<(), Broken> {
        let result = probe(self.health[env], self.now);
        self.deliver(
            i,
            Msg::Probed {
                endpoint: EndpointId {
                    service: 0,
                    env,
                    endpoint: 0,
                },
                result,
            },
        )
    }

    /// What the walk showed of approvals: valid ones given, and refusals.
    fn tally(&self) {
        for s in &self.seats {
            if !s.approved.is_empty() {
                count(APPROVED);
            }
            if s.s.events.iter().any(|e| {
                e.text.contains("approval from") || e.text.contains("a second person approves")
            }) {
                count(REFUSED_APPROVALS);
            }
        }
    }
}

/// The default keymap's one-letter bindings a sentence may hit.
fn key_of(c: char) -> Option<Action> {
    Some(match c {
        'a' => Action::Approve,
        'y' => Action::Confirm,
        'H' => Action::HandOver,
        'f' => Action::InjectFault,
        'c' => Action::ClearFaults,
        's' => Action::Skip,
        'e' => Action::Explain,
        _ => return None,
    })
}

/// A start that reaches the interesting part often: green fails, and the
/// first console opens the rollback.
fn opening() -> Vec<Op> {
    vec![
        Op::World(1, HealthStatus::Critical),
        Op::World(1, HealthStatus::Critical),
        Op::World(1, HealthStatus::Critical),
        Op::Key(0, Action::StartRollback),
    ]
}

#[test]
fn the_room_keeps_its_promise_over_several_consoles() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    let config = Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let walks = setup().prop_flat_map(|set| {
        let n = set.n;
        (Just(set), prop::collection::vec(op(n), 40..250))
    });
    let result = runner.run(&walks, |(set, ops)| {
        let mut room = Room::new(&set);
        for (k, o) in opening().into_iter().chain(ops).enumerate() {
            room.play(o.clone())
                .map_err(|why| TestCaseError::fail(format!("op {k} {o:?}: {why}")))?;
        }
        room.tally();
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // A property that never meets a change proves nothing: the walks
    // reach every part of the room's promise.
    let names = [
        "changes made",
        "valid approvals",
        "approvals refused",
        "take-overs",
        "handovers",
        "changes the room's guards refused",
        "writes the fence refused",
        "walks with a read-only console",
        "kills and pauses",
        "role rows that stood",
        "role rows that lost a race",
    ];
    let counts: Vec<(&str, usize)> = names
        .iter()
        .zip(COUNT.iter())
        .map(|(n, c)| (*n, c.load(Ordering::Relaxed)))
        .collect();
    eprintln!("the room's walks reached: {counts:?}");
    if cases >= 200 {
        for (name, n) in &counts {
            assert!(*n > 0, "no walk reached {name}: {counts:?}");
        }
    }
}
