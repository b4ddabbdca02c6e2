//! The books: the judge loop on tokio's paused clock, the change hook, snapshot and restore.

use std::sync::{Arc, Mutex};

use super::*;
use crate::traffic::{judge::Criteria, samples::Arm};

fn settings(interval_ms: u64) -> CanarySettings {
    CanarySettings {
        canary: "2.0.0".into(),
        baseline: "1.0.0".into(),
        weight: 10.0,
        steps: vec![50.0, 100.0],
        interval_ms,
        criteria: Criteria {
            min_requests: 20,
            ..Criteria::default()
        },
    }
}

fn traffic() -> Arc<Traffic> {
    Traffic::new(
        TrafficConfig::default(),
        Handle::current(),
        Box::new(|_| Some(semver::Version::new(2, 0, 0))),
    )
}

/// Feeds the running plan's sampler as the request path would.
fn feed(traffic: &Traffic, adapter: &str, canary_us: u64, canary_errors_every: Option<u64>) {
    let sampler = lock(&traffic.books).canaries[adapter].sampler.clone();
    for i in 0..50 {
        sampler.record(Arm::Baseline, 3_000 + i * 13 % 500, false);
        let error = canary_errors_every.is_some_and(|every| i % every == 0);
        sampler.record(Arm::Canary, canary_us + i * 13 % 500, error);
    }
}

#[tokio::test(start_paused = true)]
async fn the_judge_loop_steps_up_and_promotes_on_its_interval() {
    let traffic = traffic();
    traffic
        .start_canary("echo", settings(10_000))
        .expect("starts");
    feed(&traffic, "echo", 3_000, None);
    // Just short of the interval: nothing judged yet.
    tokio::time::sleep(Duration::from_millis(9_990)).await;
    assert!(
        traffic
            .canary("echo")
            .expect("plan")
            .state
            .verdicts
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let plan = traffic.canary("echo").expect("plan").state;
    assert_eq!(plan.verdicts.len(), 1, "{plan:?}");
    assert_eq!((plan.phase, plan.weight), (Phase::Running, 50.0));
    assert_eq!(plan.verdicts[0].cause, Cause::Interval);

    feed(&traffic, "echo", 3_000, None);
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    let plan = traffic.canary("echo").expect("plan").state;
    assert_eq!(plan.phase, Phase::Promoted, "{plan:?}");
    assert!(!plan.pinned, "2.0.0 is the default: promotion needs no pin");
    // The plan no longer routes.
    assert!(traffic.routes.load().adapters.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_judge_loop_rolls_back_a_failing_canary_and_stops() {
    let traffic = traffic();
    traffic
        .start_canary("echo", settings(1_000))
        .expect("starts");
    feed(&traffic, "echo", 3_000, Some(5));
    tokio::time::sleep(Duration::from_millis(1_001)).await;
    let plan = traffic.canary("echo").expect("plan").state;
    assert_eq!(
        (plan.phase, plan.weight),
        (Phase::RolledBack, 0.0),
        "{plan:?}"
    );
    assert!(
        plan.verdicts[0]
            .judgement
            .reason
            .contains("5xx rate regressed")
    );
    // Every default request goes to the baseline now, and nothing more is judged.
    let routes = traffic.routes.load();
    let route = routes.adapters["echo"]
        .canary
        .as_ref()
        .expect("still routes");
    assert_eq!(route.threshold, 0);
    assert!(route.sampler.is_none());
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    assert_eq!(
        traffic.canary("echo").expect("plan").state.verdicts.len(),
        1
    );
}

#[tokio::test]
async fn every_change_reaches_the_hook_and_the_state_round_trips() {
    let traffic = traffic();
    let seen: Arc<Mutex<Vec<TrafficState>>> = Arc::default();
    let sink = seen.clone();
    traffic.on_change(Box::new(move |state| {
        sink.lock().expect("lock").push(state.clone())
    }));

    traffic
        .start_canary("echo", settings(3_600_000))
        .expect("starts");
    assert!(matches!(
        traffic.start_canary("echo", settings(3_600_000)),
        Err(TrafficError::CanaryRunning(_))
    ));
    traffic
        .set_shadow(
            "tv",
            ShadowSettings {
                target: "1.1.0".into(),
                share: 10.0,
                ignore: vec!["generated_at".into()],
            },
        )
        .expect("shadow");
    traffic.judge_now("echo", Cause::Manual).expect("judged");
    traffic.abort("echo").expect("aborted");
    assert!(matches!(
        traffic.abort("echo"),
        Err(TrafficError::NotRunning { .. })
    ));

    let states = seen.lock().expect("lock").clone();
    assert_eq!(states.len(), 4, "start, shadow, judge, abort");
    assert_eq!(states[0].canaries["echo"].phase, Phase::Running);
    assert_eq!(states[2].canaries["echo"].verdicts.len(), 1);
    assert_eq!(states[3].canaries["echo"].phase, Phase::Aborted);
    let last = traffic.snapshot();
    assert_eq!(states[3], last);

    // Through JSON, as a state file would keep it, into a fresh host.
    let saved = serde_json::to_string(&last).expect("serialises");
    let restored = traffic_with(serde_json::from_str(&saved).expect("deserialises"));
    assert_eq!(restored.snapshot(), last);
    let routes = restored.routes.load();
    assert_eq!(
        routes.adapters["echo"].canary.as_ref().map(|c| c.threshold),
        Some(0)
    );
    assert_eq!(
        routes.adapters["tv"].shadow.as_ref().map(|s| s.threshold),
        Some(1_000)
    );
}

#[tokio::test]
async fn a_restored_running_plan_keeps_its_seed_and_judges_again() {
    let traffic = traffic();
    traffic
        .start_canary("echo", settings(3_600_000))
        .expect("starts");
    let state = traffic.snapshot();
    let restored = traffic_with(state.clone());
    let seed = |t: &Traffic| {
        t.routes.load().adapters["echo"]
            .canary
            .as_ref()
            .map(|c| c.seed)
    };
    assert_eq!(seed(&restored), seed(&traffic));
    assert!(restored.judge_now("echo", Cause::Manual).is_ok());
}

fn traffic_with(state: TrafficState) -> Arc<Traffic> {
    let config = TrafficConfig {
        restore: Some(state),
        ..TrafficConfig::default()
    };
    Traffic::new(config, Handle::current(), Box::new(|_| None))
}
