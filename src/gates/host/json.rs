//! `json::parse(text)` → a value (map, array, string, number, bool, `()` for null);
//! `json::stringify(value)` → text.

use rhai::{Dynamic, EvalAltResult, ImmutableString, Module, Position};

fn error(message: String) -> EvalAltResult {
    EvalAltResult::ErrorRuntime(message.into(), Position::NONE)
}

pub(super) fn module() -> Module {
    let mut module = Module::new();
    module.set_native_fn("parse", |text: ImmutableString| {
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Box::new(error(format!("json::parse: not JSON: {e}"))))?;
        rhai::serde::to_dynamic(value)
    });
    module.set_native_fn("stringify", |value: Dynamic| {
        let value: serde_json::Value = rhai::serde::from_dynamic(&value)?;
        Ok(value.to_string())
    });
    module
}
