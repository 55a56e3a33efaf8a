//! Talking to ECS and ECR through the AWS SDK for Rust: client construction (the AWS
//! credential chain, `AWS_ENDPOINT_URL*`, or the local ECS), and the calls the run engine
//! makes, each paginated and with errors that name the operation, the resource and
//! AWS's code and message.

mod aws_error;
mod clients;
mod ecr;
mod ecs;
mod identity;
mod revision_input;
mod views;

pub use aws_error::AwsError;
pub use clients::{Clients, Target};
pub use ecr::{Ecr, EcrLogin};
pub use ecs::Ecs;
pub use identity::account;
pub use revision_input::RevisionInput;
pub use views::{
    AdvancedView, AlarmsView, BreakerTuning, BreakerView, DeploymentSettings, DeploymentView,
    EarlySuccessView, EventView, GroupHealth, HookView, HooksView, LoadBalancerView, NetworkView,
    ServiceDeploymentView, ServiceRequest, ServiceView, ShiftView, StoppedTask, StrategyView,
    TEST_PAUSE_STAGE, TargetGroupView, TargetView, TaskView, TestPause, ThresholdView,
};
