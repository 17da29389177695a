//! `mount()`: a configured `<partway-upload>` created from an options object, for
//! frameworks that would rather not write attributes.

use crate::ui::element::TAG;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

/// A size option of `mount()`: bytes, or text such as `"2 GiB"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum SizeOption {
    Bytes(f64),
    Text(String),
}

impl SizeOption {
    fn text(&self) -> String {
        match self {
            SizeOption::Bytes(n) => format!("{}", n.max(0.0).round() as u64),
            SizeOption::Text(t) => t.clone(),
        }
    }
}

/// The options of `mount()`: the attributes in camelCase, plus the properties.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MountOptions {
    endpoint: Option<String>,
    token: Option<String>,
    accept: Option<String>,
    max_file_size: Option<SizeOption>,
    max_total_size: Option<SizeOption>,
    max_files: Option<u32>,
    multiple: Option<bool>,
    parallel: Option<u32>,
    parallel_files: Option<u32>,
    part_timeout: Option<u32>,
    api_timeout: Option<u32>,
    part_size: Option<SizeOption>,
    checksum: Option<String>,
    file_sha256: Option<bool>,
    locale: Option<String>,
    disabled: Option<bool>,
    live: Option<bool>,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    get_token: JsValue,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    messages: JsValue,
}

/// Mounts a `<partway-upload>` into `target` with `options` (the attributes in camelCase,
/// plus `getToken` and `messages`) and returns the element, for frameworks.
#[wasm_bindgen(js_name = mountElement)]
pub fn mount_element(target: &web_sys::Element, options: JsValue) -> Result<HtmlElement, JsError> {
    let options: MountOptions = if options.is_undefined() || options.is_null() {
        MountOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("partway mount(): bad options: {e}")))?
    };
    let document = target
        .owner_document()
        .ok_or_else(|| JsError::new("partway mount(): the target is not in a document"))?;
    let el: HtmlElement = document
        .create_element(TAG)
        .map_err(|_| JsError::new("partway mount(): cannot create the element"))?
        .unchecked_into();
    let set = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            let _ = el.set_attribute(name, &value);
        }
    };
    set("endpoint", options.endpoint);
    set("token", options.token);
    set("accept", options.accept);
    set(
        "max-file-size",
        options.max_file_size.as_ref().map(SizeOption::text),
    );
    set(
        "max-total-size",
        options.max_total_size.as_ref().map(SizeOption::text),
    );
    set("max-files", options.max_files.map(|n| n.to_string()));
    set("multiple", options.multiple.map(|m| m.to_string()));
    set("parallel", options.parallel.map(|n| n.to_string()));
    set(
        "parallel-files",
        options.parallel_files.map(|n| n.to_string()),
    );
    set("part-timeout", options.part_timeout.map(|n| n.to_string()));
    set("api-timeout", options.api_timeout.map(|n| n.to_string()));
    set(
        "part-size",
        options.part_size.as_ref().map(SizeOption::text),
    );
    set("checksum", options.checksum);
    if options.file_sha256 == Some(true) {
        set("file-sha256", Some(String::new()));
    }
    set("locale", options.locale);
    if options.disabled == Some(true) {
        set("disabled", Some(String::new()));
    }
    if options.live == Some(true) {
        set("live", Some(String::new()));
    }
    for (name, value) in [
        ("getToken", &options.get_token),
        ("messages", &options.messages),
    ] {
        if !value.is_undefined() {
            let _ = js_sys::Reflect::set(&el, &JsValue::from_str(name), value);
        }
    }
    target
        .append_child(&el)
        .map_err(|_| JsError::new("partway mount(): cannot append to the target"))?;
    Ok(el)
}
