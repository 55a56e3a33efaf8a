//! `ecs::tasks()`: our deployment's tasks (`id`, `last_status`, `health`, `digests`,
//! `stop_code`, `stopped_reason`, `exit_codes`); `ecs::events()`: the service's recent
//! event messages, newest first. Both as read before the attempt: the script sees one
//! consistent picture and makes no calls of its own.

use std::sync::Arc;

use rhai::Module;

use crate::gates::contract::TaskInfo;

pub(super) fn module(tasks: Arc<Vec<TaskInfo>>, events: Arc<Vec<String>>) -> Module {
    let mut module = Module::new();
    module.set_native_fn("tasks", move || rhai::serde::to_dynamic(&*tasks));
    module.set_native_fn("events", move || rhai::serde::to_dynamic(&*events));
    module
}
