//! Shared module `artwork` 2.0.0: the v2 interface, one `image_url` for every image kind.

use artwork2_api::{Artwork, ArtworkModule, ImageKind};
use frontdoor_plugin_api::{ModuleCallError, abi_stable::std_types::RString};

frontdoor_plugin_api::export_shared_module! {
    name: "artwork",
    interface: Artwork,
    implementation: Urls,
}

/// The URL rules of the image CDN, v2 paths.
struct Urls;

impl ArtworkModule for Urls {
    fn image_url(title_id: u64, kind: ImageKind, width: u32) -> Result<RString, ModuleCallError> {
        let kind = match kind {
            ImageKind::BoxArt => "boxart",
            ImageKind::Hero => "hero",
            ImageKind::Logo => "logo",
        };
        Ok(format!("https://img.example.test/v2/{kind}/w{width}/{title_id}.webp").into())
    }
}
