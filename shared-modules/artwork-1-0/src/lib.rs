//! Shared module `artwork` 1.0.0, the first release: box art URLs only. Kept buildable so
//! consumers pinned to `=1.0.0` keep working and compatibility is tested against it.

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{RResult, RString},
};
use artwork_api::release_1_0::{Artwork, ArtworkRef};
use frontdoor_plugin_api::{ModuleCallError, guarded};

frontdoor_plugin_api::export_shared_module! {
    name: "artwork",
    interface: ArtworkRef => Artwork { boxart_url }.leak_into_prefix(),
}

extern "C" fn boxart_url(title_id: u64, width: u32) -> RResult<RString, ModuleCallError> {
    guarded(|| {
        RString::from(format!(
            "https://img.example.test/boxart/w{width}/{title_id}.jpg"
        ))
    })
}
