//! The docker runtime of the local ECS (`--runtime docker`): every task becomes real
//! containers on the machine's Docker engine. A loop, every 250 ms, reports what the
//! engine says of each task's containers to the scheduler (`Task::observe`), brings the
//! scheduler up to now, and then acts on what it decided: pull and start the containers of
//! new tasks, SIGTERM those on the stop path (SIGKILL at the stop timeout), remove those of
//! stopped tasks. Behind load balancers it checks the tasks' targets over HTTP and runs a
//! proxy per listener (`traffic.rs`). docs/local.md says how a task definition becomes
//! containers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::ecr::RegistryConfig;
use super::server::{Shared, lock};
use super::task::{Binding, ContainerStatus, Health, RuntimeReport, TaskState};
use crate::docker::{
    ContainerSpec, DockerEngine, DockerError, EngineHealth, HealthSpec, RegistryAuth,
};

/// The label every container of the runtime carries: the instance that started it.
pub const INSTANCE_LABEL: &str = "dev.ferry.local";
/// The label holding the task id.
pub const TASK_LABEL: &str = "dev.ferry.task";
/// How often the engine is asked about the containers.
const TICK: Duration = Duration::from_millis(250);
/// ECS's default stop timeout, in seconds.
const DEFAULT_STOP_TIMEOUT_S: i64 = 30;

/// One container of a task, as created.
#[derive(Clone, Debug)]
struct Started {
    name: String,
    id: String,
    essential: bool,
    /// The container ports it declared, published by the task's first container.
    ports: Vec<(u16, String)>,
    stop_timeout_s: i64,
}

/// A task the runtime looks after.
#[derive(Debug, Default)]
struct Managed {
    /// Empty while its launch is under way.
    containers: Vec<Started>,
    launched: bool,
    stop_sent: bool,
}

/// What a launch reports back to the loop.
struct Launched {
    task: String,
    result: Result<Vec<Started>, String>,
}

/// The containers of one task, from its task definition: `image`, `environment`,
/// `command`, `entryPoint`, `workingDirectory`, `user`, `portMappings` (published on
/// 127.0.0.1 at ports the engine picks), `healthCheck`, `memory` (or the task's when the
/// task has one container), `memoryReservation`, `cpu` (as CPU shares),
/// `linuxParameters.initProcessEnabled`, `stopTimeout`, `essential`. The first container
/// holds the network; the others join it, as containers of an `awsvpc` task share
/// `localhost`.
pub fn container_specs(
    task_id: &str,
    service: &str,
    definition: &Value,
    instance: &str,
) -> Result<Vec<(ContainerSpec, bool)>, String> {
    let containers = definition
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or("CannotCreateContainerError: the task definition has no containers")?;
    let task_memory = definition
        .get("memory")
        .and_then(|m| m.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| m.as_i64()));
    let mut specs = Vec::new();
    for container in containers {
        let text = |key: &str| container.get(key).and_then(Value::as_str).map(str::to_owned);
        let strings = |key: &str| {
            container.get(key).and_then(Value::as_array).map(|items| {
                items.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>()
            })
        };
        let number = |key: &str| container.get(key).and_then(Value::as_i64);
        let name = text("name").unwrap_or_else(|| format!("container{}", specs.len()));
        let image = text("image").ok_or_else(|| {
            format!("CannotCreateContainerError: container `{name}` has no image")
        })?;
        let env = container
            .get("environment")
            .and_then(Value::as_array)
            .map(|pairs| {
                pairs
                    .iter()
                    .filter_map(|pair| {
                        let key = pair.get("name").and_then(Value::as_str)?;
                        let value = pair.get("value").and_then(Value::as_str).unwrap_or_default();
                        Some(format!("{key}={value}"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let publish: Vec<(u16, String)> = container
            .get("portMappings")
            .and_then(Value::as_array)
            .map(|mappings| {
                mappings
                    .iter()
                    .filter_map(|m| {
                        let port = u16::try_from(m.get("containerPort")?.as_u64()?).ok()?;
                        let protocol =
                            m.get("protocol").and_then(Value::as_str).unwrap_or("tcp").to_owned();
                        Some((port, protocol))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let health = container.get("healthCheck").filter(|h| !h.is_null()).map(|h| {
            let get =
                |key: &str, default: i64| h.get(key).and_then(Value::as_i64).unwrap_or(default);
            HealthSpec {
                test: h
                    .get("command")
                    .and_then(Value::as_array)
                    .map(|c| c.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
                interval_s: get("interval", 30),
                timeout_s: get("timeout", 5),
                retries: get("retries", 3),
                start_period_s: get("startPeriod", 0),
            }
        });
        let memory_mib =
            number("memory").or(if containers.len() == 1 { task_memory } else { None });
        let essential = container.get("essential").and_then(Value::as_bool).unwrap_or(true);
        let stop_timeout_s = number("stopTimeout").unwrap_or(DEFAULT_STOP_TIMEOUT_S);
        let ports: Vec<String> = publish.iter().map(|(p, proto)| format!("{p}/{proto}")).collect();
        // What the runtime needs to adopt the container after a restart.
        let labels = HashMap::from([
            (INSTANCE_LABEL.to_owned(), instance.to_owned()),
            (TASK_LABEL.to_owned(), task_id.to_owned()),
            ("dev.ferry.service".to_owned(), service.to_owned()),
            ("dev.ferry.container".to_owned(), name.clone()),
            ("dev.ferry.index".to_owned(), specs.len().to_string()),
            ("dev.ferry.essential".to_owned(), essential.to_string()),
            ("dev.ferry.stop-timeout".to_owned(), stop_timeout_s.to_string()),
            ("dev.ferry.ports".to_owned(), ports.join(",")),
        ]);
        let spec = ContainerSpec {
            name: engine_name(service, task_id, &name),
            image,
            env,
            command: strings("command"),
            entry_point: strings("entryPoint"),
            working_dir: text("workingDirectory"),
            user: text("user"),
            publish,
            health,
            memory_mib,
            memory_reservation_mib: number("memoryReservation"),
            // The engine refuses fewer than 2 shares.
            cpu_shares: number("cpu").filter(|c| *c > 0).map(|c| c.max(2)),
            init: container
                .get("linuxParameters")
                .and_then(|l| l.get("initProcessEnabled"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            stop_timeout_s,
            labels,
            network_of: None,
        };
        specs.push((spec, essential));
    }
    // The task's ports are all published by its first container, which holds the network.
    let all_ports: Vec<(u16, String)> =
        specs.iter().flat_map(|(spec, _)| spec.publish.clone()).collect();
    specs[0].0.publish = all_ports;
    Ok(specs)
}

/// `ferry-SERVICE-TASK8-CONTAINER`, in the characters the engine allows in names.
fn engine_name(service: &str, task_id: &str, container: &str) -> String {
    let raw = format!("ferry-{service}-{}-{container}", &task_id[..task_id.len().min(8)]);
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '-' })
        .collect()
}

/// Credentials for pulling `image`: the local ECR's registry's, when it is that registry's.
fn pull_auth(image: &str, registry: &RegistryConfig) -> Option<RegistryAuth> {
    let address = registry.address.as_deref()?;
    let password = registry.password.clone()?;
    image.strip_prefix(address)?.strip_prefix('/')?;
    Some(RegistryAuth { username: "AWS".to_owned(), password, server: address.to_owned() })
}

/// Pulls the images and starts the containers of one task, first container first; on any
/// failure, the containers already started are removed.
async fn launch(
    engine: &DockerEngine,
    registry: &RegistryConfig,
    specs: Vec<(ContainerSpec, bool)>,
) -> Result<Vec<Started>, String> {
    for (spec, _) in &specs {
        engine
            .ensure_image(&spec.image, pull_auth(&spec.image, registry).as_ref())
            .await
            .map_err(|message| format!("CannotPullContainerError: {message}"))?;
    }
    let mut started: Vec<Started> = Vec::new();
    for (mut spec, _) in specs {
        spec.network_of = started.first().map(|first| first.id.clone());
        if spec.network_of.is_some() {
            spec.publish.clear();
        }
        match engine.run_container(&spec).await {
            Ok(id) => started.push(Started::from_labels(id, &spec.labels)),
            Err(message) => {
                for container in &started {
                    let _ = engine.remove(&container.id).await;
                }
                return Err(message.to_string());
            }
        }
    }
    Ok(started)
}

impl Started {
    /// The container `id`, from the labels the runtime gave it.
    fn from_labels(id: String, labels: &HashMap<String, String>) -> Self {
        let label = |key: &str| labels.get(key).map_or("", String::as_str);
        Started {
            name: label("dev.ferry.container").to_owned(),
            id,
            essential: label("dev.ferry.essential") != "false",
            ports: label("dev.ferry.ports")
                .split(',')
                .filter_map(|p| {
                    let (port, protocol) = p.split_once('/')?;
                    Some((port.parse().ok()?, protocol.to_owned()))
                })
                .collect(),
            stop_timeout_s: label("dev.ferry.stop-timeout")
                .parse()
                .unwrap_or(DEFAULT_STOP_TIMEOUT_S),
        }
    }
}

/// Containers of an earlier run, adopted by the tasks that still own them.
#[derive(Debug, Default)]
pub struct Adopted {
    managed: BTreeMap<String, Managed>,
}

impl Adopted {
    /// The ids of the adopting tasks.
    #[must_use]
    pub fn tasks(&self) -> Vec<String> {
        self.managed.keys().cloned().collect()
    }
}

/// Finds the containers an earlier run of `instance` left: those of a task in `ran` (not
/// stopped, had reached RUNNING) are adopted, every other one is removed.
pub async fn adopt(
    engine: &DockerEngine,
    instance: &str,
    ran: &[String],
) -> Result<Adopted, DockerError> {
    let mut found: BTreeMap<String, Vec<(u32, Started)>> = BTreeMap::new();
    for (id, labels) in engine.labelled(INSTANCE_LABEL, instance).await? {
        let task = labels.get(TASK_LABEL).cloned().unwrap_or_default();
        let index = labels.get("dev.ferry.index").and_then(|i| i.parse().ok()).unwrap_or(0);
        found.entry(task).or_default().push((index, Started::from_labels(id, &labels)));
    }
    let mut adopted = Adopted::default();
    for (task, mut containers) in found {
        containers.sort_by_key(|(index, _)| *index);
        let containers: Vec<Started> = containers.into_iter().map(|(_, c)| c).collect();
        if ran.contains(&task) {
            adopted.managed.insert(task, Managed { containers, launched: true, stop_sent: false });
        } else {
            for container in containers {
                engine.remove(&container.id).await?;
            }
        }
    }
    Ok(adopted)
}

/// How long a container killed with 137 is given for the engine to mark it OOMKilled
/// (a busy engine has been seen to take over 300 ms): until then it is reported as still
/// running, and asked again at the next ticks — the loop does not wait for it.
const OOM_EVENT_WAIT: Duration = Duration::from_millis(1_500);

/// What the engine says of a task's containers now. `unmarked` holds when each container
/// was first seen killed (137) without the OOM mark; `stop_sent`: the runtime sent the
/// task's containers SIGTERM (and so maybe SIGKILL at the stop timeout).
async fn report(
    engine: &DockerEngine,
    containers: &[Started],
    unmarked: &mut HashMap<String, std::time::Instant>,
    stop_sent: bool,
) -> RuntimeReport {
    let mut statuses = Vec::new();
    let mut published = Vec::new();
    for (index, container) in containers.iter().enumerate() {
        let mut state = engine.inspect(&container.id).await.ok().flatten();
        // Killed (137) and not yet marked OOMKilled: the engine learns of an OOM kill from
        // an event of its own that may come after the exit, so it is asked again later.
        let killed = state
            .as_ref()
            .is_some_and(|s| !s.running && s.exit_code == Some(137) && !s.out_of_memory);
        if killed {
            let since =
                *unmarked.entry(container.id.clone()).or_insert_with(std::time::Instant::now);
            if let Some(state) = state.as_mut() {
                if since.elapsed() < OOM_EVENT_WAIT {
                    state.running = true;
                    state.exit_code = None;
                } else if !stop_sent {
                    // Killed while nobody asked it to stop, and the engine never marked it:
                    // a busy engine loses the kernel's OOM event (seen here under load);
                    // only the kernel kills a container of the runtime unasked.
                    state.out_of_memory = true;
                }
            }
        } else {
            unmarked.remove(&container.id);
        }
        if index == 0 {
            published = state.as_ref().map(|s| s.ports.clone()).unwrap_or_default();
        }
        let bindings = container
            .ports
            .iter()
            .flat_map(|(port, protocol)| {
                published.iter().filter(move |(p, proto, _, _)| p == port && proto == protocol)
            })
            .map(|(port, protocol, address, host_port)| Binding {
                bind_ip: address.clone(),
                container_port: *port,
                host_port: *host_port,
                protocol: protocol.clone(),
            })
            .collect();
        // A container the engine lost counts as exited without a code.
        let (running, exit_code, out_of_memory, health) = match state {
            Some(state) => (
                state.running,
                state.exit_code,
                state.out_of_memory,
                state.health.map(|h| match h {
                    EngineHealth::Starting => Health::Starting,
                    EngineHealth::Healthy => Health::Healthy,
                    EngineHealth::Unhealthy => Health::Unhealthy,
                }),
            ),
            None => (false, None, false, None),
        };
        statuses.push(ContainerStatus {
            name: container.name.clone(),
            runtime_id: container.id.clone(),
            essential: container.essential,
            running,
            exit_code,
            out_of_memory,
            health,
            bindings,
        });
    }
    RuntimeReport::Containers(statuses)
}

/// Removes every container of `instance`.
pub async fn remove_all(engine: &DockerEngine, instance: &str) -> Result<usize, DockerError> {
    let found = engine.labelled(INSTANCE_LABEL, instance).await?;
    for (id, _) in &found {
        engine.remove(id).await?;
    }
    Ok(found.len())
}

/// Runs the runtime until `stop` turns true; then, unless `keep` (a state file will let
/// the next start adopt them), removes every container it looks after.
pub(super) async fn run(
    shared: Arc<Shared>,
    engine: DockerEngine,
    instance: String,
    adopted: Adopted,
    keep: bool,
    mut stop: watch::Receiver<bool>,
) {
    let (sender, mut launched) = mpsc::unbounded_channel::<Launched>();
    let mut managed = adopted.managed;
    let mut traffic = super::traffic::Traffic::new();
    let mut unmarked: HashMap<String, std::time::Instant> = HashMap::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut reports: Vec<(String, RuntimeReport)> = Vec::new();
        tokio::select! {
            _ = ticker.tick() => {}
            Some(message) = launched.recv() => {
                settle_launch(message, &mut managed, &mut reports);
                while let Ok(message) = launched.try_recv() {
                    settle_launch(message, &mut managed, &mut reports);
                }
            }
            _ = stop.changed() => break,
        }
        for (task, entry) in &managed {
            if entry.launched {
                reports.push((
                    task.clone(),
                    report(&engine, &entry.containers, &mut unmarked, entry.stop_sent).await,
                ));
            }
        }
        unmarked.retain(|id, _| managed.values().any(|m| m.containers.iter().any(|c| &c.id == id)));
        let checked = traffic.results();
        let (views, probes, listeners) = {
            let now = shared.clock.now_ms();
            let mut state = lock(&shared.state);
            for (task, report) in reports {
                state.observe(&task, report, now);
            }
            for (task, index, result) in checked {
                state.probed(&task, index, result, now);
            }
            state.advance(now, &shared.faults);
            (state.task_views(), state.probes(), state.listener_arns())
        };
        traffic.probe(probes);
        traffic.proxies(&shared, listeners).await;
        let mut seen = Vec::new();
        for view in views {
            seen.push(view.id.clone());
            match (view.state, managed.get_mut(&view.id)) {
                (TaskState::Pending, None) => {
                    managed.insert(view.id.clone(), Managed::default());
                    let specs =
                        container_specs(&view.id, &view.service, &view.definition, &instance);
                    let (engine, registry, sender) =
                        (engine.clone(), shared.registry.clone(), sender.clone());
                    let task = view.id.clone();
                    tokio::spawn(async move {
                        let result = match specs {
                            Ok(specs) => launch(&engine, &registry, specs).await,
                            Err(message) => Err(message),
                        };
                        let _ = sender.send(Launched { task, result });
                    });
                }
                (TaskState::Stopping, Some(entry)) if entry.launched && !entry.stop_sent => {
                    entry.stop_sent = true;
                    for container in entry.containers.clone() {
                        let engine = engine.clone();
                        tokio::spawn(async move {
                            let _ = engine.stop(&container.id, container.stop_timeout_s).await;
                        });
                    }
                }
                (TaskState::Stopped, Some(entry)) if entry.launched => {
                    let containers = std::mem::take(&mut entry.containers);
                    managed.remove(&view.id);
                    spawn_removal(&engine, containers);
                }
                _ => {}
            }
        }
        // Tasks the state no longer holds (their service was deleted, or they aged out).
        let gone: Vec<String> = managed
            .iter()
            .filter(|(id, entry)| entry.launched && !seen.contains(id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            if let Some(entry) = managed.remove(&id) {
                spawn_removal(&engine, entry.containers);
            }
        }
    }
    traffic.stop(&shared);
    if keep {
        return;
    }
    // Shutting down: launches under way finish first, so nothing is left behind.
    drop(sender);
    let pending = managed.values().any(|entry| !entry.launched);
    if pending {
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_mins(2), launched.recv()).await
        {
            if let (Some(entry), Ok(containers)) = (managed.get_mut(&message.task), message.result)
            {
                entry.containers = containers;
                entry.launched = true;
            }
            if managed.values().all(|entry| entry.launched) {
                break;
            }
        }
    }
    for entry in managed.into_values() {
        for container in entry.containers {
            let _ = engine.remove(&container.id).await;
        }
    }
}

fn settle_launch(
    message: Launched,
    managed: &mut BTreeMap<String, Managed>,
    reports: &mut Vec<(String, RuntimeReport)>,
) {
    let Some(entry) = managed.get_mut(&message.task) else { return };
    match message.result {
        Ok(containers) => {
            entry.containers = containers;
            entry.launched = true;
        }
        Err(reason) => {
            managed.remove(&message.task);
            reports.push((message.task, RuntimeReport::FailedToStart { reason }));
        }
    }
}

fn spawn_removal(engine: &DockerEngine, containers: Vec<Started>) {
    let engine = engine.clone();
    tokio::spawn(async move {
        for container in containers {
            let _ = engine.remove(&container.id).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_task_definition_becomes_containers() {
        let definition = json!({
            "family": "web",
            "memory": "512",
            "containerDefinitions": [
                {
                    "name": "web",
                    "image": "127.0.0.1:5000/web@sha256:abc",
                    "environment": [{"name": "A", "value": "1"}, {"name": "B"}],
                    "command": ["httpd", "-f"],
                    "portMappings": [
                        {"containerPort": 8080},
                        {"containerPort": 53, "protocol": "udp"}
                    ],
                    "healthCheck": {
                        "command": ["CMD-SHELL", "wget -q -O- localhost:8080"],
                        "interval": 5
                    },
                    "cpu": 1,
                    "stopTimeout": 10,
                    "linuxParameters": {"initProcessEnabled": true}
                },
                {
                    "name": "sidecar",
                    "image": "sidecar:1",
                    "essential": false,
                    "memory": 64,
                    "portMappings": [{"containerPort": 9000, "hostPort": 9000}]
                }
            ]
        });
        let specs = container_specs("0123456789abcdef", "web", &definition, "i").expect("specs");
        let (web, essential) = &specs[0];
        assert!(essential);
        assert_eq!(web.name, "ferry-web-01234567-web");
        assert_eq!(web.env, ["A=1", "B="]);
        assert_eq!(web.command.as_deref(), Some(&["httpd".to_owned(), "-f".to_owned()][..]));
        assert_eq!(
            web.publish,
            [(8080, "tcp".to_owned()), (53, "udp".to_owned()), (9000, "tcp".to_owned())]
        );
        let health = web.health.as_ref().expect("health check");
        assert_eq!(
            (health.interval_s, health.timeout_s, health.retries, health.start_period_s),
            (5, 5, 3, 0)
        );
        assert_eq!(health.test[0], "CMD-SHELL");
        // More than one container: the task's memory is not any one container's limit.
        assert_eq!(web.memory_mib, None);
        assert_eq!((web.cpu_shares, web.stop_timeout_s, web.init), (Some(2), 10, true));
        assert_eq!(web.labels[TASK_LABEL], "0123456789abcdef");
        let (sidecar, essential) = &specs[1];
        assert!(!essential);
        assert_eq!((sidecar.memory_mib, sidecar.stop_timeout_s), (Some(64), 30));
        let own = |(spec, _): &(ContainerSpec, bool)| {
            Started::from_labels(String::new(), &spec.labels).ports
        };
        assert_eq!(own(&specs[0]), [(8080, "tcp".to_owned()), (53, "udp".to_owned())]);
        assert_eq!(own(&specs[1]), [(9000, "tcp".to_owned())]);
        let sidecar = Started::from_labels("id".to_owned(), &specs[1].0.labels);
        assert_eq!(
            (sidecar.name.as_str(), sidecar.essential, sidecar.stop_timeout_s),
            ("sidecar", false, 30)
        );
    }

    #[test]
    fn one_container_gets_the_task_memory() {
        let definition = json!({
            "memory": "256",
            "containerDefinitions": [{"name": "app", "image": "app:1"}]
        });
        let specs = container_specs("t", "svc/x", &definition, "i").expect("specs");
        assert_eq!(specs[0].0.memory_mib, Some(256));
        assert_eq!(specs[0].0.name, "ferry-svc-x-t-app");
    }

    #[test]
    fn a_container_without_image_cannot_be_created() {
        let error =
            container_specs("t", "s", &json!({"containerDefinitions": [{"name": "a"}]}), "i")
                .expect_err("no image");
        assert_eq!(error, "CannotCreateContainerError: container `a` has no image");
        let error = container_specs("t", "s", &json!({}), "i").expect_err("no containers");
        assert!(error.starts_with("CannotCreateContainerError"), "{error}");
    }

    #[test]
    fn pulls_from_the_local_registry_carry_its_password() {
        let registry = RegistryConfig {
            address: Some("127.0.0.1:5000".to_owned()),
            password: Some("secret".to_owned()),
        };
        let auth = pull_auth("127.0.0.1:5000/acme/web@sha256:ab", &registry).expect("auth");
        assert_eq!((auth.username.as_str(), auth.server.as_str()), ("AWS", "127.0.0.1:5000"));
        assert!(pull_auth("127.0.0.1:50000/acme/web:1", &registry).is_none());
        assert!(pull_auth("busybox:1", &registry).is_none());
    }
}
