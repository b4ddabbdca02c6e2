//! Reading callgrind's dumps.

use super::*;

#[test]
fn the_totals_line_of_a_dump_is_its_instruction_count() {
    let dump = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 42\n\
                desc: Trigger: dump\nevents: Ir\nfl=(1) a.rs\nfn=(1) main\n3 7\n\
                summary: 0\ntotals: 155544291\n";
    assert_eq!(
        totals(dump),
        Some(155_544_291),
        "a dump requested while running says summary 0 before its totals"
    );
    assert_eq!(
        totals("events: Ir\nsummary: 12\n"),
        Some(12),
        "older dumps say summary"
    );
}

#[test]
fn a_dump_without_totals_has_no_count() {
    assert_eq!(totals("events: Ir\nfn=(1) main\n3 7\n"), None);
    assert_eq!(totals("totals: many\n"), None, "not a number");
}
