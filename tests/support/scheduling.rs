//! The scheduler driven directly, for the scheduler's feature tests: tasks behave as a
//! fault file says for the first image of their revision, Lambda hooks as it says for
//! their ARN, alarms as it says for the current deployment's images.

use ferry::local::behaviour::{FaultFile, TaskBehaviour};
use ferry::local::deployment::Revision;
use ferry::local::scheduler::Launcher;

/// Behaviour by image from a fault file.
pub(crate) struct Faults(FaultFile);

impl Launcher for Faults {
    fn behaviour(&mut self, revision: &Revision) -> TaskBehaviour {
        self.0.behaviour(&revision.images[0])
    }

    fn hook(&mut self, arn: &str) -> (ferry::local::behaviour::HookAnswer, u64) {
        self.0.hook(arn)
    }

    fn alarms(&mut self, revision: &Revision, age_ms: u64) -> Vec<String> {
        self.0.alarms(&revision.images, age_ms)
    }
}

pub(crate) fn faults(json: &str) -> Faults {
    Faults(FaultFile::parse(json).expect("fault file"))
}

/// A revision of one container running `image`, without a health check.
pub(crate) fn revision(image: &str) -> Revision {
    Revision {
        arn: format!("arn:td/{image}"),
        images: vec![image.to_owned()],
        has_health_check: false,
        stop_timeout_ms: 30_000,
    }
}
