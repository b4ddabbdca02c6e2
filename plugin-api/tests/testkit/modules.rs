//! Shared modules: a fake implementation bound to the requirement that accepts it, the
//! layout check the host makes, and a module tested on its own.

use frontdoor_plugin_api::{
    HandlerErrorKind, ModuleCallError, ModuleCallErrorKind, abi_stable::std_types::RString,
    serde_json::json, testkit,
};

use super::adapter::{Shout, ShoutModule, kit, release_1_0};

struct Loud;

impl ShoutModule for Loud {
    fn shout(text: RString) -> Result<RString, ModuleCallError> {
        if text.as_str() == "boom" {
            panic!("deliberate module panic");
        }
        Ok(text.to_uppercase().into())
    }

    fn whisper(text: RString) -> Result<RString, ModuleCallError> {
        Ok(text.to_lowercase().into())
    }
}

struct Old;

impl release_1_0::ShoutModule for Old {
    fn shout(text: RString) -> Result<RString, ModuleCallError> {
        Ok(text)
    }
}

#[test]
fn a_bound_fake_serves_the_handler_and_its_panic_is_an_error_value() {
    let mut kit = kit();
    kit.module(Shout::implemented_by::<Loud>());
    let answer = kit.get("/shout/Hey").send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    assert_eq!(
        answer.json_value(),
        json!({ "loud": "HEY", "quiet": "hey" })
    );

    let panicked = kit.get("/shout/boom").send();
    assert_eq!(panicked.status(), 500);
    let error = panicked.handler_error().expect("kept");
    assert_eq!(
        error.kind,
        HandlerErrorKind::Failed,
        "the module's panic is a value"
    );
    assert!(error.message.contains("deliberate module panic"));

    kit.unbind_modules();
    let unbound = kit.get("/shout/hey").send();
    assert_eq!(unbound.status(), 500);
    assert!(
        unbound
            .handler_error()
            .is_some_and(|error| error.message.contains("no version of shared module shout"))
    );
}

#[test]
#[should_panic(expected = "no requirement of testkit@0.1.0 accepts this module")]
fn a_module_older_than_the_requirement_is_refused_as_by_the_host() {
    kit().module(release_1_0::Shout::implemented_by::<Old>());
}

#[test]
fn a_module_is_tested_on_its_own_through_its_generated_wrappers() {
    let shout: Shout = testkit::bind(Shout::implemented_by::<Loud>());
    assert_eq!(shout.shout("a".into()), Ok(RString::from("A")));
    let panicked = shout.shout("boom".into()).expect_err("a panic is an Err");
    assert_eq!(panicked.kind, ModuleCallErrorKind::Panicked);
}
