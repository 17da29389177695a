//! Thumbnails of uploaded images: decoded with bounds (a small file can claim to be a
//! gigapixel image), scaled to fit [`SIDE`] pixels keeping the aspect, encoded as PNG.

use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Longest side of a thumbnail, in pixels.
pub const SIDE: u32 = 256;
/// Images larger than this (bytes) get no thumbnail: reading them whole costs too much.
pub const MAX_SOURCE: u64 = 64 * 1024 * 1024;
/// Decoding may use at most this much memory.
const MAX_DECODE: u64 = 512 * 1024 * 1024;

/// The image format of a detected type, for the types that get thumbnails.
pub fn format_of(mime: &str) -> Option<ImageFormat> {
    match mime {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// A PNG thumbnail of `bytes`, an image in `format`; `Err` says why none could be made.
pub fn make(bytes: &[u8], format: ImageFormat) -> Result<Vec<u8>, String> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(MAX_DECODE);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| e.to_string())?;
    // Never larger than the image itself.
    let thumb = if image.width() <= SIDE && image.height() <= SIDE {
        image
    } else {
        image.thumbnail(SIDE, SIDE)
    };
    let mut out = Cursor::new(Vec::new());
    thumb
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).expect("encodes");
        out.into_inner()
    }

    #[test]
    fn a_thumbnail_fits_the_side_and_keeps_the_aspect() {
        let thumb = make(&png(1024, 512), ImageFormat::Png).expect("a thumbnail");
        let back = image::load_from_memory(&thumb).expect("a PNG");
        assert_eq!((back.width(), back.height()), (256, 128));
        let small = make(&png(40, 30), ImageFormat::Png).expect("a thumbnail");
        let back = image::load_from_memory(&small).expect("a PNG");
        assert_eq!((back.width(), back.height()), (40, 30), "not enlarged");
    }

    #[test]
    fn bytes_that_are_no_image_give_a_reason_not_a_panic() {
        let err = make(b"\x89PNG\r\n\x1a\nnot really", ImageFormat::Png).expect_err("no image");
        assert!(!err.is_empty());
    }
}
