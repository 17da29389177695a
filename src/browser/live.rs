//! The live feed of a `live` element: the user's file changes, from the server's event
//! stream (`GET /api/events`). After a drop it connects again with a fresh ticket and
//! replays from the last event it saw, so nothing is missed.

use crate::browser::api::Api;
use crate::browser::json;
use crate::core::wire::{EventKind, RemoteEvent};
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{EventSource, MessageEvent};

/// The first wait before connecting again; it doubles up to [`MAX_RETRY_MS`].
const FIRST_RETRY_MS: u32 = 1_000;
const MAX_RETRY_MS: u32 = 30_000;

/// Called with each event, in order.
pub type OnRemote = Rc<dyn Fn(RemoteEvent)>;

/// A running feed; dropping it closes the stream.
pub struct LiveFeed(Rc<RefCell<Inner>>);

struct Inner {
    api: Api,
    on_event: OnRemote,
    source: Option<EventSource>,
    /// Handlers of the open stream, kept alive as long as it is.
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    timer: Option<Timeout>,
    /// The last event delivered: a reconnect replays from here.
    last: Option<u64>,
    retry_ms: u32,
    stopped: bool,
}

impl LiveFeed {
    /// Opens the feed of the user `api` signs in as.
    pub fn start(api: Api, on_event: OnRemote) -> LiveFeed {
        let inner = Rc::new(RefCell::new(Inner {
            api,
            on_event,
            source: None,
            handlers: Vec::new(),
            timer: None,
            last: None,
            retry_ms: FIRST_RETRY_MS,
            stopped: false,
        }));
        connect(Rc::downgrade(&inner));
        LiveFeed(inner)
    }
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        let mut inner = self.0.borrow_mut();
        inner.stopped = true;
        inner.timer = None;
        if let Some(source) = inner.source.take() {
            source.close();
        }
    }
}

/// Asks for a ticket and opens the stream; on any failure, tries again later.
fn connect(weak: Weak<RefCell<Inner>>) {
    spawn_local(async move {
        let Some(api) = weak.upgrade().map(|i| i.borrow().api.clone()) else {
            return;
        };
        let ticket = api.event_ticket().await;
        let Some(inner) = weak.upgrade() else { return };
        if inner.borrow().stopped {
            return;
        }
        let opened = ticket
            .ok()
            .and_then(|t| EventSource::new(&api.events_url(&t.ticket, inner.borrow().last)).ok());
        match opened {
            Some(source) => listen(&inner, &weak, source),
            None => retry_later(&inner, weak),
        }
    });
}

fn listen(inner: &Rc<RefCell<Inner>>, weak: &Weak<RefCell<Inner>>, source: EventSource) {
    let mut handlers = Vec::new();
    // Named events reach only listeners of their name, never `onmessage`.
    for kind in [
        EventKind::FileCreated,
        EventKind::FileDeleted,
        EventKind::FileProcessed,
        EventKind::UploadCreated,
        EventKind::UploadAborted,
    ] {
        let weak = weak.clone();
        let handler = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(inner) = weak.upgrade() else { return };
            let data = e
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string());
            let Some(event) = data.and_then(|d| json::from_text::<RemoteEvent>(&d).ok()) else {
                return;
            };
            let on_event = {
                let mut inner = inner.borrow_mut();
                inner.last = Some(event.id);
                inner.retry_ms = FIRST_RETRY_MS;
                inner.on_event.clone()
            };
            on_event(event);
        });
        let _ = source
            .add_event_listener_with_callback(kind.as_str(), handler.as_ref().unchecked_ref());
        handlers.push(handler);
    }
    // Where the stream starts: replay from there if it drops before any change.
    let weak_ready = weak.clone();
    let ready = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        let id = e
            .dyn_ref::<MessageEvent>()
            .and_then(|m| m.last_event_id().parse::<u64>().ok());
        if let (Some(inner), Some(id)) = (weak_ready.upgrade(), id) {
            let mut inner = inner.borrow_mut();
            inner.last = Some(inner.last.map_or(id, |seen| seen.max(id)));
            inner.retry_ms = FIRST_RETRY_MS;
        }
    });
    let _ = source.add_event_listener_with_callback("ready", ready.as_ref().unchecked_ref());
    handlers.push(ready);
    let weak_error = weak.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        // The browser would reconnect by itself, but with the same ticket, which
        // expires: close, and connect again with a fresh one.
        let Some(inner) = weak_error.upgrade() else {
            return;
        };
        let source = inner.borrow_mut().source.take();
        if let Some(source) = source {
            source.close();
        }
        retry_later(&inner, weak_error.clone());
    });
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    handlers.push(on_error);
    let mut state = inner.borrow_mut();
    state.source = Some(source);
    state.handlers = handlers;
}

fn retry_later(inner: &Rc<RefCell<Inner>>, weak: Weak<RefCell<Inner>>) {
    let mut state = inner.borrow_mut();
    if state.stopped {
        return;
    }
    let wait = state.retry_ms;
    state.retry_ms = (wait * 2).min(MAX_RETRY_MS);
    state.timer = Some(Timeout::new(wait, move || connect(weak)));
}
