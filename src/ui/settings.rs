//! The element's attributes, read into upload settings and restrictions. They are read
//! when a file is added, so a change applies from the next file on.

use crate::browser::token::{Offer, Tokens};
use crate::browser::uploader::UploaderConfig;
use crate::core::restrict::{parse_size, Restrictions};
use crate::core::ChecksumMode;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlElement;

/// Most parts in flight an attribute may ask for.
const MAX_PARALLEL: usize = 16;

/// An attribute's value, if present.
pub fn attr(host: &HtmlElement, name: &str) -> Option<String> {
    host.get_attribute(name)
}

/// A boolean attribute: present means on, unless it says `false`.
pub fn flag(host: &HtmlElement, name: &str, default: bool) -> bool {
    match attr(host, name) {
        None => default,
        Some(v) => !v.trim().eq_ignore_ascii_case("false"),
    }
}

/// Tells the developer, once per reading, that an attribute was not understood.
fn warn(name: &str, value: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!(
        "<partway-upload>: {name}=\"{value}\" is not understood and is ignored"
    )));
}

fn size_attr(host: &HtmlElement, name: &str) -> Option<u64> {
    let value = attr(host, name)?;
    let size = parse_size(&value);
    if size.is_none() {
        warn(name, &value);
    }
    size
}

/// Tokens for `host`: its `getToken` property when it is a function, else its `token`
/// attribute; both read whenever a token is needed.
pub fn tokens(host: &HtmlElement) -> Tokens {
    let host = host.clone();
    Tokens::new(move || {
        let callback = js_sys::Reflect::get(&host, &JsValue::from_str("getToken"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match (callback, attr(&host, "token")) {
            (Some(f), _) => Offer::Callback(f),
            (None, Some(t)) if !t.is_empty() => Offer::Static(t),
            _ => Offer::Nothing,
        }
    })
}

/// Upload settings from the attributes, on top of the defaults.
pub fn uploader_config(host: &HtmlElement, tokens: Tokens) -> UploaderConfig {
    let mut config = UploaderConfig {
        api_base: attr(host, "endpoint").unwrap_or_default(),
        tokens,
        ..UploaderConfig::default()
    };
    if let Some(value) = attr(host, "parallel") {
        match value.trim().parse::<usize>() {
            // The engine normalises the rest (hashing far enough ahead for these).
            Ok(n) if (1..=MAX_PARALLEL).contains(&n) => config.engine.max_in_flight = n,
            _ => warn("parallel", &value),
        }
    }
    if let Some(value) = attr(host, "parallel-files") {
        match value.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_PARALLEL).contains(&n) => config.max_active_files = n,
            _ => warn("parallel-files", &value),
        }
    }
    if let Some(size) = size_attr(host, "part-size") {
        config.plan.part_size = size;
        config.plan.single_put_max = config.plan.single_put_max.min(size);
    }
    if let Some(value) = attr(host, "part-timeout") {
        match value.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => config.engine.idle_timeout = Duration::from_secs(secs),
            _ => warn("part-timeout", &value),
        }
    }
    if let Some(value) = attr(host, "api-timeout") {
        match value.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => config.engine.api_timeout = Duration::from_secs(secs),
            _ => warn("api-timeout", &value),
        }
    }
    if let Some(value) = attr(host, "checksum") {
        match ChecksumMode::parse(&value) {
            Some(mode) => config.checksum = mode,
            None => warn("checksum", &value),
        }
    }
    config.engine.file_sha256 = flag(host, "file-sha256", false);
    config
}

/// Restrictions from `accept`, `max-file-size`, `max-total-size` and `max-files`.
pub fn restrictions(host: &HtmlElement) -> Restrictions {
    let max_files = attr(host, "max-files").and_then(|v| match v.trim().parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            warn("max-files", &v);
            None
        }
    });
    let mut restrictions =
        Restrictions::default().with_accept(&attr(host, "accept").unwrap_or_default());
    restrictions.max_file_size = size_attr(host, "max-file-size");
    restrictions.max_total_size = size_attr(host, "max-total-size");
    restrictions.max_files = max_files;
    restrictions
}

/// The locale: the `locale` attribute, else the nearest `lang`, else the browser's.
pub fn locale(host: &HtmlElement) -> String {
    if let Some(l) = attr(host, "locale").filter(|l| !l.is_empty()) {
        return l;
    }
    if let Some(l) = host
        .closest("[lang]")
        .ok()
        .flatten()
        .and_then(|e| e.get_attribute("lang"))
        .filter(|l| !l.is_empty())
    {
        return l;
    }
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_else(|| "en".into())
}
