//! The rhai engine for gate scripts, built in exactly one function from
//! `Engine::new_raw()` (the house style: never `Engine::new()`): every limit set here, no
//! module resolver, `eval` disabled, strict variables, and a wall-clock deadline per call
//! enforced through the progress callback. No file system, process or environment access exists to
//! be reached: the standard packages loaded hold none, and the host functions are only
//! those of `host/`, each with the capability it is given.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine};

use super::host::{self, Capabilities};

/// The limits of one gate evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Operations per call (roughly: expression nodes evaluated).
    pub operations: u64,
    /// Nested function calls.
    pub call_levels: usize,
    /// Nesting of expressions, at top level and inside functions.
    pub expression_depth: usize,
    pub function_expression_depth: usize,
    /// Bytes of one string.
    pub string_size: usize,
    /// Elements of one array, entries of one map.
    pub array_size: usize,
    pub map_size: usize,
    /// Wall-clock time one call may take, host calls (HTTP) included.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            operations: 1_000_000,
            call_levels: 32,
            expression_depth: 64,
            function_expression_depth: 32,
            string_size: 1024 * 1024,
            array_size: 10_000,
            map_size: 10_000,
            deadline: Duration::from_secs(30),
        }
    }
}

/// When the call under way must end; set before each call.
#[derive(Clone, Debug)]
pub(crate) struct Deadline(Arc<Mutex<Option<Instant>>>);

impl Deadline {
    /// Starts the clock for one call.
    pub(crate) fn start(&self, limit: Duration) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Instant::now() + limit);
    }

    /// Whether the call under way is past its deadline.
    #[must_use]
    pub(crate) fn passed(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| Instant::now() >= at)
    }

    /// Time left in the call under way (for host calls that wait, such as HTTP).
    #[must_use]
    pub(crate) fn left(&self) -> Duration {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(Instant::now()))
    }
}

/// `array.sort(|a, b| …)` and `array.dedup(|a, b| …)` whose callback's error (a throw, a
/// limit, the deadline) is the call's error.
fn register_strict_callbacks(engine: &mut Engine) {
    use rhai::{Array, EvalAltResult, FnPtr, NativeCallContext, Position};
    fn comparison(value: &Dynamic) -> Result<std::cmp::Ordering, Box<EvalAltResult>> {
        value.as_int().map(|n| n.cmp(&0)).map_err(|found| {
            Box::new(EvalAltResult::ErrorMismatchOutputType(
                "an integer (negative, zero or positive)".into(),
                found.into(),
                Position::NONE,
            ))
        })
    }
    engine.register_fn(
        "sort",
        |context: NativeCallContext,
         array: &mut Array,
         comparer: FnPtr|
         -> Result<(), Box<EvalAltResult>> {
            let mut failure: Option<Box<EvalAltResult>> = None;
            array.sort_by(|a, b| {
                if failure.is_some() {
                    return std::cmp::Ordering::Equal;
                }
                match comparer
                    .call_raw(&context, None, [a.clone(), b.clone()])
                    .and_then(|value| comparison(&value))
                {
                    Ok(order) => order,
                    Err(error) => {
                        failure = Some(error);
                        std::cmp::Ordering::Equal
                    }
                }
            });
            failure.map_or(Ok(()), Err)
        },
    );
    engine.register_fn(
        "dedup",
        |context: NativeCallContext,
         array: &mut Array,
         comparer: FnPtr|
         -> Result<(), Box<EvalAltResult>> {
            let mut kept: Array = Vec::with_capacity(array.len());
            for item in std::mem::take(array) {
                let same = match kept.last() {
                    Some(last) => comparer
                        .call_raw(&context, None, [last.clone(), item.clone()])?
                        .as_bool()
                        .map_err(|found| {
                            Box::new(EvalAltResult::ErrorMismatchOutputType(
                                "a boolean".into(),
                                found.into(),
                                Position::NONE,
                            ))
                        })?,
                    None => false,
                };
                if !same {
                    kept.push(item);
                }
            }
            *array = kept;
            Ok(())
        },
    );
}

/// The value a terminated call carries, recognised in `script.rs`.
pub(crate) const DEADLINE_TOKEN: &str = "ferry: deadline";

/// The engine for gate scripts, with `capabilities` behind its host functions.
#[must_use]
pub(crate) fn engine(limits: Limits, capabilities: &Capabilities) -> (Engine, Deadline) {
    let mut engine = Engine::new_raw();
    // The language's core, strings, arrays, maps, maths and logic; no time (`timestamp()`
    // would read the clock: `time::now` is the capability), nothing else.
    engine.register_global_module(StandardPackage::new().as_shared_module());
    // The standard `sort` and `dedup` with a callback ignore its errors — a comparator
    // that throws, or is stopped by the deadline, would let a gate pass: these fail.
    register_strict_callbacks(&mut engine);
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.set_max_modules(0);
    engine.disable_symbol("eval");
    engine.set_strict_variables(true);
    engine.set_max_operations(limits.operations);
    engine.set_max_call_levels(limits.call_levels);
    engine.set_max_expr_depths(limits.expression_depth, limits.function_expression_depth);
    engine.set_max_string_size(limits.string_size);
    engine.set_max_array_size(limits.array_size);
    engine.set_max_map_size(limits.map_size);
    engine.set_max_functions(256);
    engine.set_max_variables(1_000);
    let deadline = Deadline(Arc::new(Mutex::new(None)));
    let watch = deadline.clone();
    engine.on_progress(move |_| watch.passed().then(|| Dynamic::from(DEADLINE_TOKEN)));
    let printer = capabilities.log.clone();
    engine.on_print(move |text| printer.write(host::LogLevel::Info, text));
    let debugger = capabilities.log.clone();
    engine.on_debug(move |text, _, _| debugger.write(host::LogLevel::Info, text));
    host::register(&mut engine, capabilities, &deadline);
    (engine, deadline)
}
