//! The interface of the `artwork` shared module, major version 2: one `image_url` for every
//! kind of image replaces v1's function per kind. A breaking change, hence a new major and a
//! new interface crate; v1 consumers keep binding to 1.x modules loaded beside 2.x.

use frontdoor_plugin_api::abi_stable::{StableAbi, std_types::RString};

/// Which image of a title.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    BoxArt = 1,
    Hero = 2,
    Logo = 3,
}

frontdoor_plugin_api::module_interface! {
    /// The `artwork` module bound for a request: artwork URL rules, v2.
    pub struct Artwork;
    /// What an `artwork` 2.x module implements.
    pub trait ArtworkModule;
    module "artwork";

    since "2.0" {
        /// The `kind` image of `title_id`, `width` pixels wide.
        fn image_url(title_id: u64, kind: ImageKind, width: u32) -> RString;
    }
}
