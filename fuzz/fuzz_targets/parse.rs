//! Fuzzes the parser, the checker, the human renderer of their diagnostics and the
//! formatter with arbitrary text: none may panic, and formatting must be idempotent on
//! every file that parses (docs/fuzzing.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let checked = ferry_lang::check::check_source(text);
    let style = ferry_lang::render::HumanStyle::plain();
    let _ = ferry_lang::render::human_report("fuzz", text, &checked.diagnostics, style);
    match ferry_lang::syntax::format(text) {
        Ok(once) => {
            assert!(checked.file.is_some());
            let twice = ferry_lang::syntax::format(&once).expect("formatted text formats again");
            assert_eq!(once, twice, "fmt is not idempotent");
        }
        Err(ferry_lang::syntax::FormatError::Syntax(_)) => assert!(checked.file.is_none()),
        Err(ferry_lang::syntax::FormatError::Unsafe(reason)) => panic!("fmt refused: {reason}"),
    }
});
