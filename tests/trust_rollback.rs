//! A verdict you can trust on a service with a history (issue 13), when it comes to rolling
//! back: `ferry rollback` to the last good revision, the good commit reused after one, a
//! rollback ECS's circuit breaker already did, or did before ferry first looked, and
//! Ctrl-C during one.

use ferry::engine::{Event, RollbackError, plan_text};

use crate::support::harness::{Local, Setup, revision_number};
use crate::support::web_service::{FAULTS, assert_code, deployfile, image, runs};

// 5. `ferry rollback` after a failed deployment.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_rollback_goes_to_the_last_good_revision() {
    let local = Local::start(FAULTS).await;
    let breaker = |tag: &str| {
        deployfile(
            &image(&format!("acme/web:{tag}")),
            "  desired = 3\n  circuit_breaker = rollback\n",
            Some(""),
            false,
        )
    };
    assert_code(&local.run(&breaker("1")).await, 0);
    // Revision 2 crashes; ECS's breaker rolls it back (verified: exit 1).
    let crashed = local.run(&breaker("crash-2")).await;
    assert_code(&crashed, 1);
    assert!(crashed.reason.contains("circuit breaker"), "{}", crashed.reason);
    assert_eq!(runs(&local).await.0, 1);
    assert_code(&local.run(&breaker("3")).await, 0);
    assert_eq!(runs(&local).await.0, 3);
    // An unknown `--to` is refused before anything is written.
    let unknown = local.rollback(Some("web:99")).await;
    assert!(
        matches!(&unknown, Err(RollbackError::Refused(r)) if r.contains("web:99")),
        "{unknown:?}"
    );
    assert_eq!(runs(&local).await.0, 3);
    // Back to revision 1, the last whose deployment completed — not 2, which crashed.
    let back = local.rollback(None).await.expect("rolled back");
    assert_eq!(revision_number(&back), 1, "{back}");
    assert_eq!(runs(&local).await.0, 1);
}

// Also seen.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rollback_the_good_commit_is_reused() {
    let local = Local::start(FAULTS).await;
    let fast = |tag: &str| {
        deployfile(
            &image(&format!("acme/web:{tag}")),
            "  desired = 3\n",
            Some("  fail_fast = 2\n"),
            true,
        )
    };
    assert_code(&local.run(&fast("1")).await, 0);
    assert_code(&local.run(&fast("crash-2")).await, 1);
    // The family's newest revision is 2 (the crashed one); the service runs 1.
    let plan = plan_text(&local.plan(&fast("1")).await.expect("plan"), None);
    assert!(
        plan.contains(
            "nothing changed: reuse arn:aws:ecs:us-east-1:000000000000:task-definition/web:1 \
             (the revision service `web` runs)"
        ),
        "{plan}"
    );
    let rerun = local.run(&fast("1")).await;
    assert_code(&rerun, 0);
    assert!(rerun.has("nothing_to_deploy"), "{:?}", rerun.kinds());
    assert_eq!(local.revisions("web").await.len(), 2, "no duplicate of revision 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_ecs_rolled_back_the_rollback_is_verified_not_stopped() {
    let local = Local::start(FAULTS).await;
    let breaker = |tag: &str| {
        deployfile(
            &image(&format!("acme/web:{tag}")),
            "  desired = 3\n  circuit_breaker = rollback\n",
            Some(""),
            true,
        )
    };
    assert_code(&local.run(&breaker("1")).await, 0);
    let run = local.run(&breaker("crash-2")).await;
    assert_code(&run, 1);
    let warnings: Vec<&Event> =
        run.events.iter().filter(|e| matches!(e, Event::Warning { .. })).collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    assert!(run.reason.contains("ECS's circuit breaker"), "{}", run.reason);
    let how = run.events.iter().find_map(|e| match e {
        Event::RollbackStarted { how, .. } => Some(how.clone()),
        _ => None,
    });
    assert!(
        how.is_some_and(|h| h.contains("circuit breaker") || h.contains("already rolling back"))
    );
}

// Fault probing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_before_the_first_look_is_named() {
    let local = Local::start(FAULTS).await;
    let breaker = |tag: &str| {
        deployfile(
            &image(&format!("acme/web:{tag}")),
            "  desired = 3\n  circuit_breaker = rollback\n",
            Some("  timeout = 10m\n"),
            false,
        )
    };
    assert_code(&local.run(&breaker("1")).await, 0);
    // ferry's first look after UpdateService comes late (500s, latency): by then ECS has
    // rolled the crashing revision back.
    let hook = Box::new(|event: &Event, hook: &crate::support::harness::Hook| {
        if let Event::DeploymentStarted { .. } = event {
            hook.clock.advance(5 * 60_000);
        }
    });
    let run =
        local.run_with(&breaker("quick-2"), Setup { hook: Some(hook), ..Setup::default() }).await;
    assert_code(&run, 1);
    assert!(!run.reason.contains("did not finish within"), "{}", run.reason);
    assert!(run.reason.contains("circuit breaker"), "{}", run.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_the_rollback_is_130() {
    let local = Local::start(FAULTS).await;
    let fast = |tag: &str| {
        deployfile(
            &image(&format!("acme/web:{tag}")),
            "  desired = 3\n",
            Some("  fail_fast = 2\n"),
            true,
        )
    };
    assert_code(&local.run(&fast("1")).await, 0);
    let hook = Box::new(|event: &Event, hook: &crate::support::harness::Hook| {
        if let Event::RollbackStarted { .. } = event {
            hook.interrupt();
        }
    });
    let run =
        local.run_with(&fast("crash-2"), Setup { hook: Some(hook), ..Setup::default() }).await;
    assert_code(&run, 130);
    assert!(run.reason.contains("interrupted while rolling"), "{}", run.reason);
}
