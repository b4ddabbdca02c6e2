//! The page shell: head (stylesheet and script from the binary, nothing inline), the
//! navigation, who is logged in with the logout form, and the outcome of the last action.

use maud::{DOCTYPE, Markup, html};

use crate::console::assets;

/// The logged-in session as a page shows it.
pub struct Shell<'a> {
    pub team: &'a str,
    pub csrf: &'a str,
    /// Which navigation entry is the current page.
    pub current: &'a str,
    /// Fleet mode: the navigation offers the fleet page.
    pub fleet: bool,
}

/// The outcome of an action, shown once on the next page.
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

const NAV: [(&str, &str); 4] = [
    ("/console", "Overview"),
    ("/console/backends", "Backends"),
    ("/console/fleet", "Fleet"),
    ("/console/audit", "Audit log"),
];

/// The navigation entries `shell` offers: the fleet page only in fleet mode.
fn nav(shell: &Shell<'_>) -> impl Iterator<Item = (&'static str, &'static str)> {
    let fleet = shell.fleet;
    NAV.into_iter()
        .filter(move |(href, _)| fleet || *href != "/console/fleet")
}

/// A whole page around `main`.
pub fn page(title: &str, shell: Option<&Shell<'_>>, flash: Option<&Flash>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Frontdoor console" }
                link rel="stylesheet" href=(assets::css_path());
                script src=(assets::js_path()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    p.brand { a href="/console" { "Frontdoor console" } }
                    @if let Some(shell) = shell {
                        nav aria-label="Console" {
                            ul {
                                @for (href, label) in nav(shell) {
                                    li {
                                        @if href == shell.current {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        form.logout method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(shell.csrf);
                            span { "Team " strong { (shell.team) } }
                            " "
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @if let Some(flash) = flash {
                        @if flash.ok {
                            p.flash.ok role="status" { (flash.text) }
                        } @else {
                            p.flash.error role="alert" { (flash.text) }
                        }
                    }
                    (main)
                }
            }
        }
    }
}

/// A page that only says something (a refusal, a missing adapter), with a way back.
pub fn message(title: &str, text: &str, back: &str, shell: Option<&Shell<'_>>) -> Markup {
    page(
        title,
        shell,
        None,
        html! {
            h1 { (title) }
            p.flash.error role="alert" { (text) }
            p { a href=(back) { "Back" } }
        },
    )
}
