//! Identifiers the local ECS hands out: deployment ids (`ecs-svc/` and 19 digits) and task
//! ids (32 hex digits). Deterministic from a seed, so simulations repeat exactly.

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Ids {
    state: u64,
}

impl Ids {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { state: seed ^ 0x9e37_79b9_7f4a_7c15 }
    }

    /// splitmix64: a small, well-mixed sequence.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn deployment_id(&mut self) -> String {
        format!("ecs-svc/{:019}", self.next() % 10_000_000_000_000_000_000)
    }

    pub fn task_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }

    /// A fraction in [0, 1), for API faults.
    pub fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
