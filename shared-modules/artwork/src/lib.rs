//! Shared module `artwork` 1.1.0: the v1 interface with `hero_url`, appended in 1.1.

use artwork_api::{Artwork, ArtworkModule};
use frontdoor_plugin_api::{ModuleCallError, abi_stable::std_types::RString};

frontdoor_plugin_api::export_shared_module! {
    interface: Artwork,
    implementation: Urls,
}

/// The URL rules of the image CDN.
struct Urls;

impl ArtworkModule for Urls {
    fn boxart_url(title_id: u64, width: u32) -> Result<RString, ModuleCallError> {
        Ok(format!("https://img.example.test/boxart/w{width}/{title_id}.jpg").into())
    }

    fn hero_url(title_id: u64) -> Result<RString, ModuleCallError> {
        Ok(format!("https://img.example.test/hero/w1920/{title_id}.jpg").into())
    }
}
