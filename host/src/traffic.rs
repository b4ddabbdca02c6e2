//! Traffic management between versions of one adapter: canaries split default traffic by
//! weight (sticky per device) and are judged every interval against their baseline, rolled
//! back or stepped up and promoted; shadows mirror a share of idempotent requests to another
//! version after the device has its answer, and compare.
//!
//! The request path reads an immutable [`routing::TrafficRoutes`] through `arc-swap`; the
//! books (plans with their state, shadows with their reports) are behind a mutex that only
//! the admin API and the judge take. Every change is published as a new routes table and
//! reported to the change hook with the whole [`TrafficState`].

pub mod admin;
pub mod canary;
pub mod compare;
pub mod config;
pub mod error;
pub mod judge;
mod judge_loop;
pub mod mann_whitney;
pub mod report;
pub mod routing;
pub mod samples;
pub mod shadow;
pub mod sticky;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard, Weak},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use arc_swap::ArcSwap;
use hyper::{Response, http::request::Parts};
use serde::{Deserialize, Serialize};
use tokio::{runtime::Handle, sync::Semaphore, task::AbortHandle};

pub use canary::{CanarySettings, CanaryState, Cause, Phase, VerdictRecord};
pub use config::{TrafficConfig, TrafficFileConfig};
pub use error::TrafficError;
pub use routing::Ticket;
pub use shadow::{ShadowJob, ShadowRequest};

use crate::{error_response::Body, router::AdapterVersions, router::Routed};
use compare::{Bounds, Ignored};
use report::ShadowReport;
use routing::{AdapterTraffic, CanaryRoute, ShadowRoute, TrafficRoutes};
use samples::Sampler;

/// Everything about traffic that outlives a restart: canary plans with their weights and
/// verdicts, and shadows. The embedding program saves it (from the change hook) and hands it
/// back at start (`TrafficConfig::restore`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficState {
    #[serde(default)]
    pub canaries: BTreeMap<String, CanaryState>,
    #[serde(default)]
    pub shadows: BTreeMap<String, ShadowSettings>,
}

/// A shadow as an operator sets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowSettings {
    /// The version requests are mirrored to.
    pub target: String,
    /// Percent of the adapter's GET and HEAD requests mirrored.
    pub share: f64,
    /// JSON pointers (or top-level keys) left out of the comparison.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// Called with the whole state after every change, in the order of the changes. It runs
/// while changes are serialised: it may read ([`Traffic::snapshot`]) but must not change
/// traffic itself, and should be quick (save the state, append to an audit log).
pub type ChangeHook = Box<dyn Fn(&TrafficState) + Send + Sync>;

/// The host's default version of an adapter, from its routing table (ignoring plans).
pub type DefaultVersion = Box<dyn Fn(&str) -> Option<semver::Version> + Send + Sync>;

/// The traffic plans of one host.
pub struct Traffic {
    config: TrafficConfig,
    routes: ArcSwap<TrafficRoutes>,
    books: Mutex<Books>,
    /// Orders changes and their hook calls: a hook never sees an older state after a newer.
    serial: Mutex<()>,
    on_change: Mutex<Option<ChangeHook>>,
    default_version: DefaultVersion,
    shadow_slots: Arc<Semaphore>,
    /// Where judge loops run.
    runtime: Handle,
    me: Weak<Traffic>,
}

#[derive(Default)]
struct Books {
    canaries: BTreeMap<String, CanaryBook>,
    shadows: BTreeMap<String, ShadowBook>,
}

struct CanaryBook {
    state: CanaryState,
    sampler: Arc<Sampler>,
    judge: Option<AbortHandle>,
}

struct ShadowBook {
    settings: ShadowSettings,
    report: Arc<ShadowReport>,
}

/// A plan as `GET .../canary` shows it.
#[derive(Debug, Serialize)]
pub struct CanaryView {
    pub adapter: String,
    #[serde(flatten)]
    pub state: CanaryState,
    /// Requests counted so far in the interval being sampled.
    pub open_interval: OpenInterval,
}

#[derive(Debug, Serialize)]
pub struct OpenInterval {
    pub baseline_requests: u64,
    pub canary_requests: u64,
}

/// A shadow as `GET .../shadow` shows it.
#[derive(Debug, Serialize)]
pub struct ShadowView {
    pub adapter: String,
    #[serde(flatten)]
    pub settings: ShadowSettings,
    pub report: report::ReportView,
}

impl Traffic {
    /// Traffic for a host whose judge loops run on `runtime`; restores `config.restore`.
    pub fn new(
        config: TrafficConfig,
        runtime: Handle,
        default_version: DefaultVersion,
    ) -> Arc<Self> {
        let restore = config.restore.clone();
        let traffic = Arc::new_cyclic(|me| Self {
            shadow_slots: Arc::new(Semaphore::new(config.shadow_max_concurrent)),
            config,
            routes: ArcSwap::from_pointee(TrafficRoutes::default()),
            books: Mutex::default(),
            serial: Mutex::default(),
            on_change: Mutex::default(),
            default_version,
            runtime,
            me: me.clone(),
        });
        if let Some(state) = restore {
            traffic.restore(state);
        }
        traffic
    }

    /// Sets the hook called with the whole state after every change.
    pub fn on_change(&self, hook: ChangeHook) {
        *lock(&self.on_change) = Some(hook);
    }

    /// The state as it is now.
    pub fn snapshot(&self) -> TrafficState {
        lock(&self.books).state()
    }

    /// Replaces every plan and shadow with `state` (as saved by the hook): running plans
    /// resume judging, with fresh intervals.
    pub fn restore(&self, state: TrafficState) {
        self.change(|books, traffic| {
            for book in books.canaries.values_mut() {
                if let Some(judge) = book.judge.take() {
                    judge.abort();
                }
            }
            books.canaries.clear();
            for (adapter, plan) in state.canaries {
                let judge =
                    (plan.phase == Phase::Running).then(|| traffic.spawn_judge(&adapter, &plan));
                books.canaries.insert(
                    adapter,
                    CanaryBook {
                        state: plan,
                        sampler: Arc::new(Sampler::new(traffic.config.samples_per_interval)),
                        judge,
                    },
                );
            }
            books.shadows = state
                .shadows
                .into_iter()
                .map(|(adapter, settings)| (adapter, traffic.shadow_book(settings)))
                .collect();
            Ok(())
        })
        .unwrap_or_else(|error| tracing::error!(%error, "restoring traffic state failed"));
    }

    /// Starts a canary plan for `adapter` (settings already checked against the loaded
    /// versions); a finished plan of that adapter is replaced, a running one refused.
    pub fn start_canary(
        &self,
        adapter: &str,
        settings: CanarySettings,
    ) -> Result<CanaryView, TrafficError> {
        settings.validate()?;
        self.change(|books, traffic| {
            if let Some(book) = books.canaries.get(adapter)
                && book.state.phase == Phase::Running
            {
                return Err(TrafficError::CanaryRunning(adapter.to_owned()));
            }
            let state = CanaryState::new(settings, sticky::next_random());
            let judge = Some(traffic.spawn_judge(adapter, &state));
            books.canaries.insert(
                adapter.to_owned(),
                CanaryBook {
                    state,
                    sampler: Arc::new(Sampler::new(traffic.config.samples_per_interval)),
                    judge,
                },
            );
            Ok(())
        })?;
        self.canary(adapter)
            .ok_or_else(|| TrafficError::NoCanary(adapter.to_owned()))
    }

    /// The plan of `adapter`, if any.
    pub fn canary(&self, adapter: &str) -> Option<CanaryView> {
        let books = lock(&self.books);
        let book = books.canaries.get(adapter)?;
        let (baseline_requests, canary_requests) = book.sampler.open_counts();
        Some(CanaryView {
            adapter: adapter.to_owned(),
            state: book.state.clone(),
            open_interval: OpenInterval {
                baseline_requests,
                canary_requests,
            },
        })
    }

    /// Closes the running plan's interval and judges it now; the judge loop calls this every
    /// interval, tests and operators whenever they like.
    pub fn judge_now(&self, adapter: &str, cause: Cause) -> Result<VerdictRecord, TrafficError> {
        let pins = self.promotion_pins(adapter);
        self.change(|books, traffic| {
            let book = running(books, adapter)?;
            let (baseline, canary) = book.sampler.close_interval();
            let judgement = judge::judge(&baseline, &canary, &book.state.settings.criteria);
            let record = book.state.apply(judgement, cause, traffic.config.verdicts_kept, pins, now_unix_ms());
            if book.state.phase != Phase::Running {
                stop_judge(book);
            }
            match book.state.phase {
                Phase::RolledBack => tracing::warn!(adapter, reason = %record.judgement.reason, "canary rolled back"),
                Phase::Promoted => tracing::info!(adapter, canary = %book.state.settings.canary, "canary promoted"),
                _ => tracing::info!(adapter, action = %record.action, reason = %record.judgement.reason, "canary judged"),
            }
            Ok(record)
        })
    }

    /// Promotes the running canary of `adapter` now.
    pub fn promote(&self, adapter: &str) -> Result<CanaryView, TrafficError> {
        let pins = self.promotion_pins(adapter);
        self.change(|books, _| {
            let book = running(books, adapter)?;
            book.state.promote("promoted by an operator", pins);
            stop_judge(book);
            Ok(())
        })?;
        self.canary(adapter)
            .ok_or_else(|| TrafficError::NoCanary(adapter.to_owned()))
    }

    /// Aborts the running canary of `adapter`: weight 0.
    pub fn abort(&self, adapter: &str) -> Result<CanaryView, TrafficError> {
        self.change(|books, _| {
            let book = running(books, adapter)?;
            book.state.abort("aborted by an operator");
            stop_judge(book);
            Ok(())
        })?;
        self.canary(adapter)
            .ok_or_else(|| TrafficError::NoCanary(adapter.to_owned()))
    }

    /// Forgets the plan of `adapter`, whatever its phase: default traffic goes to the default
    /// version again.
    pub fn remove_canary(&self, adapter: &str) -> Result<CanaryView, TrafficError> {
        let view = self
            .canary(adapter)
            .ok_or_else(|| TrafficError::NoCanary(adapter.to_owned()))?;
        self.change(|books, _| {
            if let Some(mut book) = books.canaries.remove(adapter) {
                stop_judge(&mut book);
            }
            Ok(())
        })?;
        Ok(view)
    }

    /// Mirrors a share of `adapter`'s GET and HEAD requests to `settings.target`; replaces a
    /// shadow already there (and its report).
    pub fn set_shadow(
        &self,
        adapter: &str,
        settings: ShadowSettings,
    ) -> Result<ShadowView, TrafficError> {
        canary::parse_version(&settings.target)?;
        if !(settings.share > 0.0 && settings.share <= 100.0) {
            return Err(TrafficError::Share(settings.share));
        }
        self.change(|books, traffic| {
            books
                .shadows
                .insert(adapter.to_owned(), traffic.shadow_book(settings));
            Ok(())
        })?;
        self.shadow(adapter)
            .ok_or_else(|| TrafficError::NoShadow(adapter.to_owned()))
    }

    /// The shadow of `adapter` with its report.
    pub fn shadow(&self, adapter: &str) -> Option<ShadowView> {
        let books = lock(&self.books);
        let book = books.shadows.get(adapter)?;
        Some(ShadowView {
            adapter: adapter.to_owned(),
            settings: book.settings.clone(),
            report: book.report.view(),
        })
    }

    /// Stops mirroring `adapter`; returns the final report.
    pub fn remove_shadow(&self, adapter: &str) -> Result<ShadowView, TrafficError> {
        let view = self
            .shadow(adapter)
            .ok_or_else(|| TrafficError::NoShadow(adapter.to_owned()))?;
        self.change(|books, _| {
            books.shadows.remove(adapter);
            Ok(())
        })?;
        Ok(view)
    }

    /// Stops every judge loop (at shutdown).
    pub fn stop(&self) {
        for book in lock(&self.books).canaries.values_mut() {
            stop_judge(book);
        }
    }

    /// The request path: see [`routing::select`].
    pub fn select<'a>(
        &self,
        namespace: &str,
        head: &Parts,
        requirement: Option<&semver::VersionReq>,
        adapter: &'a AdapterVersions,
        ticket: &mut Ticket,
    ) -> Option<&'a Routed> {
        routing::select(
            &self.routes.load(),
            &self.config.sticky,
            namespace,
            head,
            requirement,
            adapter,
            ticket,
        )
    }

    /// Once the device's answer is ready: counts it for the canary's judge, and hands back the
    /// shadow call to start, if the request is mirrored and a shadow slot is free.
    pub fn finish(
        &self,
        ticket: Ticket,
        response: &Response<Body>,
        elapsed: Duration,
    ) -> Option<ShadowJob> {
        let micros = shadow::micros(elapsed);
        if let Some((sampler, arm)) = ticket.canary {
            sampler.record(arm, micros, response.status().is_server_error());
        }
        let (route, mirrored) = *ticket.shadow?;
        let body = mirrored.body?;
        let Ok(slot) = self.shadow_slots.clone().try_acquire_owned() else {
            route.report.note_skipped_busy();
            return None;
        };
        Some(ShadowJob {
            request: ShadowRequest {
                target: route.target_requirement.clone(),
                method: mirrored.method,
                uri: mirrored.uri,
                headers: mirrored.headers,
                body,
            },
            primary_status: response.status().as_u16(),
            primary_body: response.body().clone(),
            primary_us: micros,
            timeout: self.config.shadow_timeout,
            bounds: Bounds {
                differences: self.config.shadow_diffs_kept.min(10),
                value_bytes: self.config.diff_value_bytes,
            },
            route,
            _slot: slot,
        })
    }
}

impl Traffic {
    /// Applies `edit` to the books and, unless it refused, publishes the routes they imply
    /// and tells the hook. A refused edit changes nothing.
    fn change<R>(
        &self,
        edit: impl FnOnce(&mut Books, &Traffic) -> Result<R, TrafficError>,
    ) -> Result<R, TrafficError> {
        let _serial = lock(&self.serial);
        let (result, state) = {
            let mut books = lock(&self.books);
            let result = edit(&mut books, self)?;
            self.routes.store(Arc::new(books.routes()));
            (result, books.state())
        };
        if let Some(hook) = lock(&self.on_change).as_ref() {
            hook(&state);
        }
        Ok(result)
    }

    fn spawn_judge(&self, adapter: &str, plan: &CanaryState) -> AbortHandle {
        judge_loop::spawn(
            self.me.clone(),
            adapter.to_owned(),
            Duration::from_millis(plan.settings.interval_ms),
            &self.runtime,
        )
    }

    fn shadow_book(&self, settings: ShadowSettings) -> ShadowBook {
        ShadowBook {
            settings,
            report: Arc::new(ShadowReport::new(self.config.shadow_diffs_kept)),
        }
    }

    /// Whether promoting `adapter`'s canary needs a pin: the default version (the highest
    /// routable one) is not the canary.
    fn promotion_pins(&self, adapter: &str) -> bool {
        let canary = lock(&self.books)
            .canaries
            .get(adapter)
            .and_then(|book| canary::parse_version(&book.state.settings.canary).ok());
        canary.is_some() && (self.default_version)(adapter) != canary
    }
}

impl Books {
    fn state(&self) -> TrafficState {
        TrafficState {
            canaries: self
                .canaries
                .iter()
                .map(|(adapter, book)| (adapter.clone(), book.state.clone()))
                .collect(),
            shadows: self
                .shadows
                .iter()
                .map(|(adapter, book)| (adapter.clone(), book.settings.clone()))
                .collect(),
        }
    }

    /// The request path's table for these books.
    fn routes(&self) -> TrafficRoutes {
        let mut adapters: HashMap<Box<str>, AdapterTraffic> = HashMap::new();
        for (adapter, book) in &self.canaries {
            let plan = &book.state;
            if plan.phase == Phase::Promoted && !plan.pinned {
                continue;
            }
            let (Ok(canary), Ok(baseline)) =
                (exact(&plan.settings.canary), exact(&plan.settings.baseline))
            else {
                continue;
            };
            adapters.entry(adapter.as_str().into()).or_default().canary = Some(CanaryRoute {
                baseline,
                canary,
                threshold: plan.threshold(),
                seed: plan.seed,
                sampler: (plan.phase == Phase::Running).then(|| book.sampler.clone()),
            });
        }
        for (adapter, book) in &self.shadows {
            let (Ok(target), Ok(target_requirement)) = (
                canary::parse_version(&book.settings.target),
                exact(&book.settings.target),
            ) else {
                continue;
            };
            adapters.entry(adapter.as_str().into()).or_default().shadow =
                Some(Arc::new(ShadowRoute {
                    target,
                    target_requirement,
                    threshold: (book.settings.share * 100.0).round() as u32,
                    ignored: Ignored::new(&book.settings.ignore),
                    report: book.report.clone(),
                }));
        }
        TrafficRoutes { adapters }
    }
}

fn running<'a>(books: &'a mut Books, adapter: &str) -> Result<&'a mut CanaryBook, TrafficError> {
    let book = books
        .canaries
        .get_mut(adapter)
        .ok_or_else(|| TrafficError::NoCanary(adapter.to_owned()))?;
    if book.state.phase != Phase::Running {
        return Err(TrafficError::NotRunning {
            adapter: adapter.to_owned(),
            phase: book.state.phase.as_str(),
        });
    }
    Ok(book)
}

fn stop_judge(book: &mut CanaryBook) {
    if let Some(judge) = book.judge.take() {
        judge.abort();
    }
}

/// `=version`: exactly that version (a pre-release included).
fn exact(version: &str) -> Result<semver::VersionReq, TrafficError> {
    let version = canary::parse_version(version)?;
    semver::VersionReq::parse(&format!("={version}"))
        .map_err(|_| TrafficError::InvalidVersion(version.to_string()))
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The books and the hook hold plain data; a panic elsewhere leaves them sound.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
