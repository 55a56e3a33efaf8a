//! The `verify` resolution: what is watched after an `update` — its deployment (until,
//! timeout, gates, bake), the scaling of a settings-only change, or nothing — and the
//! refusal of a gate script that cannot run.

use super::DEFAULT_TIMEOUT_MS;
use crate::aws::StrategyView;
use crate::engine::change::{Refusal, UpdateAction, UpdateChange, VerifyChange, Watch};
use crate::engine::live::Live;
use crate::eval::VerifyStep;

pub(super) fn resolve_verify(
    step: &VerifyStep,
    update: Option<&UpdateChange>,
    implicit: bool,
    live: &Live,
) -> VerifyChange {
    let timeout_ms = step.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    let strategy = update.map_or(StrategyView::Rolling, |u| u.strategy);
    let ecs_bake_ms = update.filter(|_| strategy.is_staged()).map_or(0, |u| u.bake_ms);
    // A blue/green deployment completes only after ECS's bake: by default ferry waits
    // until production traffic has moved and leaves the bake to ECS. A rolling one has no
    // stage between serving and completed.
    let until = match step.until.as_deref() {
        None if strategy.is_staged() => "traffic_shifted",
        Some("traffic_shifted") if !strategy.is_staged() => "completed",
        Some(until) => until,
        None => "completed",
    }
    .to_owned();
    let mut refusal = live.gate_problems.get(&step.name).map(|problem| Refusal {
        step: format!("verify {}", step.name),
        reason: problem.clone(),
        busy: false,
    });
    let deploys = update.is_some_and(|u| u.action.deploys());
    if deploys && until == "completed" && ecs_bake_ms > 0 && timeout_ms <= ecs_bake_ms {
        refusal.get_or_insert(Refusal {
            step: format!("verify {}", step.name),
            reason: format!(
                "`verify {}` waits until the deployment completes, and ECS completes a \
                 blue/green deployment only after its bake of {}: the timeout of {} runs out \
                 first; raise `timeout`, or write `until = traffic_shifted` to leave the bake \
                 to ECS",
                step.name,
                crate::eval::duration_text(ecs_bake_ms),
                crate::eval::duration_text(timeout_ms)
            ),
            busy: false,
        });
    }
    let watch = match update.map(|u| &u.action) {
        Some(action) if action.deploys() => Watch::Deployment {
            until,
            timeout_ms,
            fail_fast: step.fail_fast,
            gates: step.gates.iter().map(|g| crate::engine::gates::gate_name(&g.target)).collect(),
            bake_ms: step.bake_ms.unwrap_or(0),
            strategy,
            ecs_bake_ms,
        },
        Some(UpdateAction::Settings) => Watch::Scaling {
            desired: update.and_then(|u| u.request.as_ref()).and_then(|r| r.desired),
            timeout_ms,
        },
        _ => Watch::Nothing,
    };
    VerifyChange {
        step: step.name.clone(),
        service: update.map(|u| u.service.clone()).unwrap_or_default(),
        implicit,
        watch,
        refusal,
    }
}
