//! A failed AWS call, said the way the user needs it: what failed, on which resource,
//! AWS's error code and message — or, for a call that never reached AWS, what stood in
//! the way (no credentials, an unknown profile or region, an endpoint out of reach) —
//! and what to do next.

use std::fmt;

use aws_sdk_ecs::error::ProvideErrorMetadata;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub operation: &'static str,
    pub resource: String,
    /// AWS's error code (`ServiceNotFoundException`), or ferry's for a call that got no
    /// answer: `NoCredentials`, `CredentialsRefused`, `UnknownProfile`, `NoRegion`,
    /// `UnknownRegion`,
    /// `EndpointUnreachable`,
    /// `NetworkError`, `Timeout`, `Interrupted`.
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
        R: fmt::Debug + 'static,
    {
        let (code, message) = match error {
            aws_sdk_ecs::error::SdkError::ServiceError(service) => (
                service.err().code().unwrap_or("UnknownError").to_owned(),
                service.err().message().unwrap_or_default().to_owned(),
            ),
            aws_sdk_ecs::error::SdkError::TimeoutError(_) => {
                ("Timeout".to_owned(), "the call timed out".to_owned())
            }
            aws_sdk_ecs::error::SdkError::DispatchFailure(failure) => {
                not_sent(error, failure.is_io())
            }
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
                // The Query protocol's words (Elastic Load Balancing)
                | "Throttling"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "ServerException"
                | "NetworkError"
                | "EndpointUnreachable"
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

/// What a call that got no answer ran into, from its chain of causes: the credential
/// chain found nothing, the profile named is not defined, the endpoint could not be
/// reached (refused, or its name does not resolve), or the network failed otherwise. The
/// words are the chain's own ("dispatch failure: io error: … refused"), never the SDK's
/// `Debug` dump.
fn not_sent(error: &(dyn std::error::Error + 'static), io: bool) -> (String, String) {
    use aws_credential_types::provider::error::CredentialsError;
    let words = causes(error);
    // aws-config turns a missing profile into a "not loaded" error with these words (the
    // typed `ProfileFileError` does not survive it); the test names the profile.
    if let Some(profile) = words
        .split_once("profile `")
        .and_then(|(_, rest)| rest.split_once("` was not defined"))
        .map(|(profile, _)| profile)
    {
        let message = format!("profile `{profile}` is not defined in the AWS config files");
        return ("UnknownProfile".to_owned(), message);
    }
    // The endpoint resolver's words when no region is set anywhere.
    if words.contains("Missing Region") {
        return ("NoRegion".to_owned(), "no region is set".to_owned());
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        match current.downcast_ref::<CredentialsError>() {
            Some(CredentialsError::CredentialsNotLoaded(_)) => {
                return (
                    "NoCredentials".to_owned(),
                    format!("no credentials found: {}", tried(&words)),
                );
            }
            // A source was found and failed: STS refused the OIDC token or the role, a
            // credential_process failed, an SSO session expired, a config file is wrong.
            Some(_) => {
                return ("CredentialsRefused".to_owned(), words.chars().take(400).collect());
            }
            None => {}
        }
        cause = current.source();
    }
    let lower = words.to_ascii_lowercase();
    let unreachable = io
        && ["connection refused", "dns error", "failed to lookup address", "name or service"]
            .iter()
            .any(|sign| lower.contains(sign));
    let code = if unreachable { "EndpointUnreachable" } else { "NetworkError" };
    (code.to_owned(), words.chars().take(400).collect())
}

/// `error` and its sources, each in its own words, joined by `: ` (a cause whose words
/// its parent already says is left out).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let text = current.to_string();
        if !out.contains(&text) {
            out = format!("{out}: {text}");
        }
        cause = current.source();
    }
    out
}

/// The sources the credential chain tried, from its own report (`Attempted:` and one
/// `  Name: why` line each), as a list of names.
fn tried(words: &str) -> String {
    let names: Vec<&str> = words
        .split_once("Attempted:")
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().split_once(':').map(|(name, _)| name.trim()))
        .filter(|name| !name.is_empty() && name.chars().all(char::is_alphanumeric))
        .collect();
    if names.is_empty() {
        "the environment, the AWS config files, web identity (OIDC), the ECS container \
         endpoint and EC2 instance metadata were tried"
            .to_owned()
    } else {
        format!("tried {}", names.join(", "))
    }
}

/// A failed call of a client set to `region`: `AwsError::from_sdk`, then `in_region`.
pub(super) fn failed<E, R>(
    region: Option<&aws_config::Region>,
    operation: &'static str,
    resource: impl Into<String>,
    error: &aws_sdk_ecs::error::SdkError<E, R>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    AwsError::from_sdk(operation, resource, error).in_region(region.map(AsRef::as_ref))
}

impl AwsError {
    /// The same error knowing the region the client was set to: a call that could not
    /// reach an endpoint in a region AWS does not list is about the region.
    #[must_use]
    pub fn in_region(mut self, region: Option<&str>) -> Self {
        if let Some(region) = region
            && self.code == "EndpointUnreachable"
            && !ferry_lang::aws_names::is_known_region(region)
        {
            "UnknownRegion".clone_into(&mut self.code);
            self.message = format!("`{region}` is not a region AWS lists");
        }
        self
    }

    /// What to do next, in a few words.
    #[must_use]
    pub fn help(&self) -> String {
        let region = || {
            self.message
                .split('`')
                .nth(1)
                .and_then(ferry_lang::aws_names::closest_region)
                .map_or_else(|| "set".to_owned(), |best| format!("did you mean `{best}`? Set"))
        };
        match self.code.as_str() {
            "NoCredentials" => "give ferry credentials: AWS_PROFILE (or `profile` in the \
                                Deployfile), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
                                OIDC in CI; or try it without AWS: `--target local`"
                .to_owned(),
            "UnknownProfile" => "name a profile defined in ~/.aws/config (`aws configure \
                                 list-profiles` lists them), or unset AWS_PROFILE"
                .to_owned(),
            "UnknownRegion" => format!(
                "{} `--region`, `region` in the Deployfile or AWS_REGION to a region AWS lists",
                region()
            ),
            "NoRegion" => "set `--region`, `region` in the Deployfile, AWS_REGION, or a region \
                           in the profile"
                .to_owned(),
            "EndpointUnreachable" => {
                "check the network, the region, and AWS_ENDPOINT_URL if it is set".to_owned()
            }
            "CredentialsRefused" => "the credentials could not be obtained: check the role's \
                                     trust policy (for OIDC: the audience and the subject), \
                                     the profile's settings, or sign in again (`aws sso \
                                     login`)"
                .to_owned(),
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException" => format!(
                "the credentials may not call {}: check the IAM policy of the identity in use \
                 (`aws sts get-caller-identity`)",
                self.operation
            ),
            "ThrottlingException" => {
                "AWS throttled every attempt: run again in a minute, or ask for a higher limit"
                    .to_owned()
            }
            "ClusterNotFoundException" => "check the cluster name, or create it".to_owned(),
            "ServiceNotFoundException" | "ServiceNotActiveException" => {
                "check the service name, or set `create = true`".to_owned()
            }
            "ClientException" | "InvalidParameterException" => {
                "the request was refused: check the values in the Deployfile".to_owned()
            }
            _ if self.is_transient() => "AWS is busy or unreachable: try again".to_owned(),
            _ => "see the AWS error above".to_owned(),
        }
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

#[cfg(test)]
mod tests {
    use super::AwsError;

    fn error(code: &str, message: &str) -> AwsError {
        AwsError {
            operation: "UpdateService",
            resource: "service `web`".to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn what_never_reached_aws_is_not_retried_and_not_read_back() {
        for code in
            ["NoCredentials", "CredentialsRefused", "UnknownProfile", "NoRegion", "UnknownRegion"]
        {
            assert!(!error(code, "").is_transient(), "{code}");
            assert!(!error(code, "").answer_lost(), "{code}");
        }
        // A refused connection may follow an attempt whose answer was lost.
        assert!(error("EndpointUnreachable", "").answer_lost());
    }

    #[test]
    fn a_refusal_by_aws_names_the_action_to_allow() {
        let help = error("AccessDeniedException", "not authorized").help();
        assert!(help.contains("may not call UpdateService"), "{help}");
        assert!(help.contains("aws sts get-caller-identity"), "{help}");
    }

    #[test]
    fn only_an_unreachable_unlisted_region_is_about_the_region() {
        let unreachable = || error("EndpointUnreachable", "dns error");
        assert_eq!(unreachable().in_region(Some("eu-west-1")).code, "EndpointUnreachable");
        assert_eq!(unreachable().in_region(None).code, "EndpointUnreachable");
        let unknown = unreachable().in_region(Some("eu-wset-1"));
        assert_eq!(unknown.code, "UnknownRegion");
        assert!(unknown.help().starts_with("did you mean `eu-west-1`?"), "{}", unknown.help());
        // Any other error stays what it is.
        assert_eq!(
            error("ThrottlingException", "").in_region(Some("xx-yy-9")).code,
            "ThrottlingException"
        );
    }
}
