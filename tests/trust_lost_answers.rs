//! A verdict you can trust on a service with a history (issue 13), when answers are lost
//! on the way back: a write applied and its answer lost is read back, also when the SDK's
//! retries after it are throttled.

use ferry::engine::Event;

use crate::support::harness::Local;
use crate::support::web_service::{assert_code, deployfile, image, runs, standard};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_read_back() {
    // CreateService applied, its answers lost: the same idempotency token returns it.
    // RegisterTaskDefinition too: the family's latest revision is read back.
    let faults = r#"{"api": {"lose_answers": {
        "CreateService": 3, "UpdateService": 6, "RegisterTaskDefinition": 3
    }}}"#;
    let local = Local::start(faults).await;
    let first = local.run(&standard("1")).await;
    assert_code(&first, 0);
    assert!(first.has("service_created"), "{:?}", first.kinds());
    assert!(
        first.events.iter().any(
            |e| matches!(e, Event::Warning { message } if message.contains("is the revision sent"))
        ),
        "{:#?}",
        first.events
    );
    // The SDK's own retries registered it up to three times; ferry deploys the newest.
    assert_eq!(runs(&local).await.0, 3);
    // UpdateService applied, all three attempts' answers lost: read back, ours found.
    let second = local.run(&standard("2")).await;
    assert_code(&second, 0);
    assert!(
        second.events.iter().any(|e| matches!(
            e,
            Event::Warning { message } if message.contains("read back: the update was applied")
        )),
        "{:#?}",
        second.events
    );
    assert_eq!(runs(&local).await.0, 4);
    // A settings-only UpdateService whose answers were lost: every setting sent is read
    // back before ferry says it was applied.
    let fewer = deployfile(&image("acme/web:2"), "  desired = 2\n  grace = 30s\n", Some(""), true);
    let third = local.run(&fewer).await;
    assert_code(&third, 0);
    assert!(third.has("settings_updated") && third.has("scaled"), "{:?}", third.kinds());
    let service = local.service().await.expect("service");
    assert_eq!((service.desired, service.grace_s), (2, Some(30)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_retry_after_a_lost_answer_is_read_back() {
    // The first attempt is applied and its answer lost; the SDK's two retries are throttled:
    // the call ends in ThrottlingException though it was applied (found by the soak).
    let faults = r#"{"api": {
        "lose_answers": {"RegisterTaskDefinition": 1, "CreateService": 1, "UpdateService": 1},
        "throttle_retries": {"RegisterTaskDefinition": 2, "CreateService": 2, "UpdateService": 2}
    }}"#;
    let local = Local::start(faults).await;
    let first = local.run(&standard("1")).await;
    assert_code(&first, 0);
    let warned = |run: &crate::support::harness::Outcome, text: &str| {
        run.events.iter().any(|e| matches!(e, Event::Warning { message } if message.contains(text)))
    };
    assert!(warned(&first, "is the revision sent"), "{:#?}", first.events);
    assert!(warned(&first, "asking again with the same idempotency token"), "{:#?}", first.events);
    let revisions = local.server.with_state(|state, _| state.families["web"].len());
    assert_eq!(revisions, 1, "the throttled retries registered nothing more");
    assert_eq!(runs(&local).await.0, 1);
    let second = local.run(&standard("2")).await;
    assert_code(&second, 0);
    assert!(warned(&second, "read back: the update was applied"), "{:#?}", second.events);
    assert_eq!(runs(&local).await.0, 2);
    assert_eq!(local.server.injected().get("throttled"), Some(&6));
}
