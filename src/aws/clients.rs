//! Building the SDK clients for a target: AWS (the default credential chain, region and
//! profile from the environment's settings, `AWS_ENDPOINT_URL*` honoured by the SDK) or
//! the local ECS (an endpoint URL and dummy credentials).

use std::time::Duration;

use aws_config::BehaviorVersion;

/// Where the pipeline runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Aws {
        region: Option<String>,
        profile: Option<String>,
    },
    /// The local ECS/ECR at this URL.
    Local {
        url: String,
    },
}

/// The clients of one run.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    /// Elastic Load Balancing v2: the target health of a service's load balancers.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// GetCallerIdentity: the account a plan names and a run checks.
    pub sts: aws_sdk_sts::Client,
}

/// How long one attempt of a call may take, unless `FERRY_AWS_TIMEOUT` says otherwise.
const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts of one call (the first and two retries, the SDK's standard).
const ATTEMPTS: u32 = 3;

/// One attempt's limit: `FERRY_AWS_TIMEOUT` (`30s`, `2m`, `500ms`) or the default.
fn attempt_timeout() -> Duration {
    std::env::var("FERRY_AWS_TIMEOUT")
        .ok()
        .and_then(|text| crate::syntax::parse_duration(text.trim()).ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_ATTEMPT_TIMEOUT, Duration::from_millis)
}

/// Every call bounded: a connect timeout, one per attempt, and one for the whole call
/// with its retries (the SDK cancels an attempt that outlives its limit and retries it).
fn timeouts() -> (aws_config::timeout::TimeoutConfig, aws_config::retry::RetryConfig) {
    let attempt = attempt_timeout();
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(attempt))
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * ATTEMPTS + Duration::from_secs(5))
        .build();
    (timeouts, aws_config::retry::RetryConfig::standard().with_max_attempts(ATTEMPTS))
}

impl Clients {
    pub async fn new(target: &Target) -> Self {
        let (timeouts, retries) = timeouts();
        let config = match target {
            Target::Aws { region, profile } => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .timeout_config(timeouts)
                    .retry_config(retries);
                if let Some(region) = region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                // A profile named by `--profile` or the Deployfile gives the credentials
                // too, over keys in the environment (as the AWS CLI's `--profile` does);
                // AWS_PROFILE alone leaves the SDK's chain, environment keys first.
                if let Some(profile) = profile {
                    let credentials =
                        aws_config::profile::ProfileFileCredentialsProvider::builder()
                            .profile_name(profile)
                            .build();
                    loader = loader.profile_name(profile).credentials_provider(credentials);
                }
                loader.load().await
            }
            Target::Local { url } => {
                aws_config::defaults(BehaviorVersion::latest())
                    .timeout_config(timeouts)
                    .retry_config(retries)
                    .region(aws_config::Region::new("us-east-1"))
                    .endpoint_url(url)
                    .test_credentials()
                    .load()
                    .await
            }
        };
        Self {
            ecs: aws_sdk_ecs::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
        }
    }
}
