//! The example configuration parses, and flags override it.

use super::*;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontdoor.example.toml")
}

#[test]
fn the_example_file_is_valid_and_complete() {
    let args = ServeArgs {
        config: Some(example()),
        ..ServeArgs::default()
    };
    let config = args.resolve().expect("example config parses");
    assert_eq!(config.request_deadline, Duration::from_millis(5000));
    assert_eq!(config.backends.len(), 5);
    let catalog = config
        .backends
        .iter()
        .find(|b| b.name == "catalog")
        .expect("catalog");
    assert_eq!(catalog.url, "http://127.0.0.1:9001");
    assert_eq!(catalog.breaker.min_requests, 20);
    assert_eq!(catalog.retry.attempts, 1);
    assert!(catalog.share_in_flight);
    assert!(catalog.hedge.enabled);
    assert_eq!(catalog.hedge.after, None);
    assert_eq!(catalog.concurrency, crate::backends::Concurrency::Fixed);
    let recommendations = config
        .backends
        .iter()
        .find(|b| b.name == "recommendations")
        .expect("recommendations");
    assert!(matches!(
        &recommendations.concurrency,
        crate::backends::Concurrency::Adaptive(adaptive) if adaptive.min_limit == 2
    ));
    let containment = &config.containment;
    assert_eq!(containment.handler_timeout, None);
    assert_eq!(
        containment.handler_timeout(config.request_deadline),
        Duration::from_millis(6000)
    );
    assert_eq!(containment.max_poll, Duration::from_millis(250));
    assert_eq!(containment.memory_limit("tv"), 1_073_741_824);
    assert_eq!(containment.memory_limit("mobile"), 536_870_912);
    assert_eq!(containment.max_mapped_libraries, 256);
    assert_eq!(containment.quarantine.blocked_polls, 3);
    assert_eq!(containment.quarantine.window, Duration::from_secs(60));
    assert_eq!(containment.init_timeout, Duration::from_millis(5000));
    let kids: serde_json::Value =
        serde_json::from_str(&config.adapter_configs["kids"]).expect("JSON config");
    assert_eq!(
        kids,
        serde_json::json!({
            "greeting": "hello",
            "rows": ["Cartoons", "Learning"],
            "cache": { "ttl_ms": 30000 },
        })
    );
    let traffic = &config.traffic;
    assert_eq!(
        traffic.sticky.header.as_ref().map(|h| h.as_str()),
        Some("x-device-id")
    );
    assert_eq!(traffic.sticky.cookie.as_deref(), Some("device"));
    assert_eq!(traffic.shadow_max_concurrent, 16);
    assert_eq!(traffic.shadow_timeout, Duration::from_millis(2000));
    let defaults = ListenerConfig::default();
    let listener = &config.listener;
    assert_eq!(listener.header_read_timeout, defaults.header_read_timeout);
    assert_eq!(listener.max_header_bytes, defaults.max_header_bytes);
    assert_eq!(listener.body_read_timeout, defaults.body_read_timeout);
    assert_eq!(listener.idle_timeout, defaults.idle_timeout);
    assert_eq!(listener.max_connections, defaults.max_connections);
    assert_eq!(
        listener.http2_max_concurrent_streams,
        defaults.http2_max_concurrent_streams
    );
    assert_eq!(
        listener.http2_keep_alive_interval,
        defaults.http2_keep_alive_interval
    );
    assert_eq!(
        listener.http2_keep_alive_timeout,
        defaults.http2_keep_alive_timeout
    );
    assert_eq!(
        listener.http2_max_header_list_size,
        defaults.http2_max_header_list_size
    );
    assert_eq!(config.copies_dir, PathBuf::from("/tmp"));
    assert_eq!(config.state_dir, PathBuf::from("state.d"));
    // The example spells out the defaults.
    let defaults = ArtifactsConfig::default();
    let artifacts = &config.artifacts;
    assert_eq!(artifacts.max_artifact_bytes, defaults.max_artifact_bytes);
    assert_eq!(artifacts.allow_symlinks, defaults.allow_symlinks);
    assert_eq!(
        artifacts.allow_insecure_permissions,
        defaults.allow_insecure_permissions
    );
    assert_eq!(artifacts.keep_copies, defaults.keep_copies);
    assert_eq!(artifacts.probe, defaults.probe);
    assert_eq!(artifacts.probe_timeout, defaults.probe_timeout);
    assert_eq!(artifacts.probe_idle_wait, defaults.probe_idle_wait);
}

#[test]
fn artifact_keys_have_safe_defaults_and_can_be_set() {
    let config = ServeArgs::default().resolve().expect("defaults");
    let artifacts = &config.artifacts;
    assert!(artifacts.probe, "the probe is on unless turned off");
    assert!(!artifacts.allow_symlinks && !artifacts.allow_insecure_permissions);
    assert!(!artifacts.keep_copies);
    assert!(
        artifacts.probe_idle_wait.is_some(),
        "probes run idle first unless turned off"
    );
    assert_eq!(config.state_dir, PathBuf::from("state.d"));

    let args = ServeArgs {
        state_dir: Some(PathBuf::from("/var/lib/frontdoor")),
        keep_copies: true,
        set: vec![
            ("artifacts.probe".into(), "false".into()),
            ("artifacts.max_artifact_bytes".into(), "1024".into()),
            ("artifacts.allow_symlinks".into(), "true".into()),
            ("artifacts.allow_insecure_permissions".into(), "true".into()),
            ("artifacts.probe_timeout_ms".into(), "250".into()),
            ("artifacts.probe_idle_wait_ms".into(), "40".into()),
        ],
        ..ServeArgs::default()
    };
    let config = args.resolve().expect("resolves");
    let artifacts = &config.artifacts;
    assert_eq!(artifacts.probe_idle_wait, Some(Duration::from_millis(40)));
    assert!(!artifacts.probe && artifacts.allow_symlinks && artifacts.allow_insecure_permissions);
    assert!(artifacts.keep_copies, "--keep-copies");
    assert_eq!(artifacts.max_artifact_bytes, 1024);
    assert_eq!(artifacts.probe_timeout, Duration::from_millis(250));
    assert_eq!(config.state_dir, PathBuf::from("/var/lib/frontdoor"));

    let never_idle = ServeArgs {
        set: vec![("artifacts.probe_idle_wait_ms".into(), "0".into())],
        ..ServeArgs::default()
    };
    let config = never_idle.resolve().expect("resolves");
    assert_eq!(config.artifacts.probe_idle_wait, None, "0: never idle");
    let negative = ServeArgs {
        set: vec![("artifacts.probe_idle_wait_ms".into(), "-1".into())],
        ..ServeArgs::default()
    };
    let error = negative.resolve().expect_err("refused").to_string();
    assert!(error.contains("probe_idle_wait_ms"), "{error}");

    let typo = ServeArgs {
        set: vec![("artifacts.probe_timeout".into(), "250".into())],
        ..ServeArgs::default()
    };
    let error = typo.resolve().expect_err("unknown key refused").to_string();
    assert!(error.contains("probe_timeout"), "{error}");
}

#[test]
fn containment_settings_are_checked() {
    let resolve = |key: &str, value: &str| {
        ServeArgs {
            set: vec![(key.into(), value.into())],
            ..ServeArgs::default()
        }
        .resolve()
    };
    let config = resolve("containment.handler_timeout_ms", "750").expect("valid");
    assert_eq!(
        config.containment.handler_timeout,
        Some(Duration::from_millis(750))
    );
    for (key, value) in [
        ("containment.quarantine.min_failure_ratio", "1.5"),
        ("containment.quarantine.window_secs", "0"),
        ("containment.max_poll_ms", "0"),
        ("containment.handler_timeout_ms", "0"),
    ] {
        let error = resolve(key, value).expect_err(key).to_string();
        assert!(
            error.contains(key.rsplit('.').next().unwrap_or(key)),
            "{error}"
        );
    }
    let error = resolve("containment.no_such_key", "1").expect_err("unknown key");
    assert!(error.to_string().contains("no_such_key"), "{error}");
}

#[test]
fn listener_limits_are_set_and_checked() {
    let args = ServeArgs {
        set: vec![
            ("listener.header_read_timeout_ms".into(), "250".into()),
            ("listener.max_header_bytes".into(), "4096".into()),
            ("listener.max_connections".into(), "3".into()),
            ("listener.http2_keep_alive_interval_ms".into(), "0".into()),
        ],
        ..ServeArgs::default()
    };
    let config = args.resolve().expect("resolves");
    assert_eq!(
        config.listener.header_read_timeout,
        Duration::from_millis(250)
    );
    assert_eq!(config.listener.max_header_bytes, 4096);
    assert_eq!(config.listener.http1_buffer_bytes(), 16384);
    assert_eq!(config.listener.max_connections, 3);
    assert_eq!(config.listener.http2_keep_alive_interval, None);

    for (key, value) in [
        ("listener.max_connections", "0"),
        ("listener.idle_timeout_ms", "0"),
        ("listener.max_header_bytes", "10"),
    ] {
        let args = ServeArgs {
            set: vec![(key.into(), value.into())],
            ..ServeArgs::default()
        };
        let error = args.resolve().expect_err("refused").to_string();
        assert!(error.contains(key), "{key}: {error}");
    }
}

#[test]
fn flags_override_the_file() {
    let args = ServeArgs {
        config: Some(example()),
        backends: vec![
            ("catalog".into(), "http://127.0.0.1:7001".into()),
            ("extra".into(), "http://127.0.0.1:7002".into()),
        ],
        request_deadline_ms: Some(250),
        ..ServeArgs::default()
    };
    let config = args.resolve().expect("resolves");
    assert_eq!(config.request_deadline, Duration::from_millis(250));
    let url = |name: &str| {
        config
            .backends
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.url.clone())
    };
    assert_eq!(url("catalog").as_deref(), Some("http://127.0.0.1:7001"));
    assert_eq!(url("extra").as_deref(), Some("http://127.0.0.1:7002"));
}

#[test]
fn unknown_keys_are_refused_with_the_file_named() {
    let dir = tempfile_dir();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlisten_typo = 3\n").expect("write");
    let args = ServeArgs {
        config: Some(path.clone()),
        ..ServeArgs::default()
    };
    let error = args.resolve().expect_err("typo refused").to_string();
    assert!(
        error.contains("bad.toml") && error.contains("listen_typo"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The defaults with one `--set KEY=VALUE` over them.
fn resolve(setting: &str) -> Result<HostConfig, ConfigError> {
    ServeArgs {
        set: vec![parse_setting(setting).expect("KEY=VALUE")],
        ..ServeArgs::default()
    }
    .resolve()
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("frontdoor-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn set_overrides_any_key_and_is_validated_like_the_file() {
    let args = ServeArgs {
        config: Some(example()),
        set: vec![
            ("backends.catalog.timeout_ms".into(), "200".into()),
            ("backends.catalog.breaker.open_ms".into(), "750".into()),
            ("backends.search.url".into(), "http://127.0.0.1:7003".into()),
            ("max_body_bytes".into(), "1024".into()),
        ],
        ..ServeArgs::default()
    };
    let config = args.resolve().expect("resolves");
    assert_eq!(config.max_body_bytes, 1024);
    let catalog = config
        .backends
        .iter()
        .find(|b| b.name == "catalog")
        .expect("catalog");
    assert_eq!(catalog.timeout, Duration::from_millis(200));
    assert_eq!(catalog.breaker.open_for, Duration::from_millis(750));
    assert!(
        config
            .backends
            .iter()
            .any(|b| b.name == "search" && b.url == "http://127.0.0.1:7003")
    );

    let typo = ServeArgs {
        set: vec![("backends.catalog.timeout".into(), "200".into())],
        ..ServeArgs::default()
    };
    let error = typo.resolve().expect_err("unknown key refused").to_string();
    assert!(error.contains("timeout"), "{error}");

    let bad_limit = ServeArgs {
        config: Some(example()),
        set: vec![(
            "backends.recommendations.adaptive.max_limit".into(),
            "1000".into(),
        )],
        ..ServeArgs::default()
    };
    let error = bad_limit
        .resolve()
        .expect_err("over the bulkhead")
        .to_string();
    assert!(
        error.contains("backends.recommendations.adaptive.max_limit"),
        "{error}"
    );
}

#[test]
fn traffic_settings_are_checked() {
    let config = resolve("traffic.sticky_header=\"\"").expect("no header is allowed");
    assert!(config.traffic.sticky.header.is_none());
    assert!(resolve("traffic.shadow_max_concurrent=0").is_err());
    assert!(resolve("traffic.sticky_header=\"not a header\"").is_err());
    assert!(resolve("traffic.colour=1").is_err());
}

#[test]
fn adapter_configs_are_any_table_under_config_and_nothing_else() {
    let args = ServeArgs {
        set: vec![
            ("adapters.tv.config.rows".into(), "6".into()),
            ("adapters.tv.config.title".into(), "Home".into()),
        ],
        ..ServeArgs::default()
    };
    let config = args.resolve().expect("valid");
    assert_eq!(config.adapter_configs["tv"], r#"{"rows":6,"title":"Home"}"#);
    assert!(!config.adapter_configs.contains_key("mobile"));

    for (key, value) in [("adapters.tv.settings", "1"), ("adapters.tv.config", "3")] {
        let args = ServeArgs {
            set: vec![(key.into(), value.into())],
            ..ServeArgs::default()
        };
        let error = args.resolve().expect_err(key).to_string();
        assert!(error.contains("adapters"), "{key}: {error}");
    }
    let args = ServeArgs {
        set: vec![
            (
                "adapters.tv.config.since".into(),
                "1979-05-27T07:32:00Z".into(),
            ),
            ("adapters.tv.config.limits.ratio".into(), "nan".into()),
        ],
        ..ServeArgs::default()
    };
    let error = args.resolve().expect_err("NaN refused").to_string();
    assert!(error.contains("adapters.tv.config.limits.ratio"), "{error}");
    let args = ServeArgs {
        set: vec![(
            "adapters.tv.config.since".into(),
            "1979-05-27T07:32:00Z".into(),
        )],
        ..ServeArgs::default()
    };
    let config = args.resolve().expect("a date is a string");
    assert_eq!(
        config.adapter_configs["tv"],
        r#"{"since":"1979-05-27T07:32:00Z"}"#
    );

    let args = ServeArgs {
        set: vec![("containment.init_timeout_ms".into(), "0".into())],
        ..ServeArgs::default()
    };
    let error = args.resolve().expect_err("zero timeout").to_string();
    assert!(error.contains("init_timeout_ms"), "{error}");
}

#[test]
fn the_deployer_s_nice_value_is_checked() {
    assert_eq!(
        ServeArgs::default()
            .resolve()
            .expect("defaults")
            .deployer
            .nice,
        crate::deploy::DEFAULT_NICE
    );
    assert_eq!(resolve("deployer_nice=0").expect("0").deployer.nice, 0);
    assert_eq!(resolve("deployer_nice=19").expect("19").deployer.nice, 19);
    for bad in [
        "deployer_nice=-5",
        "deployer_nice=20",
        "deployer_nice=\"low\"",
    ] {
        let error = resolve(bad).expect_err(bad).to_string();
        assert!(error.contains("deployer_nice"), "{bad}: {error}");
    }
}

#[test]
fn the_deployer_runs_sched_idle_only_when_told() {
    assert!(
        !ServeArgs::default()
            .resolve()
            .expect("defaults")
            .deployer
            .idle
    );
    assert!(!resolve("deployer_idle=false").expect("false").deployer.idle);
    assert!(resolve("deployer_idle=true").expect("true").deployer.idle);
    for bad in ["deployer_idle=1", "deployer_idle=\"yes\""] {
        let error = resolve(bad).expect_err(bad).to_string();
        assert!(error.contains("deployer_idle"), "{bad}: {error}");
    }
}
