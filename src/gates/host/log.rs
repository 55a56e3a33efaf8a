//! `log::info(text)`, `log::warn(text)`: lines the run reports with the gate's name.

use rhai::{ImmutableString, Module};

use super::{LogLevel, LogSink};

pub(super) fn module(sink: LogSink) -> Module {
    let mut module = Module::new();
    let info = sink.clone();
    module.set_native_fn("info", move |text: ImmutableString| {
        info.write(LogLevel::Info, &text);
        Ok(())
    });
    module.set_native_fn("warn", move |text: ImmutableString| {
        sink.write(LogLevel::Warn, &text);
        Ok(())
    });
    module
}
