//! The local ECS's clock: virtual milliseconds that run `speed` times faster than real
//! time, or that tests step by hand. Virtual time 0 is when the clock was made; wall-clock
//! timestamps (`createdAt` …) are the start's epoch time plus virtual time.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
enum Mode {
    Scaled { started: Instant, speed: f64 },
    Manual { now_ms: u64 },
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    /// Virtual milliseconds already passed when this clock was made (from a state file).
    offset_ms: u64,
    epoch_ms: u64,
}

/// A shared clock; clones see the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Mutex<Inner>>,
}

fn epoch_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The fastest a clock runs: a virtual second per real microsecond. Past that a virtual
/// day passes between two polls, and time in milliseconds overflows within weeks.
pub const MAX_SPEED: f64 = 1_000_000.0;

/// Whether `speed` is one a clock can run at (1 to `MAX_SPEED`).
#[must_use]
pub fn valid_speed(speed: f64) -> bool {
    speed.is_finite() && (1.0..=MAX_SPEED).contains(&speed)
}

impl Clock {
    /// A clock running `speed` times faster than real time (1 to `MAX_SPEED`).
    #[must_use]
    pub fn scaled(speed: f64) -> Self {
        let speed = if speed.is_finite() { speed.clamp(1.0, MAX_SPEED) } else { 1.0 };
        Self::with(Mode::Scaled { started: Instant::now(), speed })
    }

    /// A clock that moves only when `advance` is called.
    #[must_use]
    pub fn manual() -> Self {
        Self::with(Mode::Manual { now_ms: 0 })
    }

    fn with(mode: Mode) -> Self {
        Self { inner: Arc::new(Mutex::new(Inner { mode, offset_ms: 0, epoch_ms: epoch_now_ms() })) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the clock leaves plain numbers behind: still usable.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Virtual milliseconds since virtual time 0.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        let inner = self.lock();
        inner.offset_ms
            + match inner.mode {
                Mode::Scaled { started, speed } => {
                    (started.elapsed().as_secs_f64() * 1000.0 * speed) as u64
                }
                Mode::Manual { now_ms } => now_ms,
            }
    }

    /// Epoch seconds of virtual time `ms`, as the API shows timestamps.
    #[must_use]
    pub fn epoch_seconds(&self, ms: u64) -> f64 {
        (self.lock().epoch_ms + ms) as f64 / 1000.0
    }

    /// Whether the clock moves only when `advance` is called.
    #[must_use]
    pub fn is_manual(&self) -> bool {
        matches!(self.lock().mode, Mode::Manual { .. })
    }

    /// Moves a manual clock forward; a scaled clock ignores it.
    pub fn advance(&self, ms: u64) {
        if let Mode::Manual { now_ms } = &mut self.lock().mode {
            *now_ms += ms;
        }
    }

    /// Continues from a saved state: virtual time starts at `offset_ms`, and timestamps
    /// keep the saved epoch.
    pub fn resume(&self, offset_ms: u64, epoch_ms: u64) {
        let mut inner = self.lock();
        inner.offset_ms = offset_ms;
        inner.epoch_ms = epoch_ms;
    }

    /// The epoch milliseconds of virtual time 0.
    #[must_use]
    pub fn epoch_ms(&self) -> u64 {
        self.lock().epoch_ms
    }

    /// How long a virtual duration takes in real time.
    #[must_use]
    pub fn real_duration(&self, virtual_ms: u64) -> std::time::Duration {
        match self.lock().mode {
            Mode::Scaled { speed, .. } => {
                std::time::Duration::from_secs_f64(virtual_ms as f64 / 1000.0 / speed)
            }
            Mode::Manual { .. } => std::time::Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Clock::manual();
        assert_eq!(clock.now_ms(), 0);
        clock.advance(1_500);
        assert_eq!(clock.clone().now_ms(), 1_500);
        clock.resume(10_000, 0);
        assert_eq!(clock.now_ms(), 11_500);
        assert!((clock.epoch_seconds(2_000) - 2.0).abs() < f64::EPSILON);
    }

    #[test]
    fn scaled_clock_runs_faster() {
        let clock = Clock::scaled(1000.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now_ms() >= 20_000, "{}", clock.now_ms());
        assert_eq!(clock.real_duration(1_000), std::time::Duration::from_millis(1));
    }
}
