//! A failed AWS call, said the way the user needs it: what failed, on which resource,
//! AWS's error code and message.

use std::fmt;

use aws_sdk_ecs::error::ProvideErrorMetadata;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub operation: &'static str,
    pub resource: String,
    /// AWS's error code (`ServiceNotFoundException`), or `NetworkError` and the like.
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn from_sdk<E, R>(
        operation: &'static str,
        resource: impl Into<String>,
        error: &aws_sdk_ecs::error::SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let (code, message) = match error {
            aws_sdk_ecs::error::SdkError::ServiceError(service) => (
                service.err().code().unwrap_or("UnknownError").to_owned(),
                service.err().message().unwrap_or_default().to_owned(),
            ),
            aws_sdk_ecs::error::SdkError::TimeoutError(_) => {
                ("Timeout".to_owned(), "the call timed out".to_owned())
            }
            // The chain of causes in words ("dispatch failure: io error: … refused"), not
            // the SDK's `Debug` dump.
            aws_sdk_ecs::error::SdkError::DispatchFailure(_) => (
                "NetworkError".to_owned(),
                aws_sdk_ecs::error::DisplayErrorContext(error)
                    .to_string()
                    .chars()
                    .take(300)
                    .collect(),
            ),
            other => (
                other.code().unwrap_or("Error").to_owned(),
                other.message().map_or_else(|| other.to_string(), str::to_owned),
            ),
        };
        Self { operation, resource: resource.into(), code, message }
    }

    /// Whether retrying later may help (throttling, 5xx, the network).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code.as_str(),
            "ThrottlingException"
                | "ServerException"
                | "NetworkError"
                | "Timeout"
                | "LimitExceededException"
        )
    }
}

impl AwsError {
    /// Whether the endpoint does not offer the call at all (an older API, or another
    /// implementation such as moto).
    #[must_use]
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self.code.as_str(),
            "UnknownOperationException"
                | "UnsupportedOperation"
                | "InvalidAction"
                | "NotImplemented"
                | "UnsupportedFeatureException"
        )
    }

    /// Whether Ctrl-C (or SIGTERM) cut the call short.
    #[must_use]
    pub fn is_interrupted(&self) -> bool {
        self.code == "Interrupted"
    }

    /// Whether the call may have been applied though no answer said so: the network or a
    /// timeout cut an answer, or — since the SDK retries every transient error — an earlier
    /// attempt was applied and its answer lost before a retry was throttled. The state must
    /// be read back before anything is said about it.
    #[must_use]
    pub fn answer_lost(&self) -> bool {
        self.is_transient()
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {} failed: {}", self.operation, self.resource, self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}
