//! Headless Chromium driven over the DevTools protocol (chromiumoxide): Debian's
//! `chromium-headless-shell`, launched once per test that needs it, with helpers that wait
//! for DOM states by polling the page (never a fixed sleep).

use std::{path::PathBuf, time::Duration};

use chromiumoxide::{
    Browser, BrowserConfig, Page, cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams,
    page::ScreenshotParams,
};
use futures_util::StreamExt as _;

use crate::support::eventually;

/// Where Debian's package puts the browser; `FRONTDOOR_TEST_CHROMIUM` names another.
const DEFAULT_BINARY: &str = "/usr/bin/chromium-headless-shell";

/// A running browser and the task that drives its DevTools connection.
pub struct Chromium {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    /// The browser's profile, removed when the test ends.
    _profile: tempfile::TempDir,
}

impl Chromium {
    pub async fn launch() -> Self {
        let binary: PathBuf = std::env::var_os("FRONTDOOR_TEST_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| DEFAULT_BINARY.into());
        assert!(
            binary.exists(),
            "the console's browser tests need headless Chromium at {}: install Debian's \
             chromium-headless-shell (apt-get install chromium-headless-shell, as .ci/run does) \
             or set FRONTDOOR_TEST_CHROMIUM",
            binary.display()
        );
        let profile = tempfile::Builder::new()
            .prefix("frontdoor-test-chromium-")
            .tempdir()
            .expect("create a browser profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable(&binary)
            .user_data_dir(profile.path())
            // Root in CI and containers: Chromium's sandbox needs user namespaces.
            .no_sandbox()
            .window_size(1280, 900)
            .viewport(None)
            .launch_timeout(Duration::from_secs(20))
            .request_timeout(Duration::from_secs(20))
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config)
            .await
            .unwrap_or_else(|error| panic!("launch {}: {error}", binary.display()));
        // Events the crate does not know (a newer browser's) are errors here, not fatal.
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Self {
            browser,
            handler,
            _profile: profile,
        }
    }

    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
    }
}

/// Evaluates `expression` until it yields `true`; panics after the suite's patience with
/// `what` and what the page showed last.
pub async fn wait_until(page: &Page, what: &str, expression: &str) {
    eventually(what, || async {
        match page.evaluate(expression).await {
            Ok(result) => match result.into_value::<bool>() {
                Ok(true) => Ok(()),
                other => Err(format!("{other:?} on {}", body_text(page).await)),
            },
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
}

/// The page's visible text (for failure messages).
pub async fn body_text(page: &Page) -> String {
    page.evaluate("document.body ? document.body.innerText : ''")
        .await
        .ok()
        .and_then(|value| value.into_value::<String>().ok())
        .unwrap_or_default()
        .chars()
        .take(2000)
        .collect()
}

/// Evaluates `expression` as JSON.
pub async fn value(page: &Page, expression: &str) -> serde_json::Value {
    page.evaluate(expression)
        .await
        .unwrap_or_else(|error| panic!("evaluate {expression}: {error}"))
        .into_value()
        .unwrap_or_else(|error| panic!("{expression} as a value: {error}"))
}

/// Clicks the element `selector` and waits for the page `expected` says it leads to.
pub async fn click_and_wait(page: &Page, selector: &str, what: &str, expected: &str) {
    page.find_element(selector)
        .await
        .unwrap_or_else(|error| panic!("{selector} on the page: {error}"))
        .click()
        .await
        .unwrap_or_else(|error| panic!("click {selector}: {error}"));
    wait_until(page, what, expected).await;
}

/// Makes the page 375 CSS pixels wide, as a phone is.
pub async fn phone_viewport(page: &Page) {
    page.execute(SetDeviceMetricsOverrideParams::new(375, 812, 2.0, true))
        .await
        .expect("emulate a phone's screen");
}

/// A full-page PNG of `page` at `path` (its directory is created).
pub async fn screenshot(page: &Page, path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the screenshot dir");
    }
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), path)
        .await
        .unwrap_or_else(|error| panic!("screenshot {}: {error}", path.display()));
}
