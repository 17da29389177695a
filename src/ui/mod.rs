//! The Leptos widget: a drop zone, a row per file and an overall bar. Components only
//! show state and forward clicks; the uploads themselves run in [`crate::browser`].

mod demo;
mod drop_zone;
mod file_row;
mod overall;
mod unfinished;
mod widget;

pub use demo::start_demo;
pub use widget::{FileItem, Widget};
