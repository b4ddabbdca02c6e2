//! The interface of the `{{name}}` shared module. Consumers declare it with
//! `requires: { "{{name}}" "^0.1" => {{name_snake}}_api::Module }` and call it through
//! `ctx.module::<Module>()?`; implementations implement [`Implementation`] and export it
//! with `frontdoor_plugin_api::export_shared_module!`.
//!
//! Functions are grouped by the minor version that added them. Appending a `since` group
//! is a compatible change; changing or reordering a released one is not (a new major, and
//! a new interface crate).

use frontdoor_plugin_api::abi_stable::std_types::RString;

frontdoor_plugin_api::module_interface! {
    /// The `{{name}}` module bound for a request.
    pub struct Module;
    /// What a `{{name}}` module implements.
    pub trait Implementation;

    since "0.1" {
        /// A greeting for `name`.
        fn greeting(name: RString) -> RString;
    }
}
