//! The `{{name}}` shared module, version {{version}}: plain Rust functions behind the
//! `{{name}}-api` interface. Nothing here is `extern "C"` and nothing guards against
//! panics by hand: the generated wrappers do (a panic is an error value for the caller).

use frontdoor_plugin_api::{ModuleCallError, abi_stable::std_types::RString};
use {{name_snake}}_api::{Implementation, Module};

frontdoor_plugin_api::export_shared_module! {
    interface: Module,
    implementation: Greetings,
}

struct Greetings;

impl Implementation for Greetings {
    fn greeting(name: RString) -> Result<RString, ModuleCallError> {
        if name.is_empty() {
            return Err(ModuleCallError::failed("a greeting needs a name"));
        }
        Ok(format!("Hello, {name}!").into())
    }
}

#[cfg(test)]
mod tests;
