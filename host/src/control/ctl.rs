//! `frontdoor ctl`: the operators' command line over the admin API's control routes.
//!
//! Each subcommand is one HTTP request ([`CtlCommand::request`]); adding one (a canary, a
//! shadow) is a variant and its line there. The token comes from `FRONTDOOR_TOKEN` only, so
//! it never shows in a process list or a shell history.
//!
//! Exit codes: 0 done; 2 usage error; 3 the API refused (any answer that is not 2xx, the
//! JSON error on stderr); 4 the host cannot be reached; 1 anything else.

use std::{io::BufRead as _, process::ExitCode, time::Duration};

use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, header};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

/// The API refused the request (4xx, 5xx).
pub const EXIT_REFUSED: u8 = 3;
/// Bad arguments (clap's own code for usage errors).
pub const EXIT_USAGE: u8 = 2;
/// No connection to the admin API.
pub const EXIT_UNREACHABLE: u8 = 4;
/// How long one request may take before ctl gives up on the host.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The admin API's base URL.
    #[arg(
        long,
        env = "FRONTDOOR_ADMIN_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub admin_url: String,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// Every adapter: default, pin, disabled versions, states.
    List,
    /// One adapter.
    Show { adapter: String },
    /// Pin the version devices get without x-frontdoor-version.
    Pin { adapter: String, version: String },
    /// Remove the pin: the highest healthy version is the default again.
    Unpin { adapter: String },
    /// Pin the next version down from the one devices get now.
    Rollback { adapter: String },
    /// Take a version out of all traffic.
    Disable { adapter: String, version: String },
    /// Put a disabled version back.
    Enable { adapter: String, version: String },
    /// Put a quarantined version back in traffic.
    LiftQuarantine { adapter: String, version: String },
    /// Shared modules: show, pin, unpin.
    #[command(subcommand)]
    Module(ModuleCommand),
    /// Canaries: start, show, promote, abort, judge now, forget.
    #[command(subcommand)]
    Canary(CanaryCommand),
    /// Shadow traffic: start, report, stop.
    #[command(subcommand)]
    Shadow(ShadowCommand),
    /// The most recent changes, oldest first.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print the SHA-256 digest of the token read from standard input, for the config.
    HashToken,
}

#[derive(Debug, Subcommand)]
pub enum ModuleCommand {
    Show {
        module: String,
    },
    /// Pin the version consumers bind to when their requirement allows it.
    Pin {
        module: String,
        version: String,
    },
    Unpin {
        module: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Split the adapter's default traffic between a baseline and `canary`, judged every
    /// interval, stepped up and promoted when it holds, set to weight 0 when it regresses.
    Start {
        adapter: String,
        canary: String,
        /// Default: the default version (or the one below the canary, when it is the default).
        #[arg(long)]
        baseline: Option<String>,
        /// Percent of default traffic to the canary at first.
        #[arg(long)]
        weight: Option<f64>,
        /// Weights to step through on success, e.g. `--steps 25,50,100`.
        #[arg(long, value_delimiter = ',')]
        steps: Option<Vec<f64>>,
        /// How often the judge compares the canary with the baseline.
        #[arg(long)]
        interval_ms: Option<u64>,
        /// Largest tolerated excess of the canary's 5xx rate over the baseline's (0..1).
        #[arg(long)]
        error_margin: Option<f64>,
    },
    /// The plan, its weight and the judge's verdicts.
    Show { adapter: String },
    /// Make the canary the default now.
    Promote { adapter: String },
    /// Send every default request to the baseline again.
    Abort { adapter: String },
    /// Judge the current interval now.
    Judge { adapter: String },
    /// Forget a finished plan.
    Forget { adapter: String },
}

#[derive(Debug, Subcommand)]
pub enum ShadowCommand {
    /// Mirror `share` percent of the adapter's GET and HEAD requests to `target`.
    Start {
        adapter: String,
        target: String,
        #[arg(long, default_value_t = 10.0)]
        share: f64,
        /// JSON pointers (`/generated_at`) or top-level keys left out of the comparison.
        #[arg(long, value_delimiter = ',')]
        ignore: Vec<String>,
    },
    /// Match rate, latencies of both sides and sample differences.
    Report {
        adapter: String,
    },
    Stop {
        adapter: String,
    },
}

/// One request of the admin API.
pub struct CtlRequest {
    pub method: Method,
    pub path: String,
    pub body: Option<serde_json::Value>,
}

impl CtlCommand {
    /// The request this subcommand makes (`None`: it needs no host).
    pub fn request(&self) -> Option<CtlRequest> {
        let adapter = |name: &str| format!("/admin/adapters/{}", segment(name));
        let version_of = |name: &str, version: &str, verb: &str| {
            format!("{}/versions/{}/{verb}", adapter(name), segment(version))
        };
        let pin_body = |version: &str| Some(serde_json::json!({ "version": version }));
        let (method, path, body) = match self {
            Self::List => (Method::GET, "/admin/adapters".to_owned(), None),
            Self::Show { adapter: name } => (Method::GET, adapter(name), None),
            Self::Pin {
                adapter: name,
                version,
            } => (
                Method::POST,
                format!("{}/pin", adapter(name)),
                pin_body(version),
            ),
            Self::Unpin { adapter: name } => {
                (Method::DELETE, format!("{}/pin", adapter(name)), None)
            }
            Self::Rollback { adapter: name } => {
                (Method::POST, format!("{}/rollback", adapter(name)), None)
            }
            Self::Disable { adapter, version } => {
                (Method::POST, version_of(adapter, version, "disable"), None)
            }
            Self::Enable { adapter, version } => {
                (Method::POST, version_of(adapter, version, "enable"), None)
            }
            Self::LiftQuarantine { adapter, version } => (
                Method::POST,
                version_of(adapter, version, "lift-quarantine"),
                None,
            ),
            Self::Module(command) => {
                let module = |name: &str| format!("/admin/modules/{}", segment(name));
                match command {
                    ModuleCommand::Show { module: name } => (Method::GET, module(name), None),
                    ModuleCommand::Pin {
                        module: name,
                        version,
                    } => (
                        Method::POST,
                        format!("{}/pin", module(name)),
                        pin_body(version),
                    ),
                    ModuleCommand::Unpin { module: name } => {
                        (Method::DELETE, format!("{}/pin", module(name)), None)
                    }
                }
            }
            Self::Canary(command) => {
                let canary = |name: &str| format!("{}/canary", adapter(name));
                match command {
                    CanaryCommand::Start {
                        adapter: name,
                        canary: version,
                        baseline,
                        weight,
                        steps,
                        interval_ms,
                        error_margin,
                    } => {
                        let mut body = serde_json::json!({ "canary": version });
                        let fields = [
                            ("baseline", baseline.as_ref().map(|b| serde_json::json!(b))),
                            ("weight", weight.map(|w| serde_json::json!(w))),
                            ("steps", steps.as_ref().map(|s| serde_json::json!(s))),
                            ("interval_ms", interval_ms.map(|i| serde_json::json!(i))),
                            ("error_margin", error_margin.map(|e| serde_json::json!(e))),
                        ];
                        for (key, value) in fields {
                            if let Some(value) = value {
                                body[key] = value;
                            }
                        }
                        (Method::POST, canary(name), Some(body))
                    }
                    CanaryCommand::Show { adapter: name } => (Method::GET, canary(name), None),
                    CanaryCommand::Promote { adapter: name } => {
                        (Method::POST, format!("{}/promote", canary(name)), None)
                    }
                    CanaryCommand::Abort { adapter: name } => {
                        (Method::POST, format!("{}/abort", canary(name)), None)
                    }
                    CanaryCommand::Judge { adapter: name } => {
                        (Method::POST, format!("{}/judge", canary(name)), None)
                    }
                    CanaryCommand::Forget { adapter: name } => (Method::DELETE, canary(name), None),
                }
            }
            Self::Shadow(command) => {
                let shadow = |name: &str| format!("{}/shadow", adapter(name));
                match command {
                    ShadowCommand::Start {
                        adapter: name,
                        target,
                        share,
                        ignore,
                    } => (
                        Method::POST,
                        shadow(name),
                        Some(serde_json::json!({
                            "target": target,
                            "share": share,
                            "ignore": ignore,
                        })),
                    ),
                    ShadowCommand::Report { adapter: name } => (Method::GET, shadow(name), None),
                    ShadowCommand::Stop { adapter: name } => (Method::DELETE, shadow(name), None),
                }
            }
            Self::Audit { limit } => (Method::GET, format!("/admin/audit?limit={limit}"), None),
            Self::HashToken => return None,
        };
        Some(CtlRequest { method, path, body })
    }
}

/// Runs `frontdoor ctl`; returns its exit code.
pub fn run(args: CtlArgs) -> ExitCode {
    let Some(request) = args.command.request() else {
        return hash_token();
    };
    let base = args.admin_url.trim_end_matches('/');
    if !base.starts_with("http://") {
        eprintln!("frontdoor ctl: --admin-url must be an http:// URL, not {base:?}");
        return ExitCode::from(EXIT_USAGE);
    }
    let uri = format!("{base}{}", request.path);
    let token = std::env::var("FRONTDOOR_TOKEN").ok();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("frontdoor ctl: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(send(&uri, request, token.as_deref())) {
        Ok((status, body)) if status.is_success() => {
            println!("{}", pretty(&body));
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            eprintln!("frontdoor ctl: {status}: {}", pretty(&body));
            ExitCode::from(EXIT_REFUSED)
        }
        Err(Failure::Usage(reason)) => {
            eprintln!("frontdoor ctl: {reason}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Unreachable(reason)) => {
            eprintln!("frontdoor ctl: cannot reach the admin API at {base}: {reason}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
    }
}

enum Failure {
    Usage(String),
    Unreachable(String),
}

async fn send(
    uri: &str,
    request: CtlRequest,
    token: Option<&str>,
) -> Result<(hyper::StatusCode, Bytes), Failure> {
    let mut builder = Request::builder().method(request.method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match &request.body {
        Some(json) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(json.to_string())
        }
        None => Bytes::new(),
    };
    let request = builder
        .body(Full::new(body))
        .map_err(|error| Failure::Usage(format!("invalid request: {error}")))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|error| Failure::Unreachable(error_chain(&error)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| Failure::Unreachable(error_chain(&error)))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(PATIENCE, exchange)
        .await
        .unwrap_or_else(|_| Err(Failure::Unreachable("no answer within 30 s".to_owned())))
}

/// Reads a token from standard input (its first line) and prints its digest.
fn hash_token() -> ExitCode {
    let mut line = String::new();
    if let Err(error) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("frontdoor ctl: cannot read the token from standard input: {error}");
        return ExitCode::FAILURE;
    }
    let token = line.trim_end_matches(['\n', '\r']);
    if token.is_empty() {
        eprintln!("frontdoor ctl: hash-token reads the token from standard input; it was empty");
        return ExitCode::from(EXIT_USAGE);
    }
    println!("{}", super::auth::digest_hex(token));
    ExitCode::SUCCESS
}

/// `value` percent-encoded as one path segment, so no argument can add a segment.
fn segment(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'+') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn pretty(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| serde_json::to_string_pretty(&json).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
