//! `time::now()`: epoch milliseconds, from the clock the gate is given.

use std::sync::Arc;

use rhai::Module;

pub(super) fn module(clock: Arc<dyn Fn() -> u64 + Send + Sync>) -> Module {
    let mut module = Module::new();
    module.set_native_fn("now", move || Ok(i64::try_from(clock()).unwrap_or(i64::MAX)));
    module
}
