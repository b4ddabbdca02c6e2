//! Tests of reading the `module_call` benchmark's output.

use super::{Figures, parse};

const OUTPUT: &str = "\
shared-module call (artwork boxart_url: format! into an RString): 61.4 ns/call
the same body compiled into the caller, direct call:              48.9 ns/call
ratio module/direct:                                              1.256
(2000000 calls per round, ABAB, median of 7 rounds each)
";

#[test]
fn the_three_figures_are_read() {
    assert_eq!(
        parse(OUTPUT).expect("valid output"),
        Figures {
            module_ns: 61.4,
            direct_ns: 48.9,
            ratio: 1.256,
        }
    );
}

#[test]
fn a_missing_figure_is_an_error() {
    let without_ratio: String = OUTPUT
        .lines()
        .filter(|line| !line.starts_with("ratio"))
        .map(|line| format!("{line}\n"))
        .collect();
    let error = parse(&without_ratio).expect_err("no ratio line");
    assert!(error.to_string().contains("ratio module/direct"), "{error}");
}

#[test]
fn a_figure_in_another_unit_is_an_error() {
    let in_us = OUTPUT.replace("61.4 ns/call", "0.06 us/call");
    assert!(parse(&in_us).is_err());
}
