//! Shared module `artwork` 2.0.0: the v2 interface, one `image_url` for every image kind.

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{RResult, RString},
};
use artwork2_api::{Artwork, ArtworkRef, ImageKind};
use frontdoor_plugin_api::{ModuleCallError, guarded};

frontdoor_plugin_api::export_shared_module! {
    name: "artwork",
    interface: ArtworkRef => Artwork { image_url }.leak_into_prefix(),
}

extern "C" fn image_url(
    title_id: u64,
    kind: ImageKind,
    width: u32,
) -> RResult<RString, ModuleCallError> {
    guarded(|| {
        let kind = match kind {
            ImageKind::BoxArt => "boxart",
            ImageKind::Hero => "hero",
            ImageKind::Logo => "logo",
        };
        RString::from(format!(
            "https://img.example.test/v2/{kind}/w{width}/{title_id}.webp"
        ))
    })
}
