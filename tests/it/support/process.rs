//! The real `frontdoor` binary as a child process: started over a plugins directory, its
//! stderr collected, its addresses read from its "serving" line, stopped with SIGTERM.

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// How long the binary gets to do something it must do.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct HostProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
    pub device_addr: String,
    pub admin_addr: String,
}

impl HostProcess {
    /// Starts `frontdoor serve` over `plugins_dir` on ephemeral loopback ports, with
    /// `extra` arguments and `RUST_LOG=rust_log`; returns once it serves.
    pub fn start(plugins_dir: &Path, extra: &[&str], rust_log: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_frontdoor-under-test"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--plugins-dir",
            ])
            .arg(plugins_dir)
            .args(extra)
            .env("RUST_LOG", rust_log)
            .env_remove("FRONTDOOR_CONFIG")
            .current_dir(plugins_dir)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
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
        let mut process = Self {
            child,
            log,
            reader: Some(reader),
            device_addr: String::new(),
            admin_addr: String::new(),
        };
        let field = |name: &'static str| {
            move |text: &str| {
                text.lines()
                    .find(|line| line.contains("frontdoor serving"))
                    .and_then(|line| line.split(&format!("{name}=")).nth(1))
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            }
        };
        process.device_addr = process.wait_for_log(field("device_addr"));
        process.admin_addr = process.wait_for_log(field("admin_addr"));
        process
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Polls the log until `find` returns something; panics after a bounded wait.
    pub fn wait_for_log<T>(&self, find: impl Fn(&str) -> Option<T>) -> T {
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
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn stop(mut self) -> bool {
        // SAFETY: kill(2) on the pid of a child this harness spawned and has not reaped.
        let signalled = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(signalled, 0);
        let status = self.child.wait().expect("wait for frontdoor");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        status.success()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        // A failed test must not leave a host running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
