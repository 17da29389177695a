//! Where bearer tokens come from: a static token, or the page's async `getToken`
//! callback, asked lazily before the first API call and once more after a 401.

use crate::core::wire::ErrorCode;
use crate::core::Failure;
use js_sys::{Function, Promise};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What the page offers right now.
pub enum Offer {
    /// No token: requests go without `Authorization`.
    Nothing,
    /// A fixed token (the `token` attribute).
    Static(String),
    /// `getToken`: called for a token, may return a string or a promise of one.
    Callback(Function),
}

enum State {
    Empty,
    /// One call to `getToken` in flight; concurrent requests wait for the same promise.
    Pending(Promise),
    Ready(String),
}

struct Inner {
    offer: Box<dyn Fn() -> Offer>,
    state: RefCell<State>,
}

/// A shared token source. Cloning gives another handle to the same cache.
#[derive(Clone)]
pub struct Tokens(Rc<Inner>);

impl Tokens {
    /// Tokens from whatever `offer` returns when one is needed (read every time, so a
    /// `getToken` set later is used).
    pub fn new(offer: impl Fn() -> Offer + 'static) -> Self {
        Tokens(Rc::new(Inner {
            offer: Box::new(offer),
            state: RefCell::new(State::Empty),
        }))
    }

    /// Always the same token, or none.
    pub fn fixed(token: Option<String>) -> Self {
        Tokens::new(move || match &token {
            Some(t) => Offer::Static(t.clone()),
            None => Offer::Nothing,
        })
    }

    /// Whether a 401 answered to `used` can be healed by asking again.
    pub fn can_refresh(&self, used: Option<&str>) -> bool {
        match (self.0.offer)() {
            Offer::Callback(_) => true,
            Offer::Static(t) => used != Some(t.as_str()),
            Offer::Nothing => false,
        }
    }

    /// The token to use; `refused` is one the server just answered 401 to, which is
    /// never handed out again: `getToken` is asked for a fresh one.
    pub async fn get(&self, refused: Option<&str>) -> Result<Option<String>, Failure> {
        let callback = match (self.0.offer)() {
            Offer::Nothing => return Ok(None),
            Offer::Static(t) => return Ok(Some(t)),
            Offer::Callback(f) => f,
        };
        let pending = match &*self.0.state.borrow() {
            State::Ready(t) if Some(t.as_str()) != refused => return Ok(Some(t.clone())),
            State::Pending(p) => Some(p.clone()),
            _ => None,
        };
        let promise = match pending {
            Some(p) => p,
            None => {
                // Called with no borrow held: the page's callback may do anything,
                // including use the element.
                let p = call(&callback);
                *self.0.state.borrow_mut() = State::Pending(p.clone());
                p
            }
        };
        let outcome = JsFuture::from(promise.clone()).await;
        let mut state = self.0.state.borrow_mut();
        let token = outcome
            .ok()
            .and_then(|v| v.as_string())
            .filter(|t| !t.is_empty());
        match token {
            Some(t) => {
                if matches!(&*state, State::Pending(p) if JsValue::from(p) == JsValue::from(&promise))
                {
                    *state = State::Ready(t.clone());
                }
                Ok(Some(t))
            }
            None => {
                if matches!(&*state, State::Pending(p) if JsValue::from(p) == JsValue::from(&promise))
                {
                    *state = State::Empty;
                }
                Err(Failure::refused(
                    401,
                    ErrorCode::Unauthorized,
                    "Could not sign in to the upload server: getToken() gave no token.",
                ))
            }
        }
    }
}

/// Calls `getToken`, turning a thrown error or a plain value into a promise.
fn call(callback: &Function) -> Promise {
    match callback.call0(&JsValue::UNDEFINED) {
        Ok(v) => match v.dyn_into::<Promise>() {
            Ok(p) => p,
            Err(v) => Promise::resolve(&v),
        },
        Err(e) => Promise::reject(&e),
    }
}
