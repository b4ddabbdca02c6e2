use super::Form;

#[test]
fn fields_are_decoded() {
    let form = Form::parse(b"csrf=ab12&version=1.2.0%2Bbuild&note=a+b%20c&empty=&csrf=second");
    assert_eq!(form.get("csrf"), Some("ab12"));
    assert_eq!(form.get("version"), Some("1.2.0+build"));
    assert_eq!(form.get("note"), Some("a b c"));
    assert_eq!(form.get("empty"), Some(""));
    assert_eq!(form.get("missing"), None);
}

#[test]
fn bad_escapes_stay_text() {
    let form = Form::parse(b"a=%zz&b=%4&c=%&d=%e9");
    assert_eq!(form.get("a"), Some("%zz"));
    assert_eq!(form.get("b"), Some("%4"));
    assert_eq!(form.get("c"), Some("%"));
    assert_eq!(form.get("d"), Some("\u{fffd}"));
}
