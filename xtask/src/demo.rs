//! `cargo xtask demo`: build every plugin, the host and the sample backends; start the
//! backends and the host against `<workspace>/plugins.d`, wait until it is healthy and print
//! requests that work against it, the web console's URL and a demo admin token (drawn anew
//! each run; team `demo` owns every demo plugin). With `--check` it sends requests itself,
//! logs in to the console, stops everything and reports (for CI).

use std::{
    fs,
    io::{self, Read as _},
    net::{SocketAddr, TcpListener},
    os::unix::process::ExitStatusExt as _,
    process::{ExitCode, ExitStatus},
    time::Duration,
};

use anyhow::{Context as _, ensure};

use crate::{
    build_plugin::{self, Installed},
    cargo::Profile,
    dev, host, http,
    sample_backends::{self, SampleBackends},
    workspace::{PluginKind, Workspace},
};

/// Build every plugin and the host, start the host and print requests to try.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port devices connect to, on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Port of the admin API, on 127.0.0.1.
    #[arg(long, default_value_t = 8081)]
    admin_port: u16,
    /// Port of the sample backends' control API; the five services take the next ports.
    #[arg(long, default_value_t = 9000)]
    backends_port: u16,
    /// Send requests, verify them, stop everything and exit.
    #[arg(long)]
    check: bool,
}

/// How long the host gets to answer `/admin/health` after it starts.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request of `--check` may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The requests `--check` sends, with the adapter that must answer; also the first lines
/// printed.
const CHECKED: [(&str, &str); 4] = [
    ("/bench/hello", "bench@"),
    ("/bench/home?profile=7", "bench@"),
    ("/tv/home?profile=42", "tv@"),
    ("/mobile/home?profile=42", "mobile@"),
];

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let workspace = Workspace::load()?;
    let plugins_dir = build_plugin::default_out_dir(&workspace);
    let installed = build_plugin::build(
        &workspace,
        &workspace.plugins(),
        Profile::Plugin,
        &plugins_dir,
    )?;
    for artifact in &installed {
        println!("{artifact}");
    }
    let bench = installed
        .iter()
        .find(|artifact| artifact.name == "bench" && artifact.kind == Some(PluginKind::Adapter))
        .context("the demo needs the bench adapter (plugins/bench), which was not built")?;
    let frontdoor = host::build(&workspace)?;
    let backends_binary = sample_backends::build(&workspace)?;

    let listen = SocketAddr::from(([127, 0, 0, 1], args.port));
    let admin_listen = SocketAddr::from(([127, 0, 0, 1], args.admin_port));
    ensure_free(listen, "--port")?;
    ensure_free(admin_listen, "--admin-port")?;
    for offset in 0..=sample_backends::SERVICES.len() as u16 {
        let port = args.backends_port + offset;
        ensure_free(SocketAddr::from(([127, 0, 0, 1], port)), "--backends-port")?;
    }
    let token = demo_token()?;
    let config_file = write_config(&workspace, &installed, &token)?;
    let backends = SampleBackends::start(&backends_binary, args.backends_port, false)?;
    let backend_flags = backends.backend_flags();
    let mut host = host::Host::spawn(
        &frontdoor,
        &host::ServeConfig {
            workdir: &workspace.root,
            plugins_dir: &plugins_dir,
            listen,
            admin_listen,
            copies_dir: None,
            keep_copies: false,
            retired_limit: None,
            pin_core: None,
            backends: &backend_flags,
            config_file: Some(&config_file),
            output: host::Output::Inherit,
        },
    )?;
    // From here on, Ctrl-C belongs to the host (it is in our process group and gets SIGINT
    // from the terminal); xtask ignores it and follows the host's exit. Only after the
    // spawn, so the host keeps the default SIGINT disposition.
    ignore_interrupts().context("cannot ignore SIGINT")?;
    host.wait_healthy_as(admin_listen, Some(&token), HEALTH_TIMEOUT)?;

    println!();
    println!("frontdoor serves http://{listen} (admin http://{admin_listen}); try:");
    println!();
    for line in curl_lines(listen, admin_listen, backends.control_addr(), bench, &token) {
        println!("  {line}");
    }
    println!();
    println!("web console: http://{admin_listen}/console");
    println!("demo admin token (team demo, owns every demo plugin): {token}");
    println!();

    if args.check {
        check(listen)?;
        check_degradation(listen, &backends)?;
        check_insight(admin_listen, &token)?;
        check_console(admin_listen, &token)?;
        let status = host.terminate()?;
        backends.stop();
        ensure!(
            status.success(),
            "frontdoor did not stop cleanly after SIGTERM ({status})"
        );
        println!("demo check passed");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "frontdoor runs as pid {}; press Ctrl-C to stop it",
        host.id()
    );
    // `cargo xtask dev` installs into this host while it runs.
    dev::record_host(
        &workspace,
        &dev::DevHost {
            pid: host.id(),
            listen,
            admin: admin_listen,
            plugins_dir: plugins_dir.clone(),
            token: Some(token.clone()),
        },
    )?;
    let status = host.wait()?;
    dev::forget_host(&workspace, host.id());
    backends.stop();
    if !status.success() {
        eprintln!("xtask: frontdoor exited ({status})");
    }
    Ok(exit_code(status))
}

/// Refuses a busy port up front: otherwise another server on the admin port could answer
/// the health check for a host that failed to start.
fn ensure_free(addr: SocketAddr, flag: &str) -> anyhow::Result<()> {
    TcpListener::bind(addr)
        .map(drop)
        .with_context(|| format!("cannot listen on {addr}; choose another port with {flag}"))
}

/// The commands to print, each after its comment.
fn curl_lines(
    listen: SocketAddr,
    admin: SocketAddr,
    control: SocketAddr,
    bench: &Installed,
    token: &str,
) -> Vec<String> {
    let base = format!("http://{listen}");
    let json = "-H 'content-type: application/json'";
    let auth = format!("-H 'authorization: Bearer {token}'");
    let mut lines: Vec<(String, &str)> = CHECKED
        .iter()
        .map(|(target, _)| (format!("curl -i '{base}{target}'"), ""))
        .collect();
    lines[0].1 = "W1: dispatch into an adapter";
    lines[2].1 = "profiles + recommendations + bookmarks + catalog in parallel";
    lines[3].1 = "the same backends, artwork v2 shared module";
    lines.extend([
        (
            format!("curl -i {base}/static-bench/hello"),
            "the same handler compiled into the host",
        ),
        (
            format!(
                "curl -i -H 'x-frontdoor-version: ={}' {base}/bench/hello",
                bench.version
            ),
            "ask for one loaded version",
        ),
        (
            format!(
                "curl -i -X POST {json} -d '{{\"profile\":42,\"title_id\":80000010,\"device\":\"tv\"}}' {base}/playback/start"
            ),
            "an ordered sequence with parallel steps",
        ),
        (
            format!("curl -s {auth} http://{admin}/admin/plugins"),
            "every plugin, version, state and binding",
        ),
        (
            format!("curl -s {auth} http://{admin}/admin/backends"),
            "calls, errors, latency, breaker per backend",
        ),
        (
            format!("curl -s {auth} http://{admin}/metrics"),
            "Prometheus metrics (dashboards/frontdoor.json graphs them)",
        ),
        (
            format!("curl -s {auth} 'http://{admin}/admin/requests?adapter=tv&limit=5'"),
            "recent tv requests with their backend calls",
        ),
        (
            format!("curl -s {auth} -X POST http://{admin}/admin/adapters/tv/rollback"),
            "pin the version below the one devices get (none below 1.0.0: a 409 that says so)",
        ),
        (
            format!("curl -s {auth} http://{admin}/admin/audit"),
            "every operator change",
        ),
        (
            format!("curl -X PUT {json} -d '{{\"refuse\":true}}' http://{control}/faults/bookmarks"),
            "take bookmarks down, then reload /tv/home",
        ),
        (
            format!("curl -X PUT {json} -d '{{}}' http://{control}/faults/bookmarks"),
            "and bring it back",
        ),
    ]);
    lines
        .into_iter()
        .map(|(command, comment)| match comment {
            "" => command,
            _ => format!("# {comment}\n  {command}"),
        })
        .collect()
}

/// Sends the [`CHECKED`] requests; each must answer 200 from the expected adapter.
fn check(listen: SocketAddr) -> anyhow::Result<()> {
    for (target, expected) in CHECKED {
        let response = http::get(listen, target, REQUEST_TIMEOUT)
            .with_context(|| format!("GET {target} failed"))?;
        let adapter = response.header("x-frontdoor-adapter").unwrap_or_default();
        ensure!(
            response.status == 200,
            "GET {target} answered {} instead of 200",
            response.status
        );
        ensure!(
            adapter.starts_with(expected),
            "GET {target} answered with x-frontdoor-adapter `{adapter}` instead of {expected}<version>"
        );
        println!("ok: GET {target} -> 200, x-frontdoor-adapter: {adapter}");
    }
    Ok(())
}

/// The requests just made are visible to operators: counted in `/metrics` and kept in the
/// tv ring of `/admin/requests` (the degraded page is an error call, so it is always kept).
fn check_insight(admin: SocketAddr, token: &str) -> anyhow::Result<()> {
    let authorization = format!("Bearer {token}");
    let headers = [("authorization", authorization.as_str())];
    let get =
        |target: &str| http::request_with(admin, "GET", target, &headers, None, REQUEST_TIMEOUT);
    let metrics = get("/metrics").context("GET /metrics failed")?;
    let text = String::from_utf8_lossy(&metrics.body);
    ensure!(
        metrics.status == 200 && text.contains("frontdoor_device_requests_total{adapter=\"tv\""),
        "GET /metrics answered {} without tv's requests",
        metrics.status
    );
    let target = "/admin/requests?adapter=tv&limit=5";
    let recent = get(target).with_context(|| format!("GET {target} failed"))?;
    let body = String::from_utf8_lossy(&recent.body);
    ensure!(
        recent.status == 200 && body.contains("\"bookmarks\""),
        "GET {target} answered {} without the degraded request's bookmarks call: {body}",
        recent.status
    );
    println!(
        "ok: /metrics counts tv's requests; /admin/requests keeps the degraded page with its calls"
    );
    Ok(())
}

/// Logs in to the web console with the demo token and reads the overview and tv's page:
/// both render the demo's plugins, and tv's page offers its owner a rollback.
fn check_console(admin: SocketAddr, token: &str) -> anyhow::Result<()> {
    let form = format!("token={token}");
    let login = http::request_with(
        admin,
        "POST",
        "/console/login",
        &[],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
        REQUEST_TIMEOUT,
    )
    .context("POST /console/login failed")?;
    let cookie = login
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .map(str::to_owned);
    let cookie = match (login.status, cookie) {
        (303, Some(cookie)) => cookie,
        (status, _) => {
            anyhow::bail!("the console login answered {status} without a session cookie")
        }
    };
    let headers = [("cookie", cookie.as_str())];
    for (target, expected) in [
        (
            "/console",
            [
                "Adapters and shared modules",
                ">tv<",
                ">mobile<",
                ">artwork<",
            ],
        ),
        (
            "/console/adapters/tv",
            [
                "Adapter tv",
                "Roll back",
                "Recent failing requests",
                "bookmarks",
            ],
        ),
    ] {
        let page = http::request_with(admin, "GET", target, &headers, None, REQUEST_TIMEOUT)
            .with_context(|| format!("GET {target} failed"))?;
        let html = String::from_utf8_lossy(&page.body);
        ensure!(
            page.status == 200,
            "GET {target} (logged in) answered {}",
            page.status
        );
        for text in expected {
            ensure!(
                html.contains(text),
                "GET {target} (logged in) does not show {text:?}: {html}"
            );
        }
    }
    println!(
        "ok: /console (logged in with the demo token) shows the demo's plugins; tv's page offers a rollback and its degraded request"
    );
    Ok(())
}

/// A fresh admin token for this run: 128 bits from the OS, as hex.
fn demo_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the demo token")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The demo host's `frontdoor.toml`: the demo token's digest (the host never sees it in
/// clear) for team `demo`, which owns every plugin the demo built.
fn write_config(
    workspace: &Workspace,
    installed: &[Installed],
    token: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = workspace.target_dir.join("demo");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut names: Vec<&str> = installed
        .iter()
        .map(|plugin| plugin.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut config = format!(
        "# Written by cargo xtask demo for this run.\n\n[[admin_auth.tokens]]\nteam = \"demo\"\nsha256 = \"{}\"\nscopes = [\"deploy\"]\n\n[admin_auth.owners]\n",
        sha256_hex(token.as_bytes())
    );
    for name in names {
        config.push_str(&format!("{name} = \"demo\"\n"));
    }
    let path = dir.join("frontdoor.toml");
    fs::write(&path, config).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Takes bookmarks down: the TV home page must still answer, without its bookmarks row.
fn check_degradation(listen: SocketAddr, backends: &SampleBackends) -> anyhow::Result<()> {
    backends.set_faults("bookmarks", r#"{"refuse":true}"#)?;
    let target = "/tv/home?profile=42";
    let response = http::get(listen, target, REQUEST_TIMEOUT)
        .with_context(|| format!("GET {target} failed"))?;
    backends.set_faults("bookmarks", "{}")?;
    let body = String::from_utf8_lossy(&response.body);
    ensure!(
        response.status == 200 && body.contains(r#""degraded":["bookmarks"]"#),
        "with bookmarks down, GET {target} answered {} {body}",
        response.status
    );
    println!("ok: GET {target} with bookmarks refusing connections -> 200, degraded: [bookmarks]");
    Ok(())
}

/// The child's status as ours, with the shell's 128 + signal convention.
fn exit_code(status: ExitStatus) -> ExitCode {
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    u8::try_from(code).map_or(ExitCode::FAILURE, ExitCode::from)
}

fn ignore_interrupts() -> io::Result<()> {
    // SAFETY: `SIG_IGN` installs no handler, so no code runs in signal context; the call
    // only changes this process's SIGINT disposition, which nothing else in xtask relies on.
    let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    if previous == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
