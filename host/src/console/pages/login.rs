//! The login page: a token field, or on a host without tokens, one button.

use maud::{Markup, html};

use super::layout::page;

/// The login page; `error` says why the last attempt failed.
pub fn login(tokens_configured: bool, error: Option<&str>) -> Markup {
    page(
        "Log in",
        None,
        None,
        html! {
            h1 { "Log in" }
            @if let Some(error) = error {
                p.flash.error role="alert" { (error) }
            }
            form.login method="post" action="/console/login" {
                @if tokens_configured {
                    p { "Log in with your team's admin token. It is checked once; the browser keeps only a session cookie." }
                    label for="token" { "Admin token" }
                    input #token type="password" name="token" required autocomplete="off" autocapitalize="off" spellcheck="false";
                } @else {
                    p { "No admin token is configured: this host's admin API is open to loopback clients, and so is its console (as team " code { "loopback" } ", with every right)." }
                }
                button type="submit" { "Log in" }
            }
        },
    )
}
