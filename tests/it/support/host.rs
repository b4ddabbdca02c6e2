//! A host started in-process on 127.0.0.1:0 over a temporary plugins directory.

use std::path::PathBuf;

use frontdoor::{HostConfig, RunningHost};
use tempfile::TempDir;

use super::Fixture;

pub struct TestHost {
    pub host: RunningHost,
    /// Held so the directory lives as long as the host.
    dir: TempDir,
    /// The host's state directory (load markers), unless the test chose its own.
    _state: TempDir,
}

impl TestHost {
    /// A fresh, empty plugins directory.
    pub fn plugins_dir() -> TempDir {
        tempfile::Builder::new()
            .prefix("frontdoor-test-plugins-")
            .tempdir()
            .expect("create plugins dir")
    }

    /// Starts a host over a directory holding `fixtures` under their usual names.
    pub async fn with(fixtures: &[Fixture]) -> Self {
        let dir = Self::plugins_dir();
        for fixture in fixtures {
            fixture.deploy_to(dir.path());
        }
        Self::start(dir).await
    }

    /// Starts a host over `dir` as it is, with the static baseline mounted.
    pub async fn start(dir: TempDir) -> Self {
        Self::start_with(dir, |_| {}).await
    }

    /// Starts a host over a directory holding `fixtures`, configured further by `configure`
    /// (backends, limits).
    pub async fn with_config(
        fixtures: &[Fixture],
        configure: impl FnOnce(&mut HostConfig),
    ) -> Self {
        let dir = Self::plugins_dir();
        for fixture in fixtures {
            fixture.deploy_to(dir.path());
        }
        Self::start_with(dir, configure).await
    }

    /// Starts a host over `dir`, with the static baseline mounted and `configure` applied.
    pub async fn start_with(dir: TempDir, configure: impl FnOnce(&mut HostConfig)) -> Self {
        let localhost = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let mut config = HostConfig::new(localhost, localhost, dir.path().to_owned());
        config.builtin_bench = true;
        config.max_body_bytes = 64 * 1024;
        let state = tempfile::Builder::new()
            .prefix("frontdoor-test-state-")
            .tempdir()
            .expect("create state dir");
        config.state_dir = state.path().to_owned();
        // Its private copies directory under the state directory, removed with it even when
        // the test ends without stopping the host.
        config.copies_dir = state.path().to_owned();
        // The load probe is the `frontdoor` binary; this test binary is not one.
        config.artifacts.probe_binary = Some(env!("CARGO_BIN_EXE_frontdoor-under-test").into());
        configure(&mut config);
        let host = frontdoor::start(config).await.expect("host starts");
        Self {
            host,
            dir,
            _state: state,
        }
    }

    /// `http://127.0.0.1:port{path}` on the device listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host.device_addr)
    }

    /// `http://127.0.0.1:port{path}` on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host.admin_addr)
    }

    /// `GET /admin/plugins` as JSON.
    pub async fn plugins(&self) -> serde_json::Value {
        let reply = super::get(&self.admin_url("/admin/plugins")).await;
        assert_eq!(reply.status, 200);
        reply.json()
    }

    /// The reason `/admin/plugins` gives for the failed file `file_name`.
    pub async fn failure_reason(&self, file_name: &str) -> String {
        let plugins = self.plugins().await;
        plugins["failed"]
            .as_array()
            .expect("failed is a list")
            .iter()
            .find(|failure| failure["file"] == file_name)
            .and_then(|failure| failure["reason"].as_str())
            .unwrap_or_else(|| panic!("{file_name} is not listed as failed: {plugins:#}"))
            .to_owned()
    }

    /// Polls `/admin/plugins` until it lists `file_name` as failed with a reason containing
    /// `expected`; returns that reason.
    pub async fn wait_for_failure(&self, file_name: &str, expected: &str) -> String {
        super::eventually(&format!("{file_name} failed with {expected:?}"), || async {
            let reason = self.failure_of(file_name).await;
            match reason {
                Some(reason) if reason.contains(expected) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
        self.failure_of(file_name).await.unwrap_or_default()
    }

    /// The reason `/admin/plugins` lists `file_name` as failed with, if it does.
    async fn failure_of(&self, file_name: &str) -> Option<String> {
        let plugins = self.plugins().await;
        plugins["failed"]
            .as_array()?
            .iter()
            .find(|failure| failure["file"] == file_name)?["reason"]
            .as_str()
            .map(str::to_owned)
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Polls `path` until the answer comes from `label` (`name@version`); panics after 20 s.
    pub async fn wait_for_version(&self, path: &str, label: &str) {
        let url = self.url(path);
        super::eventually(&format!("{label} answering {path}"), || async {
            let reply = super::get(&url).await;
            if reply.status == 200 && reply.adapter() == label {
                Ok(())
            } else {
                Err(format!("{} {}", reply.status, reply.adapter()))
            }
        })
        .await;
    }

    /// The admin entry for `name@version`.
    pub async fn version_entry(&self, name: &str, version: &str) -> Option<serde_json::Value> {
        let plugins = self.plugins().await;
        plugins["plugins"]
            .as_array()?
            .iter()
            .find(|plugin| plugin["name"] == name)?["versions"]
            .as_array()?
            .iter()
            .find(|entry| entry["version"] == version)
            .cloned()
    }

    /// Polls the admin API until `check` holds for the entry of `name@version`.
    pub async fn wait_for_entry(
        &self,
        name: &str,
        version: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) {
        super::eventually(
            &format!("{name}@{version} reaching the expected state"),
            || async {
                let entry = self.version_entry(name, version).await;
                if entry.as_ref().is_some_and(&check) {
                    Ok(())
                } else {
                    Err(format!("{entry:?}"))
                }
            },
        )
        .await;
    }

    /// Shuts the host down and hands back its plugins directory, to start another host on.
    pub async fn stop_keeping_dir(self) -> TempDir {
        self.host.shutdown().await;
        self.dir
    }

    pub async fn stop(self) -> PathBuf {
        let dir = self.dir.path().to_owned();
        self.host.shutdown().await;
        dir
    }
}
