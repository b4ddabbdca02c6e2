//! The implementation called as a consumer calls it: through the interface's generated
//! wrappers, bound with the test kit.

use frontdoor_plugin_api::{ModuleCallErrorKind, abi_stable::std_types::RString, testkit};
use {{name_snake}}_api::Module;

use super::Greetings;

fn module() -> Module {
    testkit::bind(Module::implemented_by::<Greetings>())
}

#[test]
fn greets_by_name() {
    assert_eq!(
        module().greeting("Ada".into()),
        Ok(RString::from("Hello, Ada!"))
    );
}

#[test]
fn an_empty_name_is_an_error_value() {
    let error = module().greeting(RString::new()).expect_err("refused");
    assert_eq!(error.kind, ModuleCallErrorKind::Failed);
}
