//! The interface of the `artwork` shared module, major version 2: one `image_url` for every
//! kind of image replaces v1's function per kind. A breaking change, hence a new major and a
//! new interface crate; v1 consumers keep binding to 1.x modules loaded beside 2.x.

use abi_stable::{
    StableAbi,
    std_types::{RResult, RString},
};
use frontdoor_plugin_api::ModuleCallError;

/// Which image of a title.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    BoxArt = 1,
    Hero = 2,
    Logo = 3,
}

/// Artwork URL rules, v2.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ArtworkRef)))]
#[sabi(missing_field(panic))]
pub struct Artwork {
    /// The `kind` image of `title_id`, `width` pixels wide.
    #[sabi(last_prefix_field)]
    pub image_url: extern "C" fn(
        title_id: u64,
        kind: ImageKind,
        width: u32,
    ) -> RResult<RString, ModuleCallError>,
}
