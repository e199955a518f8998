//! The motion that keeps a clip from looking frozen: eye blinks every few seconds. A pure
//! function of time, so any batch of frames can be rendered on its own and every run of the
//! same clip looks the same.

/// Seconds between blinks, cycled (people blink every 2 to 6 seconds).
const BLINK_GAPS: [f32; 6] = [3.1, 4.4, 2.6, 5.2, 3.7, 2.9];
/// Lid closure over one blink, at 25 frames per second (about 160 ms).
const BLINK_SHAPE: [f32; 4] = [0.55, 1.0, 0.7, 0.25];

/// Eye closure at `frame` (0 open, 1 shut).
pub fn blink(frame: usize, fps: u32) -> f32 {
    let fps = fps.max(1) as f32;
    let t = frame as f32 / fps;
    let mut start = 1.2f32;
    let mut k = 0;
    while start <= t {
        let into = (t - start) * 25.0; // position in the 25 fps blink shape
        if into < BLINK_SHAPE.len() as f32 {
            let i = into.floor() as usize;
            let next = BLINK_SHAPE.get(i + 1).copied().unwrap_or(0.0);
            let f = into - i as f32;
            return BLINK_SHAPE[i] * (1.0 - f) + next * f;
        }
        start += BLINK_GAPS[k % BLINK_GAPS.len()];
        k += 1;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blinks_now_and_then_and_briefly() {
        let closed: Vec<usize> = (0..500).filter(|&f| blink(f, 25) > 0.5).collect();
        assert!(!closed.is_empty());
        // 20 seconds: between 3 and 8 blinks, each shut for at most 3 frames.
        let blinks = closed.windows(2).filter(|w| w[1] - w[0] > 5).count() + 1;
        assert!((3..=8).contains(&blinks), "{blinks} blinks");
        assert_eq!(blink(0, 25), 0.0);
    }
}
