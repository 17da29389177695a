//! The bar for all files together.

use crate::core::status::OverallSum;
use crate::ui::state::WidgetState;
use leptos::prelude::*;

/// Overall progress, speed and time left of every file that still counts.
#[component]
pub fn OverallProgress() -> impl IntoView {
    let state = expect_context::<WidgetState>();
    let files = state.files;
    let figures = Memo::new(move |_| {
        files.with(|list| {
            let mut sum = OverallSum::default();
            list.iter().for_each(|f| f.view.with(|v| sum.add(v)));
            sum.finish()
        })
    });
    let m = state.messages;
    view! {
        <div class="partway-overall" class:empty=move || files.with(|f| f.is_empty())>
            <div
                class="partway-bar"
                part="progress"
                data-testid="overall-progress"
                role="progressbar"
                aria-label=move || m.with(|m| m.get("allFiles", &[]))
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || figures.with(|f| f.percent.to_string())
            >
                <div class="partway-bar-fill" style:width=move || figures.with(|f| format!("{}%", f.percent))></div>
            </div>
            <span>{move || figures.with(|f| m.with(|m| m.speed(f.speed)))}</span>
            " "
            <span>{move || figures.with(|f| m.with(|m| m.eta(f.eta)))}</span>
        </div>
    }
}
