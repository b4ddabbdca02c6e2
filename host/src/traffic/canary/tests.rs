//! A plan's steps, rollback, promotion and verdict history.

use super::*;
use crate::traffic::judge::ArmStats;

fn settings() -> CanarySettings {
    CanarySettings {
        canary: "2.0.0".into(),
        baseline: "1.0.0".into(),
        weight: 10.0,
        steps: vec![25.0, 50.0, 100.0],
        interval_ms: 60_000,
        criteria: Criteria::default(),
    }
}

fn judgement(outcome: Outcome) -> Judgement {
    let side = ArmStats {
        requests: 100,
        errors: 0,
        error_rate: Some(0.0),
        median_ms: Some(1.0),
        samples: 100,
    };
    Judgement {
        outcome,
        reason: format!("{outcome:?}"),
        baseline: side.clone(),
        canary: side,
        mann_whitney: None,
    }
}

#[test]
fn passes_step_up_then_promote() {
    let mut plan = CanaryState::new(settings(), 1);
    assert_eq!(plan.threshold(), 1_000);
    let actions: Vec<String> = (0..3)
        .map(|_| {
            plan.apply(judgement(Outcome::Pass), Cause::Interval, 10, false, 0)
                .action
        })
        .collect();
    assert_eq!(actions, ["stepped to 25%", "stepped to 50%", "promoted"]);
    assert_eq!(plan.phase, Phase::Promoted);
    assert_eq!(plan.threshold(), SCALE);
    assert_eq!(
        plan.verdicts.iter().map(|v| v.weight).collect::<Vec<_>>(),
        [10.0, 25.0, 50.0]
    );
}

#[test]
fn a_fail_rolls_back_to_zero_and_inconclusive_changes_nothing() {
    let mut plan = CanaryState::new(settings(), 1);
    assert_eq!(
        plan.apply(
            judgement(Outcome::Inconclusive),
            Cause::Manual,
            10,
            false,
            0
        )
        .action,
        "none"
    );
    assert_eq!((plan.phase, plan.weight), (Phase::Running, 10.0));
    assert_eq!(
        plan.apply(judgement(Outcome::Fail), Cause::Interval, 10, false, 0)
            .action,
        "rolled back"
    );
    assert_eq!(
        (plan.phase, plan.weight, plan.threshold()),
        (Phase::RolledBack, 0.0, 0)
    );
    assert!(
        plan.ended
            .as_deref()
            .is_some_and(|why| why.contains("Fail"))
    );
}

#[test]
fn only_the_last_verdicts_are_kept() {
    let mut plan = CanaryState::new(settings(), 1);
    for _ in 0..7 {
        plan.apply(
            judgement(Outcome::Inconclusive),
            Cause::Interval,
            3,
            false,
            0,
        );
    }
    assert_eq!(plan.verdicts.len(), 3);
}

#[test]
fn settings_are_checked() {
    assert!(settings().validate().is_ok());
    let with = |change: fn(&mut CanarySettings)| {
        let mut s = settings();
        change(&mut s);
        s.validate()
    };
    assert!(matches!(
        with(|s| s.weight = 0.0),
        Err(TrafficError::Weight(_))
    ));
    assert!(matches!(
        with(|s| s.weight = 100.0),
        Err(TrafficError::Weight(_))
    ));
    assert!(matches!(
        with(|s| s.steps = vec![50.0, 25.0]),
        Err(TrafficError::Steps(_))
    ));
    assert!(matches!(
        with(|s| s.steps = vec![5.0]),
        Err(TrafficError::Steps(_))
    ));
    assert!(matches!(
        with(|s| s.steps = vec![150.0]),
        Err(TrafficError::Steps(_))
    ));
    assert!(matches!(
        with(|s| s.baseline = "2.0.0".into()),
        Err(TrafficError::SameVersion(_))
    ));
    assert!(matches!(
        with(|s| s.canary = "two".into()),
        Err(TrafficError::InvalidVersion(_))
    ));
    assert!(matches!(
        with(|s| s.criteria.alpha = 0.0),
        Err(TrafficError::Invalid(_))
    ));
}
