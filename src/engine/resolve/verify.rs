//! The `verify` resolution: what is watched after an `update` — its deployment (until,
//! timeout, gates, bake), the scaling of a settings-only change, or nothing — and the
//! refusal of a gate script that cannot run.

use super::DEFAULT_TIMEOUT_MS;
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
    let watch = match update.map(|u| &u.action) {
        Some(action) if action.deploys() => Watch::Deployment {
            until: step.until.clone().unwrap_or_else(|| "completed".to_owned()),
            timeout_ms,
            fail_fast: step.fail_fast,
            gates: step.gates.iter().map(|g| crate::engine::gates::gate_name(&g.target)).collect(),
            bake_ms: step.bake_ms.unwrap_or(0),
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
        refusal: live.gate_problems.get(&step.name).map(|problem| Refusal {
            step: format!("verify {}", step.name),
            reason: problem.clone(),
            busy: false,
        }),
    }
}
