//! Instructions per request, the host against bare hyper, counted by callgrind. On a shared
//! VM the CPU-time ratios of the other stages move by ±10 % between runs of the same binary;
//! an instruction count does not move (two runs agree within 0.5 %), so a change of a few
//! percent in the host's own work shows here when the timed figures cannot tell it apart.
//!
//! What is counted: user-space instructions of the whole server process (every thread)
//! while it serves a fixed number of requests on keep-alive connections, after a warm-up,
//! divided by that number. Not counted: the kernel (system calls, the network stack), so
//! the ratio is of the part of the work a server's own code decides, larger than the CPU
//! ratio where the kernel's share is large (W1).
//!
//! The host serves each workload twice: through the bench adapter (the figure the goals
//! are about: a device request as teams' adapters serve it) and through its static handler
//! compiled into the host (the same work with no ABI in between). The host runs with the
//! load probe off (`[artifacts] probe = false`): valgrind does not implement `pidfd_open`,
//! which the probe's wait needs, and the probe runs once per artifact, never per request.

use std::{
    ffi::OsStr,
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::Duration,
};

use anyhow::{Context as _, ensure};
use serde::Serialize;

use super::{
    fanout,
    floors::{self, Builds},
    workloads::{W1, W2},
};
use crate::{host, http, system_tools};

/// Requests counted per workload (after [`WARMUP_REQUESTS`]), spread over [`CONNECTIONS`].
const W1_REQUESTS: usize = 2000;
const W2_REQUESTS: usize = 1000;
const W3_REQUESTS: usize = 400;
const WARMUP_REQUESTS: usize = 200;
const CONNECTIONS: usize = 4;
/// Valgrind runs a program tens of times slower: starting and answering take longer.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The outcome of the stage.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Instructions {
    Counted {
        what: &'static str,
        tool: String,
        counts: Vec<Count>,
    },
    Skipped {
        reason: String,
    },
}

/// One workload's count, in instructions per request.
#[derive(Debug, Serialize)]
pub struct Count {
    pub id: &'static str,
    pub adapter_path: &'static str,
    pub static_path: &'static str,
    pub bare_path: &'static str,
    pub requests: usize,
    /// The host, through the bench adapter.
    pub adapter: u64,
    /// The host, through the static handler.
    pub static_handler: u64,
    pub bare_hyper: u64,
    /// The adapter over bare hyper.
    pub adapter_ratio: f64,
    /// The static handler over bare hyper.
    pub static_ratio: f64,
}

/// Where and how to count.
pub struct InstructionsConfig<'a> {
    pub frontdoor: &'a Path,
    /// The bench adapter's library, and the name it is installed under.
    pub adapter: &'a Path,
    pub adapter_file: &'a str,
    pub floors: &'a Builds,
    pub work_dir: &'a Path,
    /// The W3 backend (sample backends, 5 ms), as the other stages call it.
    pub backend_url: &'a str,
    pub core: Option<usize>,
}

/// Counts W1, W2 and W3 on the host and on bare hyper; skipped, with the reason, when
/// valgrind cannot be had.
pub fn run(config: &InstructionsConfig<'_>) -> anyhow::Result<Instructions> {
    let valgrind = match system_tools::ensure("valgrind", "valgrind", "the instruction counts") {
        Ok(valgrind) => valgrind,
        Err(error) => {
            return Ok(Instructions::Skipped {
                reason: format!("{error:#}"),
            });
        }
    };
    let tool = version(&valgrind)?;
    let dir = config.work_dir.join("callgrind");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let plugins_dir = dir.join("plugins");
    fs::create_dir_all(&plugins_dir)
        .with_context(|| format!("cannot create {}", plugins_dir.display()))?;
    let installed = plugins_dir.join(config.adapter_file);
    fs::copy(config.adapter, &installed)
        .with_context(|| format!("cannot copy the bench adapter to {}", installed.display()))?;
    // The host is killed when counted: its copies directory stays in the work directory
    // (the next counted host removes it), not in the system's temp directory.
    let copies_dir = dir.join("copies");
    let host_config = dir.join("frontdoor.toml");
    fs::write(&host_config, "[artifacts]\nprobe = false\n")
        .with_context(|| format!("cannot write {}", host_config.display()))?;

    let host_addr = host::free_port()?;
    let admin_addr = host::free_port()?;
    let fanout_backend = format!("fanout={}", config.backend_url);
    let mut host = Counted::start(
        &valgrind,
        config.core,
        &Program {
            path: config.frontdoor,
            args: &[
                "serve".as_ref(),
                "--config".as_ref(),
                host_config.as_os_str(),
                "--plugins-dir".as_ref(),
                plugins_dir.as_os_str(),
                "--copies-dir".as_ref(),
                copies_dir.as_os_str(),
                "--listen".as_ref(),
                host_addr.to_string().as_ref(),
                "--admin-listen".as_ref(),
                admin_addr.to_string().as_ref(),
                "--builtin-bench".as_ref(),
                "--backend".as_ref(),
                fanout_backend.as_ref(),
            ],
            envs: &[("RUST_LOG", "warn")],
            dir: &dir,
            addr: host_addr,
            // The adapter answers once the deployer has loaded it.
            ready: W1.adapter,
        },
        &dir.join("host"),
    )?;
    let w1_host = (
        host.count(W1.adapter, W1_REQUESTS)?,
        host.count(W1.baseline, W1_REQUESTS)?,
    );
    let w2_host = (
        host.count(W2.adapter, W2_REQUESTS)?,
        host.count(W2.baseline, W2_REQUESTS)?,
    );
    let w3_host = (
        host.count(fanout::PATH, W3_REQUESTS)?,
        host.count(fanout::STATIC_PATH, W3_REQUESTS)?,
    );
    host.stop();

    let bare = |path: &Path, backend: Option<&str>, prefix: &str| {
        let addr = host::free_port()?;
        let port = addr.port().to_string();
        let mut envs = vec![("PORT", port.as_str()), ("WORKERS", "1")];
        envs.extend(backend.map(|backend| ("BACKEND", backend)));
        Counted::start(
            &valgrind,
            config.core,
            &Program {
                path,
                args: &[],
                envs: &envs,
                dir: &dir,
                addr,
                ready: W1.adapter,
            },
            &dir.join(prefix),
        )
    };
    let mut bare_hyper = bare(&config.floors.bare_hyper, None, "bare-hyper")?;
    let w1_bare = bare_hyper.count(W1.adapter, W1_REQUESTS)?;
    let w2_bare = bare_hyper.count(floors::W2_FLOOR_PATH, W2_REQUESTS)?;
    bare_hyper.stop();
    let mut bare_fanout = bare(
        &config.floors.bare_fanout,
        Some(config.backend_url),
        "bare-hyper-fanout",
    )?;
    let w3_bare = bare_fanout.count(fanout::PATH, W3_REQUESTS)?;
    bare_fanout.stop();

    let counts = [
        (
            (W1.id, W1.adapter, W1.baseline, W1.adapter),
            W1_REQUESTS,
            w1_host,
            w1_bare,
        ),
        (
            (W2.id, W2.adapter, W2.baseline, floors::W2_FLOOR_PATH),
            W2_REQUESTS,
            w2_host,
            w2_bare,
        ),
        (
            (fanout::ID, fanout::PATH, fanout::STATIC_PATH, fanout::PATH),
            W3_REQUESTS,
            w3_host,
            w3_bare,
        ),
    ]
    .into_iter()
    .map(
        |(
            (id, adapter_path, static_path, bare_path),
            requests,
            (adapter, static_handler),
            bare_hyper,
        )| {
            let over_bare = |count: u64| count as f64 / bare_hyper.max(1) as f64;
            Count {
                id,
                adapter_path,
                static_path,
                bare_path,
                requests,
                adapter,
                static_handler,
                bare_hyper,
                adapter_ratio: over_bare(adapter),
                static_ratio: over_bare(static_handler),
            }
        },
    )
    .collect::<Vec<_>>();
    for count in &counts {
        eprintln!(
            "{} instructions per request: adapter {} ({}), static {} ({}), bare hyper {} ({}): {:.2}x, {:.2}x",
            count.id,
            count.adapter,
            count.adapter_path,
            count.static_handler,
            count.static_path,
            count.bare_hyper,
            count.bare_path,
            count.adapter_ratio,
            count.static_ratio
        );
    }
    Ok(Instructions::Counted {
        what: "user-space instructions per request of the whole server process (callgrind), after a warm-up, on keep-alive connections",
        tool,
        counts,
    })
}

/// The stage as text: one line per workload.
pub fn block(instructions: &Instructions) -> String {
    match instructions {
        Instructions::Skipped { reason } => format!("instruction counts skipped: {reason}\n"),
        Instructions::Counted { what, tool, counts } => {
            let mut block = format!(
                "Instructions per request ({what}; {tool}):\n        adapter     static  bare hyper  adapter/bare  static/bare\n"
            );
            for count in counts {
                block.push_str(&format!(
                    "  {:<4} {:>9} {:>10} {:>11} {:>13.2} {:>12.2}  ({} requests; {}, {}, {})\n",
                    count.id,
                    count.adapter,
                    count.static_handler,
                    count.bare_hyper,
                    count.adapter_ratio,
                    count.static_ratio,
                    count.requests,
                    count.adapter_path,
                    count.static_path,
                    count.bare_path
                ));
            }
            block
        }
    }
}

fn version(valgrind: &Path) -> anyhow::Result<String> {
    let output = Command::new(valgrind)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {} --version", valgrind.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A server to count: its executable, arguments, environment, directory, address, and a
/// target that answers 200 once it serves.
struct Program<'a> {
    path: &'a Path,
    args: &'a [&'a OsStr],
    envs: &'a [(&'a str, &'a str)],
    dir: &'a Path,
    addr: SocketAddr,
    ready: &'a str,
}

/// A server running under callgrind with instrumentation off until [`Counted::count`].
struct Counted {
    child: Child,
    addr: SocketAddr,
    /// Where callgrind writes its dumps (`{prefix}.{pid}`, `{prefix}.{pid}.{n}`).
    prefix: PathBuf,
}

impl Counted {
    /// Starts `program` under callgrind, pinned to `core`, and waits until it serves.
    fn start(
        valgrind: &Path,
        core: Option<usize>,
        program: &Program<'_>,
        prefix: &Path,
    ) -> anyhow::Result<Self> {
        let mut command = crate::child::pinned(valgrind, core);
        command
            .arg("--tool=callgrind")
            .arg("--instr-atstart=no")
            .arg(format!("--callgrind-out-file={}.%p", prefix.display()))
            .arg(program.path)
            .args(program.args)
            .envs(program.envs.iter().copied())
            .current_dir(program.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        crate::child::terminate_with_parent(&mut command);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {} under valgrind", program.path.display()))?;
        let mut server = Self {
            child,
            addr: program.addr,
            prefix: prefix.to_owned(),
        };
        floors::wait_answering(
            &mut server.child,
            server.addr,
            &floors::Startup {
                what: &format!("{} under valgrind", program.path.display()),
                target: program.ready,
                within: START_TIMEOUT,
                probe_timeout: REQUEST_TIMEOUT,
                interval: POLL_INTERVAL,
            },
        )?;
        Ok(server)
    }

    /// Instructions per request of `requests` GETs of `target` (after a warm-up), read from
    /// the dump callgrind writes when asked.
    fn count(&mut self, target: &str, requests: usize) -> anyhow::Result<u64> {
        load(self.addr, target, WARMUP_REQUESTS)?;
        let before = self.dumped()?;
        self.control(&["--instr=on"])?;
        let made = load(self.addr, target, requests)?;
        self.control(&["--instr=off"])?;
        self.control(&["--dump"])?;
        let after = self.dumped()?;
        let counted = after.saturating_sub(before);
        ensure!(
            counted > 0,
            "callgrind counted no instructions for {target} (dumps {}.*)",
            self.prefix.display()
        );
        Ok(counted / made as u64)
    }

    fn control(&self, args: &[&str]) -> anyhow::Result<()> {
        let output = Command::new("callgrind_control")
            .args(args)
            .arg(self.child.id().to_string())
            .output()
            .context("cannot run callgrind_control")?;
        ensure!(
            output.status.success(),
            "callgrind_control {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(())
    }

    /// Instructions in every dump written so far.
    fn dumped(&self) -> anyhow::Result<u64> {
        let dir = self
            .prefix
            .parent()
            .context("dump prefix has no directory")?;
        let name = self
            .prefix
            .file_name()
            .context("dump prefix has no name")?
            .to_string_lossy()
            .into_owned();
        let mut total = 0;
        for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let path = entry?.path();
            let is_dump = path
                .file_name()
                .is_some_and(|file| file.to_string_lossy().starts_with(&format!("{name}.")));
            if is_dump {
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                // Callgrind creates its file empty at start and fills it at exit.
                total += totals(&text).unwrap_or(0);
            }
        }
        Ok(total)
    }

    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The instructions a callgrind dump counts: its `totals:` line (its `summary:` line is 0
/// in a dump requested while running), or `summary:` in a dump without one.
fn totals(dump: &str) -> Option<u64> {
    let value = |prefix: &str| {
        dump.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|value| value.split_whitespace().next())
            .and_then(|value| value.parse().ok())
    };
    value("totals:").or_else(|| value("summary:"))
}

/// At least `requests` GETs of `target` over [`CONNECTIONS`] keep-alive connections, each
/// answered 200 with a body; says how many were made.
fn load(addr: SocketAddr, target: &str, requests: usize) -> anyhow::Result<usize> {
    let per_connection = requests.div_ceil(CONNECTIONS);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut connection = http::Connection::open(addr, REQUEST_TIMEOUT)?;
                    for _ in 0..per_connection {
                        let response = connection.get(target)?;
                        ensure!(
                            response.status == 200 && !response.body.is_empty(),
                            "GET {target} answered {} under valgrind",
                            response.status
                        );
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a load thread panicked")))
        })
    })?;
    Ok(per_connection * CONNECTIONS)
}

#[cfg(test)]
mod tests;
