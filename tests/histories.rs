//! The model-based history test (issue 13): random service histories — good, crashing,
//! never-healthy and slow images, settings-only changes, `file(…)` edits, another
//! client's UpdateService mid-rollout, `ferry rollback` by hand, scaling to 0 and back, a
//! configuration that cannot progress, ferry interrupted mid-rollout and run again, a
//! rotated secret (`API_TOKEN`) — are driven through `ferry plan` then `ferry run` against
//! the local ECS (in-process, manual clock). An oracle that knows each step's intent checks
//! after every step: the exit code, the revision the service runs, its desired count and
//! settings, how many revisions exist, that the plan predicted what the run did, and that
//! neither the plan as printed nor any event shows the secret, old or new. A failing
//! history prints its seed and a shrunk history.
//!
//! `FERRY_HISTORIES` (default 100) histories are run, from seed `FERRY_HISTORY_SEED`
//! (default 0); docs/fuzzing.md has the soak command.

use ferry::engine::{Event, Plan, RegisterDecision, RollbackError, StepChange, UpdateAction};

use crate::support::harness::{Local, Outcome, Setup, revision_number};
use crate::support::history_model::{
    Action, Declared, Expected, FAULTS, Kind, Live, Model, Random, SECRET, Staged, deployfile,
    history, kind_of, setting, task_definition_file,
};
use crate::support::load_balancer::{Checks, load_balancer};

/// What the plan decided for the register and update steps.
fn planned(plan: &Plan) -> (Option<String>, &'static str) {
    let mut register = None;
    let mut update = "none";
    for step in &plan.changes.steps {
        match step {
            StepChange::Register(change) => {
                register = match &change.decision {
                    RegisterDecision::Reuse { arn, .. } => {
                        Some(format!("reuse {}", revision_number(arn)))
                    }
                    RegisterDecision::Register | RegisterDecision::AfterPush { .. } => {
                        Some("register".to_owned())
                    }
                    RegisterDecision::Refuse(_) => None,
                };
            }
            StepChange::Update(change) => {
                update = match &change.action {
                    UpdateAction::Create => "create",
                    UpdateAction::Deploy => "deploy",
                    UpdateAction::Settings => "settings",
                    UpdateAction::Resume { .. } => "resume",
                    UpdateAction::Nothing => "nothing",
                    UpdateAction::Refuse(_) => "refuse",
                };
            }
            _ => {}
        }
    }
    (register, update)
}

/// What the run did, from its events.
fn did(outcome: &Outcome) -> (Option<String>, &'static str) {
    let mut register = None;
    let mut update = "refuse";
    for event in &outcome.events {
        match event {
            Event::RevisionRegistered { .. } => register = Some("register".to_owned()),
            Event::RevisionReused { arn, .. } => {
                register = Some(format!("reuse {}", revision_number(arn)));
            }
            Event::ServiceCreated { .. } => update = "create",
            Event::DeploymentStarted { .. } if update != "create" => update = "deploy",
            Event::SettingsUpdated { .. } => update = "settings",
            Event::NothingToDeploy { .. } => update = "nothing",
            Event::DeploymentResumed { .. } => update = "resume",
            _ => {}
        }
    }
    (register, update)
}

/// Runs `ferry plan`, then `ferry run` held to that plan; checks both against `expected`.
async fn plan_and_run(
    local: &Local,
    model: &Model,
    expected: &Expected,
    setup: Setup,
) -> Result<Outcome, String> {
    let text = deployfile(model);
    if model.file {
        local.write(
            "td.json",
            &task_definition_file(&model.image, &model.secret(), model.balanced.is_some()),
        );
    }
    let plan = local.plan(&text).await.map_err(|e| format!("the plan failed: {e}"))?;
    // The plan as `ferry plan` prints it never shows the secret, on either side of a diff.
    let file = ferry::syntax::parse(&text).map_err(|_| "the Deployfile does not parse")?;
    let workspace = ferry::eval::Workspace::default();
    let settings = ferry::eval::resolve(&file, None, &workspace).map_err(|e| format!("{e:?}"))?;
    let mask = ferry::engine::sensitive_mask(&file, &settings, &workspace, &plan.changes);
    let shown = mask.text(&ferry::engine::plan_text(&plan, None));
    if shown.contains(SECRET) {
        return Err(format!("the plan shows the secret:\n{shown}"));
    }
    let (register, update) = planned(&plan);
    if (register.as_ref(), update) != (expected.register.as_ref(), expected.update)
        && !(expected.update == "refuse" && update == "refuse")
    {
        return Err(format!(
            "the plan said register {register:?}, update {update}; the oracle expects register \
             {:?}, update {}",
            expected.register, expected.update
        ));
    }
    let outcome = local.run_with(&text, Setup { expected: Some(plan.changes), ..setup }).await;
    // The only refusal these histories meet is a deployment that could not progress.
    if expected.update == "refuse" && !outcome.reason.contains("would not progress") {
        return Err(format!("refused for another reason: {}", outcome.reason));
    }
    for event in &outcome.events {
        let shown = serde_json::to_string(event).unwrap_or_default();
        if shown.contains(SECRET) {
            return Err(format!("an event shows the secret: {shown}"));
        }
    }
    let (ran_register, ran_update) = did(&outcome);
    if expected.update != "refuse"
        && (ran_register.as_ref(), ran_update) != (register.as_ref(), update)
    {
        return Err(format!(
            "the plan said register {register:?}, update {update}; the run did register \
             {ran_register:?}, update {ran_update} ({})",
            outcome.reason
        ));
    }
    Ok(outcome)
}

/// Checks the live service against the model.
async fn check_state(local: &Local, model: &Model) -> Result<(), String> {
    let service = local.service().await.ok_or("the service is gone")?;
    let primary = service.primary().ok_or("no PRIMARY deployment")?;
    let running = revision_number(&primary.task_definition) as usize;
    let live = Live {
        desired: u32::try_from(service.desired).unwrap_or(u32::MAX),
        min: service.min_healthy.and_then(|m| u32::try_from(m).ok()).unwrap_or(100),
        max: service.max.and_then(|m| u32::try_from(m).ok()).unwrap_or(200),
        grace: service.grace_s.and_then(|g| u32::try_from(g).ok()).unwrap_or(0),
        breaker: service.circuit_breaker.map_or("off", ferry::aws::BreakerView::word),
    };
    let revisions = local.revisions("web").await.len();
    let want = (model.running, model.live, model.contents.len());
    if (running, live, revisions) != want {
        return Err(format!(
            "the service runs revision {running} with {live:?} and {revisions} revisions exist; \
             the oracle expects revision {} with {:?} and {} revisions",
            want.0, want.1, want.2
        ));
    }
    if service.deployments.len() != 1 || service.running != service.desired {
        return Err(format!("the service is not settled: {service:#?}"));
    }
    Ok(())
}

/// One run of the Deployfile as `change` leaves the model (its image, mode, settings):
/// planned, run, and checked against the oracle; the model moves on.
async fn deploy(
    local: &Local,
    model: &mut Model,
    change: impl FnOnce(&mut Model),
    kind: Kind,
    superseded: bool,
    setup: Setup,
) -> Result<Outcome, String> {
    let mut probe = model.clone();
    change(&mut probe);
    let image = probe.image.clone();
    let mut after = probe.clone();
    let expected = after.run(&image, kind, superseded);
    let outcome = plan_and_run(local, &probe, &expected, setup).await?;
    *model = after;
    expect_code(&outcome, expected.code)?;
    Ok(outcome)
}

/// Plays one action against the local ECS and the model; the error says what differed.
async fn play(local: &Local, model: &mut Model, action: &Action) -> Result<(), String> {
    match action {
        Action::Balance => {
            let checks = Checks { drain_s: Some(10), ..Checks::default() };
            model.balanced = Some(load_balancer(&local.clients.elb, checks).await.0);
        }
        Action::Staged(staged) => {
            let checks = Checks { drain_s: Some(10), ..Checks::default() };
            let bg = crate::support::blue_green::blue_green(&local.clients.elb, checks).await;
            model.balanced = Some(bg.blue.clone());
            model.blue_green = Some(bg);
            model.staged = *staged;
            // Gates on test traffic: ferry's PAUSE hook holds each deployment for them.
            let server =
                crate::support::http_server::Server::start(Box::new(|_| (200, "ok".to_owned(), 0)));
            model.test_gate = Some(format!("http://{}/health", server.address));
            GATE_SERVERS.with(|s| s.borrow_mut().push(server));
        }
        Action::Deploy { kind, version } => {
            let image = kind.image(*version);
            let change = |m: &mut Model| {
                m.file = false;
                m.image = image;
            };
            deploy(local, model, change, *kind, false, Setup::default()).await?;
        }
        Action::FileEdit { version, kind } => {
            let image = kind.image(*version);
            let change = |m: &mut Model| {
                m.file = true;
                m.image = image;
            };
            deploy(local, model, change, *kind, false, Setup::default()).await?;
        }
        Action::Settings(declared) => {
            let (running, secret) = model.contents[model.running - 1].clone();
            let change = |m: &mut Model| {
                m.declared = *declared;
                m.image = running;
                m.secret = secret;
            };
            deploy(local, model, change, Kind::Good, false, Setup::default()).await?;
        }
        Action::Rerun => {
            let kind = kind_of(&model.image);
            deploy(local, model, |_| {}, kind, false, Setup::default()).await?;
        }
        Action::RotateSecret => {
            let kind = kind_of(&model.image);
            deploy(local, model, |m| m.secret += 1, kind, false, Setup::default()).await?;
        }
        Action::Intruder { version } => {
            let image = Kind::Slow.image(*version);
            let change = |m: &mut Model| {
                m.file = false;
                m.image = image;
            };
            let setup =
                Setup { hook: Some(crate::support::harness::intruder()), ..Setup::default() };
            let outcome = deploy(local, model, change, Kind::Slow, true, setup).await;
            local.settle().await;
            outcome?;
        }
        Action::OldTaskDies { version } => {
            let image = Kind::Slow.image(*version);
            let change = |m: &mut Model| {
                m.file = false;
                m.image = image;
            };
            let setup = Setup {
                hook: Some(crate::support::harness::old_task_killer()),
                ..Setup::default()
            };
            deploy(local, model, change, Kind::Slow, false, setup).await?;
        }
        Action::ManualRollback => {
            let expected = model.clone().rollback();
            let outcome = local.rollback(None).await;
            match (expected, outcome) {
                (Some(target), Ok(arn)) if revision_number(&arn) as usize == target => {
                    model.rollback();
                }
                (None, Err(RollbackError::Refused(_))) => {}
                (expected, outcome) => {
                    return Err(format!(
                        "`ferry rollback` gave {outcome:?}; the oracle expects {}",
                        expected
                            .map_or_else(|| "a refusal".to_owned(), |t| format!("revision {t}"))
                    ));
                }
            }
        }
        Action::ScaleToZeroAndBack => {
            for desired in [0, 3] {
                let declared = Declared { desired: Some(desired), ..model.declared };
                Box::pin(play(local, model, &Action::Settings(declared))).await?;
                check_state(local, model).await?;
            }
        }
        Action::OtherToolStuck => {
            crate::support::harness::set_stuck_configuration(&local.clients)
                .await
                .map_err(|e| format!("the other tool's UpdateService: {e:?}"))?;
            local.settle().await;
            model.live = Live { desired: 1, min: 100, max: 100, ..model.live };
            model.declared = Declared { desired: None, min: None, max: None, ..model.declared };
        }
        Action::Interrupted { version } => {
            let image = Kind::Slow.image(*version);
            let mut probe = model.clone();
            probe.file = false;
            probe.image.clone_from(&image);
            let mut after = probe.clone();
            let expected = after.run(&image, Kind::Slow, false);
            let hook = Box::new(|event: &Event, hook: &crate::support::harness::Hook| {
                if let Event::Progress { .. } = event {
                    hook.interrupt();
                }
            });
            let interrupted = expected.update == "deploy";
            let first =
                Expected { code: if interrupted { 130 } else { expected.code }, ..expected };
            let setup = Setup { hook: Some(hook), ..Setup::default() };
            let outcome = plan_and_run(local, &probe, &first, setup).await?;
            expect_code(&outcome, first.code)?;
            if interrupted {
                // Run again: the deployment in progress is ours, watched to its end.
                let again = Expected {
                    code: 0,
                    register: Some(format!("reuse {}", after.running)),
                    update: "resume",
                };
                let outcome = plan_and_run(local, &after, &again, Setup::default()).await?;
                expect_code(&outcome, 0)?;
            }
            *model = after;
        }
    }
    Ok(())
}

fn expect_code(outcome: &Outcome, code: u8) -> Result<(), String> {
    EXITS.with(|e| e.borrow_mut().push(outcome.code()));
    if outcome.code() == code {
        Ok(())
    } else {
        Err(format!(
            "exit {} ({}); the oracle expects exit {code}; events {:?}",
            outcome.code(),
            outcome.reason,
            outcome.kinds()
        ))
    }
}

/// Plays a whole history on a fresh local ECS; the error names the step.
async fn replay(actions: &[Action]) -> Result<(), String> {
    replay_counting(actions, &mut Vec::new()).await
}

/// `replay`, noting each run's exit code.
async fn replay_counting(actions: &[Action], codes: &mut Vec<u8>) -> Result<(), String> {
    let local = Local::start(FAULTS).await;
    let mut model = Model::new();
    for (i, action) in actions.iter().enumerate() {
        let step = |e: String| format!("step {} ({action}): {e}", i + 1);
        let before = EXITS.with(|e| e.borrow().len());
        play(&local, &mut model, action).await.map_err(step)?;
        if model.exists {
            check_state(&local, &model).await.map_err(step)?;
        }
        EXITS.with(|e| codes.extend(e.borrow()[before..].iter().copied()));
    }
    Ok(())
}

thread_local! {
    /// The gate servers of the staged histories, kept for the part's life.
    static GATE_SERVERS: std::cell::RefCell<Vec<crate::support::http_server::Server>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// Every exit code `expect_code` saw, for the tally of a part.
    static EXITS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Removes one action at a time, keeping each removal that still fails, until none can go.
async fn shrink(mut actions: Vec<Action>) -> (Vec<Action>, String) {
    let mut failure = replay(&actions).await.err().unwrap_or_default();
    loop {
        let mut smaller = None;
        for i in 1..actions.len() {
            let mut candidate = actions.clone();
            candidate.remove(i);
            if let Err(error) = replay(&candidate).await {
                smaller = Some((candidate, error));
                break;
            }
        }
        match smaller {
            Some((candidate, error)) => {
                actions = candidate;
                failure = error;
            }
            None => return (actions, failure),
        }
    }
}

/// Plays the histories of seeds `base + i` with `i % 4 == part` (the four parts run in
/// parallel); each has 8 to 14 steps.
async fn histories(part: u64) {
    let count = setting("FERRY_HISTORIES", 100);
    let base = setting("FERRY_HISTORY_SEED", 0);
    let mut steps = 0;
    let mut codes = Vec::new();
    for i in (0..count).filter(|i| i % 4 == part) {
        let seed = base + i;
        let length = 8 + (Random(seed ^ 0xD1B5_4A32_D192_ED03).below(7) as usize);
        let actions = history(seed, length);
        steps += actions.len();
        if let Err(error) = replay_counting(&actions, &mut codes).await {
            let (shrunk, why) = shrink(actions.clone()).await;
            let list = |a: &[Action]| {
                a.iter()
                    .enumerate()
                    .map(|(i, a)| format!("  {}. {a}", i + 1))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "history of seed {seed} failed: {error}\n{}\nshrunk to {} steps: {why}\n{}\n\
                 replay: FERRY_HISTORY_SEED={seed} FERRY_HISTORIES=1 cargo nextest run histories::",
                list(&actions),
                shrunk.len(),
                list(&shrunk)
            );
        }
    }
    let mut tally: std::collections::BTreeMap<u8, usize> = std::collections::BTreeMap::new();
    for code in &codes {
        *tally.entry(*code).or_default() += 1;
    }
    let tally: Vec<String> = tally.iter().map(|(code, n)| format!("exit {code}: {n}")).collect();
    eprintln!("histories part {part}: {steps} steps, {} runs ({})", codes.len(), tally.join(", "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_0() {
    histories(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_1() {
    histories(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_2() {
    histories(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_3() {
    histories(3).await;
}

#[test]
fn the_oracle_knows_ecs_arithmetic() {
    let live = |desired, min, max| Live { desired, min, max, grace: 0, breaker: "off" };
    assert!(Model::stuck(&live(1, 100, 100)));
    assert!(Model::stuck(&live(1, 100, 150)));
    assert!(!Model::stuck(&live(1, 0, 100)));
    assert!(!Model::stuck(&live(3, 100, 150)));
    assert!(!Model::stuck(&live(3, 50, 100)));
    assert!(!Model::stuck(&live(0, 100, 100)));
    // The same seed gives the same history.
    let a: Vec<String> = history(7, 10).iter().map(ToString::to_string).collect();
    let b: Vec<String> = history(7, 10).iter().map(ToString::to_string).collect();
    assert_eq!(a, b);
    // Some histories run behind a load balancer, and some of those deploy an image that
    // never answers it (a failure there, a good deploy elsewhere).
    let all: Vec<Vec<Action>> = (0..100).map(|seed| history(seed, 14)).collect();
    let balanced =
        all.iter().filter(|h| matches!(h[0], Action::Balance | Action::Staged(_))).count();
    assert!((25..=55).contains(&balanced), "{balanced}");
    // An image that sets off the alarm, in rolling and staged histories alike.
    let alarmed =
        |h: &Vec<Action>| h.iter().any(|a| matches!(a, Action::Deploy { kind: Kind::Alarm, .. }));
    assert!(all.iter().any(|h| matches!(h[0], Action::Staged(_)) && alarmed(h)));
    assert!(all.iter().any(|h| !matches!(h[0], Action::Staged(_)) && alarmed(h)));
    for staged in [Staged::BlueGreen, Staged::Linear, Staged::Canary] {
        assert!(all.iter().any(|h| matches!(h[0], Action::Staged(s) if s == staged)), "{staged:?}");
    }
    for kind in [Action::Balance, Action::Staged(Staged::BlueGreen)] {
        let kind = std::mem::discriminant(&kind);
        assert!(all.iter().any(|h| std::mem::discriminant(&h[0]) == kind
            && h.iter().any(|a| matches!(a, Action::Deploy { kind: Kind::Dark, .. }))));
    }
    // min and max do not bind a blue/green deployment.
    let blue_green = Model {
        blue_green: Some(crate::support::blue_green::BlueGreen {
            blue: String::new(),
            green: String::new(),
            production_rule: String::new(),
            test_rule: String::new(),
            listeners: (String::new(), String::new()),
        }),
        ..Model::new()
    };
    assert!(!blue_green.cannot_progress(&live(1, 100, 100)));
    assert!(Model::new().cannot_progress(&live(1, 100, 100)));
    assert!(Kind::Dark.fails(true) && !Kind::Dark.fails(false));
}
