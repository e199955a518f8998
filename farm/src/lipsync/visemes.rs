//! The mouth drawn from timed phones: each phone's mouth shape (how open, round and wide;
//! the visemes of the MPEG-4 / Oculus set), blended over time by dominance so the lips
//! anticipate the next sound and carry the last (coarticulation, after Cohen and Massaro),
//! diphthongs gliding through their two symbols, and the lips shut (sealed, even when the
//! photo's are parted) for at least one frame on every p, b and m.

use super::mouth::MouthTrack;
use super::phones::Phones;

/// How one phone shapes the mouth, each in [0, 1], and how strongly it holds that shape
/// against its neighbours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub open: f32,
    pub round: f32,
    pub wide: f32,
    pub dominance: f32,
    /// The lips press together (p, b, m).
    pub sealed: bool,
}

const fn shape(open: f32, round: f32, wide: f32, dominance: f32) -> Shape {
    Shape {
        open,
        round,
        wide,
        dominance,
        sealed: false,
    }
}

/// The mouth of a pause: shut (at rest, as in the photo, before the speech starts).
pub const REST: Shape = shape(0.0, 0.0, 0.0, 0.6);

/// The shape of an IPA symbol as espeak-ng writes it (and the recogniser's phones mapped to
/// IPA); `None` for a symbol that shapes nothing of its own (it takes its neighbours').
pub fn shape_of(symbol: &str) -> Option<Shape> {
    let mut chars = symbol.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    Some(match c {
        'p' | 'b' | 'm' => Shape {
            sealed: true,
            ..shape(0.0, 0.0, 0.35, 1.0)
        },
        'f' | 'v' => shape(0.04, 0.0, 0.45, 0.9),
        'θ' | 'ð' => shape(0.18, 0.0, 0.45, 0.5),
        's' | 'z' => shape(0.14, 0.0, 0.55, 0.6),
        't' | 'd' | 'n' | 'l' | 'ɾ' | 'ʔ' | 'ɫ' => shape(0.24, 0.0, 0.45, 0.3),
        'k' | 'ɡ' | 'g' | 'ŋ' | 'x' | 'c' | 'ɟ' | 'χ' | 'ʁ' | 'ɣ' => {
            shape(0.3, 0.0, 0.45, 0.25)
        }
        'ʃ' | 'ʒ' | 'ɕ' | 'ʑ' => shape(0.2, 0.7, 0.25, 0.7),
        'ɹ' | 'r' | 'ɻ' => shape(0.18, 0.6, 0.3, 0.6),
        'w' => shape(0.12, 1.0, 0.05, 0.9),
        'j' | 'ç' | 'ʎ' | 'ɲ' => shape(0.2, 0.0, 0.7, 0.5),
        'h' | 'ɦ' => shape(0.35, 0.0, 0.4, 0.1),
        'i' | 'y' => shape(0.3, if c == 'y' { 0.9 } else { 0.0 }, 0.9, 0.8),
        'ɪ' | 'ᵻ' | 'ɨ' => shape(0.4, 0.0, 0.7, 0.6),
        'e' | 'ø' => shape(0.55, if c == 'ø' { 0.7 } else { 0.0 }, 0.7, 0.8),
        'ɛ' | 'œ' => shape(0.7, if c == 'œ' { 0.6 } else { 0.0 }, 0.6, 0.8),
        'æ' => shape(0.9, 0.0, 0.7, 0.9),
        'a' | 'ɑ' | 'ɐ' | 'ɒ' => shape(1.0, if c == 'ɒ' { 0.4 } else { 0.0 }, 0.5, 0.9),
        'ʌ' => shape(0.7, 0.0, 0.5, 0.8),
        'ə' => shape(0.45, 0.0, 0.5, 0.5),
        'ɚ' | 'ɜ' | 'ɝ' => shape(0.4, 0.4, 0.4, 0.6),
        'ɔ' => shape(0.75, 0.6, 0.3, 0.8),
        'o' => shape(0.55, 0.8, 0.2, 0.8),
        'ʊ' => shape(0.35, 0.8, 0.2, 0.7),
        'u' | 'ɯ' => shape(0.25, 1.0, 0.1, 0.9),
        '_' => REST,
        _ => return None,
    })
}

/// Tuning of the blend (seconds and gains), one set for every voice and recogniser.
#[derive(Debug, Clone, Copy)]
pub struct Blend {
    /// How far a phone's hold on the mouth reaches beyond its own time: forwards (the lips
    /// anticipating it) and backwards (carrying it over).
    pub ahead: f64,
    pub behind: f64,
    /// The opening a fully open phone asks of the rig.
    pub open_gain: f32,
    /// The lips shut this long before a p, b or m is heard (the closure is silent), and
    /// up to `closure_in_pause` before it after a pause.
    pub closure: f64,
    pub closure_in_pause: f64,
}

pub const BLEND: Blend = Blend {
    ahead: 0.045,
    behind: 0.035,
    open_gain: 0.75,
    closure: 0.04,
    closure_in_pause: 0.12,
};

/// One phone placed for the blend: its time (seconds, lead corrected), shape, and whether
/// it is the pause before the speech starts (where the face is the photo's, as taken).
struct Placed {
    start: f64,
    end: f64,
    shape: Shape,
    at_rest: bool,
}

/// The mouth of `frames` video frames at `fps` from `phones`.
pub fn phone_track(phones: &Phones, fps: u32, frames: usize) -> MouthTrack {
    phone_track_with(phones, fps, frames, BLEND)
}

pub fn phone_track_with(phones: &Phones, fps: u32, frames: usize, blend: Blend) -> MouthTrack {
    let lead = phones.timing.lead();
    let mut placed: Vec<Placed> = Vec::with_capacity(phones.phones.len());
    for phone in &phones.phones {
        let (start, end) = (phone.start - lead, phone.end - lead);
        match shape_of(&phone.symbol) {
            // Pauses in a row are one pause.
            Some(REST) if placed.last().is_some_and(|p| p.shape == REST) => {
                if let Some(last) = placed.last_mut() {
                    last.end = end;
                }
            }
            Some(shape) => {
                let at_rest = shape == REST && placed.iter().all(|p| p.shape == REST);
                placed.push(Placed {
                    start,
                    end,
                    shape,
                    at_rest,
                })
            }
            // A symbol with no shape of its own lengthens the phone before it.
            None => {
                if let Some(last) = placed.last_mut() {
                    last.end = end;
                }
            }
        }
    }
    let fps = f64::from(fps.max(1));
    let mut track = MouthTrack::closed(frames);
    let mut first = 0;
    for f in 0..frames {
        let t = f as f64 / fps;
        while first < placed.len() && placed[first].end + 4.0 * blend.behind < t {
            first += 1;
        }
        let (mut open, mut round, mut wide, mut seal, mut rest, mut weight) =
            (0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
        for p in placed[first..]
            .iter()
            .take_while(|p| p.start - 4.0 * blend.ahead <= t)
        {
            let distance = if t < p.start {
                (p.start - t) / blend.ahead
            } else if t > p.end {
                (t - p.end) / blend.behind
            } else {
                0.0
            };
            let w = p.shape.dominance * (-distance as f32).exp();
            open += w * p.shape.open;
            round += w * p.shape.round;
            wide += w * p.shape.wide;
            seal += w * f32::from(u8::from(p.shape.sealed));
            rest += w * f32::from(u8::from(p.at_rest));
            weight += w;
        }
        if weight > 0.0 {
            track.open[f] = (open / weight * blend.open_gain).clamp(0.0, 1.0);
            track.round[f] = (round / weight).clamp(0.0, 1.0);
            track.wide[f] = (wide / weight).clamp(0.0, 1.0);
            track.seal[f] = (seal / weight).clamp(0.0, 1.0);
            track.rest[f] = (rest / weight).clamp(0.0, 1.0);
            track.loudness[f] = open / weight;
        } else if placed.first().is_none_or(|p| t < p.start) {
            track.rest[f] = 1.0;
        }
    }
    // The lips meet on every p, b and m: the frames inside it shut, or the nearest one when
    // it falls between frames. Long pauses are shut, or the photo's pose before the speech.
    for (i, p) in placed.iter().enumerate() {
        let long_pause = p.shape == REST && p.end - p.start >= 0.12;
        if !(p.shape.sealed || long_pause) {
            continue;
        }
        let after_pause = i > 0 && placed[i - 1].shape == REST;
        let before = match (p.shape.sealed, after_pause) {
            (false, _) => 0.0,
            (true, false) => blend.closure,
            (true, true) => blend
                .closure_in_pause
                .min(placed[i - 1].end - placed[i - 1].start),
        };
        let (a, b) = ((p.start - before) * fps, p.end * fps);
        let mut shut: Vec<usize> = (a.ceil().max(0.0) as usize..)
            .take_while(|&f| (f as f64) <= b)
            .filter(|&f| f < frames)
            .collect();
        if shut.is_empty() && p.shape.sealed {
            let nearest = ((a + b) / 2.0).round().max(0.0) as usize;
            if nearest < frames {
                shut.push(nearest);
            }
        }
        for f in shut {
            track.open[f] = 0.0;
            if p.shape.sealed {
                track.seal[f] = 1.0;
            }
            track.rest[f] = f32::from(u8::from(p.at_rest));
        }
    }
    track
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lipsync::phones::Timing;

    fn timed(list: &[(&str, f64)]) -> Phones {
        let mut phones = Phones::new(Timing::Recogniser);
        for &(s, d) in list {
            phones.push(s, d);
        }
        phones
    }

    #[test]
    fn every_bilabial_shuts_the_mouth_even_a_short_one() {
        // "a ba ma pa" with a 20 ms b: shorter than a frame.
        let phones = timed(&[
            ("_", 0.2),
            ("ɑ", 0.15),
            ("b", 0.02),
            ("ɑ", 0.15),
            ("m", 0.07),
            ("ɑ", 0.15),
            ("p", 0.06),
            ("ɑ", 0.2),
            ("_", 0.2),
        ]);
        let track = phone_track(&phones, 25, 30);
        for bilabial in phones.phones.iter().filter(|p| "bmp".contains(&p.symbol)) {
            let (a, b) = (bilabial.start * 25.0, bilabial.end * 25.0);
            let shut = (0..30).any(|f| {
                track.open[f] == 0.0 && (f as f64) >= a.floor() - 1.0 && (f as f64) <= b + 1.0
            });
            assert!(shut, "{bilabial:?}: {:?}", track.open);
        }
        // The vowels between are open.
        assert!(track.open[7] > 0.4, "{:?}", track.open);
    }

    #[test]
    fn oo_is_round_and_narrow_and_ee_wide() {
        let phones = timed(&[("_", 0.1), ("u", 0.3), ("_", 0.1), ("i", 0.3), ("_", 0.1)]);
        let track = phone_track(&phones, 25, 22);
        let (oo, ee) = (6, 16);
        assert!(track.round[oo] > track.round[ee] + 0.5);
        assert!(track.wide[ee] > track.wide[oo] + 0.5);
    }

    #[test]
    fn the_lips_anticipate_the_next_vowel() {
        // "t" then "u": already rounding during the t.
        let phones = timed(&[("_", 0.2), ("t", 0.08), ("u", 0.3), ("_", 0.2)]);
        let track = phone_track(&phones, 25, 20);
        assert!(track.round[6] > 0.3, "{:?}", track.round);
    }
}
