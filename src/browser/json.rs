//! JSON through the browser's own `JSON` and serde-wasm-bindgen: the wire types cross
//! into JavaScript without a JSON parser compiled into the wasm.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// `value` as a plain JavaScript value (objects for maps, numbers for integers).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, String> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| e.to_string())
}

/// `value` as JSON text.
pub fn to_text<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    let js = to_js(value)?;
    js_sys::JSON::stringify(&js)
        .map(String::from)
        .map_err(|_| "not serialisable to JSON".to_string())
}

/// JSON text parsed into a JavaScript value.
pub fn parse(text: &str) -> Result<JsValue, String> {
    js_sys::JSON::parse(text).map_err(|e| {
        js_sys::Error::from(e)
            .message()
            .as_string()
            .unwrap_or_else(|| "not JSON".into())
    })
}

/// A JavaScript value read into `T`.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// JSON text read into `T`.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    from_js(parse(text)?)
}
