//! The live state a plan or a run resolves against, read once with read-only calls before
//! anything is written: each service the pipeline reads or updates, the revision it runs,
//! the revisions `register` steps start from or compare with, each family's ACTIVE
//! revisions, the rollback target of each service, and the task-definition files named
//! by `file(…)`. The edge of the resolution: `resolve.rs` is pure over this.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aws::RevisionInput;
use crate::aws::{AwsError, Ecs, ServiceView, TargetGroupView};
use crate::eval::{PlannedStep, TaskDefinitionSource};

/// The largest task-definition file read (ECS refuses register requests past 64 KiB).
const MAX_FILE: u64 = 1024 * 1024;

/// A revision as described.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    pub arn: String,
    pub input: RevisionInput,
}

/// What the resolution reads.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// By `(cluster, service)`: the service, or `None` when it (or its cluster) is missing.
    pub services: BTreeMap<(String, String), Option<ServiceView>>,
    /// By reference (ARN, `family`, `family:revision`): the revision, or `None` when ECS
    /// has none of that name.
    pub revisions: BTreeMap<String, Option<Described>>,
    /// By family: its ACTIVE revisions, newest first.
    pub families: BTreeMap<String, Vec<String>>,
    /// By `(cluster, service)`: the last revision whose deployment completed.
    pub rollback_targets: BTreeMap<(String, String), Option<String>>,
    /// By path as written in the Deployfile: the file's text, or why it cannot be read.
    pub files: BTreeMap<String, Result<String, Unreadable>>,
    /// Tasks the cluster has room for, where known (the local ECS's `--capacity`).
    pub capacity: Option<u32>,
    /// By `verify` step: why one of its gate scripts cannot be read or does not compile.
    pub gate_problems: BTreeMap<String, String>,
    /// By ARN, the target groups `update` steps name: the group, `Ok(None)` when it does
    /// not exist, `Err` when it could not be read (no permission: not judged).
    pub target_groups: BTreeMap<String, Result<Option<TargetGroupView>, String>>,
}

impl Live {
    #[must_use]
    pub fn service(&self, cluster: &str, name: &str) -> Option<&ServiceView> {
        self.services.get(&(cluster.to_owned(), name.to_owned())).and_then(Option::as_ref)
    }

    #[must_use]
    pub fn revision(&self, reference: &str) -> Option<&Described> {
        self.revisions.get(reference).and_then(Option::as_ref)
    }
}

/// The cluster a step names, or the environment's, or `default`.
#[must_use]
pub(super) fn cluster_of(explicit: Option<&String>, default: Option<&String>) -> String {
    explicit.or(default).cloned().unwrap_or_else(|| "default".to_owned())
}

/// Reads everything the resolution of `steps` needs.
pub(super) async fn read_live(
    steps: &[PlannedStep],
    default_cluster: Option<&String>,
    ecs: &Ecs,
    base_dir: &Path,
    capacity: Option<u32>,
) -> Result<Live, AwsError> {
    let mut live = Live { capacity, ..Live::default() };
    let mut reader = Reader { ecs, live: &mut live };
    for step in steps {
        match step {
            PlannedStep::Register(register) => {
                match &register.from {
                    Some(TaskDefinitionSource::Service { name, cluster }) => {
                        let cluster = cluster_of(cluster.as_ref(), default_cluster);
                        reader.service(&cluster, name).await?;
                        // The family of the revision it runs: its latest, and its
                        // revisions for cleanup.
                        let family = reader
                            .live
                            .service(&cluster, name)
                            .map(|s| super::resolve::family_of(&s.task_definition))
                            .filter(|f| !f.is_empty() && register.family.is_none());
                        if let Some(family) = family {
                            reader.revision(&family).await?;
                            reader.family(&family).await?;
                        }
                    }
                    Some(TaskDefinitionSource::Family { name }) => {
                        reader.revision(name).await?;
                        if let Some(family) = name.split(':').next() {
                            reader.revision(family).await?;
                            reader.family(family).await?;
                        }
                    }
                    Some(TaskDefinitionSource::File { path }) => {
                        let text = read_file(&base_dir.join(path));
                        let family = text
                            .as_ref()
                            .ok()
                            .and_then(|t| super::revision_json::revision_from_json(t).ok())
                            .map(|r| r.family);
                        reader.live.files.insert(path.clone(), text);
                        if let Some(family) = family.filter(|_| register.family.is_none()) {
                            reader.revision(&family).await?;
                            reader.family(&family).await?;
                        }
                    }
                    None => {}
                }
                if let Some(family) = &register.family {
                    reader.revision(family).await?;
                    reader.family(family).await?;
                }
            }
            PlannedStep::Update(update) => {
                let cluster = cluster_of(update.cluster.as_ref(), default_cluster);
                reader.service(&cluster, &update.service).await?;
                reader.rollback_target(&cluster, &update.service).await?;
                for link in &update.load_balancers {
                    reader.target_group(&link.target_group).await?;
                }
            }
            PlannedStep::Verify(verify) => {
                // The scripts are read and compiled here, at the edge; a problem is a
                // refusal of the resolution.
                if let Err(problem) = super::gates::check_gates(&verify.gates, base_dir) {
                    reader.live.gate_problems.insert(verify.name.clone(), problem.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(live)
}

/// A task-definition file's text: regular, UTF-8, at most a mebibyte.
fn read_file(path: &Path) -> Result<String, Unreadable> {
    crate::regular_file::read_text(path, MAX_FILE).map_err(|problem| Unreadable {
        path: path.display().to_string(),
        problem: problem.to_string(),
    })
}

/// A file the Deployfile names that cannot be read, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot read `{path}`: {problem}")]
pub struct Unreadable {
    pub path: String,
    pub problem: String,
}

struct Reader<'a> {
    ecs: &'a Ecs,
    live: &'a mut Live,
}

impl Reader<'_> {
    /// The service and the revision it runs.
    async fn service(&mut self, cluster: &str, name: &str) -> Result<(), AwsError> {
        let key = (cluster.to_owned(), name.to_owned());
        if self.live.services.contains_key(&key) {
            return Ok(());
        }
        let service = self.ecs.service(cluster, name).await?;
        let running = service.as_ref().map(|s| s.task_definition.clone());
        self.live.services.insert(key, service);
        if let Some(running) = running.filter(|r| !r.is_empty()) {
            self.revision(&running).await?;
        }
        Ok(())
    }

    async fn revision(&mut self, reference: &str) -> Result<(), AwsError> {
        if self.live.revisions.contains_key(reference) {
            return Ok(());
        }
        let described = match self.ecs.task_definition(reference).await {
            Ok((td, tags)) => Some(Described {
                arn: td.task_definition_arn().unwrap_or_default().to_owned(),
                input: RevisionInput::from_described(&td, &tags),
            }),
            // ECS says "Unable to describe task definition" for a family it does not know.
            Err(error) if error.code == "ClientException" => None,
            Err(error) => return Err(error),
        };
        if let Some(found) = &described {
            self.live.revisions.insert(found.arn.clone(), described.clone());
        }
        self.live.revisions.insert(reference.to_owned(), described);
        Ok(())
    }

    /// A target group an `update` names. A group ECS does not know is `None`; a read
    /// refused (the role may lack `elasticloadbalancing:DescribeTargetGroups`) is kept as
    /// its reason, and the plan does not judge the group; a transient failure is an error.
    async fn target_group(&mut self, arn: &str) -> Result<(), AwsError> {
        if self.live.target_groups.contains_key(arn) {
            return Ok(());
        }
        let read = match self.ecs.target_groups(&[arn.to_owned()]).await {
            Ok(groups) => {
                let mut group = groups.into_iter().next();
                if let Some(group) = group.as_mut() {
                    // The prediction's draining; unread, ECS's default stands.
                    group.drain_ms = self.ecs.deregistration_delay_ms(arn).await.ok().flatten();
                }
                Ok(group)
            }
            Err(error) if error.code == "TargetGroupNotFound" => Ok(None),
            // A malformed ARN: ELB's ValidationError; the group cannot exist.
            Err(error) if error.code == "ValidationError" => Ok(None),
            Err(error) if error.is_transient() || error.is_interrupted() => return Err(error),
            Err(error) => Err(error.to_string()),
        };
        self.live.target_groups.insert(arn.to_owned(), read);
        Ok(())
    }

    async fn family(&mut self, family: &str) -> Result<(), AwsError> {
        if !self.live.families.contains_key(family) {
            let revisions = self.ecs.revisions(family).await?;
            self.live.families.insert(family.to_owned(), revisions);
        }
        Ok(())
    }

    async fn rollback_target(&mut self, cluster: &str, name: &str) -> Result<(), AwsError> {
        let key = (cluster.to_owned(), name.to_owned());
        if self.live.rollback_targets.contains_key(&key) {
            return Ok(());
        }
        let target = match self.live.service(cluster, name).cloned() {
            Some(service) => last_completed(self.ecs, cluster, &service, None).await?,
            None => None,
        };
        self.live.rollback_targets.insert(key, target);
        Ok(())
    }
}

/// The revision of the service's last deployment that completed, other than `except`:
/// the PRIMARY when it completed, else an older deployment still listed as COMPLETED, else
/// the newest SUCCESSFUL service deployment (ListServiceDeployments, where the endpoint
/// has it). Never one that failed or was rolled back.
pub(super) async fn last_completed(
    ecs: &Ecs,
    cluster: &str,
    service: &ServiceView,
    except: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let allowed = |td: &str| except.is_none_or(|e| e != td);
    if let Some(primary) = service.primary()
        && settled(service, primary)
        && allowed(&primary.task_definition)
    {
        return Ok(Some(primary.task_definition.clone()));
    }
    if let Some(older) = service.deployments.iter().find(|d| {
        d.status != "PRIMARY"
            && d.rollout_state.as_deref() == Some("COMPLETED")
            && allowed(&d.task_definition)
    }) {
        return Ok(Some(older.task_definition.clone()));
    }
    let Some(history) = ecs.service_deployments(cluster, &service.name).await? else {
        return Ok(None);
    };
    for record in history.iter().filter(|r| r.status == "SUCCESSFUL") {
        let Some(revision) = &record.target_revision else { continue };
        match ecs.revision_task_definition(revision).await {
            Ok(Some(td)) if allowed(&td) => return Ok(Some(td)),
            Ok(_) => {}
            Err(error) if error.is_unsupported() => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Whether a deployment completed: `COMPLETED`, or — without a rollout state (a Classic
/// Load Balancer) — alone at its desired count.
fn settled(service: &ServiceView, deployment: &crate::aws::DeploymentView) -> bool {
    match deployment.rollout_state.as_deref() {
        Some(state) => state == "COMPLETED",
        None => service.deployments.len() == 1 && deployment.running == deployment.desired,
    }
}
