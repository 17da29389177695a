//! The browser layer: executes the core's commands with web-sys and feeds the outcomes
//! back. Thin on purpose: every decision lives in [`crate::core`].

pub mod api;
pub mod clock;
pub mod driver;
pub mod hash;
pub mod network;
pub mod slice;
pub mod uploader;
pub mod xhr;
