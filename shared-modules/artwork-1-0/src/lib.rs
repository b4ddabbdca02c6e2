//! Shared module `artwork` 1.0.0, the first release: box art URLs only. Kept buildable so
//! consumers pinned to `=1.0.0` keep working and compatibility is tested against it.

use artwork_api::release_1_0::{Artwork, ArtworkModule};
use frontdoor_plugin_api::{ModuleCallError, abi_stable::std_types::RString};

frontdoor_plugin_api::export_shared_module! {
    name: "artwork",
    interface: Artwork,
    implementation: Urls,
}

/// The URL rules of the image CDN, as of 1.0.
struct Urls;

impl ArtworkModule for Urls {
    fn boxart_url(title_id: u64, width: u32) -> Result<RString, ModuleCallError> {
        Ok(format!("https://img.example.test/boxart/w{width}/{title_id}.jpg").into())
    }
}
