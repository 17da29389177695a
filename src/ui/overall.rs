//! The bar for all files together.

use crate::core::status::overall;
use crate::core::{format, FileView};
use crate::ui::widget::FileItem;
use leptos::prelude::*;

/// Overall progress, speed and time left of every file that still counts.
#[component]
pub fn OverallProgress(files: RwSignal<Vec<FileItem>>) -> impl IntoView {
    let figures = Memo::new(move |_| {
        files.with(|list| {
            let views: Vec<FileView> = list.iter().map(|f| f.view.get()).collect();
            overall(&views)
        })
    });
    view! {
        <div class="partway-overall" class:empty=move || files.with(|f| f.is_empty())>
            <div
                class="partway-bar"
                data-testid="overall-progress"
                role="progressbar"
                aria-label="All files"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || figures.with(|f| f.percent.to_string())
            >
                <div class="partway-bar-fill" style:width=move || figures.with(|f| format!("{}%", f.percent))></div>
            </div>
            <span>{move || figures.with(|f| format::speed(f.speed))}</span>
            " "
            <span>{move || figures.with(|f| format::eta(f.eta))}</span>
        </div>
    }
}
