//! Partway: a browser upload widget that sends files to object storage in parallel,
//! checksummed parts.
//!
//! - [`core`] decides (plans, schedules, retries, accounts) and never touches I/O.
//! - `browser` (feature `web`) executes the core's commands with web-sys.
//! - `ui` (feature `web`) is the Leptos widget.

// Tests may unwrap: a panic there is a failed test, which is what we want.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod core;

#[cfg(feature = "web")]
pub mod browser;
#[cfg(feature = "web")]
pub mod ui;
