//! The list calls users type first: `ListClusters`, `ListServices`,
//! `ListTaskDefinitionFamilies` and `ListContainerInstances`, each paged with
//! `maxResults`/`nextToken` and with ECS's default page size.

use serde_json::Value;

use super::api_error::ApiError;
use super::request::{Request, listing, paginate};
use super::state::{EcsState, ServiceStatus, TaskDefinitionStatus};

impl EcsState {
    /// `ListClusters`: every cluster's ARN, by name.
    pub fn list_clusters(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let arns: Vec<String> = self.clusters.values().map(|c| c.arn.clone()).collect();
        let (page, next) = paginate(&arns, request.page_of(100, 100)?);
        Ok(listing("clusterArns", &page, next))
    }

    /// `ListServices`: the services of a cluster that are not INACTIVE (a deleted service
    /// drains, then leaves the list), filtered by `launchType` and `schedulingStrategy`;
    /// 10 to a page unless `maxResults` says otherwise, as on ECS.
    pub fn list_services(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let cluster = self.cluster(request.string("cluster")?)?;
        let launch_type = request.string("launchType")?;
        let strategy = request.string("schedulingStrategy")?;
        let arns: Vec<String> = cluster
            .services
            .values()
            .filter(|s| s.status != ServiceStatus::Inactive)
            .filter(|s| {
                launch_type.is_none_or(|wanted| s.launch_type.as_deref().unwrap_or("EC2") == wanted)
            })
            .filter(|_| strategy.is_none_or(|wanted| wanted == "REPLICA"))
            .map(|s| s.arn.clone())
            .collect();
        let (page, next) = paginate(&arns, request.page_of(10, 100)?);
        Ok(listing("serviceArns", &page, next))
    }

    /// `ListTaskDefinitionFamilies`: family names beginning with `familyPrefix`; `status`
    /// ACTIVE keeps the families with an ACTIVE revision, INACTIVE those without one, ALL
    /// (the default) both.
    pub fn list_task_definition_families(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let prefix = request.string("familyPrefix")?.unwrap_or_default();
        let status = request.string("status")?.unwrap_or("ALL");
        let families: Vec<String> = self
            .families
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter(|(_, revisions)| {
                let active = revisions.iter().any(|td| td.status == TaskDefinitionStatus::Active);
                match status {
                    "ACTIVE" => active,
                    "INACTIVE" => !active,
                    _ => true,
                }
            })
            .map(|(name, _)| name.clone())
            .collect();
        let (page, next) = paginate(&families, request.page_of(100, 100)?);
        Ok(listing("families", &page, next))
    }

    /// `ListContainerInstances`: the local ECS runs its tasks without container instances
    /// (as Fargate does), so a cluster that exists has none.
    pub fn list_container_instances(&self, request: Request<'_>) -> Result<Value, ApiError> {
        self.cluster(request.string("cluster")?)?;
        let none: Vec<String> = Vec::new();
        let (page, next) = paginate(&none, request.page_of(100, 100)?);
        Ok(listing("containerInstanceArns", &page, next))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(body: &Value) -> Request<'_> {
        Request::new(body).expect("object")
    }

    #[test]
    fn a_state_with_nothing_lists_nothing() {
        let state = EcsState::new(0);
        assert_eq!(
            state.list_clusters(request(&json!({}))).expect("ok"),
            json!({"clusterArns": []})
        );
        assert_eq!(
            state.list_services(request(&json!({}))).expect_err("no cluster").kind,
            "ClusterNotFoundException"
        );
        assert_eq!(
            state.list_task_definition_families(request(&json!({}))).expect("ok"),
            json!({"families": []})
        );
    }
}
