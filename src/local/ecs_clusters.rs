//! ECS clusters: `CreateCluster`, `DescribeClusters`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::request::Request;
use super::state::{Cluster, EcsState, ServiceStatus, cluster_key};

impl EcsState {
    /// Epoch seconds of virtual time `ms`, as the API shows timestamps.
    #[must_use]
    pub fn time(&self, ms: u64) -> Value {
        json!((self.epoch_ms + ms) as f64 / 1000.0)
    }

    /// `CreateCluster`: idempotent; an existing cluster is returned as it is.
    pub fn create_cluster(&mut self, request: Request<'_>, now: u64) -> Result<Value, ApiError> {
        let name = request.string("clusterName")?.unwrap_or("default").to_owned();
        if name.is_empty()
            || name.len() > 255
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::invalid(
                "Cluster name must be 1 to 255 letters (uppercase and lowercase), numbers, hyphens \
                 and underscores.",
            ));
        }
        if !self.clusters.contains_key(&name) {
            let arn = self.arn(&format!("cluster/{name}"));
            self.set_tags_from(&arn, request)?;
            self.clusters.insert(
                name.clone(),
                Cluster { name: name.clone(), arn, services: BTreeMap::new(), created_ms: now },
            );
        }
        Ok(json!({ "cluster": self.cluster_json(&self.clusters[&name], false) }))
    }

    /// `DescribeClusters`: unknown clusters come back in `failures` as `MISSING`.
    pub fn describe_clusters(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let mut names = request.strings("clusters")?;
        if names.is_empty() {
            names.push("default");
        }
        let tags = request.includes_tags()?;
        let mut clusters = Vec::new();
        let mut failures = Vec::new();
        for name in names {
            match self.clusters.get(&cluster_key(Some(name))) {
                Some(cluster) => clusters.push(self.cluster_json(cluster, tags)),
                None => failures.push(json!({
                    "arn": self.arn(&format!("cluster/{}", cluster_key(Some(name)))),
                    "reason": "MISSING",
                })),
            }
        }
        Ok(json!({ "clusters": clusters, "failures": failures }))
    }

    fn cluster_json(&self, cluster: &Cluster, with_tags: bool) -> Value {
        let active: Vec<_> =
            cluster.services.values().filter(|s| s.status == ServiceStatus::Active).collect();
        let tasks = cluster.services.values().flat_map(|s| s.rollout.tasks.iter());
        let (running, pending) = tasks.fold((0, 0), |(r, p), t| match t.state {
            super::task::TaskState::Running => (r + 1, p),
            super::task::TaskState::Pending => (r, p + 1),
            _ => (r, p),
        });
        let mut value = json!({
            "clusterArn": cluster.arn,
            "clusterName": cluster.name,
            "status": "ACTIVE",
            "registeredContainerInstancesCount": 0,
            "runningTasksCount": running,
            "pendingTasksCount": pending,
            "activeServicesCount": active.len(),
            "statistics": [],
            "settings": [{ "name": "containerInsights", "value": "disabled" }],
            "capacityProviders": [],
            "defaultCapacityProviderStrategy": [],
        });
        if with_tags {
            value["tags"] = self.tags_json(&cluster.arn);
        }
        value
    }
}
