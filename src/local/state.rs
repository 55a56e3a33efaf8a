//! Everything the local ECS/ECR holds: clusters with their services (each with its
//! scheduler `Rollout`), task-definition families, repositories and tags. Serialisable, so
//! it can persist to a file between runs. The operations live in `ecs_*.rs` and `ecr.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api_error::ApiError;
use super::behaviour::{FaultFile, TaskBehaviour};
use super::deployment::Revision;
use super::ids::Ids;
use super::local_error::LocalError;
use super::scheduler::{Launcher, Rollout, SchedulerSettings};

/// The endpoint's own region: a request signed for no region is its.
pub(crate) const HOME_REGION: &str = "us-east-1";

/// How long stopped tasks stay describable (§3.4: at least one hour).
pub(crate) const STOPPED_TASK_RETENTION_MS: u64 = 3_600_000;

/// The largest state file read.
const MAX_STATE: u64 = 256 * 1024 * 1024;

/// The whole state.
#[derive(Debug, Serialize, Deserialize)]
pub struct EcsState {
    pub account: String,
    pub region: String,
    pub clusters: BTreeMap<String, Cluster>,
    pub families: BTreeMap<String, Vec<TaskDefinition>>,
    pub repositories: BTreeMap<String, Repository>,
    /// Tags by resource ARN, for the resources that carry them outside their record.
    pub tags: BTreeMap<String, Vec<Tag>>,
    pub ids: Ids,
    pub settings: SchedulerSettings,
    /// The virtual time the state was saved at, and the epoch of virtual time 0.
    pub saved_at_ms: u64,
    pub epoch_ms: u64,
    /// Tasks each cluster has room for, when set (`ferry local --capacity`).
    pub capacity: Option<u32>,
    /// Whether tasks are real containers (`--runtime docker`), driven by the runtime's
    /// reports rather than the fault file's timers.
    #[serde(skip)]
    pub containers: bool,
    /// The resources of every other region a request named, by region: each a state of
    /// its own (its own clusters, families, repositories, ARNs), sharing this one's
    /// account, clock, settings and capacity. Empty in those states themselves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, EcsState>,
    /// Its load balancers, listeners, rules and target groups.
    #[serde(default)]
    pub elbv2: super::elbv2::Elbv2,
}

/// What the container runtime needs to know of a task.
#[derive(Clone, Debug)]
pub struct TaskView {
    pub id: String,
    pub cluster: String,
    pub service: String,
    pub state: super::task::TaskState,
    /// Whether it reached RUNNING.
    pub ran: bool,
    /// The task definition as registered.
    pub definition: Value,
}

/// `{key, value}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub services: BTreeMap<String, Service>,
    pub created_ms: u64,
}

/// `Service.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceStatus {
    Active,
    Draining,
    Inactive,
}

impl ServiceStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Active => "ACTIVE",
            ServiceStatus::Draining => "DRAINING",
            ServiceStatus::Inactive => "INACTIVE",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub arn: String,
    pub status: ServiceStatus,
    pub rollout: Rollout,
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    /// Members kept as the caller sent them.
    pub network_configuration: Option<Value>,
    pub load_balancers: Value,
    pub deployment_configuration: Value,
    pub propagate_tags: Option<String>,
    pub enable_ecs_managed_tags: bool,
    pub enable_execute_command: bool,
    pub created_ms: u64,
    /// Service deployments (the 2024 API), oldest first.
    #[allow(
        clippy::struct_field_names,
        reason = "ECS's own term: a service's service deployments"
    )]
    pub service_deployments: Vec<ServiceDeployment>,
    /// Service revisions, by number.
    pub revision_count: u32,
    /// The `clientToken` of the CreateService that made it: the same call again returns
    /// this service instead of failing as not idempotent.
    #[serde(default)]
    pub client_token: Option<String>,
}

/// A service deployment record (`ListServiceDeployments`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceDeployment {
    pub arn: String,
    /// The scheduler deployment it follows.
    pub deployment_id: String,
    pub target_revision_arn: String,
    pub source_revision_arns: Vec<String>,
    pub task_definition_arn: String,
    pub created_ms: u64,
    pub finished_ms: Option<u64>,
    pub status: String,
    pub status_reason: Option<String>,
    /// When a rollback began, and to which revision.
    pub rollback: Option<(u64, String, String)>,
    /// The circuit breaker's failure count, as last seen while the deployment ran.
    #[serde(default)]
    pub failure_count: u32,
    /// Whether the circuit breaker failed it (not a stop request).
    #[serde(default)]
    pub breaker_triggered: bool,
    /// Of a blue/green deployment: the lifecycle stage it is in, or the last it reached.
    #[serde(default)]
    pub lifecycle_stage: Option<String>,
    /// The configured alarms that went into ALARM during it.
    #[serde(default)]
    pub triggered_alarms: Vec<String>,
}

/// `TaskDefinition.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskDefinitionStatus {
    Active,
    Inactive,
    DeleteInProgress,
}

impl TaskDefinitionStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskDefinitionStatus::Active => "ACTIVE",
            TaskDefinitionStatus::Inactive => "INACTIVE",
            TaskDefinitionStatus::DeleteInProgress => "DELETE_IN_PROGRESS",
        }
    }
}

/// One registered revision, kept exactly as it was registered (lossless).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskDefinition {
    pub arn: String,
    pub family: String,
    pub revision: u32,
    pub status: TaskDefinitionStatus,
    /// The register request without `tags`: every member, as sent.
    pub body: Value,
    pub registered_ms: u64,
    pub deregistered_ms: Option<u64>,
}

impl TaskDefinition {
    /// What the scheduler needs of it.
    #[must_use]
    pub fn revision_info(&self) -> Revision {
        let all: Vec<&Value> = self
            .body
            .get("containerDefinitions")
            .and_then(Value::as_array)
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        let essential: Vec<&Value> = all
            .iter()
            .copied()
            .filter(|c| c.get("essential").and_then(Value::as_bool).unwrap_or(true))
            .collect();
        Revision {
            arn: self.arn.clone(),
            images: essential
                .iter()
                .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            has_health_check: essential
                .iter()
                .any(|c| c.get("healthCheck").is_some_and(|h| !h.is_null())),
            stop_timeout_ms: all
                .iter()
                .filter_map(|c| c.get("stopTimeout").and_then(Value::as_u64))
                .max()
                .map_or(30_000, |s| s * 1000),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
    pub arn: String,
    pub uri: String,
    pub created_ms: u64,
    pub scan_on_push: bool,
    /// `MUTABLE`, `IMMUTABLE`, `MUTABLE_WITH_EXCLUSION` or `IMMUTABLE_WITH_EXCLUSION`.
    pub tag_mutability: String,
    /// The `imageTagMutabilityExclusionFilters` of a `*_WITH_EXCLUSION` mutability: the
    /// wildcard patterns of the tags that take the other rule.
    #[serde(default)]
    pub mutability_exclusions: Vec<String>,
    pub lifecycle_policy: Option<String>,
    /// When each digest was first seen in the registry (virtual ms): its `imagePushedAt`.
    #[serde(default)]
    pub first_seen_ms: BTreeMap<String, u64>,
}

impl Repository {
    /// Its path in the registry behind the local ECR: the URI without its host.
    #[must_use]
    pub fn registry_path(&self) -> &str {
        self.uri.split_once('/').map_or(self.name.as_str(), |(_, path)| path)
    }

    /// Whether `tag`, once on an image, may not move to another: the repository's rule,
    /// turned over for the tags an exclusion filter matches.
    #[must_use]
    pub fn tag_is_immutable(&self, tag: &str) -> bool {
        let excluded =
            self.mutability_exclusions.iter().any(|filter| super::behaviour::glob(filter, tag));
        match self.tag_mutability.as_str() {
            "IMMUTABLE" => true,
            "IMMUTABLE_WITH_EXCLUSION" => !excluded,
            "MUTABLE_WITH_EXCLUSION" => excluded,
            _ => false,
        }
    }
}

/// Behaviour from the fault file, by the first essential container's image that a rule
/// matches; with real containers, the container runtime's reports instead.
pub(crate) struct VirtualRuntime<'a> {
    pub faults: &'a FaultFile,
    pub containers: bool,
}

impl Launcher for VirtualRuntime<'_> {
    fn behaviour(&mut self, revision: &Revision) -> TaskBehaviour {
        if self.containers {
            return TaskBehaviour { external: true, ..TaskBehaviour::default() };
        }
        revision
            .images
            .iter()
            .find(|image| {
                self.faults.images.iter().any(|rule| super::behaviour::glob(&rule.pattern, image))
            })
            .or(revision.images.first())
            .map_or_else(TaskBehaviour::default, |image| self.faults.behaviour(image))
    }

    fn hook(&mut self, arn: &str) -> (super::behaviour::HookAnswer, u64) {
        self.faults.hook(arn)
    }

    fn alarms(&mut self, revision: &Revision, age_ms: u64) -> Vec<String> {
        self.faults.alarms(&revision.images, age_ms)
    }
}

impl EcsState {
    #[must_use]
    pub fn new(epoch_ms: u64) -> Self {
        Self {
            account: "000000000000".to_owned(),
            region: HOME_REGION.to_owned(),
            clusters: BTreeMap::new(),
            families: BTreeMap::new(),
            repositories: BTreeMap::new(),
            tags: BTreeMap::new(),
            ids: Ids::new(epoch_ms),
            settings: SchedulerSettings::default(),
            saved_at_ms: 0,
            epoch_ms,
            capacity: None,
            containers: false,
            regions: BTreeMap::new(),
            elbv2: super::elbv2::Elbv2::default(),
        }
    }

    /// The state of `region`: this one for its own region, otherwise that region's,
    /// made empty on first use (ids seeded by the region, so no two regions share one).
    pub fn in_region(&mut self, region: &str) -> &mut EcsState {
        if region == self.region {
            return self;
        }
        let template = (self.account.clone(), self.epoch_ms, self.settings, self.capacity);
        let containers = self.containers;
        self.regions.entry(region.to_owned()).or_insert_with(|| {
            let (account, epoch_ms, settings, capacity) = template;
            let seed = region.bytes().fold(epoch_ms, |h, b| h.rotate_left(5) ^ u64::from(b));
            EcsState {
                account,
                region: region.to_owned(),
                ids: Ids::new(seed),
                settings,
                capacity,
                containers,
                ..EcsState::new(epoch_ms)
            }
        })
    }

    /// Reads a saved state; a missing file is a fresh state.
    /// Reads the state file (none yet: a fresh state); at most 256 MiB.
    pub fn load(path: &Path, epoch_ms: u64) -> Result<Self, LocalError> {
        match crate::regular_file::read_text(path, MAX_STATE) {
            Ok(text) => serde_json::from_str(&text).map_err(|error| LocalError::NotAState {
                path: path.to_owned(),
                reason: error.to_string(),
            }),
            Err(crate::regular_file::FileProblem::NotFound) => Ok(Self::new(epoch_ms)),
            Err(error) => Err(LocalError::Read {
                what: "state file",
                path: path.to_owned(),
                reason: error.to_string(),
            }),
        }
    }

    /// Writes the state atomically (a temporary sibling renamed over the file).
    pub fn save(&mut self, path: &Path, now: u64) -> Result<(), LocalError> {
        self.saved_at_ms = now;
        let failed = |reason: String| LocalError::Write { path: path.to_owned(), reason };
        let text = serde_json::to_string(self).map_err(|error| failed(error.to_string()))?;
        let temporary = path.with_extension("ferry-tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|error| failed(error.to_string()))
    }

    pub fn arn(&self, resource: &str) -> String {
        format!("arn:aws:ecs:{}:{}:{resource}", self.region, self.account)
    }

    /// Brings every service's scheduler up to `now`.
    pub fn advance(&mut self, now: u64, faults: &FaultFile) {
        for region in self.regions.values_mut() {
            region.capacity = self.capacity;
            region.settings = self.settings;
            region.containers = self.containers;
            region.advance(now, faults);
        }
        let mut runtime = VirtualRuntime { faults, containers: self.containers };
        for cluster in self.clusters.values_mut() {
            for service in cluster.services.values_mut() {
                if service.status == ServiceStatus::Inactive {
                    continue;
                }
                service.rollout.config.capacity = self.capacity;
                service.rollout.settings = self.settings;
                let (links, drain_ms) = self.elbv2.links(&service.load_balancers);
                service.rollout.config.target_groups = links;
                service.rollout.config.drain_ms = drain_ms;
                service.rollout.advance(now, &mut runtime, &mut self.ids);
                if let Some(traffic) = service.rollout.traffic {
                    self.elbv2.shift(&service.load_balancers, traffic);
                }
                service
                    .rollout
                    .tasks
                    .retain(|t| t.stopped_ms.is_none_or(|at| at + STOPPED_TASK_RETENTION_MS > now));
                super::ecs_service_deployments::sync(service, now);
                if service.status == ServiceStatus::Draining
                    && !service.rollout.tasks.iter().any(|t| t.stopped_ms.is_none())
                {
                    service.status = ServiceStatus::Inactive;
                }
            }
        }
    }

    /// Takes a container runtime's report on a task; says whether the task exists.
    pub fn observe(&mut self, task_id: &str, report: super::task::RuntimeReport, now: u64) -> bool {
        if self.regions.values_mut().any(|region| region.observe(task_id, report.clone(), now)) {
            return true;
        }
        let service = self
            .clusters
            .values_mut()
            .flat_map(|cluster| cluster.services.values_mut())
            .find(|service| service.rollout.tasks.iter().any(|t| t.id == task_id));
        service.is_some_and(|service| service.rollout.observe(task_id, report, now))
    }

    /// Every task the state still holds, for the container runtime.
    #[must_use]
    pub fn task_views(&self) -> Vec<TaskView> {
        let mut views: Vec<TaskView> = self.regions.values().flat_map(Self::task_views).collect();
        for cluster in self.clusters.values() {
            for service in cluster.services.values() {
                for task in &service.rollout.tasks {
                    views.push(TaskView {
                        id: task.id.clone(),
                        cluster: cluster.name.clone(),
                        service: service.name.clone(),
                        state: task.state,
                        ran: task.running_ms.is_some(),
                        definition: self
                            .task_definition(&task.task_definition_arn)
                            .map_or(Value::Null, |td| td.body.clone()),
                    });
                }
            }
        }
        views
    }

    /// Sets the runtime of a loaded state. With real containers, the tasks in `adopted`
    /// keep the containers an earlier run left them; every other task that had not stopped
    /// has none left: it stops (not a failure of its deployment) and its service starts a
    /// new one. Without containers, every task follows timers again.
    pub fn use_runtime(&mut self, containers: bool, adopted: &[String], now: u64) {
        self.containers = containers;
        for region in self.regions.values_mut() {
            region.use_runtime(containers, adopted, now);
        }
        for cluster in self.clusters.values_mut() {
            for service in cluster.services.values_mut() {
                for task in &mut service.rollout.tasks {
                    if !containers {
                        task.external = false;
                        continue;
                    }
                    task.external = true;
                    if task.state == super::task::TaskState::Stopped || adopted.contains(&task.id) {
                        continue;
                    }
                    task.request_stop(
                        super::task::Stop {
                            code: super::task::StopCode::ServiceSchedulerInitiated,
                            reason: "Task stopped: its containers are gone".to_owned(),
                            exit_code: None,
                            container_reason: None,
                            failure: false,
                        },
                        now,
                    );
                    task.state = super::task::TaskState::Stopped;
                    task.stopped_ms = Some(now);
                }
            }
        }
    }

    /// Tasks not stopped that had reached RUNNING: those whose containers can be adopted.
    #[must_use]
    pub fn ran_tasks(&self) -> Vec<String> {
        let mut ran: Vec<String> = self.regions.values().flat_map(Self::ran_tasks).collect();
        ran.extend(
            self.clusters
                .values()
                .flat_map(|c| c.services.values())
                .flat_map(|s| s.rollout.tasks.iter())
                .filter(|t| t.state != super::task::TaskState::Stopped && t.running_ms.is_some())
                .map(|t| t.id.clone()),
        );
        ran
    }

    /// The cluster a request names (default `default`), by name or ARN.
    pub fn cluster_mut(&mut self, name: Option<&str>) -> Result<&mut Cluster, ApiError> {
        let key = cluster_key(name);
        self.clusters.get_mut(&key).ok_or_else(ApiError::cluster_not_found)
    }

    pub fn cluster(&self, name: Option<&str>) -> Result<&Cluster, ApiError> {
        let key = cluster_key(name);
        self.clusters.get(&key).ok_or_else(ApiError::cluster_not_found)
    }

    /// A task definition by `family`, `family:revision` or ARN. A bare family is its
    /// latest ACTIVE revision.
    pub fn task_definition(&self, reference: &str) -> Result<&TaskDefinition, ApiError> {
        let name = reference.rsplit_once("task-definition/").map_or(reference, |(_, rest)| rest);
        let (family, revision) = match name.rsplit_once(':') {
            Some((family, revision)) => {
                let revision: u32 =
                    revision.parse().map_err(|_| ApiError::client("Invalid revision number."))?;
                (family, Some(revision))
            }
            None => (name, None),
        };
        let revisions = self
            .families
            .get(family)
            .ok_or_else(|| ApiError::client("Unable to describe task definition."))?;
        match revision {
            Some(number) => revisions.iter().find(|td| td.revision == number),
            None => revisions.iter().rev().find(|td| td.status == TaskDefinitionStatus::Active),
        }
        .filter(|td| td.status != TaskDefinitionStatus::DeleteInProgress)
        .ok_or_else(|| ApiError::client("Unable to describe task definition."))
    }
}

/// The name of a cluster given by name or ARN; `default` when none.
#[must_use]
pub(crate) fn cluster_key(name: Option<&str>) -> String {
    let name = name.unwrap_or("default");
    name.rsplit_once(":cluster/").map_or(name, |(_, n)| n).to_owned()
}

/// A service's name given by name or ARN.
#[must_use]
pub(crate) fn service_key(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_owned()
}
