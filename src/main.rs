//! The demo page's entry point: it only mounts.

fn main() {
    console_error_panic_hook::set_once();
    partway::ui::start_demo();
}
