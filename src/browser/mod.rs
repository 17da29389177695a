//! The browser layer: executes the core's commands with web-sys and feeds the outcomes
//! back. Thin on purpose: every decision lives in [`crate::core`].

pub mod api;
pub mod batch;
pub mod clock;
pub mod driver;
pub mod fingerprint;
pub mod folder;
pub mod hash;
pub mod json;
pub mod live;
pub mod network;
pub mod resume;
pub mod resume_store;
pub mod slice;
pub mod token;
pub mod uploader;
pub mod xhr;
