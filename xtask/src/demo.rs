//! `cargo xtask demo`: build every plugin and the host, start the host against
//! `<workspace>/plugins.d`, wait until it is healthy and print requests that work against it.
//! With `--check` it sends the first requests itself, stops the host and reports (for CI).

use std::{
    io,
    net::{SocketAddr, TcpListener},
    os::unix::process::ExitStatusExt as _,
    process::{ExitCode, ExitStatus},
    time::Duration,
};

use anyhow::{Context as _, ensure};

use crate::{
    build_plugin::{self, Installed},
    cargo::Profile,
    host, http,
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
    /// Send the first two requests, verify them, stop the host and exit.
    #[arg(long)]
    check: bool,
}

/// How long the host gets to answer `/admin/health` after it starts.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request of `--check` may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The requests `--check` sends; they are also the first lines printed.
const CHECKED: [&str; 2] = ["/bench/hello", "/bench/home?profile=7"];

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let workspace = Workspace::load()?;
    let plugins_dir = build_plugin::default_out_dir(&workspace);
    let installed = build_plugin::build(
        &workspace,
        &workspace.plugins(),
        Profile::Release,
        &plugins_dir,
    )?;
    for artifact in &installed {
        println!("{artifact}");
    }
    let bench = installed
        .iter()
        .find(|artifact| artifact.name == "bench" && artifact.kind == PluginKind::Adapter)
        .context("the demo needs the bench adapter (plugins/bench), which was not built")?;
    let frontdoor = host::build(&workspace)?;

    let listen = SocketAddr::from(([127, 0, 0, 1], args.port));
    let admin_listen = SocketAddr::from(([127, 0, 0, 1], args.admin_port));
    ensure_free(listen, "--port")?;
    ensure_free(admin_listen, "--admin-port")?;
    let mut host = host::Host::spawn(
        &frontdoor,
        &host::ServeConfig {
            workdir: &workspace.root,
            plugins_dir: &plugins_dir,
            listen,
            admin_listen,
            copies_dir: None,
            retired_limit: None,
            pin_core: None,
            output: host::Output::Inherit,
        },
    )?;
    // From here on, Ctrl-C belongs to the host (it is in our process group and gets SIGINT
    // from the terminal); xtask ignores it and follows the host's exit. Only after the
    // spawn, so the host keeps the default SIGINT disposition.
    ignore_interrupts().context("cannot ignore SIGINT")?;
    host.wait_healthy(admin_listen, HEALTH_TIMEOUT)?;

    println!();
    println!("frontdoor serves http://{listen} (admin http://{admin_listen}); try:");
    println!();
    for line in curl_lines(listen, admin_listen, bench, &installed) {
        println!("  {line}");
    }
    println!();

    if args.check {
        check(listen)?;
        let status = host.terminate()?;
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
    let status = host.wait()?;
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

/// The commands to print, comments aligned: the bench lines, then one line per other adapter.
fn curl_lines(
    listen: SocketAddr,
    admin: SocketAddr,
    bench: &Installed,
    installed: &[Installed],
) -> Vec<String> {
    let base = format!("http://{listen}");
    let [hello, home] = CHECKED;
    let mut lines = vec![
        (format!("curl -i {base}{hello}"), String::new()),
        (format!("curl -i '{base}{home}'"), String::new()),
        (
            format!("curl -i {base}/static-bench/hello"),
            "the same handler compiled into the host".to_owned(),
        ),
        (
            format!("curl -s http://{admin}/admin/plugins"),
            "every plugin, version and state".to_owned(),
        ),
        (
            format!(
                "curl -i -H 'x-frontdoor-version: ={}' {base}{hello}",
                bench.version
            ),
            "ask for one loaded version".to_owned(),
        ),
    ];
    for adapter in installed
        .iter()
        .filter(|artifact| artifact.kind == PluginKind::Adapter && artifact.name != bench.name)
    {
        lines.push((
            format!("curl -i {base}/{}/", adapter.name),
            format!(
                "{} {} serves under /{}/",
                adapter.name, adapter.version, adapter.name
            ),
        ));
    }
    let width = lines
        .iter()
        .map(|(command, _)| command.len())
        .max()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|(command, comment)| match comment.as_str() {
            "" => command,
            _ => format!("{command:width$}  # {comment}"),
        })
        .collect()
}

/// Sends the [`CHECKED`] requests; each must answer 200 from some version of bench.
fn check(listen: SocketAddr) -> anyhow::Result<()> {
    for target in CHECKED {
        let response = http::get(listen, target, REQUEST_TIMEOUT)
            .with_context(|| format!("GET {target} failed"))?;
        let adapter = response.header("x-frontdoor-adapter").unwrap_or_default();
        ensure!(
            response.status == 200,
            "GET {target} answered {} instead of 200",
            response.status
        );
        ensure!(
            adapter.starts_with("bench@"),
            "GET {target} answered with x-frontdoor-adapter `{adapter}` instead of bench@<version>"
        );
        println!("ok: GET {target} -> 200, x-frontdoor-adapter: {adapter}");
    }
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
