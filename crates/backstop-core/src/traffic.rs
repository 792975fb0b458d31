//! Traffic split: who holds the traffic, and the editor an operator uses to
//! move it. Providers (nginx, a CLI, the sandbox router, an ALB) translate
//! these weights into their own terms.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// How a load balancer treats one environment's servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    /// Takes its weight's share.
    Active,
    /// Takes traffic only when every active server is down (nginx `backup`).
    Backup,
    /// Takes nothing (nginx `down`, or weight 0).
    Down,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvWeight {
    pub env: String,
    pub weight: u32,
    pub server: Server,
}

/// The weights of a service's environments, as the provider holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights(pub Vec<EnvWeight>);

impl Weights {
    /// Weights from percentages; 0 % means down.
    pub fn from_percents<'a>(pairs: impl IntoIterator<Item = (&'a str, u32)>) -> Self {
        Weights(
            pairs
                .into_iter()
                .map(|(env, pct)| EnvWeight {
                    env: env.to_string(),
                    weight: pct,
                    server: if pct == 0 {
                        Server::Down
                    } else {
                        Server::Active
                    },
                })
                .collect(),
        )
    }

    fn active_total(&self) -> u64 {
        self.0
            .iter()
            .filter(|w| w.server == Server::Active)
            .map(|w| u64::from(w.weight))
            .sum()
    }

    /// The share of traffic `env` takes, 0–100.
    pub fn share(&self, env: &str) -> f64 {
        let total = self.active_total();
        self.0
            .iter()
            .find(|w| w.env == env && w.server == Server::Active)
            .filter(|_| total > 0)
            .map_or(0.0, |w| f64::from(w.weight) * 100.0 / total as f64)
    }

    /// Whole percentages summing to 100 (when anything is active), in order.
    pub fn percents(&self) -> Vec<u32> {
        let total = self.active_total();
        if total == 0 {
            return vec![0; self.0.len()];
        }
        let exact: Vec<f64> = self.0.iter().map(|w| self.share(&w.env)).collect();
        let mut pct: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
        // Hand out what rounding down lost to the largest remainders.
        let mut short = 100u32.saturating_sub(pct.iter().sum());
        let mut order: Vec<usize> = (0..pct.len()).collect();
        order.sort_by(|a, b| {
            (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor()))
        });
        for i in order {
            if short == 0 {
                break;
            }
            if self.0[i].server == Server::Active {
                pct[i] += 1;
                short -= 1;
            }
        }
        pct
    }

    /// The environment with the largest share: where users are.
    pub fn live(&self) -> Option<&str> {
        let pct = self.percents();
        self.0
            .iter()
            .zip(pct)
            .filter(|(_, p)| *p > 0)
            .max_by_key(|(_, p)| *p)
            .map(|(w, _)| w.env.as_str())
    }

    /// Exactly the weights a preview was made from: every environment with
    /// the same weight and server state, in any order. The one test of "the
    /// world moved since the preview", in core and in every provider: 1000/0
    /// and 999/1 are the same split in whole percents but not the same change.
    pub fn unchanged_since(&self, previewed: &Weights) -> bool {
        let key = |w: &Weights| {
            let mut v: Vec<(String, u32, Server)> =
                w.0.iter()
                    .map(|e| (e.env.clone(), e.weight, e.server))
                    .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        key(self) == key(previewed)
    }

    /// The same split of traffic, whatever the units (nginx 9:1 is 90:10).
    pub fn same_split(&self, other: &Weights) -> bool {
        let mine: Vec<(&str, u32)> = self
            .0
            .iter()
            .map(|w| w.env.as_str())
            .zip(self.percents())
            .collect();
        let theirs: Vec<(&str, u32)> = other
            .0
            .iter()
            .map(|w| w.env.as_str())
            .zip(other.percents())
            .collect();
        let mut a = mine.clone();
        let mut b = theirs.clone();
        a.sort();
        b.sort();
        a == b
    }

    /// `blue 90 → 100 %, green 10 → 0 %`: only environments that change.
    pub fn describe_change(from: &Weights, to: &Weights) -> String {
        let fp = from.percents();
        let tp = to.percents();
        let mut out = String::new();
        for (i, w) in to.0.iter().enumerate() {
            let before = from
                .0
                .iter()
                .position(|f| f.env == w.env)
                .map_or(0, |j| fp[j]);
            if before != tp[i] {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                let _ = write!(out, "{} {before} → {} %", w.env, tp[i]);
            }
        }
        if out.is_empty() {
            "no change".to_string()
        } else {
            out
        }
    }
}

/// The weights after moving `suspect`'s share onto `target`.
pub fn rollback_weights(from: &Weights, suspect: &str, target: &str) -> Weights {
    let pct = from.percents();
    let moved: u32 = from
        .0
        .iter()
        .zip(&pct)
        .filter(|(w, _)| w.env == suspect)
        .map(|(_, p)| *p)
        .sum();
    Weights::from_percents(from.0.iter().zip(&pct).map(|(w, p)| {
        let p = if w.env == suspect {
            0
        } else if w.env == target {
            p + moved
        } else {
            *p
        };
        (w.env.as_str(), p)
    }))
}

/// The percentages the editor steps through: the canary ladder of the
/// runbooks (5 → 10 → 25 → 50 → 100) and its mirror.
pub const STEPS: [u32; 11] = [0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 100];

/// Where an edit stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditStage {
    /// Choosing environments and percentages.
    Editing,
    /// Waiting for the provider to describe the change.
    AwaitingPreview,
    /// The provider's description of exactly what will change; a second key applies it.
    Previewing(Vec<String>),
    /// Sent; waiting for the outcome.
    Applying,
    /// The provider refused or failed; nothing more will happen.
    Failed(String),
}

/// The set-weights dialog: choose, preview, confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightEditor {
    pub service: usize,
    /// The weights when the dialog opened: what the change is checked against.
    pub from: Weights,
    /// Target percentages, one per environment of `from`, summing to 100.
    pub to: Vec<u32>,
    pub cursor: usize,
    pub stage: EditStage,
    /// The preview request whose answer may be shown.
    pub request: u64,
}

impl WeightEditor {
    pub fn new(service: usize, from: Weights, cursor: usize) -> Self {
        let to = from.percents();
        let cursor = cursor.min(from.0.len().saturating_sub(1));
        WeightEditor {
            service,
            from,
            to,
            cursor,
            stage: EditStage::Editing,
            request: 0,
        }
    }

    pub fn target(&self) -> Weights {
        Weights::from_percents(
            self.from
                .0
                .iter()
                .map(|w| w.env.as_str())
                .zip(self.to.iter().copied()),
        )
    }

    pub fn changes_anything(&self) -> bool {
        self.to != self.from.percents()
    }

    pub fn move_cursor(&mut self, down: bool) {
        let n = self.to.len();
        if n > 0 {
            self.cursor = if down {
                (self.cursor + 1).min(n - 1)
            } else {
                self.cursor.saturating_sub(1)
            };
        }
    }

    /// Step the selected environment to the next (or previous) percentage of
    /// [`STEPS`]; the others give or take the difference in proportion.
    pub fn step(&mut self, up: bool) {
        let n = self.to.len();
        if n < 2 {
            return; // one environment always has everything
        }
        let cur = self.to[self.cursor];
        let next = if up {
            STEPS.iter().copied().find(|s| *s > cur).unwrap_or(100)
        } else {
            STEPS.iter().rev().copied().find(|s| *s < cur).unwrap_or(0)
        };
        self.set(self.cursor, next);
    }

    /// The selected environment to exactly `pct` % (at most 100), the others
    /// in proportion: what `:weights web green 10` asks for.
    pub fn set_selected(&mut self, pct: u32) {
        if self.to.len() >= 2 {
            self.set(self.cursor, pct.min(100));
        }
    }

    fn set(&mut self, i: usize, pct: u32) {
        let rest = 100 - pct;
        let others: Vec<usize> = (0..self.to.len()).filter(|j| *j != i).collect();
        let before: u32 = others.iter().map(|j| self.to[*j]).sum();
        self.to[i] = pct;
        if before == 0 {
            // Nobody else had traffic: the first other takes what is left.
            for (k, j) in others.iter().enumerate() {
                self.to[*j] = if k == 0 { rest } else { 0 };
            }
            return;
        }
        let mut given = 0;
        for j in &others {
            let share = rest * self.to[*j] / before;
            self.to[*j] = share;
            given += share;
        }
        // Rounding leftovers go to the largest of the others.
        if let Some(j) = others.iter().copied().max_by_key(|j| self.to[*j]) {
            self.to[j] += rest - given;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pairs: &[(&str, u32, Server)]) -> Weights {
        Weights(
            pairs
                .iter()
                .map(|(e, weight, server)| EnvWeight {
                    env: (*e).into(),
                    weight: *weight,
                    server: *server,
                })
                .collect(),
        )
    }

    #[test]
    fn shares_in_any_units() {
        let nginx = w(&[("blue", 9, Server::Active), ("green", 1, Server::Active)]);
        assert_eq!(nginx.percents(), [90, 10]);
        assert_eq!(nginx.live(), Some("blue"));
        assert!(nginx.same_split(&Weights::from_percents([("blue", 90), ("green", 10)])));
        let thirds = w(&[
            ("a", 1, Server::Active),
            ("b", 1, Server::Active),
            ("c", 1, Server::Active),
        ]);
        assert_eq!(thirds.percents().iter().sum::<u32>(), 100);
        let backup = w(&[("blue", 5, Server::Active), ("green", 5, Server::Backup)]);
        assert_eq!(backup.percents(), [100, 0]);
        let none = w(&[("blue", 5, Server::Down)]);
        assert_eq!(none.percents(), [0]);
        assert_eq!(none.live(), None);
    }

    #[test]
    fn describes_only_what_changes() {
        let from = Weights::from_percents([("blue", 90), ("green", 10)]);
        let to = Weights::from_percents([("blue", 100), ("green", 0)]);
        assert_eq!(
            Weights::describe_change(&from, &to),
            "blue 90 → 100 %, green 10 → 0 %"
        );
        assert_eq!(Weights::describe_change(&from, &from), "no change");
        assert_eq!(to.0[1].server, Server::Down);
    }

    #[test]
    fn the_editor_walks_the_canary_ladder() {
        let mut e = WeightEditor::new(0, Weights::from_percents([("blue", 100), ("green", 0)]), 1);
        let mut seen = Vec::new();
        for _ in 0..6 {
            e.step(true);
            seen.push(e.to.clone());
        }
        assert_eq!(
            seen,
            [
                vec![99, 1],
                vec![95, 5],
                vec![90, 10],
                vec![75, 25],
                vec![50, 50],
                vec![25, 75]
            ]
        );
        e.step(false);
        assert_eq!(e.to, [50, 50]);
        assert!(e.changes_anything());
        assert_eq!(
            e.target(),
            Weights::from_percents([("blue", 50), ("green", 50)])
        );
    }

    #[test]
    fn three_environments_keep_their_proportions() {
        let mut e = WeightEditor::new(
            0,
            Weights::from_percents([("blue", 60), ("green", 30), ("canary", 10)]),
            2,
        );
        e.step(true); // canary 10 → 25: the other 75 split 60:30
        assert_eq!(e.to, [50, 25, 25]);
        assert_eq!(e.to.iter().sum::<u32>(), 100);
        for _ in 0..20 {
            e.step(true);
        }
        assert_eq!(e.to, [0, 0, 100]);
        e.step(false);
        assert_eq!(e.to.iter().sum::<u32>(), 100);
    }

    #[test]
    fn rollback_moves_the_suspects_share_to_the_target() {
        let from = Weights::from_percents([("blue", 60), ("green", 30), ("canary", 10)]);
        assert_eq!(
            rollback_weights(&from, "canary", "blue").percents(),
            [70, 30, 0]
        );
        assert_eq!(
            rollback_weights(
                &Weights::from_percents([("blue", 0), ("green", 100)]),
                "green",
                "blue"
            )
            .percents(),
            [100, 0]
        );
    }

    #[test]
    fn one_environment_cannot_be_edited() {
        let mut e = WeightEditor::new(0, Weights::from_percents([("prod", 100)]), 0);
        e.step(false);
        assert_eq!(e.to, [100]);
        assert!(!e.changes_anything());
    }
}
