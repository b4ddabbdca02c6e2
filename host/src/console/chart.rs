//! Small line charts as inline SVG, rendered on the server: one series of numbers over
//! equal intervals, scaled to its own maximum. No script, no style attribute (the
//! Content-Security-Policy allows neither): colours come from the stylesheet's classes.

use maud::{Markup, html};

/// The chart's drawing box, in SVG user units (it scales to its container's width).
const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 60.0;
const PAD: f64 = 2.0;

/// A line chart of `values` (oldest first; `None` leaves a gap), labelled `label` for
/// assistive technology, with its largest value shown in `unit`.
pub fn line(label: &str, values: &[Option<f64>], unit: &str) -> Markup {
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|value| value.is_finite() && *value >= 0.0)
        .collect();
    let max = finite.iter().copied().fold(0.0_f64, f64::max);
    let summary = match finite.last() {
        Some(last) => format!(
            "{label}: last {}, max {}",
            number(*last, unit),
            number(max, unit)
        ),
        None => format!("{label}: no data yet"),
    };
    let segments = segments(values, max);
    html! {
        figure.chart {
            svg viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img" aria-label=(summary)
                preserveAspectRatio="none" focusable="false" {
                title { (summary) }
                line.axis x1="0" y1=(HEIGHT - PAD) x2=(WIDTH) y2=(HEIGHT - PAD) {}
                @for points in &segments {
                    polyline.series fill="none" points=(points) {}
                }
            }
            figcaption { (summary) }
        }
    }
}

/// The polylines' `points`, one per run of values without a gap.
fn segments(values: &[Option<f64>], max: f64) -> Vec<String> {
    let step = if values.len() > 1 {
        WIDTH / (values.len() - 1) as f64
    } else {
        0.0
    };
    let scale = if max > 0.0 {
        (HEIGHT - 2.0 * PAD) / max
    } else {
        0.0
    };
    let mut segments = Vec::new();
    let mut current = String::new();
    for (index, value) in values.iter().enumerate() {
        match value.filter(|value| value.is_finite() && *value >= 0.0) {
            Some(value) => {
                let x = index as f64 * step;
                let y = HEIGHT - PAD - value * scale;
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(&format!("{x:.1},{y:.1}"));
            }
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    // A lone value is a short dash, so it shows.
    for segment in &mut segments {
        if !segment.contains(' ')
            && let Some((x, y)) = segment.split_once(',')
            && let Ok(x) = x.parse::<f64>()
        {
            let end = (x + 4.0).min(WIDTH);
            *segment = format!("{:.1},{y} {end:.1},{y}", end - 4.0);
        }
    }
    segments
}

/// `value` with `unit`, to a precision that reads well.
pub fn number(value: f64, unit: &str) -> String {
    let text = if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if unit.is_empty() {
        text
    } else {
        format!("{text} {unit}")
    }
}

#[cfg(test)]
mod tests;
