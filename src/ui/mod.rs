//! The Leptos widget and the `<partway-upload>` element that embeds it in any page.
//! Components only show state and forward clicks; the uploads themselves run in
//! [`crate::browser`], and the element's state lives in [`state`].

mod drop_zone;
mod element;
mod events;
mod file_row;
mod mount;
mod overall;
mod own_rows;
mod redraw;
mod settings;
pub mod state;
mod unfinished;
mod widget;

pub use element::TAG;
pub use mount::mount_element;
