//! The browser's view of the network: `navigator.onLine` and the `online`/`offline` events.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Whether the browser believes it is online (true when it cannot tell).
pub fn is_online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

/// Listens to `online` and `offline` until dropped.
pub struct NetworkWatch {
    online: Closure<dyn FnMut()>,
    offline: Closure<dyn FnMut()>,
}

impl NetworkWatch {
    /// Calls `on_change(true)` when the network returns and `on_change(false)` when it goes.
    pub fn new(on_change: impl Fn(bool) + Clone + 'static) -> Option<NetworkWatch> {
        let window = web_sys::window()?;
        let up = on_change.clone();
        let online = Closure::<dyn FnMut()>::new(move || up(true));
        let offline = Closure::<dyn FnMut()>::new(move || on_change(false));
        window
            .add_event_listener_with_callback("online", online.as_ref().unchecked_ref())
            .ok()?;
        window
            .add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref())
            .ok()?;
        Some(NetworkWatch { online, offline })
    }
}

impl Drop for NetworkWatch {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "online",
                self.online.as_ref().unchecked_ref(),
            );
            let _ = window.remove_event_listener_with_callback(
                "offline",
                self.offline.as_ref().unchecked_ref(),
            );
        }
    }
}
