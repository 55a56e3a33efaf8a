//! Building the SDK clients for a target: AWS (the default credential chain, region and
//! profile from the environment's settings, `AWS_ENDPOINT_URL*` honoured by the SDK) or
//! the local ECS (an endpoint URL and dummy credentials).

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
}

impl Clients {
    pub async fn new(target: &Target) -> Self {
        let config = match target {
            Target::Aws { region, profile } => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                if let Some(profile) = profile {
                    loader = loader.profile_name(profile);
                }
                loader.load().await
            }
            Target::Local { url } => {
                aws_config::defaults(BehaviorVersion::latest())
                    .region(aws_config::Region::new("us-east-1"))
                    .endpoint_url(url)
                    .test_credentials()
                    .load()
                    .await
            }
        };
        Self { ecs: aws_sdk_ecs::Client::new(&config), ecr: aws_sdk_ecr::Client::new(&config) }
    }
}
