//! Tasks: `ListTasks`, `DescribeTasks`, `StopTask`. Tasks belong to services (started by
//! a deployment, `startedBy` = its id); stopped ones stay describable for an hour.

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::request::{Request, paginate};
use super::state::{Cluster, EcsState, service_key};
use super::task::{ContainerStatus, Health, Stop, StopCode, Task, TaskState};

impl EcsState {
    pub fn list_tasks(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let cluster = self.cluster(request.string("cluster")?)?;
        let service = request.string("serviceName")?.map(service_key);
        let started_by = request.string("startedBy")?;
        let family = request.string("family")?;
        if started_by.is_some() && (service.is_some() || family.is_some()) {
            return Err(ApiError::invalid("startedBy must be the only filter when it is given."));
        }
        let stopped = match request.string("desiredStatus")?.unwrap_or("RUNNING") {
            "RUNNING" | "PENDING" => false,
            "STOPPED" => true,
            other => return Err(ApiError::invalid(format!("Invalid desiredStatus: {other}."))),
        };
        if let Some(name) = &service
            && !cluster.services.contains_key(name)
        {
            return Err(ApiError::service_not_found());
        }
        let arns: Vec<String> = cluster
            .services
            .values()
            .filter(|s| service.as_ref().is_none_or(|name| *name == s.name))
            .flat_map(|s| s.rollout.tasks.iter())
            .filter(|t| t.is_active() != stopped)
            .filter(|t| started_by.is_none_or(|id| t.deployment_id == id))
            .filter(|t| {
                family.is_none_or(|f| {
                    t.task_definition_arn
                        .rsplit_once('/')
                        .is_some_and(|(_, r)| r.split(':').next() == Some(f))
                })
            })
            .map(|t| task_arn(cluster, t))
            .collect();
        let (page, next) = paginate(&arns, request.page()?);
        Ok(json!({ "taskArns": page, "nextToken": next }))
    }

    pub fn describe_tasks(&self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let cluster = self.cluster(request.string("cluster")?)?;
        let ids = request.strings("tasks")?;
        if ids.is_empty() || ids.len() > 100 {
            return Err(ApiError::invalid("tasks must hold 1 to 100 tasks."));
        }
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        for id in ids {
            let short = id.rsplit('/').next().unwrap_or(id);
            let found = cluster
                .services
                .values()
                .find_map(|s| s.rollout.tasks.iter().find(|t| t.id == short).map(|t| (s, t)));
            match found {
                Some((service, task)) => {
                    tasks.push(self.task_json(cluster, &service.name, task, now));
                }
                None => failures.push(json!({
                    "arn": format!("{}/{short}", cluster.arn.replace(":cluster/", ":task/")),
                    "reason": "MISSING",
                })),
            }
        }
        Ok(json!({ "tasks": tasks, "failures": failures }))
    }

    pub fn stop_task(&mut self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let id = request.required_string("task")?;
        let short = id.rsplit('/').next().unwrap_or(id).to_owned();
        let reason = request.string("reason")?.unwrap_or("Task stopped by user").to_owned();
        let cluster = self.cluster_mut(request.string("cluster")?)?;
        let task = cluster
            .services
            .values_mut()
            .flat_map(|s| s.rollout.tasks.iter_mut())
            .find(|t| t.id == short)
            .ok_or_else(|| ApiError::invalid("The referenced task was not found."))?;
        task.request_stop(
            Stop {
                code: StopCode::UserInitiated,
                reason,
                exit_code: None,
                container_reason: None,
                failure: false,
            },
            now,
        );
        let cluster = self.cluster(request.string("cluster")?)?;
        let (service, task) = cluster
            .services
            .values()
            .find_map(|s| s.rollout.tasks.iter().find(|t| t.id == short).map(|t| (s, t)))
            .ok_or_else(|| ApiError::invalid("The referenced task was not found."))?;
        Ok(json!({ "task": self.task_json(cluster, &service.name, task, now) }))
    }

    /// A task as `DescribeTasks` shows it.
    fn task_json(&self, cluster: &Cluster, service: &str, task: &Task, now: u64) -> Value {
        let arn = task_arn(cluster, task);
        let definition = self.task_definition(&task.task_definition_arn).ok();
        let last_status = match task.state {
            TaskState::Stopping if task.running_ms.is_none() => "STOPPED",
            state => state.as_str(),
        };
        let containers: Vec<Value> = definition
            .and_then(|td| td.body.get("containerDefinitions").and_then(Value::as_array).cloned())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
                let essential = c.get("essential").and_then(Value::as_bool).unwrap_or(true);
                let mut container = json!({
                    "containerArn": format!("{}/{}", arn.replace(":task/", ":container/"), name),
                    "taskArn": arn,
                    "name": name,
                    "image": image,
                    "lastStatus": last_status,
                    "healthStatus": if c.get("healthCheck").is_some() {
                        task.health_status(now)
                    } else {
                        "UNKNOWN"
                    },
                });
                if let Some((_, digest)) = image.split_once('@') {
                    container["imageDigest"] = json!(digest);
                }
                if let Some(stop) = task.stop.as_ref().filter(|_| task.state == TaskState::Stopped)
                {
                    if let Some(code) = stop.exit_code.filter(|_| essential) {
                        container["exitCode"] = json!(code);
                    }
                    if let Some(reason) = &stop.container_reason {
                        container["reason"] = json!(reason);
                    }
                }
                if let Some(real) = task.containers.iter().find(|r| r.name == name) {
                    real_container(&mut container, real, task.state);
                }
                container
            })
            .collect();
        let mut value = json!({
            "taskArn": arn,
            "clusterArn": cluster.arn,
            "taskDefinitionArn": task.task_definition_arn,
            "lastStatus": last_status,
            "desiredStatus": if task.is_active() { "RUNNING" } else { "STOPPED" },
            "healthStatus": task.health_status(now),
            "startedBy": task.deployment_id,
            "group": format!("service:{service}"),
            "createdAt": self.time(task.created_ms),
            "version": 1
                + u32::from(task.running_ms.is_some())
                + u32::from(task.stopping_ms.is_some())
                + u32::from(task.stopped_ms.is_some()),
            "containers": containers,
            "availabilityZone": format!("{}a", self.region),
        });
        if let Some(td) = definition {
            for member in ["cpu", "memory"] {
                if let Some(amount) = td.body.get(member) {
                    value[member] = amount.clone();
                }
            }
            if td.body.get("networkMode").and_then(Value::as_str) == Some("awsvpc") {
                elastic_network_interface(&mut value, &task.id);
            }
        }
        if let Some(at) = task.running_ms {
            value["startedAt"] = self.time(at);
            value["pullStartedAt"] = self.time(task.created_ms);
            value["pullStoppedAt"] = self.time(at);
        }
        if let Some(at) = task.stopping_ms {
            value["stoppingAt"] = self.time(at);
        }
        if let Some(stop) = &task.stop {
            value["stopCode"] = json!(stop.code.as_str());
            value["stoppedReason"] = json!(stop.reason);
        }
        if let Some(at) = task.stopped_ms {
            value["stoppedAt"] = self.time(at);
            value["executionStoppedAt"] = self.time(at);
        }
        value
    }
}

/// What the docker runtime reported of a container: `runtimeId`, `networkBindings`, and
/// its own status, health and exit code.
fn real_container(container: &mut Value, real: &ContainerStatus, task_state: TaskState) {
    container["runtimeId"] = json!(real.runtime_id);
    container["networkBindings"] = real
        .bindings
        .iter()
        .map(|b| {
            json!({
                "bindIP": b.bind_ip,
                "containerPort": b.container_port,
                "hostPort": b.host_port,
                "protocol": b.protocol,
            })
        })
        .collect();
    if !real.running && task_state != TaskState::Pending {
        container["lastStatus"] = json!("STOPPED");
    }
    if let Some(code) = real.exit_code {
        container["exitCode"] = json!(code);
    }
    if real.out_of_memory {
        container["reason"] = json!("OutOfMemoryError: Container killed due to memory usage");
    }
    if let Some(health) = real.health {
        container["healthStatus"] = json!(match health {
            Health::Starting => "UNKNOWN",
            Health::Healthy => "HEALTHY",
            Health::Unhealthy => "UNHEALTHY",
        });
    }
}

/// An `awsvpc` task's network interface, as ECS shows it: an `ElasticNetworkInterface`
/// attachment holding its private address, and that address on every container — the
/// address its `ip` load balancer targets are registered with.
fn elastic_network_interface(task: &mut Value, task_id: &str) {
    let ip = crate::local::target_health::task_ip(task_id);
    let attachment = format!("{}-eni", &task_id[..8.min(task_id.len())]);
    task["attachments"] = json!([{
        "id": attachment,
        "type": "ElasticNetworkInterface",
        "status": "ATTACHED",
        "details": [{ "name": "privateIPv4Address", "value": ip }],
    }]);
    if let Some(containers) = task["containers"].as_array_mut() {
        for container in containers {
            container["networkInterfaces"] =
                json!([{ "attachmentId": attachment, "privateIpv4Address": ip }]);
        }
    }
}

fn task_arn(cluster: &Cluster, task: &Task) -> String {
    format!("{}/{}", cluster.arn.replace(":cluster/", ":task/"), task.id)
}
