//! Host configuration: command-line flags and environment variables over `frontdoor.toml`
//! over defaults, so `frontdoor serve` alone works against `./plugins.d`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use clap::Args;
use serde::Deserialize;

use crate::{
    backends::{BackendConfig, BackendFileConfig},
    containment::{ContainmentConfig, config::ContainmentFileConfig},
    control::{AuthConfig, auth::AuthFileConfig},
    deploy::DeployerConfig,
    fleet::{FleetConfig, FleetFileConfig},
    loader::ArtifactsConfig,
    logging::LogFormat,
    otel::{TelemetryConfig, TelemetryFileConfig},
    recycle::{RecycleConfig, RecycleFileConfig, Relaunch},
    server::{ListenerConfig, ListenerConfigError, ListenerFileConfig},
    traffic::{TrafficConfig, TrafficFileConfig},
};

/// The resolved configuration the host runs with.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where devices connect.
    pub listen: SocketAddr,
    /// Where operators connect (`/admin/...`).
    pub admin_listen: SocketAddr,
    /// The watched directory of artifacts.
    pub plugins_dir: PathBuf,
    /// The directory under which the host creates its private copies directory (random
    /// name, mode 0700) for the artifacts it opens.
    pub copies_dir: PathBuf,
    /// Where the host keeps state that must outlive it (markers of loads in progress, so a
    /// file that killed the host is refused at the next start); one host per directory.
    pub state_dir: PathBuf,
    /// How artifacts are vetted and loaded (`[artifacts]`).
    pub artifacts: ArtifactsConfig,
    /// Largest device request body accepted.
    pub max_body_bytes: usize,
    /// Retired versions that may stay mapped before the host warns.
    pub retired_limit: usize,
    /// Serve the static benchmark baseline under `/static-bench/`.
    pub builtin_bench: bool,
    /// How long in-flight requests get to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Timing of the plugins-directory watcher.
    pub deployer: DeployerConfig,
    /// Backends adapters may call, by name.
    pub backends: Vec<BackendConfig>,
    /// How long a device request may take, bounding all its backend calls.
    pub request_deadline: Duration,
    /// Handler budget, watchdog, quarantine and memory limits.
    pub containment: ContainmentConfig,
    /// Changes the log filter at run time (`PUT /admin/log-level`); set by the binary,
    /// which owns the subscriber. `None` leaves the filter to the embedding program.
    pub log_control: Option<std::sync::Arc<crate::logging::LogControl>>,
    /// What every listener holds a client to: timeouts, head size, connection cap.
    pub listener: ListenerConfig,
    /// Canary stickiness and the bounds on judges and shadows (`[traffic]`).
    pub traffic: TrafficConfig,
    /// Admin tokens (as digests), their teams and scopes, and who owns which plugin
    /// (`[admin_auth]`).
    pub admin_auth: AuthConfig,
    /// Recent requests and trace export (`[telemetry]`).
    pub telemetry: TelemetryConfig,
    /// Each adapter's `[adapters.NAME.config]` table as JSON text, by adapter name: what
    /// its init hook reads (`{}` for an adapter without one). Read at start: a change takes
    /// effect for the versions loaded by the next host.
    pub adapter_configs: std::collections::BTreeMap<String, String>,
    /// Handing the listening sockets to a fresh process (`[recycle]`).
    pub recycle: RecycleConfig,
    /// How to start a successor: set by the binary (its own path and arguments). `None`:
    /// this host cannot recycle (a host embedded in another program).
    pub relaunch: Option<Relaunch>,
    /// The file naming the serving process's pid, written once it accepts.
    pub pid_file: Option<PathBuf>,
    /// Fleet mode (`[fleet]`): desired state from etcd, signed artifacts from a bucket.
    pub fleet: Option<FleetConfig>,
}

impl HostConfig {
    /// Defaults for a host serving `plugins_dir` on the given addresses.
    pub fn new(listen: SocketAddr, admin_listen: SocketAddr, plugins_dir: PathBuf) -> Self {
        Self {
            listen,
            admin_listen,
            copies_dir: std::env::temp_dir(),
            state_dir: PathBuf::from("state.d"),
            artifacts: ArtifactsConfig::default(),
            plugins_dir,
            max_body_bytes: 1024 * 1024,
            retired_limit: 64,
            builtin_bench: false,
            shutdown_grace: Duration::from_secs(30),
            deployer: DeployerConfig::default(),
            backends: Vec::new(),
            request_deadline: Duration::from_secs(5),
            containment: ContainmentConfig::default(),
            log_control: None,
            listener: ListenerConfig::default(),
            traffic: TrafficConfig::default(),
            admin_auth: AuthConfig::default(),
            telemetry: TelemetryConfig::default(),
            adapter_configs: std::collections::BTreeMap::new(),
            recycle: RecycleConfig::default(),
            relaunch: None,
            pid_file: None,
            fleet: None,
        }
    }
}

/// Flags of `frontdoor serve`; each is also an environment variable.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Configuration file (TOML); `./frontdoor.toml` is read when present and this is unset.
    #[arg(long, env = "FRONTDOOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address devices connect to [default: 127.0.0.1:8080].
    #[arg(long, env = "FRONTDOOR_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Address of the admin API [default: 127.0.0.1:8081].
    #[arg(long, env = "FRONTDOOR_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// The watched plugins directory [default: ./plugins.d].
    #[arg(long, env = "FRONTDOOR_PLUGINS_DIR")]
    pub plugins_dir: Option<PathBuf>,
    /// Parent of the private directory (random name, mode 0700) the host copies artifacts
    /// into before opening them [default: the system's temp directory].
    #[arg(long, env = "FRONTDOOR_COPIES_DIR")]
    pub copies_dir: Option<PathBuf>,
    /// Where the host keeps state that outlives it, such as markers of loads in progress
    /// [default: ./state.d].
    #[arg(long, env = "FRONTDOOR_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Keep the private copy of every mapped library until shutdown, so profilers (perf)
    /// resolve plugin symbols (artifacts.keep_copies).
    #[arg(long, env = "FRONTDOOR_KEEP_COPIES")]
    pub keep_copies: bool,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "FRONTDOOR_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Retired versions kept mapped before the host warns [default: 64].
    #[arg(long, env = "FRONTDOOR_RETIRED_LIMIT")]
    pub retired_limit: Option<usize>,
    /// Serve the static benchmark baseline under /static-bench/.
    #[arg(long, env = "FRONTDOOR_BUILTIN_BENCH")]
    pub builtin_bench: bool,
    /// Seconds in-flight requests get to finish at shutdown [default: 30].
    #[arg(long, env = "FRONTDOOR_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Milliseconds a device request may take, bounding its backend calls [default: 5000].
    #[arg(long, env = "FRONTDOOR_REQUEST_DEADLINE_MS")]
    pub request_deadline_ms: Option<u64>,
    /// A backend as NAME=URL (repeatable; env: comma-separated); overrides the URL of a
    /// backend of that name in the config file, or adds one with default protections.
    #[arg(long = "backend", env = "FRONTDOOR_BACKENDS", value_delimiter = ',', value_parser = parse_backend)]
    pub backends: Vec<(String, String)>,
    /// Overrides any key of the config file as KEY=VALUE, KEY dotted, VALUE in TOML
    /// (`backends.catalog.timeout_ms=200`); repeatable; env: comma-separated.
    #[arg(long = "set", env = "FRONTDOOR_SET", value_delimiter = ',', value_parser = parse_setting)]
    pub set: Vec<(String, String)>,
    /// Write the serving process's pid here once it accepts; a recycle's successor replaces
    /// it, so it always names the process that serves.
    #[arg(long, env = "FRONTDOOR_PID_FILE")]
    pub pid_file: Option<PathBuf>,
    /// Log lines as text for people or as one JSON object per line [default: text].
    #[arg(long, env = "FRONTDOOR_LOG_FORMAT", value_enum, default_value_t)]
    pub log_format: LogFormat,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("{key:?} is not a dotted key"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

fn parse_backend(text: &str) -> Result<(String, String), String> {
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=URL"))?;
    if name.is_empty() || url.is_empty() {
        return Err(format!("{text:?} is not NAME=URL"));
    }
    Ok((name.to_owned(), url.to_owned()))
}

/// The keys of `frontdoor.toml`; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
    plugins_dir: Option<PathBuf>,
    copies_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    retired_limit: Option<usize>,
    builtin_bench: Option<bool>,
    shutdown_grace_secs: Option<u64>,
    request_deadline_ms: Option<u64>,
    #[serde(default)]
    backends: std::collections::BTreeMap<String, BackendFileConfig>,
    #[serde(default)]
    containment: ContainmentFileConfig,
    #[serde(default)]
    listener: ListenerFileConfig,
    #[serde(default)]
    artifacts: ArtifactsFileConfig,
    #[serde(default)]
    traffic: TrafficFileConfig,
    #[serde(default)]
    admin_auth: AuthFileConfig,
    #[serde(default)]
    telemetry: TelemetryFileConfig,
    #[serde(default)]
    adapters: std::collections::BTreeMap<String, AdapterFileConfig>,
    #[serde(default)]
    recycle: RecycleFileConfig,
    pid_file: Option<PathBuf>,
    deployer_nice: Option<i32>,
    deployer_idle: Option<bool>,
    fleet: Option<FleetFileConfig>,
}

/// `[adapters.NAME]`: settings of one adapter, by its name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdapterFileConfig {
    /// Handed to the adapter's init hook as JSON; any TOML table.
    config: Option<toml::Table>,
}

/// The `[adapters.NAME.config]` tables as JSON text, by adapter name.
fn adapter_configs(
    adapters: std::collections::BTreeMap<String, AdapterFileConfig>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    adapters
        .into_iter()
        .filter_map(|(name, adapter)| adapter.config.map(|config| (name, config)))
        .map(|(name, config)| {
            let json = toml_to_json(toml::Value::Table(config)).map_err(|key| {
                format!("adapters.{name}.config{key} is not a finite number: JSON has none")
            })?;
            Ok((name, json.to_string()))
        })
        .collect()
}

/// A TOML value as JSON: a date or time becomes its TOML text (`"1979-05-27T07:32:00Z"`);
/// `Err` names the key of a NaN or infinite float, which JSON cannot hold.
fn toml_to_json(value: toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as Json;
    Ok(match value {
        toml::Value::String(text) => Json::String(text),
        toml::Value::Integer(number) => Json::from(number),
        toml::Value::Float(number) => serde_json::Number::from_f64(number)
            .map(Json::Number)
            .ok_or_else(String::new)?,
        toml::Value::Boolean(flag) => Json::Bool(flag),
        toml::Value::Datetime(datetime) => Json::String(datetime.to_string()),
        toml::Value::Array(items) => Json::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| toml_to_json(item).map_err(|key| format!("[{index}]{key}")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => Json::Object(
            table
                .into_iter()
                .map(|(key, item)| {
                    let json = toml_to_json(item).map_err(|inner| format!(".{key}{inner}"))?;
                    Ok((key, json))
                })
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// The `[artifacts]` table: how artifacts are vetted and loaded.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactsFileConfig {
    max_artifact_bytes: Option<u64>,
    allow_symlinks: Option<bool>,
    allow_insecure_permissions: Option<bool>,
    keep_copies: Option<bool>,
    probe: Option<bool>,
    probe_timeout_ms: Option<u64>,
    probe_idle_wait_ms: Option<u64>,
}

impl ArtifactsFileConfig {
    fn resolve(self, keep_copies_flag: bool) -> ArtifactsConfig {
        let defaults = ArtifactsConfig::default();
        ArtifactsConfig {
            max_artifact_bytes: self
                .max_artifact_bytes
                .unwrap_or(defaults.max_artifact_bytes),
            allow_symlinks: self.allow_symlinks.unwrap_or(defaults.allow_symlinks),
            allow_insecure_permissions: self
                .allow_insecure_permissions
                .unwrap_or(defaults.allow_insecure_permissions),
            keep_copies: keep_copies_flag || self.keep_copies.unwrap_or(defaults.keep_copies),
            probe: self.probe.unwrap_or(defaults.probe),
            probe_timeout: self
                .probe_timeout_ms
                .map_or(defaults.probe_timeout, Duration::from_millis),
            probe_idle_wait: match self.probe_idle_wait_ms {
                None => defaults.probe_idle_wait,
                Some(0) => None,
                Some(millis) => Some(Duration::from_millis(millis)),
            },
            // Set by the command line (the running binary) or by whoever embeds the host.
            probe_binary: defaults.probe_binary,
            // Set from `[fleet]` once the owners are known.
            trust: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid override {key}: {reason}")]
    Override { key: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("invalid setting {0}")]
    Listener(#[from] ListenerConfigError),
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
}

impl ServeArgs {
    /// Resolves flags (and their env vars) over the config file over defaults.
    pub fn resolve(&self) -> Result<HostConfig, ConfigError> {
        let path = match &self.config {
            Some(path) => Some(path.as_path()),
            None => Some(Path::new("frontdoor.toml")).filter(|path| path.is_file()),
        };
        let file = read_file_config(path, &self.set)?;
        let mut config = HostConfig::new(
            self.listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            self.admin_listen
                .or(file.admin_listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8081))),
            self.plugins_dir
                .clone()
                .or(file.plugins_dir)
                .unwrap_or_else(|| PathBuf::from("plugins.d")),
        );
        if let Some(dir) = self.copies_dir.clone().or(file.copies_dir) {
            config.copies_dir = dir;
        }
        if let Some(dir) = self.state_dir.clone().or(file.state_dir) {
            config.state_dir = dir;
        }
        config.artifacts = file.artifacts.resolve(self.keep_copies);
        if let Some(bytes) = self.max_body_bytes.or(file.max_body_bytes) {
            config.max_body_bytes = bytes;
        }
        if let Some(limit) = self.retired_limit.or(file.retired_limit) {
            config.retired_limit = limit;
        }
        config.builtin_bench = self.builtin_bench || file.builtin_bench.unwrap_or(false);
        if let Some(secs) = self.shutdown_grace_secs.or(file.shutdown_grace_secs) {
            config.shutdown_grace = Duration::from_secs(secs);
        }
        if let Some(ms) = self.request_deadline_ms.or(file.request_deadline_ms) {
            config.request_deadline = Duration::from_millis(ms);
        }
        config.containment = file.containment.resolve().map_err(ConfigError::Invalid)?;
        config.listener = file.listener.resolve()?;
        config.traffic = file.traffic.resolve().map_err(ConfigError::Invalid)?;
        config.admin_auth = file.admin_auth.resolve().map_err(ConfigError::Invalid)?;
        config.telemetry = file.telemetry.resolve().map_err(ConfigError::Invalid)?;
        config.adapter_configs = adapter_configs(file.adapters).map_err(ConfigError::Invalid)?;
        config.recycle = file.recycle.resolve().map_err(ConfigError::Invalid)?;
        config.pid_file = self.pid_file.clone().or(file.pid_file);
        if let Some(fleet) = file.fleet {
            let fleet = fleet
                .resolve(&config.admin_auth.owners, config.admin_listen.port())
                .map_err(ConfigError::Invalid)?;
            // Fleet mode loads only what its owners signed, whoever put it in the directory.
            config.artifacts.trust = Some(fleet.trust.clone());
            config.fleet = Some(fleet);
        }
        if let Some(nice) = file.deployer_nice {
            if !(0..=19).contains(&nice) {
                return Err(ConfigError::Invalid(format!(
                    "deployer_nice = {nice}: must be 0 (unchanged) to 19 (lowest priority)"
                )));
            }
            config.deployer.nice = nice;
        }
        if let Some(idle) = file.deployer_idle {
            config.deployer.idle = idle;
        }
        config.backends = file
            .backends
            .into_iter()
            .map(|(name, backend)| backend.resolve(&name))
            .collect::<Result<_, _>>()
            .map_err(ConfigError::Invalid)?;
        for (name, url) in &self.backends {
            match config
                .backends
                .iter_mut()
                .find(|backend| &backend.name == name)
            {
                Some(backend) => backend.url.clone_from(url),
                None => config.backends.push(BackendConfig::new(name, url)),
            }
        }
        Ok(config)
    }
}

/// Reads the config file (if any) and applies `--set` overrides to its keys before the
/// keys are checked, so an override is validated exactly like the file.
fn read_file_config(
    path: Option<&Path>,
    overrides: &[(String, String)],
) -> Result<FileConfig, ConfigError> {
    let origin = path.map_or_else(|| PathBuf::from("--set"), Path::to_owned);
    let mut table = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            toml::from_str::<toml::Table>(&text).map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source: Box::new(source),
            })?
        }
        None => toml::Table::new(),
    };
    for (key, value) in overrides {
        apply_override(&mut table, key, value)?;
    }
    FileConfig::deserialize(toml::Value::Table(table)).map_err(|source| ConfigError::Parse {
        path: origin,
        source: Box::new(source),
    })
}

/// Sets dotted `key` to `value` (TOML syntax; a bare word is taken as a string).
fn apply_override(table: &mut toml::Table, key: &str, value: &str) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::Override {
        key: key.to_owned(),
        reason,
    };
    let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("value = {value}"))
        .ok()
        .and_then(|mut wrapper| wrapper.remove("value"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().ok_or_else(|| invalid("empty key".into()))?;
    let mut current = table;
    for part in parts {
        current = current
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| invalid(format!("{part} is not a table")))?;
    }
    current.insert(last.to_owned(), parsed);
    Ok(())
}

#[cfg(test)]
mod tests;
