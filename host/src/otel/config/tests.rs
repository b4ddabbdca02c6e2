//! `[telemetry]`: defaults, the endpoint's forms, and bad values as clear errors.

use super::*;

fn parse(text: &str) -> Result<TelemetryConfig, String> {
    let file: TelemetryFileConfig = toml::from_str(text).map_err(|error| error.to_string())?;
    file.resolve()
}

#[test]
fn nothing_set_means_no_export_and_default_rings() {
    let config = parse("").expect("valid");
    assert!(config.export.is_none());
    assert_eq!(
        config.recent.per_adapter,
        RecentConfig::default().per_adapter
    );
}

#[test]
fn an_endpoint_gets_the_traces_path() {
    let config = parse("otlp_endpoint = \"http://127.0.0.1:4318\"").expect("valid");
    let export = config.export.expect("export on");
    assert_eq!(
        export.endpoint.to_string(),
        "http://127.0.0.1:4318/v1/traces"
    );
    assert_eq!(export.service_name, "frontdoor");
    let config = parse("otlp_endpoint = \"http://collector:4318/custom/traces\"").expect("valid");
    assert_eq!(config.export.expect("on").endpoint.path(), "/custom/traces");
}

#[test]
fn bad_values_are_named() {
    for (text, names) in [
        ("otlp_endpoint = \"https://c:4318\"", "otlp_endpoint"),
        ("otlp_endpoint = \"not a url\"", "otlp_endpoint"),
        (
            "otlp_endpoint = \"http://c:4318\"\nexport_batch_size = 0",
            "export_batch_size",
        ),
        (
            "otlp_endpoint = \"http://c:4318\"\nexport_interval_ms = 0",
            "export_interval_ms",
        ),
        (
            "otlp_endpoint = \"http://c:4318\"\nexport_queue_capacity = 0",
            "export_queue_capacity",
        ),
        (
            "otlp_endpoint = \"http://c:4318\"\nservice_name = \" \"",
            "service_name",
        ),
        ("export_batch_size = 10", "otlp_endpoint"),
        ("slow_request_ms = 0", "slow_request_ms"),
        (
            "recent_requests_per_adapter = 1000000",
            "recent_requests_per_adapter",
        ),
        ("sample_one_in = -1", "sample_one_in"),
        ("unknown_key = 1", "unknown_key"),
    ] {
        let error = parse(text).expect_err(text);
        assert!(error.contains(names), "{text:?} → {error}");
    }
}

#[test]
fn a_bad_value_stops_the_host_at_start_with_its_name() {
    let args = crate::config::ServeArgs {
        config: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontdoor.example.toml"),
        ),
        set: vec![("telemetry.export_batch_size".into(), "10".into())],
        ..Default::default()
    };
    let error = args.resolve().expect_err("refused").to_string();
    assert!(error.contains("otlp_endpoint"), "{error}");

    let args = crate::config::ServeArgs {
        set: vec![
            (
                "telemetry.otlp_endpoint".into(),
                "\"http://127.0.0.1:4318\"".into(),
            ),
            ("telemetry.sample_one_in".into(), "7".into()),
        ],
        ..Default::default()
    };
    let config = args.resolve().expect("valid");
    assert_eq!(config.telemetry.recent.sample_one_in, 7);
    assert!(config.telemetry.export.is_some());
}

#[test]
fn the_example_file_keeps_the_defaults() {
    let args = crate::config::ServeArgs {
        config: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontdoor.example.toml"),
        ),
        ..Default::default()
    };
    let telemetry = args.resolve().expect("valid").telemetry;
    let defaults = RecentConfig::default();
    assert!(telemetry.export.is_none());
    assert_eq!(telemetry.recent.per_adapter, defaults.per_adapter);
    assert_eq!(telemetry.recent.slow, defaults.slow);
    assert_eq!(telemetry.recent.sample_one_in, defaults.sample_one_in);
}
