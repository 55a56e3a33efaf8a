//! `ferry simulate` end to end: the JSON contract and the human timeline.

use crate::support::test::Test;

#[test]
fn json_has_steps_outcome_and_events() {
    let ran = Test::new()
        .args(["simulate", "--desired", "6", "--capacity", "8", "--format", "json"])
        .run()
        .code(0);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).expect("json");
    let steps: Vec<(String, String, u64)> = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["action"].as_str().expect("action").to_owned(),
                s["revision"].as_str().expect("revision").to_owned(),
                s["count"].as_u64().expect("count"),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [("start", "new"), ("stop", "old")]
        .iter()
        .cycle()
        .take(6)
        .map(|(a, r)| ((*a).to_owned(), (*r).to_owned(), 2))
        .collect();
    assert_eq!(steps, expected);
    assert_eq!(json["outcome"], "completed");
    let last = json["events"].as_array().expect("events").last().expect("an event");
    assert_eq!(last["message"], "(service simulated) has reached a steady state.");
}

#[test]
fn human_timeline_for_a_stuck_single_task() {
    Test::new().args(["simulate", "--desired", "1", "--max", "100%"]).run().code(0).stdout(
        "
        desired 1, min healthy 100%, max 100%, capacity unbounded

             time  action rev  count   old run/hlth   new run/hlth

        outcome after 0m00s: stuck: the deployment cannot progress

        events:
            0m00s  (service simulated) was unable to stop or start tasks during a deployment \
                   because of the service deployment configuration. Update the \
                   minimumHealthyPercent or maximumPercent value and try again.
        ",
    );
}

#[test]
fn bad_input_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = dir.path().join("faults.json");
    std::fs::write(&faults, r#"{"images": [{"match": "new", "crash_after": "soon"}]}"#)
        .expect("write");
    let ran = Test::new()
        .args([
            "simulate".as_ref(),
            "--desired".as_ref(),
            "2".as_ref(),
            "--faults".as_ref(),
            faults.as_os_str(),
        ])
        .run()
        .code(2);
    assert!(
        ran.stderr.contains("`soon` is not a duration") && ran.stderr.contains("line 1"),
        "{}",
        ran.stderr
    );
    let ran =
        Test::new().args(["simulate", "--desired", "2", "--min-healthy", "150"]).run().code(2);
    assert!(ran.stderr.contains("at most 100%"), "{}", ran.stderr);
    let ran = Test::new().args(["simulate", "--desired", "2", "--max", "lots"]).run().code(2);
    assert!(ran.stderr.contains("`lots` is not a percentage"), "{}", ran.stderr);
}
