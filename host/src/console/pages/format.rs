//! How numbers, times and sizes read on the console.

use crate::console::chart::number;

/// `—` for a value not known.
pub const NONE: &str = "—";

pub fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_owned(), |value| number(value, "/s"))
}

pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_owned(), |value| number(value * 100.0, "%"))
}

pub fn share(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_owned(), |value| format!("{value:.0} %"))
}

pub fn millis(value: Option<f64>) -> String {
    value.map_or_else(
        || NONE.to_owned(),
        |value| format!("≤ {}", number(value, "ms")),
    )
}

pub fn micros(value: u64) -> String {
    number(value as f64 / 1000.0, "ms")
}

pub fn bytes(value: Option<u64>) -> String {
    let Some(value) = value else {
        return NONE.to_owned();
    };
    let value = value as f64;
    if value >= 1024.0 * 1024.0 {
        number(value / (1024.0 * 1024.0), "MiB")
    } else if value >= 1024.0 {
        number(value / 1024.0, "KiB")
    } else {
        format!("{value:.0} B")
    }
}

/// `2026-12-03 15:38:35Z` from milliseconds since the epoch (UTC).
pub fn time(unix_ms: u128) -> String {
    let seconds = (unix_ms / 1000) as i64;
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// A state as a class name: only its letters, whatever it says (states come from plugins'
/// outcomes and other hosts' reports).
pub fn css_word(state: &str) -> String {
    state
        .chars()
        .filter(|c| c.is_ascii_lowercase())
        .take(16)
        .collect()
}
