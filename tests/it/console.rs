//! The web console in a real browser and over plain HTTP: it renders what the host serves
//! (adapters with backends, a shared module), a rollback clicked in the page changes what
//! devices get, a team sees another team's adapter without a way to act on it and a forged
//! form is refused, CSRF and session cookies hold, and the pages fit a phone's screen.

mod browser;

use frontdoor::{
    HostConfig,
    backends::BackendConfig,
    control::{Scope, auth::digest_hex},
};
use frontdoor_sample_backends::{Faults, SampleConfig, Service};
use hyper::Method;

use crate::support::{
    Fixture, Reply, TestHost,
    console_session::{self, text},
    eventually,
    fixtures::target_dir,
    get, send,
};
use browser::{Chromium, body_text, click_and_wait, phone_viewport, screenshot, value, wait_until};

const TV_TOKEN: &str = "console-tv-token-0123456789";
const MOBILE_TOKEN: &str = "console-mobile-token-0123456789";

/// Tokens for two teams: `tv` owns `echo` and `tv`, `mobile` owns nothing here.
fn with_tokens(config: &mut HostConfig) {
    let auth = &mut config.admin_auth;
    assert!(auth.add_token("tv", &digest_hex(TV_TOKEN), &[Scope::Deploy]));
    assert!(auth.add_token("mobile", &digest_hex(MOBILE_TOKEN), &[Scope::Deploy]));
    auth.owners.insert("echo".into(), "tv".into());
    auth.owners.insert("tv".into(), "tv".into());
}

const FIXTURES: [Fixture; 4] = [
    Fixture::Echo("1.0.0"),
    Fixture::Echo("2.0.0"),
    Fixture::Tv,
    Fixture::ArtworkImpl("1.1.0"),
];

/// The version devices get of `/echo/hello`.
async fn served(host: &TestHost) -> String {
    let reply = get(&host.url("/echo/hello")).await;
    assert_eq!(reply.status, 200);
    reply.adapter().to_owned()
}

/// Logs in over HTTP: the session cookie (`name=value`) and the login's answer.
async fn login(host: &TestHost, token: &str) -> (String, Reply) {
    console_session::login(&host.admin_url("/console/login"), token).await
}

/// The CSRF token in a page's forms.
fn csrf_of(page: &Reply) -> String {
    let html = String::from_utf8_lossy(&page.body);
    let start = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {html}"))
        + "name=\"csrf\" value=\"".len();
    html[start..start + 32].to_owned()
}

async fn page(host: &TestHost, cookie: &str, path: &str) -> Reply {
    console_session::page(&host.admin_url(path), cookie).await
}

async fn post_form(host: &TestHost, cookie: &str, path: &str, form: &str) -> Reply {
    send(
        Method::POST,
        &host.admin_url(path),
        &[
            ("cookie", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes().to_vec(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser_shows_the_host_and_rolls_back_for_its_owners_only() {
    let backends = frontdoor_sample_backends::start(SampleConfig { base_port: None })
        .await
        .expect("sample backends start");
    let configs: Vec<BackendConfig> = Service::ALL
        .iter()
        .map(|service| BackendConfig::new(service.name(), backends.url(*service)))
        .collect();
    let host = TestHost::with_config(&FIXTURES, move |config| {
        with_tokens(config);
        config.backends = configs;
    })
    .await;
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    host.wait_for_version("/tv/home?profile=42", "tv@1.0.0")
        .await;
    // A degraded page: its failed bookmarks call keeps it among tv's failing requests.
    backends
        .set_faults(
            Service::Bookmarks,
            Faults {
                refuse: true,
                ..Faults::default()
            },
        )
        .await
        .expect("take bookmarks down");
    assert_eq!(get(&host.url("/tv/home?profile=42")).await.status, 200);

    let chromium = Chromium::launch().await;
    let page = chromium
        .browser
        .new_page(host.admin_url("/console"))
        .await
        .expect("open the console");

    // Not logged in: the login page, then the overview.
    wait_until(
        &page,
        "the login page",
        "!!document.querySelector('#token')",
    )
    .await;
    page.find_element("#token")
        .await
        .expect("token field")
        .click()
        .await
        .expect("focus the token field")
        .type_str(TV_TOKEN)
        .await
        .expect("type the token");
    click_and_wait(
        &page,
        "form.login button",
        "the overview after logging in",
        "document.querySelector('h1') && document.querySelector('h1').innerText === 'Adapters and shared modules'",
    )
    .await;
    screenshot(&page, &target_dir().join("console").join("overview.png")).await;
    let overview = body_text(&page).await;
    for expected in [
        "echo", "2.0.0", "1.0.0", "tv", "artwork", "1.1.0", "active", "standby", "Team tv",
    ] {
        assert!(
            overview.contains(expected),
            "{expected} missing from {overview}"
        );
    }
    // The session cookie as the browser keeps it: HttpOnly, SameSite=Strict, no token.
    let cookies = page.get_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|cookie| cookie.name == frontdoor::console::COOKIE_NAME)
        .expect("a session cookie");
    assert!(session.http_only, "{session:?}");
    assert_eq!(
        format!("{:?}", session.same_site),
        "Some(Strict)",
        "{session:?}"
    );
    assert_eq!(session.path, "/console");
    assert!(!session.value.contains(TV_TOKEN) && session.value.len() == 32);
    assert_eq!(
        value(&page, "document.cookie").await,
        "",
        "no script can read it"
    );

    // The numbers refresh in place: the live region is replaced, the page is not reloaded.
    page.evaluate("window.__notReloaded = true; document.querySelector('#live').firstElementChild.setAttribute('data-old', '1')")
        .await
        .expect("mark the page");
    wait_until(
        &page,
        "the live region refreshed",
        "window.__notReloaded === true && !document.querySelector('#live [data-old]') && !document.querySelector('#live[data-stale]')",
    )
    .await;

    // tv's page lists the degraded request with its fan-out, and the judge's sections.
    page.goto(host.admin_url("/console/adapters/tv"))
        .await
        .expect("open tv's page");
    wait_until(
        &page,
        "tv's page",
        "document.querySelector('h1').innerText === 'Adapter tv'",
    )
    .await;
    let tv = body_text(&page).await;
    for expected in [
        "Recent failing requests",
        "bookmarks",
        "GET /home",
        "No canary plan.",
        "No shadow.",
    ] {
        assert!(tv.contains(expected), "{expected} missing from {tv}");
    }
    backends
        .set_faults(Service::Bookmarks, Faults::default())
        .await
        .expect("bring bookmarks back");

    // Rollback clicked on echo's page: devices get the version below.
    page.goto(host.admin_url("/console/adapters/echo"))
        .await
        .expect("open echo's page");
    wait_until(
        &page,
        "echo's page",
        "document.querySelector('h1').innerText === 'Adapter echo'",
    )
    .await;
    screenshot(
        &page,
        &target_dir().join("console").join("adapter-echo.png"),
    )
    .await;
    // Every control has a label and can be reached with the keyboard.
    let labelled = value(
        &page,
        "[...document.querySelectorAll('main input:not([type=hidden]), main select')]\
         .every(control => control.labels.length > 0 && control.tabIndex >= 0)",
    )
    .await;
    assert_eq!(labelled, true);
    let buttons = value(
        &page,
        "[...document.querySelectorAll('button')].every(b => b.innerText.trim().length > 0 && b.tabIndex >= 0)",
    )
    .await;
    assert_eq!(buttons, true);
    assert_eq!(served(&host).await, "echo@2.0.0");
    click_and_wait(
        &page,
        "form[action='/console/adapters/echo/rollback'] button",
        "the rollback's confirmation",
        "!!document.querySelector('p.flash.ok') && document.querySelector('p.flash.ok').innerText.includes('Rollback of echo: done')",
    )
    .await;
    assert_eq!(served(&host).await, "echo@1.0.0");
    let audit = get(&host.admin_url("/admin/audit")).await;
    assert_eq!(audit.status, 401, "the API still wants a token");
    let audit = send(
        Method::GET,
        &host.admin_url("/admin/audit"),
        &[("authorization", &format!("Bearer {TV_TOKEN}"))],
        Vec::new(),
    )
    .await
    .json();
    let last = audit["entries"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .expect("an entry");
    assert_eq!(
        (last["team"].as_str(), last["action"].as_str()),
        (Some("tv"), Some("rollback")),
        "{last}"
    );

    // On a phone's screen nothing scrolls sideways.
    phone_viewport(&page).await;
    for path in [
        "/console",
        "/console/adapters/echo",
        "/console/adapters/tv",
        "/console/backends",
        "/console/audit",
    ] {
        page.goto(host.admin_url(path)).await.expect("open a page");
        wait_until(
            &page,
            "the page laid out",
            "document.readyState === 'complete'",
        )
        .await;
        let fits = value(
            &page,
            "document.documentElement.scrollWidth <= window.innerWidth",
        )
        .await;
        assert_eq!(
            fits,
            true,
            "{path} scrolls sideways at 375 px: {}",
            body_text(&page).await
        );
        if path == "/console/adapters/tv" {
            let shot = target_dir().join("console").join("adapter-tv-phone.png");
            screenshot(&page, &shot).await;
        }
    }

    // Logged out, then in as mobile: echo is shown without any way to act on it.
    click_and_wait(
        &page,
        "form.logout button",
        "the login page",
        "!!document.querySelector('#token')",
    )
    .await;
    page.find_element("#token")
        .await
        .expect("token field")
        .click()
        .await
        .expect("focus")
        .type_str(MOBILE_TOKEN)
        .await
        .expect("type");
    click_and_wait(
        &page,
        "form.login button",
        "mobile's overview",
        "!!document.querySelector('#live')",
    )
    .await;
    page.goto(host.admin_url("/console/adapters/echo"))
        .await
        .expect("open echo's page");
    wait_until(
        &page,
        "echo's page for mobile",
        "!!document.querySelector('p.readonly')",
    )
    .await;
    let forms = value(&page, "document.querySelectorAll('main form').length").await;
    assert_eq!(forms, 0, "{}", body_text(&page).await);
    let csrf = value(&page, "document.querySelector('input[name=csrf]').value").await;
    let csrf = csrf.as_str().expect("a token").to_owned();
    // A forged form with mobile's valid CSRF token, posted from the page itself.
    let forged = format!(
        "fetch('/console/adapters/echo/unpin', {{method: 'POST', body: new URLSearchParams({{csrf: '{csrf}'}})}})\
         .then(r => r.text().then(t => r.status + ' ' + t))"
    );
    let answer = page
        .evaluate(forged.as_str())
        .await
        .expect("post the forged form");
    let answer: String = answer.into_value().expect("status and page");
    assert!(answer.starts_with("403 "), "{answer}");
    assert!(
        answer.contains("may not change echo: it is owned by tv"),
        "{answer}"
    );
    assert_eq!(served(&host).await, "echo@1.0.0");

    chromium.close().await;
    host.stop().await;
    backends.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_sessions_and_owners_are_enforced_over_plain_http() {
    let host = TestHost::with_config(&FIXTURES[..2], with_tokens).await;
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;

    // No session: to the login page; assets need none and are cached for good.
    let overview = get(&host.admin_url("/console")).await;
    assert_eq!(overview.status, 303);
    assert_eq!(overview.header("location"), Some("/console/login"));
    let login_page = get(&host.admin_url("/console/login")).await;
    assert_eq!(login_page.status, 200);
    let csp = login_page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let html = text(&login_page);
    let css = html
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("css link");
    let asset = get(&host.admin_url(css)).await;
    assert_eq!(asset.status, 200);
    assert_eq!(
        asset.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert!(
        asset
            .header("cache-control")
            .is_some_and(|value| value.contains("immutable"))
    );
    assert_eq!(
        get(&host.admin_url("/console/assets/../../admin/plugins"))
            .await
            .status,
        404
    );

    // A wrong token: no session.
    let (cookie, refused) = login(&host, "not-a-token").await;
    assert_eq!(refused.status, 401);
    assert!(cookie.is_empty());
    assert!(text(&refused).contains("the token is not known"));

    // tv logs in: the cookie holds a random id, HttpOnly, SameSite=Strict, scoped.
    let (tv, answer) = login(&host, TV_TOKEN).await;
    assert_eq!(answer.status, 303);
    let set_cookie = answer.header("set-cookie").expect("a cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(!set_cookie.contains(TV_TOKEN) && !set_cookie.contains(&digest_hex(TV_TOKEN)));
    let echo = page(&host, &tv, "/console/adapters/echo").await;
    assert_eq!(echo.status, 200);
    let csrf = csrf_of(&echo);

    // A state change without the CSRF token, with a wrong one, or another session's: refused,
    // and nothing changed.
    for form in [
        String::new(),
        "csrf=".into(),
        format!("csrf={}", "0".repeat(32)),
        format!("csrf={}x", &csrf[..31]),
    ] {
        let reply = post_form(&host, &tv, "/console/adapters/echo/rollback", &form).await;
        assert_eq!(reply.status, 403, "{form}: {}", text(&reply));
        assert!(text(&reply).contains("CSRF token is missing or wrong"));
    }
    let (mobile, _) = login(&host, MOBILE_TOKEN).await;
    let mobile_csrf = csrf_of(&page(&host, &mobile, "/console").await);
    let reply = post_form(
        &host,
        &tv,
        "/console/adapters/echo/rollback",
        &format!("csrf={mobile_csrf}"),
    )
    .await;
    assert_eq!(reply.status, 403);
    // No session at all, or a GET where a POST belongs.
    let reply = post_form(
        &host,
        "",
        "/console/adapters/echo/rollback",
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        page(&host, &tv, "/console/adapters/echo/rollback")
            .await
            .status,
        404
    );
    // A form another site's page sent, even with the right token.
    let reply = send(
        Method::POST,
        &host.admin_url("/console/adapters/echo/rollback"),
        &[
            ("cookie", &tv),
            ("sec-fetch-site", "cross-site"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        format!("csrf={csrf}").into_bytes(),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(served(&host).await, "echo@2.0.0");

    // mobile's page of echo offers nothing, and its forged form is refused by Control.
    let echo_for_mobile = text(&page(&host, &mobile, "/console/adapters/echo").await);
    assert!(
        !echo_for_mobile.contains("/console/adapters/echo/rollback"),
        "{echo_for_mobile}"
    );
    let reply = post_form(
        &host,
        &mobile,
        "/console/adapters/echo/pin",
        &format!("csrf={mobile_csrf}&version=1.0.0"),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert!(
        text(&reply).contains("may not change echo: it is owned by tv"),
        "{}",
        text(&reply)
    );
    assert_eq!(served(&host).await, "echo@2.0.0");

    // tv's own form works, and a refusal of the control plane reads as a page.
    let reply = post_form(
        &host,
        &tv,
        "/console/adapters/echo/pin",
        &format!("csrf={csrf}&version=1.0.0"),
    )
    .await;
    assert_eq!(reply.status, 303, "{}", text(&reply));
    assert_eq!(served(&host).await, "echo@1.0.0");
    let flash = text(&page(&host, &tv, "/console/adapters/echo").await);
    assert!(flash.contains("Pin of echo: done."), "{flash}");
    let reply = post_form(
        &host,
        &tv,
        "/console/adapters/echo/pin",
        &format!("csrf={csrf}&version=9.9.9"),
    )
    .await;
    assert_eq!(reply.status, 409, "{}", text(&reply));
    assert!(
        text(&reply).contains("Pin of echo was refused"),
        "{}",
        text(&reply)
    );
    let reply = post_form(
        &host,
        &tv,
        "/console/adapters/echo/canary/start",
        &format!("csrf={csrf}&canary=2.0.0&weight=250"),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", text(&reply));

    // Canary and shadow forms run the traffic routes, audited as tv's.
    // After each, echo's page shows the plan or shadow and offers what comes next.
    for (path, form, shown) in [
        (
            "canary/start",
            "canary=2.0.0&weight=10",
            ["Promote canary", "Abort canary", "running"],
        ),
        (
            "canary/abort",
            "",
            ["Forget canary plan", "aborted", "Start canary"],
        ),
        (
            "canary/forget",
            "",
            ["No canary plan.", "Start canary", "Start shadow"],
        ),
        (
            "shadow/start",
            "target=2.0.0&share=5",
            ["Stop shadow", "Compared", "Target"],
        ),
        ("shadow/stop", "", ["No shadow.", "Start shadow", "Unpin"]),
        (
            "unpin",
            "",
            ["Unpin of echo: done", "devices get 2.0.0", "Roll back"],
        ),
    ] {
        let reply = post_form(
            &host,
            &tv,
            &format!("/console/adapters/echo/{path}"),
            &format!("csrf={csrf}&{form}"),
        )
        .await;
        assert_eq!(reply.status, 303, "{path}: {}", text(&reply));
        let after = text(&page(&host, &tv, "/console/adapters/echo").await);
        for expected in shown {
            assert!(
                after.contains(expected),
                "after {path}, no {expected:?}: {after}"
            );
        }
    }
    let audit = send(
        Method::GET,
        &host.admin_url("/admin/audit"),
        &[("authorization", &format!("Bearer {TV_TOKEN}"))],
        Vec::new(),
    )
    .await
    .json();
    let actions: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            (
                entry["team"].as_str().unwrap_or_default(),
                entry["action"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("tv", "pin"),
            ("tv", "canary start"),
            ("tv", "canary abort"),
            ("tv", "canary forget"),
            ("tv", "shadow start"),
            ("tv", "shadow stop"),
            ("tv", "unpin"),
        ]
    );
    assert_eq!(served(&host).await, "echo@2.0.0");
    // The audit page shows them; a refresh asks for the live region alone.
    let audit_page = text(&page(&host, &tv, "/console/audit").await);
    assert!(audit_page.contains("shadow start"), "{audit_page}");
    let fragment = send(
        Method::GET,
        &host.admin_url("/console"),
        &[("cookie", &tv), ("x-console-fragment", "1")],
        Vec::new(),
    )
    .await;
    assert_eq!(fragment.status, 200);
    let fragment = text(&fragment);
    assert!(
        !fragment.contains("<html") && fragment.contains("<table"),
        "{fragment}"
    );

    // Logged out: the session is gone on the server too.
    let reply = post_form(&host, &tv, "/console/logout", &format!("csrf={csrf}")).await;
    assert_eq!(reply.status, 303);
    assert_eq!(page(&host, &tv, "/console").await.status, 303);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tokens_the_console_acts_as_the_api_does_for_loopback() {
    let host = TestHost::with(&FIXTURES[..2]).await;
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    let login_page = text(&get(&host.admin_url("/console/login")).await);
    assert!(
        login_page.contains("No admin token is configured"),
        "{login_page}"
    );
    assert!(!login_page.contains("id=\"token\""));
    let (cookie, answer) = login(&host, "").await;
    assert_eq!(answer.status, 303);
    let echo = page(&host, &cookie, "/console/adapters/echo").await;
    assert!(text(&echo).contains("Team <strong>loopback</strong>"));
    // Not in a fleet: no fleet page, and the navigation does not offer one.
    assert!(!text(&echo).contains("/console/fleet"), "{}", text(&echo));
    let fleet = page(&host, &cookie, "/console/fleet").await;
    assert_eq!(fleet.status, 404);
    assert!(text(&fleet).contains("not in a fleet"), "{}", text(&fleet));
    // Still a POST with the session's CSRF token.
    let reply = post_form(&host, &cookie, "/console/adapters/echo/rollback", "").await;
    assert_eq!(reply.status, 403);
    let reply = post_form(
        &host,
        &cookie,
        "/console/adapters/echo/rollback",
        &format!("csrf={}", csrf_of(&echo)),
    )
    .await;
    assert_eq!(reply.status, 303, "{}", text(&reply));
    eventually("echo rolled back", || async {
        let now = served(&host).await;
        if now == "echo@1.0.0" {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await;
    let audit = get(&host.admin_url("/admin/audit")).await.json();
    let last = audit["entries"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .expect("an entry");
    assert_eq!(
        (last["team"].as_str(), last["action"].as_str()),
        (Some("loopback"), Some("rollback"))
    );
    host.stop().await;
}
