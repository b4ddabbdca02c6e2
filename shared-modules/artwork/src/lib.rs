//! Shared module `artwork` 1.1.0: the v1 interface with `hero_url`, appended in 1.1.

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{RResult, RString},
};
use artwork_api::{Artwork, ArtworkRef};
use frontdoor_plugin_api::{ModuleCallError, guarded};

frontdoor_plugin_api::export_shared_module! {
    interface: ArtworkRef => Artwork { boxart_url, hero_url }.leak_into_prefix(),
}

extern "C" fn boxart_url(title_id: u64, width: u32) -> RResult<RString, ModuleCallError> {
    guarded(|| {
        RString::from(format!(
            "https://img.example.test/boxart/w{width}/{title_id}.jpg"
        ))
    })
}

extern "C" fn hero_url(title_id: u64) -> RResult<RString, ModuleCallError> {
    guarded(|| {
        RString::from(format!(
            "https://img.example.test/hero/w1920/{title_id}.jpg"
        ))
    })
}
