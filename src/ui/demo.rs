//! The demo page: acts as a dev-mode user and mounts the widget.

use crate::browser::api::Api;
use crate::browser::uploader::UploaderConfig;
use crate::core::plan::MIB;
use crate::ui::widget::Widget;
use leptos::prelude::*;

/// A query parameter of the page's URL (`?user=alice&parallel=6&part_mib=16&part_timeout=30`).
fn param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// Settings from the page URL, for trying the widget out and for the benchmark.
fn config_from_url(token: String) -> UploaderConfig {
    let mut config = UploaderConfig {
        token: Some(token),
        ..UploaderConfig::default()
    };
    if let Some(n) = param("parallel").and_then(|v| v.parse().ok()) {
        config.engine.max_in_flight = n;
    }
    if let Some(mib) = param("part_mib").and_then(|v| v.parse::<u64>().ok()) {
        config.plan.part_size = mib * MIB;
        config.plan.single_put_max = config.plan.single_put_max.min(mib * MIB);
    }
    if let Some(secs) = param("part_timeout").and_then(|v| v.parse().ok()) {
        config.part_timeout = std::time::Duration::from_secs(secs);
    }
    config
}

/// Gets a dev-mode token (user from `?user=`, default `demo`) and mounts the widget.
pub fn start_demo() {
    let user = param("user").unwrap_or_else(|| "demo".into());
    wasm_bindgen_futures::spawn_local(async move {
        match Api::dev_token("", &user).await {
            Ok(token) => {
                let config = config_from_url(token);
                leptos::mount::mount_to_body(move || view! { <Widget config=config.clone() /> })
            }
            Err(failure) => leptos::mount::mount_to_body(move || {
                view! {
                    <p class="partway-error" data-testid="widget-error" role="alert">
                        "Could not reach the upload server: " {failure.user_message()}
                    </p>
                }
            }),
        }
    });
}
