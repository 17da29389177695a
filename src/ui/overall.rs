//! The bar for all files together.

use crate::core::status::OverallSum;
use crate::ui::state::WidgetState;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

/// How often the overall figures may be summed again: what a person can follow.
const SUM_EVERY_MS: u32 = 250;

/// Overall progress, speed and time left of every file that still counts.
#[component]
pub fn OverallProgress() -> impl IntoView {
    let state = expect_context::<WidgetState>();
    let files = state.files;
    let figures = RwSignal::new(OverallSum::default().finish());
    let sum = move || {
        let now = files.try_with_untracked(|list| {
            let mut sum = OverallSum::default();
            list.iter()
                .for_each(|f| f.view.with_untracked(|v| sum.add(v)));
            sum.finish()
        });
        if let Some(now) = now {
            if figures.try_with_untracked(|f| *f != now) == Some(true) {
                figures.try_set(now);
            }
        }
    };
    // Progress is summed again at most every SUM_EVERY_MS, not on every row's update:
    // summing a thousand rows on each of their updates made a large pick quadratic.
    let pending = Rc::new(Cell::new(false));
    Effect::new(move |_| {
        state.changed.track();
        if !pending.replace(true) {
            let pending = pending.clone();
            Timeout::new(SUM_EVERY_MS, move || {
                pending.set(false);
                sum();
            })
            .forget();
        }
    });
    // A file added, ended or removed shows with its batch: the last 100% must not lag.
    Effect::new(move |_| {
        state.ended.track();
        files.track();
        sum();
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
