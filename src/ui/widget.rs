//! The whole widget, as mounted in an element's shadow root.

use crate::browser::network::NetworkWatch;
use crate::browser::uploader::Uploader;
use crate::ui::drop_zone::{DropZone, Picked};
use crate::ui::file_row::FileRow;
use crate::ui::overall::OverallProgress;
use crate::ui::state::{SharedUploader, WidgetState};
use crate::ui::unfinished::UnfinishedUploads;
use leptos::prelude::*;
use send_wrapper::SendWrapper;

/// Retries the row with this id.
pub type RetryFn = std::rc::Rc<dyn Fn(&str)>;

/// What a row's "Retry" calls, shared through context.
#[derive(Clone)]
pub struct RetryRow(pub SendWrapper<RetryFn>);

/// The rows rendered so far.
fn rendered(state: WidgetState) -> Vec<crate::ui::state::FileItem> {
    let shown = state.shown.get();
    state
        .files
        .with(|list| list.iter().take(shown).cloned().collect())
}

/// The upload widget: pick, drop or paste files, watch them go up, pause, cancel, retry.
#[component]
pub fn Widget<F>(uploader: Uploader, state: WidgetState, add: F, retry: RetryRow) -> impl IntoView
where
    F: Fn(Picked) + Clone + 'static,
{
    provide_context::<SharedUploader>(SendWrapper::new(uploader.clone()));
    provide_context(state);
    provide_context(retry);

    // Uploads hold still while the browser is offline and go on when it is back.
    let watch = {
        let u = uploader.clone();
        SendWrapper::new(NetworkWatch::new(move |online| u.set_online(online)))
    };
    on_cleanup(move || drop(watch));
    let all = StoredValue::new(SendWrapper::new(uploader));
    let t = move |key: &'static str| move || state.messages.with(|m| m.get(key, &[]));

    view! {
        <div class="partway">
            <DropZone on_files=add />
            <UnfinishedUploads />
            <OverallProgress />
            <div class="partway-actions" class:empty=move || state.files.with(|f| f.is_empty())>
                <button type="button" part="button" data-testid="pause-all"
                    on:click=move |_| all.with_value(|u| u.pause_all())>{t("pauseAll")}</button>
                <button type="button" part="button" data-testid="resume-all"
                    on:click=move |_| all.with_value(|u| u.resume_all())>{t("resumeAll")}</button>
            </div>
            <ul class="partway-files">
                <For each=move || rendered(state) key=|item| item.id.clone() let:item>
                    <FileRow item=item />
                </For>
            </ul>
            <div class="partway-announcer" role="status" aria-live="polite" data-testid="announcer">
                {move || state.announcement.get()}
            </div>
        </div>
    }
}
