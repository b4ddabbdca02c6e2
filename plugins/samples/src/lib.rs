//! Typed calls to the sample backends (`tests/sample-backends`), shared by the example
//! adapters `tv`, `mobile` and `playback`, so each does not declare the same answers again.
//!
//! This is a plain library linked into each adapter, not a shared module: a shared
//! module's functions are synchronous and receive only their own bindings, never the
//! caller's request, so a module cannot make backend calls on an adapter's behalf (with its
//! deadline, its request id, its deduplication). The calls stay the adapter's; this crate
//! only names them and their types once. Every call goes through `ctx.backend(...)`, the
//! host's resiliency layer, exactly as written by hand before.
//!
//! The answer types derive `Serialize` too, so a test scripts a fake backend with the very
//! types the adapter reads (`Reply::json(&Profile { .. })`).

use frontdoor_plugin_api::{BackendError, Ctx, NoModules};
use serde::{Deserialize, Serialize};

/// The backend names the sample backends are configured under.
pub mod names {
    pub const CATALOG: &str = "catalog";
    pub const PROFILES: &str = "profiles";
    pub const RECOMMENDATIONS: &str = "recommendations";
    pub const BOOKMARKS: &str = "bookmarks";
    pub const PLAYBACK: &str = "playback";
}

/// `GET /profiles/{id}` on profiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: u64,
    pub name: String,
    /// The strongest rating this profile may watch (`G` ... `TV-MA`).
    pub maturity_level: String,
    pub language: String,
    pub avatar_url: String,
}

/// `GET /rows?profile=&count=` on recommendations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rows {
    pub profile: u64,
    pub rows: Vec<Row>,
}

/// One recommended row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    pub title_ids: Vec<u64>,
}

/// `GET /bookmarks/{profile}` on bookmarks, most recent first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bookmarks {
    pub profile: u64,
    pub items: Vec<Bookmark>,
}

/// Where a profile stopped in a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bookmark {
    pub title_id: u64,
    pub position_s: u64,
    /// When it was written, Unix milliseconds.
    pub updated_ms: u64,
}

/// A catalog title (`GET /titles/{id}`, and each of `GET /titles?ids=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Title {
    pub id: u64,
    pub title: String,
    pub year: u32,
    /// Its rating (`G` ... `TV-MA`).
    pub maturity: String,
    pub genres: Vec<String>,
    pub runtime_min: u32,
    pub synopsis: String,
}

/// `GET /titles?ids=` on catalog: the titles found, unknown ids left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Titles {
    pub titles: Vec<Title>,
}

/// The body of `POST /decisions` on playback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    pub profile: u64,
    pub title_id: u64,
    /// `tv`, `mobile`, ...: lower case letters, digits, `-` and `_`, at most 32.
    pub device: String,
}

/// How to play a title on a device: the answer of `POST /decisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub title_id: u64,
    pub manifest_url: String,
    pub drm: String,
    pub max_resolution: String,
    pub decision_id: String,
}

/// The sample backends for the request `ctx` serves: each method is one backend call
/// through the host. Calls are lazy futures, so `join` runs several in parallel. `A` is the
/// adapter's marker (`Ctx<Adapter>` for one that calls shared modules too).
pub struct Samples<'a, A = NoModules> {
    ctx: &'a Ctx<A>,
}

// By hand: a derive would ask `A: Clone`, and the marker is an uninhabited enum.
impl<A> Clone for Samples<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for Samples<'_, A> {}

impl<'a, A> Samples<'a, A> {
    pub fn new(ctx: &'a Ctx<A>) -> Self {
        Self { ctx }
    }

    /// Profile `id`.
    pub async fn profile(&self, id: u64) -> Result<Profile, BackendError> {
        self.ctx
            .backend(names::PROFILES)
            .get_json(&format!("/profiles/{id}"))
            .await
    }

    /// The first `count` recommended rows of `profile`.
    pub async fn rows(&self, profile: u64, count: usize) -> Result<Rows, BackendError> {
        self.ctx
            .backend(names::RECOMMENDATIONS)
            .get_json(&format!("/rows?profile={profile}&count={count}"))
            .await
    }

    /// The bookmarks of `profile`.
    pub async fn bookmarks(&self, profile: u64) -> Result<Bookmarks, BackendError> {
        self.ctx
            .backend(names::BOOKMARKS)
            .get_json(&format!("/bookmarks/{profile}"))
            .await
    }

    /// Records that `profile` stopped `title_id` at `position_s`.
    pub async fn save_position(
        &self,
        profile: u64,
        title_id: u64,
        position_s: u64,
    ) -> Result<(), BackendError> {
        #[derive(Serialize)]
        struct Position {
            position_s: u64,
        }
        // Any JSON answer will do (`{"ok": true}`): a 2xx is the confirmation.
        let _: serde::de::IgnoredAny = self
            .ctx
            .backend(names::BOOKMARKS)
            .put_json(
                &format!("/bookmarks/{profile}/{title_id}"),
                &Position { position_s },
            )
            .await?;
        Ok(())
    }

    /// Title `id`.
    pub async fn title(&self, id: u64) -> Result<Title, BackendError> {
        self.ctx
            .backend(names::CATALOG)
            .get_json(&format!("/titles/{id}"))
            .await
    }

    /// The titles of `ids` in one call (unknown ids are left out of the answer).
    pub async fn titles(&self, ids: &[u64]) -> Result<Vec<Title>, BackendError> {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        let batch: Titles = self
            .ctx
            .backend(names::CATALOG)
            .get_json(&format!("/titles?ids={}", ids.join(",")))
            .await?;
        Ok(batch.titles)
    }

    /// How `request.device` plays the title.
    pub async fn decision(&self, request: &DecisionRequest) -> Result<Decision, BackendError> {
        self.ctx
            .backend(names::PLAYBACK)
            .post_json("/decisions", request)
            .await
    }
}
