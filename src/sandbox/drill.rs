//! Playing a drill scenario against the sandbox: the world it starts from,
//! the configuration that watches it at the drill's speed, and the timeline
//! task that deploys, moves traffic and injects faults on time.
//!
//! Speed compresses every time together — the scenario's timeline, the
//! probes, the rules' windows and holds, the runbook's waits — so only the
//! ratios decide what fires, as they would at 1×. The synthetic traffic is
//! scaled up with it (to a cap that keeps a small machine responsive), so a
//! shortened window still holds enough requests for the rules.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::core::rng::SplitMix;
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::{EnvSpec, Options, Sandbox};
use crate::clock::now;
use crate::config::Config;
use crate::core::decision::Mode;
use crate::core::drill::{DrillAction, Scenario};
use crate::core::msg::Msg;
use crate::core::traffic::Weights;
use crate::exec::set_weights_journaled;
use crate::providers::traffic::TrafficProvider;
use crate::room::Journal;

/// Requests per second of synthetic traffic at 1×.
pub const BASE_RATE: f64 = 50.0;
/// The most the generator is asked for, whatever the speed.
const MAX_RATE: f64 = 250.0;
/// Probes at 1× (the console's default).
const BASE_INTERVAL: Duration = Duration::from_secs(2);

/// How a drill is run.
#[derive(Clone, Debug)]
pub struct DrillOptions {
    pub speed: f64,
    pub seed: u64,
    /// The decision engine rolls back by itself (runbook's automatable path).
    pub auto: bool,
    /// Rehearse on real providers: the scenario's service as this
    /// configuration has it (`--target aws`: its ALB weights, its ECS
    /// deployment). The applications stay the sandbox's, so faults can be
    /// injected; everything backstop changes goes through the real path.
    pub real: Option<crate::config::ServiceConfig>,
    /// The real configuration's AWS settings.
    pub real_aws: Option<crate::config::aws::AwsTop>,
    /// Where the real configuration's room is (its journal and room name),
    /// its lease expiry and its secrets: the drill takes the service's
    /// lease there for as long as it plays, and journals every change to
    /// the real provider there, under that lease's fence — production's
    /// consoles see the drill and cannot act meanwhile.
    pub real_room: Option<RealRoom>,
}

/// The room a drill on real providers changes things in.
#[derive(Clone)]
pub struct RealRoom {
    pub place: crate::room::Place,
    pub expiry: Duration,
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for RealRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "room {} in {}", self.place.room, self.place.describe())
    }
}

impl DrillOptions {
    pub fn new(speed: f64, seed: u64, auto: bool) -> Self {
        DrillOptions {
            speed,
            seed,
            auto,
            real: None,
            real_aws: None,
            real_room: None,
        }
    }
}

/// The sandbox world a scenario starts from.
pub fn world(s: &Scenario) -> Vec<EnvSpec> {
    s.world
        .iter()
        .map(|w| EnvSpec {
            service: s.service.clone(),
            env: w.env.clone(),
            version: w.version.clone(),
            previous: w.previous.clone(),
            weight: w.weight,
            // Drills answer like real services: the panes and the score
            // read as they would on production.
            latency: crate::sandbox::latency::Latency::REQUESTS,
        })
        .collect()
}

/// Start the scenario's sandbox and the configuration that watches it at
/// `o.speed`.
pub async fn start(s: &Scenario, o: &DrillOptions) -> Result<(Arc<Sandbox>, Config)> {
    let rate = (BASE_RATE * o.speed).min(MAX_RATE);
    let envs: Vec<EnvSpec> = world(s)
        .into_iter()
        .map(|mut e| {
            e.latency = e.latency.faster(o.speed);
            e
        })
        .collect();
    let sandbox = Sandbox::start(&envs, &Options { rate })
        .await
        .with_context(|| format!("starting the sandbox of drill {}", s.name))?;
    let interval = BASE_INTERVAL.div_f64(o.speed);
    // A probe must finish inside its interval; loopback answers in
    // milliseconds, so most of the interval is margin for a busy machine.
    let timeout = (interval.mul_f64(0.8)).min(Duration::from_secs(1));
    let mut config = sandbox.config(interval, timeout);
    config.title = format!("drill {}", s.name);
    // The scenario's world is new; on real providers, the service's own
    // rollbacks still hold their cooldown.
    config.fresh_world = o.real.is_none();
    // The update cadence in the scenario's time, like its waits.
    config.severities = crate::core::severity::scaled(&config.severities, o.speed);
    for svc in &mut config.services {
        svc.policy = svc.policy.scaled(o.speed);
        svc.policy.mode = if o.auto { Mode::Auto } else { Mode::Advise };
        svc.runbook = svc.runbook.scaled(o.speed);
        if let Some(real) = o.real.as_ref().filter(|r| r.name == svc.name) {
            let mine: Vec<&str> = svc.environments.iter().map(|e| e.name.as_str()).collect();
            let theirs: Vec<&str> = real.environments.iter().map(|e| e.name.as_str()).collect();
            if mine != theirs {
                anyhow::bail!(
                    "drill {} plays on environments {} of {}, the configuration has {}",
                    s.name,
                    mine.join(", "),
                    svc.name,
                    theirs.join(", ")
                );
            }
            svc.traffic = real.traffic.clone();
            if real.deploy.is_some() {
                svc.deploy = real.deploy.clone();
            }
        }
        if let Some(t) = svc.traffic.as_mut() {
            t.interval = t.interval.min(interval);
            // Real load balancers are read at a real pace (500 ms at least).
            if o.real.is_some() {
                t.interval = t.interval.max(Duration::from_millis(500));
            }
        }
    }
    if let Some(aws) = &o.real_aws {
        config.aws = aws.clone();
    }
    Ok((Arc::new(sandbox), config))
}

/// Play the timeline from now: each step at its time (already scaled), then
/// `DrillEnd` at the scenario's end. What the sandbox refuses is reported
/// and the drill goes on. It stops early when `stop` turns true (the drill
/// was scored before its end), and on a real provider it puts back the
/// weights it found; the answer says what it put back. Every change to a
/// real provider is journaled like any other: intent, change, outcome.
pub fn play(
    sandbox: Arc<Sandbox>,
    scenario: Scenario,
    seed: u64,
    real: Option<Real>,
    mut stop: watch::Receiver<bool>,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<Option<String>> {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let service = scenario.service.clone();
        // Flaps and the mirror: stopped with the timeline, however it ends.
        let mut helpers = JoinSet::new();
        // On real providers the load balancer starts where the world does,
        // and the sandbox router mirrors it so the synthetic traffic goes
        // where the real weights say.
        let mut found = None;
        if let Some(r) = &real {
            match r.provider.read().await {
                Ok(w) => found = Some(w),
                Err(e) => refused(&tx, "weights", e.message).await,
            }
            let w =
                Weights::from_percents(scenario.world.iter().map(|w| (w.env.as_str(), w.weight)));
            set_real(r, &service, &w, &tx).await;
            helpers.spawn(mirror(r.provider.clone(), sandbox.clone(), service.clone()));
        }
        let mut rng = SplitMix(seed);
        let timeline = async {
            for step in &scenario.timeline {
                tokio::time::sleep_until(start + step.at).await;
                let text = step.action.describe();
                let _ = tx.send(Msg::DrillStep { text, at: now() }).await;
                match &step.action {
                    DrillAction::Deploy { env, version } => {
                        if let Err(e) = sandbox.deploy(&service, env, version) {
                            refused(&tx, "deploy", e.to_string()).await;
                        }
                    }
                    DrillAction::Weights { weights } => {
                        let w =
                            Weights::from_percents(weights.iter().map(|(e, p)| (e.as_str(), *p)));
                        match &real {
                            Some(r) => set_real(r, &service, &w, &tx).await,
                            None => {
                                if let Err(e) = sandbox.set_weights(&service, &w) {
                                    refused(&tx, "weights", e.to_string()).await;
                                }
                            }
                        }
                    }
                    DrillAction::Fault { env, fault } => {
                        fault_set(&sandbox, &service, env, Some(*fault), &tx).await;
                    }
                    DrillAction::Heal { env } => {
                        fault_set(&sandbox, &service, env, None, &tx).await;
                    }
                    DrillAction::Flap {
                        env,
                        fault,
                        every,
                        length,
                    } => {
                        // Each half-period jittered by up to ±20 %, from the
                        // seed: the same seed flaps the same way.
                        let mut toggles = Vec::new();
                        let mut t = Duration::ZERO;
                        while t < *length {
                            toggles.push(t);
                            t += every
                                .mul_f64(0.8 + 0.4 * rng.unit())
                                .max(Duration::from_millis(1));
                        }
                        let (sb, tx, svc, env, fault) = (
                            sandbox.clone(),
                            tx.clone(),
                            service.clone(),
                            env.clone(),
                            *fault,
                        );
                        let begun = tokio::time::Instant::now();
                        let end = begun + *length;
                        helpers.spawn(async move {
                            for (i, at) in toggles.into_iter().enumerate() {
                                tokio::time::sleep_until(begun + at).await;
                                let f = (i % 2 == 0).then_some(fault);
                                fault_set(&sb, &svc, &env, f, &tx).await;
                            }
                            tokio::time::sleep_until(end).await;
                            fault_set(&sb, &svc, &env, None, &tx).await;
                        });
                    }
                }
            }
            tokio::time::sleep_until(start + scenario.ends).await;
            let _ = tx.send(Msg::DrillEnd { at: now() }).await;
        };
        tokio::select! {
            () = timeline => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        helpers.shutdown().await;
        // Leave the real provider as the drill found it.
        let (r, w) = (real?, found?);
        let p = &r.provider;
        match p.read().await {
            Ok(now_w) if now_w.same_split(&w) => None,
            Ok(now_w) => {
                let change = Weights::describe_change(&now_w, &w);
                let put_back = set_weights_journaled(
                    r.journal.as_ref(),
                    r.fence.clone(),
                    r.holding.clone(),
                    p.as_ref(),
                    &service,
                    &now_w,
                    &w,
                    RESTORER,
                )
                .await;
                Some(match put_back {
                    Ok(_) => format!("{} put back as the drill found it: {change}", p.target()),
                    Err(e) => format!(
                        "{} could NOT be put back ({change}): {}",
                        p.target(),
                        e.message
                    ),
                })
            }
            Err(e) => Some(format!(
                "{} could NOT be read to put it back as the drill found it: {}",
                p.target(),
                e.message
            )),
        }
    })
}

/// A real provider a drill changes, and the room it journals in: the
/// production journal, under the lease the drill holds there.
pub struct Real {
    pub provider: Arc<dyn TrafficProvider>,
    pub journal: Option<Journal>,
    pub fence: Option<crate::room::Fence>,
    pub holding: crate::providers::LeaseCheck,
}

/// Who the journal says made a drill's own changes to a real provider.
const SCENARIO: &str = "drill scenario";
const RESTORER: &str = "drill (putting back what it found)";

/// The scenario's own weight change on a real provider (as a deploy
/// pipeline would make it): read, then set, journaled.
async fn set_real(r: &Real, service: &str, to: &Weights, tx: &mpsc::Sender<Msg>) {
    let p = r.provider.as_ref();
    let result = match p.read().await {
        Ok(from) if from.same_split(to) => Ok(()),
        Ok(from) => set_weights_journaled(
            r.journal.as_ref(),
            r.fence.clone(),
            r.holding.clone(),
            p,
            service,
            &from,
            to,
            SCENARIO,
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        refused(tx, "weights", e.message).await;
    }
}

/// Keep the sandbox router on the real provider's weights.
async fn mirror(p: Arc<dyn TrafficProvider>, sandbox: Arc<Sandbox>, service: String) {
    let mut every = tokio::time::interval(Duration::from_millis(500));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Ok(w) = p.read().await {
            let _ = sandbox.set_weights(&service, &w);
        }
    }
}

async fn fault_set(
    sandbox: &Sandbox,
    service: &str,
    env: &str,
    fault: Option<crate::core::model::Fault>,
    tx: &mpsc::Sender<Msg>,
) {
    let msg = match sandbox.set_fault(service, env, fault) {
        Ok(()) => Msg::FaultSet {
            service: service.into(),
            env: env.into(),
            fault,
            at: now(),
        },
        Err(e) => Msg::EffectFailed {
            effect: "drill fault".into(),
            error: e.to_string(),
            at: now(),
        },
    };
    let _ = tx.send(msg).await;
}

async fn refused(tx: &mpsc::Sender<Msg>, what: &str, error: String) {
    let _ = tx
        .send(Msg::EffectFailed {
            effect: format!("drill {what}"),
            error,
            at: now(),
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_jitters_the_same_way() {
        let (mut a, mut b, mut c) = (SplitMix(7), SplitMix(7), SplitMix(8));
        let xa: Vec<f64> = (0..5).map(|_| a.unit()).collect();
        let xb: Vec<f64> = (0..5).map(|_| b.unit()).collect();
        let xc: Vec<f64> = (0..5).map(|_| c.unit()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
        assert!(xa.iter().all(|x| (0.0..1.0).contains(x)));
    }
}
