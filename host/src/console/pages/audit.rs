//! The audit log: every change operators made, newest first.

use maud::{Markup, html};

use super::{
    format,
    layout::{Flash, Shell, page},
};
use crate::console::model::AuditPage;

/// The audit page.
pub fn audit(model: &AuditPage, shell: &Shell<'_>, flash: Option<&Flash>) -> Markup {
    page(
        "Audit log",
        Some(shell),
        flash,
        html! {
            h1 { "Audit log" }
            @if model.entries.is_empty() {
                p { "No change was made yet." }
            } @else {
                table.audit {
                    thead {
                        tr {
                            th scope="col" { "When" }
                            th scope="col" { "Team" }
                            th scope="col" { "Action" }
                            th scope="col" { "Target" }
                            th scope="col" { "Before" }
                            th scope="col" { "After" }
                        }
                    }
                    tbody {
                        @for entry in &model.entries {
                            tr {
                                th scope="row" data-label="When" { (format::time(entry.at_unix_ms)) }
                                td data-label="Team" { (entry.team) }
                                td data-label="Action" { (entry.action) }
                                td data-label="Target" { (entry.target) }
                                td data-label="Before" { code { (entry.before.to_string()) } }
                                td data-label="After" { code { (entry.after.to_string()) } }
                            }
                        }
                    }
                }
            }
        },
    )
}
