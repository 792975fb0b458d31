//! The room's rules that need nothing of the room's traffic: whether a
//! change waits for a second person, and people's names in short. Apart, so
//! that the checklist asks them without importing the room that drives it.

use crate::model::State;
use crate::runbook::StepWork;

/// `alice` of `alice (self-declared; ec2-user@bastion)`, `bob@bastion` of
/// `bob@bastion from 10.0.0.7`: a name that fits a line.
pub fn short(operator: &str) -> &str {
    let cut = operator.find(" (").or_else(|| operator.find(" from "));
    cut.map_or(operator, |i| &operator[..i])
}

/// Who did a step, in short: `alice, approved by bob` for `alice
/// (self-declared; ec2-user@bastion), approved by bob (aws:AROA…:bob)`.
pub fn names(by: &str) -> String {
    let (who, rest) = match by.split_once(", approved by ") {
        Some((who, approver)) => (who, format!(", approved by {}", short(approver))),
        None => match by.split_once(", two-person rule OVERRIDDEN") {
            Some((who, _)) => (who, ", two-person rule OVERRIDDEN".to_string()),
            None => (by, String::new()),
        },
    };
    format!("{}{rest}", short(who))
}

/// Whether this change must wait for a second person: the two-person rule
/// holds for the service (`approvals = 2`) or the step (`approve = true`),
/// and the change is one that it covers.
pub fn needs_approval(state: &State, service: usize, work: &StepWork) -> bool {
    let Some(svc) = state.services.get(service) else {
        return false;
    };
    let covered = matches!(
        work,
        StepWork::Switch { .. }
            | StepWork::Revert { .. }
            | StepWork::Command { .. }
            | StepWork::MigrateDown { .. }
    );
    let step = svc
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .is_some_and(|s| s.spec.approve);
    covered && (svc.rollback.policy.approvals >= 2 || step)
}
