//! Errors as the AWS JSON 1.1 protocol carries them: an HTTP status and
//! `{"__type": …, "message": …}`, which the SDKs map to their typed errors.

/// An error answer of the local ECS/ECR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into() }
    }

    /// `ClientException`: the request is wrong for the resource's state.
    pub fn client(message: impl Into<String>) -> Self {
        Self::new(400, "ClientException", message)
    }

    /// `InvalidParameterException`: a member is missing or out of bounds.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameterException", message)
    }

    pub fn cluster_not_found() -> Self {
        Self::new(400, "ClusterNotFoundException", "Cluster not found.")
    }

    pub fn service_not_found() -> Self {
        Self::new(400, "ServiceNotFoundException", "Service not found.")
    }

    pub fn service_not_active() -> Self {
        Self::new(400, "ServiceNotActiveException", "Service was not ACTIVE.")
    }

    pub fn service_deployment_not_found() -> Self {
        Self::new(400, "ServiceDeploymentNotFoundException", "Service deployment not found.")
    }

    pub fn throttling() -> Self {
        Self::new(400, "ThrottlingException", "Rate exceeded")
    }

    pub fn server() -> Self {
        Self::new(500, "ServerException", "Service Unavailable. Please try again later.")
    }

    /// `ServerException` with a reason (the registry behind the local ECR failed).
    pub fn server_with(message: impl Into<String>) -> Self {
        Self::new(500, "ServerException", message)
    }

    pub fn unknown_operation(target: &str) -> Self {
        Self::new(400, "UnknownOperationException", format!("Unknown operation {target}"))
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(400, "SerializationException", message)
    }

    pub fn repository_not_found(name: &str, registry: &str) -> Self {
        Self::new(
            400,
            "RepositoryNotFoundException",
            format!(
                "The repository with name '{name}' does not exist in the registry with id \
                 '{registry}'"
            ),
        )
    }

    pub fn repository_exists(name: &str, registry: &str) -> Self {
        Self::new(
            400,
            "RepositoryAlreadyExistsException",
            format!(
                "The repository with name '{name}' already exists in the registry with id \
                 '{registry}'"
            ),
        )
    }

    pub fn lifecycle_policy_not_found(name: &str, registry: &str) -> Self {
        Self::new(
            400,
            "LifecyclePolicyNotFoundException",
            format!(
                "Lifecycle policy does not exist for the repository with name '{name}' in the \
                 registry with id '{registry}'"
            ),
        )
    }

    pub fn repository_not_empty(name: &str, registry: &str) -> Self {
        Self::new(
            400,
            "RepositoryNotEmptyException",
            format!(
                "The repository with name '{name}' in registry with id '{registry}' cannot be \
                 deleted because it still contains images"
            ),
        )
    }

    /// A client error of a kind the service model names (400).
    pub fn with_kind(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, kind, message)
    }

    pub fn image_not_found(message: impl Into<String>) -> Self {
        Self::new(400, "ImageNotFoundException", message)
    }

    /// A member ECR checks with its own exception name.
    pub fn ecr_invalid(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameterException", message)
    }

    /// The JSON body of the answer.
    #[must_use]
    pub fn body(&self) -> String {
        serde_json::json!({ "__type": self.kind, "message": self.message }).to_string()
    }
}
