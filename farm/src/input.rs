//! Checks on the user's files before any heavy work: type by content (not by name), size,
//! pixel count from the header before decoding (decompression bombs), and clean decoding.

use crate::error::FarmError;
use image::{ImageDecoder, ImageFormat, ImageReader, RgbImage};
use spinbot_core::limits::{MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS, MAX_VOICE_NOTE_BYTES};
use spinbot_core::{AudioKind, InputError};
use std::io::Cursor;
use std::path::Path;

/// Reads a file of at most `limit` bytes, answering `too_large` (given the size in MB) past it.
fn read_limited(
    path: &Path,
    limit: u64,
    too_large: impl Fn(f64) -> InputError,
) -> Result<Vec<u8>, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| unreadable(path, &e))?;
    if !meta.is_file() {
        return Err(InputError::Unreadable(format!(
            "{} is not a file",
            path.display()
        )));
    }
    if meta.len() > limit {
        return Err(too_large(meta.len() as f64 / 1e6));
    }
    std::fs::read(path).map_err(|e| unreadable(path, &e))
}

fn unreadable(path: &Path, e: &std::io::Error) -> InputError {
    let why = match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    };
    InputError::Unreadable(format!("{} ({why})", path.display()))
}

/// The photo's format from its first bytes.
fn photo_format(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

/// Whether a JPEG's image data is complete: past the markers up to the start of scan, the
/// end-of-image marker must follow (an embedded thumbnail's own marker does not count).
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return false;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        if marker == 0xDA {
            let scan = at + 2 + len;
            return scan < bytes.len() && bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9]);
        }
        at += 2 + len;
    }
    false
}

/// Loads a photo as upright RGB after every check.
pub fn load_photo(path: &Path) -> Result<RgbImage, FarmError> {
    let bytes = read_limited(path, MAX_PHOTO_BYTES, |mb| InputError::PhotoTooLarge { mb })?;
    decode_photo(&bytes).map_err(FarmError::from)
}

/// Decodes photo bytes as upright RGB after every check.
pub fn decode_photo(bytes: &[u8]) -> Result<RgbImage, InputError> {
    let format = photo_format(bytes).ok_or(InputError::PhotoFormat)?;
    if format == ImageFormat::Jpeg && !jpeg_has_end(bytes) {
        // The JPEG decoder fills a cut-off image with grey instead of failing.
        return Err(InputError::PhotoCorrupt);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.no_limits();
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| InputError::PhotoCorrupt)?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PHOTO_PIXELS {
        return Err(InputError::PhotoTooManyPixels {
            megapixels: pixels as f64 / 1e6,
        });
    }
    if pixels == 0 {
        return Err(InputError::PhotoCorrupt);
    }
    let orientation = decoder.orientation().ok();
    let mut image =
        image::DynamicImage::from_decoder(decoder).map_err(|_| InputError::PhotoCorrupt)?;
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    Ok(image.to_rgb8())
}

/// Checks a voice note's size, type and (for Ogg) completeness; its length is checked when
/// it is decoded.
pub fn check_voice_note(path: &Path) -> Result<AudioKind, FarmError> {
    let bytes = read_limited(path, MAX_VOICE_NOTE_BYTES, |mb| InputError::AudioTooLarge {
        mb,
    })?;
    let kind = AudioKind::sniff(&bytes)?;
    if kind == AudioKind::Ogg && !ogg_is_complete(&bytes) {
        // ffmpeg drops a cut-off Ogg page without a word.
        return Err(InputError::AudioCorrupt.into());
    }
    Ok(kind)
}

/// Whether an Ogg stream is whole: every page fits in the file and the last one carries the
/// end-of-stream flag.
fn ogg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 0usize;
    let mut last_flags = 0u8;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + 27) else {
            return false;
        };
        if &header[..4] != b"OggS" {
            return false;
        }
        last_flags = header[5];
        let segments = usize::from(header[26]);
        let Some(table) = bytes.get(at + 27..at + 27 + segments) else {
            return false;
        };
        let body: usize = table.iter().map(|&s| usize::from(s)).sum();
        at += 27 + segments + body;
    }
    at == bytes.len() && last_flags & 0x04 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png)
            .expect("encode png");
        out.into_inner()
    }

    /// PNG's chunk checksum, so the edited header below stays valid.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn decodes_a_small_png() {
        let img = decode_photo(&png(8, 6)).expect("decodes");
        assert_eq!(img.dimensions(), (8, 6));
        assert_eq!(img.get_pixel(3, 3).0, [10, 20, 30]);
    }

    #[test]
    fn refuses_by_content_not_name() {
        assert_eq!(decode_photo(b"GIF89a......"), Err(InputError::PhotoFormat));
        assert_eq!(decode_photo(b""), Err(InputError::PhotoFormat));
    }

    #[test]
    fn refuses_a_truncated_png() {
        let bytes = png(64, 64);
        assert_eq!(
            decode_photo(&bytes[..bytes.len() / 2]),
            Err(InputError::PhotoCorrupt)
        );
    }

    #[test]
    fn refuses_a_truncated_jpeg() {
        let img = RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 9]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Jpeg)
            .expect("encode jpeg");
        let bytes = out.into_inner();
        assert!(decode_photo(&bytes).is_ok());
        assert_eq!(
            decode_photo(&bytes[..bytes.len() - 40]),
            Err(InputError::PhotoCorrupt)
        );
    }

    #[test]
    fn refuses_a_pixel_bomb_from_its_header() {
        // A PNG header claiming 10000 x 10000 pixels, with no pixel data behind it.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&10_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            decode_photo(&bytes),
            Err(InputError::PhotoTooManyPixels { megapixels: 100.0 })
        );
    }

    /// One Ogg page holding `body`, with the given header flags.
    fn ogg_page(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut page = b"OggS\0".to_vec();
        page.push(flags);
        page.extend_from_slice(&[0; 20]);
        page.push(1);
        page.push(body.len() as u8);
        page.extend_from_slice(body);
        page
    }

    #[test]
    fn spots_a_cut_ogg_stream() {
        let whole = [
            ogg_page(2, b"head"),
            ogg_page(0, &[7; 100]),
            ogg_page(4, &[8; 50]),
        ]
        .concat();
        assert!(ogg_is_complete(&whole));
        assert!(!ogg_is_complete(&whole[..whole.len() - 10]));
        let no_end = [ogg_page(2, b"head"), ogg_page(0, &[7; 100])].concat();
        assert!(!ogg_is_complete(&no_end));
    }
}
