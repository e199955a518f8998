//! The visible "AI-GENERATED" label every video carries in its bottom-right corner (unless a
//! deployment turns it off): white capitals from a 5x7 bitmap font on a darkened box, scaled
//! with the frame.

/// The label.
const TEXT: &str = "AI-GENERATED";
/// Glyph rows, 5 bits each (the high bit is the left column).
const GLYPHS: [(char, [u8; 7]); 9] = [
    ('A', [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11]),
    ('I', [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E]),
    ('-', [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00]),
    ('G', [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F]),
    ('E', [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F]),
    ('N', [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11]),
    ('R', [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11]),
    ('T', [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04]),
    ('D', [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E]),
];

/// The label's box in a `width` x `height` frame: (left, top, right, bottom, scale).
pub fn label_box(width: u32, height: u32) -> (usize, usize, usize, usize, usize) {
    let scale = (width.min(height) / 256).max(1) as usize;
    let pad = 2 * scale;
    let text_w = TEXT.len() * 6 * scale - scale;
    let (w, h) = (text_w + 2 * pad, 7 * scale + 2 * pad);
    let right = (width as usize).saturating_sub(pad);
    let bottom = (height as usize).saturating_sub(pad);
    (
        right.saturating_sub(w),
        bottom.saturating_sub(h),
        right,
        bottom,
        scale,
    )
}

/// Draws the label on every frame of `rgb` (RGB24 frames of `width` x `height`, back to back).
pub fn stamp(rgb: &mut [u8], width: u32, height: u32) {
    let (w, h) = (width as usize, height as usize);
    let frame_bytes = w * h * 3;
    if frame_bytes == 0 {
        return;
    }
    let (left, top, right, bottom, scale) = label_box(width, height);
    let pad = 2 * scale;
    for frame in rgb.chunks_exact_mut(frame_bytes) {
        for y in top..bottom {
            for x in left..right {
                let at = (y * w + x) * 3;
                for c in &mut frame[at..at + 3] {
                    *c /= 3;
                }
            }
        }
        for (i, ch) in TEXT.chars().enumerate() {
            let Some((_, rows)) = GLYPHS.iter().find(|(g, _)| *g == ch) else {
                continue;
            };
            let x0 = left + pad + i * 6 * scale;
            for (row, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) == 0 {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let (x, y) = (x0 + col * scale + dx, top + pad + row * scale + dy);
                            if x < right && y < bottom {
                                let at = (y * w + x) * 3;
                                frame[at..at + 3].fill(255);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_changes_only_its_corner_of_every_frame() {
        let (w, h) = (256u32, 256u32);
        let frame = (w * h * 3) as usize;
        let plain = vec![128u8; 2 * frame];
        let mut marked = plain.clone();
        stamp(&mut marked, w, h);
        let (left, top, right, bottom, _) = label_box(w, h);
        assert!(
            right - left > 60 && bottom - top > 8,
            "{left} {top} {right} {bottom}"
        );
        for f in 0..2 {
            let mut inside = 0;
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let at = f * frame + (y * w as usize + x) * 3;
                    let differs = marked[at] != plain[at];
                    let corner = (left..right).contains(&x) && (top..bottom).contains(&y);
                    assert!(!differs || corner, "frame {f} pixel {x},{y} changed");
                    inside += usize::from(differs);
                }
            }
            assert_eq!(
                inside,
                (right - left) * (bottom - top),
                "the box is darkened"
            );
        }
        // White letters on it.
        assert!(marked.iter().filter(|b| **b == 255).count() > 100);
    }
}
