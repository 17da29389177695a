//! One part PUT through `XMLHttpRequest`: unlike `fetch`, it reports upload progress,
//! and it can be aborted.

use crate::core::{ETag, Failure, SignedUrl};
use std::collections::BTreeMap;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

/// How a PUT ended.
pub type PutOutcome = Result<ETag, Failure>;

/// A PUT in flight. Dropping it aborts the request, so no callback can outlive it.
pub struct PartPut {
    xhr: XmlHttpRequest,
    // The closures must live as long as the request can call them.
    _callbacks: Vec<Closure<dyn FnMut(ProgressEvent)>>,
}

impl PartPut {
    /// Starts `PUT url` with `body`, reporting bytes sent to `on_progress` and the end to
    /// `on_done` (exactly once, unless aborted).
    pub fn start(
        url: &SignedUrl,
        headers: &BTreeMap<String, String>,
        body: &Blob,
        on_progress: impl Fn(u64) + 'static,
        on_done: impl Fn(PutOutcome) + 'static,
    ) -> Result<PartPut, Failure> {
        let xhr = XmlHttpRequest::new().map_err(|_| Failure::Network)?;
        xhr.open_with_async("PUT", url.expose(), true)
            .map_err(|_| Failure::Network)?;
        for (name, value) in headers {
            xhr.set_request_header(name, value)
                .map_err(|_| Failure::Network)?;
        }
        // No deadline: the engine gives up on a PUT only when its progress stops.

        let on_done = std::rc::Rc::new(on_done);
        let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
            on_progress(e.loaded() as u64);
        });
        let load = {
            let (xhr, on_done) = (xhr.clone(), on_done.clone());
            Closure::<dyn FnMut(ProgressEvent)>::new(move |_| on_done(outcome(&xhr)))
        };
        let error = {
            let on_done = on_done.clone();
            Closure::<dyn FnMut(ProgressEvent)>::new(move |_| on_done(Err(Failure::Network)))
        };
        let aborted = {
            let on_done = on_done.clone();
            // Only the browser aborts with handlers attached (our own abort detaches them
            // first): report it, or the part would wait for an answer forever.
            Closure::<dyn FnMut(ProgressEvent)>::new(move |_| on_done(Err(Failure::Network)))
        };
        let timed_out =
            Closure::<dyn FnMut(ProgressEvent)>::new(move |_| on_done(Err(Failure::Timeout)));

        let upload = xhr.upload().map_err(|_| Failure::Network)?;
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        xhr.set_onload(Some(load.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(error.as_ref().unchecked_ref()));
        xhr.set_ontimeout(Some(timed_out.as_ref().unchecked_ref()));
        xhr.set_onabort(Some(aborted.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(body))
            .map_err(|_| Failure::Network)?;
        Ok(PartPut {
            xhr,
            _callbacks: vec![progress, load, error, timed_out, aborted],
        })
    }

    /// Aborts the request. No callback fires afterwards.
    pub fn abort(self) {
        drop(self);
    }
}

impl Drop for PartPut {
    fn drop(&mut self) {
        // abort() fires its events synchronously: detach first, so nothing re-enters
        // the driver while it is busy aborting. On a finished request it does nothing.
        self.xhr.set_onload(None);
        self.xhr.set_onerror(None);
        self.xhr.set_ontimeout(None);
        self.xhr.set_onabort(None);
        if let Ok(upload) = self.xhr.upload() {
            upload.set_onprogress(None);
        }
        let _ = self.xhr.abort();
    }
}

fn outcome(xhr: &XmlHttpRequest) -> PutOutcome {
    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        return Err(Failure::Network);
    }
    if (200..300).contains(&status) {
        return match xhr.get_response_header("ETag").ok().flatten() {
            Some(etag) if !etag.is_empty() => Ok(ETag(etag)),
            // Without ETag the part cannot be completed: almost always a CORS setting.
            _ => Err(Failure::Status {
                status: 400,
                retry_after: None,
                message: Some("Storage stored a part but did not expose its ETag; its CORS settings must expose the ETag header.".into()),
                code: None,
            }),
        };
    }
    let retry_after = xhr
        .get_response_header("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    Err(Failure::Status {
        status,
        retry_after,
        message: error_message(&body),
        code: None,
    })
}

/// The person-facing message of a JSON error body (ours) or of an S3 XML error.
fn error_message(body: &str) -> Option<String> {
    if let Ok(parsed) = crate::browser::json::from_text::<crate::core::wire::ErrorBody>(body) {
        return Some(parsed.error.message);
    }
    let start = body.find("<Message>")? + "<Message>".len();
    let end = body[start..].find("</Message>")? + start;
    Some(format!("Storage refused the part: {}", &body[start..end]))
}
