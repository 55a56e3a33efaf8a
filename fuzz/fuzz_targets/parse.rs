//! Fuzzes the parser, the checker, the human renderer of their diagnostics and the
//! formatter with arbitrary text: none may panic, and formatting must be idempotent on
//! every file that parses (docs/fuzzing.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let checked = ferry::check::check_source(text);
    let style = ferry::report::HumanStyle::plain();
    let _ = ferry::report::human_report("fuzz", text, &checked.diagnostics, style);
    match ferry::syntax::format(text) {
        Ok(once) => {
            assert!(checked.file.is_some());
            let twice = ferry::syntax::format(&once).expect("formatted text formats again");
            assert_eq!(once, twice, "fmt is not idempotent");
        }
        Err(ferry::syntax::FormatError::Syntax(_)) => assert!(checked.file.is_none()),
        Err(ferry::syntax::FormatError::Unsafe(reason)) => panic!("fmt refused: {reason}"),
    }
});
