//! An in-process local ECS on a manual clock, and `ferry plan`, `ferry run` and `ferry
//! rollback` driven through the library entry points the CLI uses. Time moves only when
//! ferry waits, so a rollout of minutes takes milliseconds and every run is the same run
//! again. Other clients (another CI run, another tool) act through the real SDK, from a
//! hook on ferry's event stream when they must act mid-rollout. The endpoint is started
//! through `local_ecs`, with ferry's own clients.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ferry::aws::{Clients, Ecs, ServiceView};
use ferry::engine::{
    ChangeSet, Event, Plan, PlanError, PlanOptions, RollbackError, RunOptions, Runner, Sink,
    Verdict, make_plan, roll_back,
};
use ferry::eval::{Workspace, resolve};
use ferry::local::LocalEcs;
use ferry::local::clock::Clock;

use super::local_ecs::{Endpoint, Start};

/// The local ECS of one test, with a directory for the Deployfile's files.
pub(crate) struct Local {
    pub(crate) server: LocalEcs,
    pub(crate) clients: Clients,
    pub(crate) dir: tempfile::TempDir,
    /// How to start it again (`restart`), and on which port, when it keeps a state file.
    again: Option<(Start, u16)>,
}

/// How a run ended, and what it said.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) verdict: Verdict,
    pub(crate) reason: String,
    pub(crate) events: Vec<Event>,
}

impl Outcome {
    pub(crate) fn code(&self) -> u8 {
        self.verdict.exit_code()
    }

    pub(crate) fn has(&self, kind: &str) -> bool {
        self.events.iter().any(|e| kind_of(e) == kind)
    }

    pub(crate) fn kinds(&self) -> Vec<String> {
        self.events.iter().map(kind_of).collect()
    }
}

/// The `event` member of an event's JSON form (`deployment_started`).
pub(crate) fn kind_of(event: &Event) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| v["event"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A hook on ferry's event stream.
pub(crate) type EventHook = Box<dyn FnMut(&Event, &Hook) + Send>;

/// What a run is given besides the Deployfile.
#[derive(Default)]
pub(crate) struct Setup {
    pub(crate) redeploy: bool,
    pub(crate) wait_for_lock: bool,
    pub(crate) expected: Option<ChangeSet>,
    /// Called with every event as ferry emits it.
    pub(crate) hook: Option<EventHook>,
}

/// Another tool forcing a new deployment of c/web the moment ferry's deployment starts.
/// Its answer is ignored: under injected faults it may fail, as on AWS.
pub(crate) fn intruder() -> EventHook {
    Box::new(|event: &Event, hook: &Hook| {
        if let Event::DeploymentStarted { .. } = event {
            hook.act(|clients| async move {
                let _ = clients
                    .ecs
                    .update_service()
                    .cluster("c")
                    .service("web")
                    .force_new_deployment(true)
                    .send()
                    .await;
            });
        }
    })
}

/// Another client stopping one task of the previous revision the moment ferry's
/// deployment starts (an old task that dies mid-rollout): ECS replaces it with its own
/// revision, and ferry's verdict must not change. Its answers are ignored, as above.
pub(crate) fn old_task_killer() -> EventHook {
    Box::new(|event: &Event, hook: &Hook| {
        if let Event::DeploymentStarted { deployment_id, .. } = event {
            let ours = deployment_id.clone();
            hook.act(move |clients| async move {
                let Ok(listed) = clients
                    .ecs
                    .list_tasks()
                    .cluster("c")
                    .service_name("web")
                    .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
                    .send()
                    .await
                else {
                    return;
                };
                let Ok(described) = clients
                    .ecs
                    .describe_tasks()
                    .cluster("c")
                    .set_tasks(Some(listed.task_arns().to_vec()))
                    .send()
                    .await
                else {
                    return;
                };
                let old = described.tasks().iter().find(|t| t.started_by() != Some(ours.as_str()));
                if let Some(arn) = old.and_then(|t| t.task_arn()) {
                    let _ = clients
                        .ecs
                        .stop_task()
                        .cluster("c")
                        .task(arn)
                        .reason("stopped by another client")
                        .send()
                        .await;
                }
            });
        }
    })
}

/// Another tool leaving c/web at one task with a configuration that cannot progress
/// (minimum healthy 100 %, maximum 100 %).
pub(crate) async fn set_stuck_configuration(
    clients: &Clients,
) -> Result<
    (),
    aws_sdk_ecs::error::SdkError<aws_sdk_ecs::operation::update_service::UpdateServiceError>,
> {
    let stuck = aws_sdk_ecs::types::DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(100)
        .build();
    clients
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .desired_count(1)
        .deployment_configuration(stuck)
        .send()
        .await
        .map(|_| ())
}

/// What a hook may do: act as another client, or press Ctrl-C.
pub(crate) struct Hook {
    pub(crate) clients: Clients,
    pub(crate) interrupted: Arc<AtomicBool>,
    /// The local ECS's clock: moving it stands for ferry being slow to look.
    pub(crate) clock: Clock,
}

impl Hook {
    /// Runs another client's calls to their end, from inside ferry's event stream.
    pub(crate) fn act<F: std::future::Future>(
        &self,
        calls: impl FnOnce(Clients) -> F,
    ) -> F::Output {
        let clients = self.clients.clone();
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(calls(clients)))
    }

    pub(crate) fn interrupt(&self) {
        self.interrupted.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

struct Hooked {
    events: Vec<Event>,
    hook: Option<EventHook>,
    context: Hook,
}

impl Sink for Hooked {
    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
        if let Some(hook) = self.hook.as_mut() {
            hook(event, &self.context);
        }
    }
}

impl Local {
    /// A local ECS with this fault file (JSON; `{}` for none) and a manual clock.
    pub(crate) async fn start(faults: &str) -> Self {
        Self::with(faults, None).await
    }

    pub(crate) async fn with(faults: &str, capacity: Option<u32>) -> Self {
        let endpoint =
            Start::manual().faults(faults).capacity(capacity).ferry_clients().start().await;
        Self::around(endpoint, tempfile::tempdir().expect("tempdir"), None)
    }

    /// A local ECS with this fault file that keeps its state in a file, so that
    /// `restart` can stop it and start it again on the same port.
    pub(crate) async fn persistent(faults: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let start = Start::manual()
            .faults(faults)
            .state_file(&dir.path().join("state.json"))
            .ferry_clients();
        let again = start.clone();
        let endpoint = start.start().await;
        let port =
            endpoint.server.url().rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        Self::around(endpoint, dir, Some((again, port)))
    }

    /// The test's side of a started endpoint: its server, ferry's clients for it.
    fn around(endpoint: Endpoint, dir: tempfile::TempDir, again: Option<(Start, u16)>) -> Self {
        let clients =
            Clients { ecs: endpoint.ecs, ecr: endpoint.ecr, sts: endpoint.sts, elb: endpoint.elb };
        Self { server: endpoint.server, clients, dir, again }
    }

    /// Stops the endpoint (its state saved; connections cut) and starts it again on the
    /// same port from its state file, with the same clock: the clients never learn.
    pub(crate) async fn restart(&mut self) {
        let (start, port) = self.again.clone().expect("a persistent local ECS");
        let options = start.port(port).options();
        // Something to hold the place while the port is free.
        let placeholder = LocalEcs::start(Start::manual().options()).await.expect("placeholder");
        let old = std::mem::replace(&mut self.server, placeholder);
        old.shutdown().await.expect("shutdown");
        let mut again = None;
        for _ in 0..50 {
            match LocalEcs::start(options.clone()).await {
                Ok(server) => {
                    again = Some(server);
                    break;
                }
                // The port may take a moment to be free again.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
        let placeholder =
            std::mem::replace(&mut self.server, again.expect("restarted on the same port"));
        let _ = placeholder.shutdown().await;
    }

    /// Writes a file beside the Deployfile (`file(…)` reads it).
    pub(crate) fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).expect("write");
    }

    fn parse(text: &str) -> ferry::syntax::Deployfile {
        let checked = ferry::check::check_source(text);
        assert!(!checked.has_errors(), "{text}\n{:#?}", checked.diagnostics);
        checked.file.expect("parses")
    }

    pub(crate) async fn plan(&self, text: &str) -> Result<Plan, PlanError> {
        self.plan_with(text, false).await
    }

    pub(crate) async fn plan_with(&self, text: &str, redeploy: bool) -> Result<Plan, PlanError> {
        let file = Self::parse(text);
        let workspace = Workspace::default();
        let settings = resolve(&file, None, &workspace).expect("settings");
        make_plan(
            &file,
            &settings,
            &workspace,
            &Ecs::new(&self.clients),
            "local",
            self.dir.path(),
            &PlanOptions { redeploy, capacity: self.server.capacity(), account: None },
        )
        .await
    }

    pub(crate) async fn run(&self, text: &str) -> Outcome {
        self.run_with(text, Setup::default()).await
    }

    pub(crate) async fn run_with(&self, text: &str, setup: Setup) -> Outcome {
        let file = Self::parse(text);
        let workspace = Workspace::default();
        let settings = resolve(&file, None, &workspace).expect("settings");
        let interrupted = Arc::new(AtomicBool::new(false));
        let mut sink = Hooked {
            events: Vec::new(),
            hook: setup.hook,
            context: Hook {
                clients: self.clients.clone(),
                interrupted: Arc::clone(&interrupted),
                clock: self.server.clock().clone(),
            },
        };
        let options = RunOptions {
            interrupted,
            wait_for_lock: setup.wait_for_lock,
            redeploy: setup.redeploy,
            target: "local".to_owned(),
            base_dir: self.dir.path().to_path_buf(),
            capacity: self.server.capacity(),
            expected: setup.expected,
            ..RunOptions::default()
        };
        let outcome = Runner::new(
            &file,
            settings,
            &workspace,
            Ecs::new(&self.clients),
            self.server.clock().clone(),
            &mut sink,
            options,
        )
        .run()
        .await;
        Outcome { verdict: outcome.verdict, reason: outcome.reason, events: sink.events }
    }

    /// `ferry rollback` by hand.
    pub(crate) async fn rollback(&self, to: Option<&str>) -> Result<String, RollbackError> {
        roll_back(&Ecs::new(&self.clients), self.server.clock(), "c", "web", to, 15 * 60_000).await
    }

    pub(crate) async fn service(&self) -> Option<ServiceView> {
        Ecs::new(&self.clients).service("c", "web").await.expect("describe")
    }

    /// ACTIVE revisions of the family, newest first.
    pub(crate) async fn revisions(&self, family: &str) -> Vec<String> {
        Ecs::new(&self.clients).revisions(family).await.expect("list")
    }

    /// Lets the local ECS run on by itself for a while (nobody waits: time is moved).
    pub(crate) fn pass(&self, ms: u64) {
        self.server.clock().advance(ms);
    }

    /// Waits until the service settles on one deployment (another client's deployment
    /// running to its end), moving time.
    pub(crate) async fn settle(&self) -> ServiceView {
        for _ in 0..2_000 {
            if let Some(service) = self.service().await
                && service.deployments.len() == 1
                && service.primary().is_some_and(|p| {
                    p.rollout_state.as_deref() != Some("IN_PROGRESS") && p.running == p.desired
                })
            {
                return service;
            }
            self.pass(5_000);
        }
        panic!("the service did not settle: {:#?}", self.service().await);
    }
}

/// The revision number at the end of a task-definition ARN (`…:web:3` → 3).
pub(crate) fn revision_number(arn: &str) -> u32 {
    arn.rsplit(':').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}
