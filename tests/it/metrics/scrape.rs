//! A reading of `GET /metrics`: the OpenMetrics text parsed into samples (name, labels with
//! their escapes undone, value), so tests can ask for one series exactly.

use std::collections::BTreeMap;

use crate::support::{TestHost, get};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug)]
pub struct Scrape {
    pub text: String,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Scrapes `host`'s admin listener; the answer must be a 200 in OpenMetrics text.
    pub async fn of(host: &TestHost) -> Self {
        let reply = get(&host.admin_url("/metrics")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some(frontdoor::metrics::OPENMETRICS)
        );
        let text = String::from_utf8(reply.body.to_vec()).expect("the scrape is UTF-8");
        Self::parse(text)
    }

    pub fn parse(text: String) -> Self {
        assert!(text.ends_with("# EOF\n"), "no EOF marker:\n{text}");
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| parse_line(line).unwrap_or_else(|| panic!("malformed line {line:?}")))
            .collect();
        Self { text, samples }
    }

    /// Every sample of `name` whose labels include all of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
    }

    /// The value of the one sample of `name` with `labels`; panics when there is none or
    /// more than one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self.matching(name, labels).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {name} with {labels:?}, found {found:?}"
        );
        found[0].value
    }

    /// True when some sample is named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|sample| sample.name == name)
    }
}

/// `name{key="value",...} number` (labels optional), undoing `\\`, `\"` and `\n`.
fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after_key) = rest.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after_key.char_indices();
            let end = loop {
                let (index, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break index,
                    other => value.push(other),
                }
            };
            labels.insert(key.to_owned(), value);
            rest = after_key[end + 1..].trim_start_matches(',');
        }
    }
    let value = rest.trim().parse().ok()?;
    Some(Sample {
        name,
        labels,
        value,
    })
}
