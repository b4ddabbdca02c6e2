//! The retry budget: retries may add at most a fixed share of extra load. Every first
//! attempt deposits `budget_percent / 100` of a token (up to a small cap); every retry
//! withdraws a whole one. A failing backend therefore sees a few retries, not a storm.

use std::sync::Mutex;

pub struct RetryBudget {
    /// Hundredths of a token added per first attempt (= the budget in percent).
    deposit: u32,
    /// Hundredths of tokens in the bucket; integers, so ten 10% deposits make one token.
    tokens: Mutex<u32>,
}

/// One token, in hundredths.
const TOKEN: u32 = 100;
/// Tokens the bucket can hold: a burst of retries after a quiet spell stays small.
const MAX_TOKENS: u32 = 10 * TOKEN;

impl RetryBudget {
    pub fn new(budget_percent: u32) -> Self {
        Self {
            deposit: budget_percent,
            tokens: Mutex::new(0),
        }
    }

    /// Called for every first attempt.
    pub fn deposit(&self) {
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *tokens = (*tokens + self.deposit).min(MAX_TOKENS);
    }

    /// True (and a token spent) when a retry is allowed now.
    pub fn try_withdraw(&self) -> bool {
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *tokens >= TOKEN {
            *tokens -= TOKEN;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_allows_one_retry_per_ten_calls() {
        let budget = RetryBudget::new(10);
        assert!(!budget.try_withdraw(), "nothing deposited yet");
        for _ in 0..10 {
            budget.deposit();
        }
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
    }
}
