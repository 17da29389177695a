//! The uploads a previous visit left unfinished, listed on load so the person knows
//! that picking the same file again continues where it stopped.

use crate::ui::state::{SharedUploader, WidgetState};
use leptos::prelude::*;

/// One unfinished upload, as listed.
#[derive(Clone, Debug, PartialEq)]
struct Unfinished {
    name: String,
    size: u64,
    parts_done: usize,
    part_count: u32,
}

/// Lists unfinished uploads from IndexedDB; drops unusable records with a visible note.
#[component]
pub fn UnfinishedUploads() -> impl IntoView {
    let state = expect_context::<WidgetState>();
    let m = state.messages;
    let items = RwSignal::new(Vec::<Unfinished>::new());
    let notices = RwSignal::new(Vec::<String>::new());
    if let Some(uploader) = use_context::<SharedUploader>() {
        let uploader = uploader.take();
        wasm_bindgen_futures::spawn_local(async move {
            let Some(store) = uploader.store().await else {
                return;
            };
            let Ok(all) = store.all(js_sys::Date::now() as u64).await else {
                return;
            };
            for (key, record) in all {
                match record {
                    // Kept by earlier versions: a file of one part is sent again whole,
                    // so its record can only mislead.
                    Ok(r) if r.part_count <= 1 => {
                        let _ = store.delete(&key).await;
                    }
                    Ok(r) => {
                        let _ = items.try_update(|list| {
                            list.push(Unfinished {
                                name: r.fingerprint.name.clone(),
                                size: r.fingerprint.size,
                                parts_done: r.parts.len(),
                                part_count: r.part_count,
                            })
                        });
                    }
                    Err(reason) => {
                        let _ = store.delete(&key).await;
                        let text = m.try_with_untracked(|m| m.dropped(&reason));
                        let _ = notices.try_update(|n| n.extend(text));
                    }
                }
            }
        });
    }
    view! {
        <section class="partway-unfinished" data-testid="unfinished"
            class:empty=move || items.with(|i| i.is_empty()) && notices.with(|n| n.is_empty())>
            <Show when=move || items.with(|i| !i.is_empty())>
                <p>{move || m.with(|m| m.get("unfinished", &[]))}</p>
            </Show>
            <ul>
                {move || items.get().into_iter().map(|u| view! {
                    <li data-testid="unfinished-upload">
                        {move || m.with(|m| m.get("unfinishedItem", &[
                            ("name", &u.name),
                            ("size", &m.bytes(u.size)),
                            ("done", &u.parts_done.to_string()),
                            ("count", &u.part_count.to_string()),
                        ]))}
                    </li>
                }).collect_view()}
            </ul>
            {move || notices.get().into_iter().map(|n| view! {
                <p class="partway-note" data-testid="resume-notice" role="status">{n}</p>
            }).collect_view()}
        </section>
    }
}
