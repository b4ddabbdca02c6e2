//! Every bad artifact the contract lists for load time gets a clear one-line reason in
//! `/admin/plugins`, and the host keeps serving everything else, including the previous
//! version of the same plugin.

use crate::support::{Fixture, TestHost, get};

/// Bytes that look like nothing in particular (deterministic, no RNG dependency).
fn noise(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_artifacts_are_refused_with_a_reason_and_the_rest_keeps_serving() {
    let dir = TestHost::plugins_dir();
    let path = dir.path();
    Fixture::Echo("1.0.0").deploy_to(path);
    Fixture::Bench.deploy_to(path);

    std::fs::write(path.join("empty-1.0.0.so"), b"").expect("write");
    std::fs::write(path.join("noise-1.0.0.so"), noise(64 * 1024)).expect("write");
    // A newer echo cut in half: must not crash the loader, and echo@1.0.0 keeps serving.
    let whole = std::fs::read(Fixture::Echo("1.0.0").artifact()).expect("read");
    std::fs::write(path.join("echo-2.0.0.so"), &whole[..whole.len() / 2]).expect("write");
    Fixture::NotAPlugin.deploy_to(path);
    Fixture::IncompatibleApi.deploy_to(path);
    Fixture::FutureAbi.deploy_to(path);
    // The same name and version a second time.
    Fixture::Echo("1.0.0").deploy_as(path, "echo-1.0.0-copy.so");
    // An artifact whose file name claims another plugin.
    Fixture::Echo("1.0.0").deploy_as(path, "mobile-1.0.0.so");
    // Not artifacts at all: ignored, not failed.
    std::fs::write(path.join("README.txt"), b"notes").expect("write");
    std::fs::write(path.join(".echo-3.0.0.so.tmp"), b"half").expect("write");

    let host = TestHost::start(dir).await;

    let expectations = [
        ("empty-1.0.0.so", "empty file"),
        ("noise-1.0.0.so", "not an ELF shared library"),
        ("echo-2.0.0.so", "truncated or corrupt artifact"),
        ("not-a-plugin-1.0.0.so", "not a Frontdoor plugin"),
        ("incompatible-api-1.0.0.so", "incompatible plugin-api"),
        (
            "future-abi-1.0.0.so",
            "built against Frontdoor ABI v99, this host speaks v2 and v3",
        ),
        (
            "echo-1.0.0-copy.so",
            "duplicate: echo@1.0.0 is already loaded from echo-1.0.0.so",
        ),
        (
            "mobile-1.0.0.so",
            "file mobile-1.0.0.so contains echo@1.0.0",
        ),
    ];
    for (file, expected) in expectations {
        let reason = host.failure_reason(file).await;
        assert!(reason.contains(expected), "{file}: {reason}");
        assert!(
            !reason.contains('\n'),
            "{file}: reason is one line: {reason}"
        );
    }
    let plugins = host.plugins().await;
    let failed = plugins["failed"].as_array().expect("failed is a list");
    assert_eq!(
        failed.len(),
        expectations.len(),
        "only artifacts are considered: {plugins:#}"
    );

    let incompatible = host.failure_reason("incompatible-api-1.0.0.so").await;
    assert!(
        incompatible.contains("layout differs")
            && incompatible.contains("Expected: frontdoor-plugin-api"),
        "the reason names the layout mismatch: {incompatible}"
    );

    let echo = get(&host.url("/echo/hello")).await;
    assert_eq!(echo.status, 200);
    assert_eq!(echo.adapter(), "echo@1.0.0");
    assert_eq!(get(&host.url("/bench/hello")).await.status, 200);
    assert_eq!(get(&host.url("/mobile/hello")).await.status, 404);
    host.stop().await;
}
