//! Service `web` of cluster `c` as the trust tests deploy it on `harness::Local`: the fault
//! file of its images (`crash`, `quick`, `sick`, `slow` tags), its Deployfile, and checks
//! of a run's exit code and of what the service runs.

use super::harness::{Local, Outcome, revision_number};

/// The images' faults, by tag: `crash` exits 3 after 5 s, `quick` starts in 1 s and exits 3
/// a second later, `sick` never becomes healthy, `slow` takes 3 minutes to start.
pub(crate) const FAULTS: &str = r#"{"images": [
  {"match": "*:crash*", "crash_after": "5s", "exit_code": 3},
  {"match": "*:quick*", "start": "1s", "crash_after": "1s", "exit_code": 3},
  {"match": "*:sick*", "never_healthy": true, "unhealthy_after": "60s"},
  {"match": "*:slow*", "start": "3m"}
]}"#;

/// A Deployfile for service `web` of cluster `c`: the register step's body, extra update
/// fields, the verify step's body (none: no verify step), and `on failure { rollback }`.
pub(crate) fn deployfile(
    register: &str,
    update: &str,
    verify: Option<&str>,
    on_failure: bool,
) -> String {
    let mut text = format!(
        "defaults {{\n  cluster = \"c\"\n}}\n\nregister web_task {{\n{register}}}\n\n\
         update web {{\n  task_definition = web_task\n  create          = true\n{update}}}\n"
    );
    if let Some(verify) = verify {
        let timeout = if verify.contains("timeout") { "" } else { "  timeout = 30m\n" };
        text = format!("{text}\nverify web {{\n{timeout}{verify}}}\n");
    }
    if on_failure {
        text.push_str("\non failure {\n  rollback web\n}\n");
    }
    text
}

/// The image as a register body of family `web`.
pub(crate) fn image(image: &str) -> String {
    format!("  family = \"web\"\n  container \"app\" {{\n    image = \"{image}\"\n  }}\n")
}

/// 3 tasks of `acme/web:TAG`, verified, rolled back on failure.
pub(crate) fn standard(tag: &str) -> String {
    deployfile(&image(&format!("acme/web:{tag}")), "  desired = 3\n", Some(""), true)
}

/// The run ended with this exit code (else its reason and events are shown).
pub(crate) fn assert_code(outcome: &Outcome, code: u8) {
    assert_eq!(outcome.code(), code, "{}\n{:#?}", outcome.reason, outcome.kinds());
}

/// What the service runs: the PRIMARY's revision number and its desired count.
pub(crate) async fn runs(local: &Local) -> (u32, i32) {
    let service = local.service().await.expect("the service exists");
    let primary = service.primary().expect("a primary").clone();
    (revision_number(&primary.task_definition), service.desired)
}
