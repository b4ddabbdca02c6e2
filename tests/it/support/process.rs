//! The real `frontdoor` binary as a child process: started over a plugins directory, its
//! stderr collected, its addresses read from its "serving" line, stopped with SIGTERM.

use std::{
    ffi::OsStr,
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// How long the binary gets to do something it must do (start, log a line, exit).
const PATIENCE: Duration = Duration::from_secs(60);

pub struct HostProcess {
    child: Child,
    /// The parent of its private copies directory (unless the test names its own), removed
    /// after the process is stopped or killed: a killed host cannot remove its directory.
    _copies: tempfile::TempDir,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
    /// Set once the host logged that it serves.
    pub device_addr: String,
    pub admin_addr: String,
}

impl HostProcess {
    /// Starts `frontdoor serve` over `plugins_dir` on ephemeral loopback ports, with the
    /// `extra` arguments and `RUST_LOG=rust_log`, in `plugins_dir`; returns at once.
    pub fn spawn<A: AsRef<OsStr>>(
        plugins_dir: &Path,
        extra: impl IntoIterator<Item = A>,
        rust_log: &str,
    ) -> Self {
        let mut args: Vec<std::ffi::OsString> = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--plugins-dir",
        ]
        .iter()
        .map(Into::into)
        .collect();
        args.push(plugins_dir.into());
        args.extend(extra.into_iter().map(|arg| arg.as_ref().to_owned()));
        Self::spawn_args(plugins_dir, args, rust_log)
    }

    /// Starts the binary with exactly `args`, in `dir`; returns at once.
    pub fn spawn_args<A: AsRef<OsStr>>(
        dir: &Path,
        args: impl IntoIterator<Item = A>,
        rust_log: &str,
    ) -> Self {
        let copies = tempfile::Builder::new()
            .prefix("frontdoor-test-copies-")
            .tempdir()
            .expect("copies parent");
        let mut child = Command::new(env!("CARGO_BIN_EXE_frontdoor-under-test"))
            .args(args)
            .env("RUST_LOG", rust_log)
            .env("FRONTDOOR_COPIES_DIR", copies.path())
            .env_remove("FRONTDOOR_CONFIG")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start frontdoor");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        Self {
            child,
            _copies: copies,
            log,
            reader: Some(reader),
            device_addr: String::new(),
            admin_addr: String::new(),
        }
    }

    /// [`HostProcess::spawn`], then waits until it serves.
    pub async fn start<A: AsRef<OsStr>>(
        plugins_dir: &Path,
        extra: impl IntoIterator<Item = A>,
        rust_log: &str,
    ) -> Self {
        let mut process = Self::spawn(plugins_dir, extra, rust_log);
        process.wait_serving().await;
        process
    }

    /// Waits for the "frontdoor serving" line and reads the addresses from it (as text,
    /// `name=value`, or as JSON, `"name":"value"`).
    pub async fn wait_serving(&mut self) {
        let field = |name: &'static str| {
            move |text: &str| {
                let line = text
                    .lines()
                    .find(|line| line.contains("frontdoor serving"))?;
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
                    return json[name].as_str().map(str::to_owned);
                }
                line.split(&format!("{name}="))
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            }
        };
        self.device_addr = self.wait_for_log(field("device_addr")).await;
        self.admin_addr = self.wait_for_log(field("admin_addr")).await;
    }

    /// `http://{device_addr}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.device_addr)
    }

    /// `http://{admin_addr}{path}`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin_addr)
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Polls the log until `find` returns something; panics after a bounded wait.
    pub async fn wait_for_log<T>(&self, find: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(found) = find(&self.log()) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "the host never logged what the test waits for; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for the process to exit, without waiting for the end of its stderr
    /// (which a successor it spawned shares).
    pub async fn wait_status(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("check on frontdoor") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the host did not exit; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The exit status if the process has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("check on frontdoor")
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        // SAFETY: kill(2) on the pid of a child this harness spawned and has not reaped.
        let signalled = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(signalled, 0);
    }

    /// Waits (bounded) for the process to exit; all its stderr is in the log afterwards.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("check on frontdoor") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the host did not exit; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        status
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited cleanly.
    pub async fn stop(mut self) -> bool {
        self.terminate();
        self.wait_exit().await.success()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        // A failed test must not leave a host running.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The host's last words are usually why the test failed.
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_ON_FAILURE)..];
            eprintln!("--- the host's last {} log lines ---", tail.len());
            for line in tail {
                eprintln!("{line}");
            }
        }
    }
}

/// How many of a host's log lines a failed test shows.
const LOG_TAIL_ON_FAILURE: usize = 80;
