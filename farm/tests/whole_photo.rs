//! Videos of the whole photo, judged from the outside on the project's photos of every shape
//! (a large landscape scaled to the cap, a portrait, a tiny square, a small landscape with a
//! small face, a face at the photo's edge; the faces in masks are refused by the detector):
//! the video is the photo's size,
//! its first frame is the photo away from the face, the upper face keeps the photo's detail,
//! and while the mouth is most open the person's upper lip keeps its colour (nothing grey
//! drawn over it), measured with the face mesh on the encoded frames.

mod common;

use image::RgbImage;
use spinbot_core::limits::DEFAULT_MAX_SIDE;
use spinbot_core::{Plan, SpeechText};
use spinbot_farm::face::{FaceAnalyzer, FaceData};
use spinbot_farm::lipsync::mouth::MouthTrack;
use spinbot_farm::lipsync::LipSync;
use spinbot_farm::render::View;
use spinbot_farm::Pipeline;
use std::path::{Path, PathBuf};
use tch::Device;

const FPS: u32 = 25;
const SAY: &str = "Hello there! How are you doing today?";

/// The outer upper lip from corner to corner, then its inner edge back.
const UPPER_LIP: [usize; 22] = [
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
    78,
];
/// Brows and eyes: the upper face.
const UPPER_FACE: [usize; 18] = [
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300, 33, 133, 362, 263, 159, 145, 386, 374,
];
/// A pixel this far from grey (HSV saturation) still counts as grey.
const GREY: f64 = 0.15;
/// Lips less saturated than this are a black-and-white photo's.
const COLOURLESS: f64 = 0.08;

/// What one render showed.
struct Seen {
    size: (u32, u32),
    /// First frame against the photo outside the face region, dB.
    psnr: f64,
    /// Variance of the Laplacian over the upper face: first frame / photo.
    detail: f64,
    /// Mouth width in pixels, and when it is large enough to judge the lips: the upper lip's
    /// saturation over the most open fifth of the frames against the photo's, the share of
    /// its pixels that are grey, and how much wider the lips are apart there than in the photo
    /// (mouth widths). A black-and-white photo has no colour to keep: only the gap is seen.
    mouth_width: f64,
    lips: Option<(Option<(f64, f64)>, f64)>,
}

fn render(photo: &Path, dir: &Path, judge_lips: bool) -> Seen {
    let plan = Plan::say(
        SpeechText::parse(SAY).expect("text"),
        photo.to_string_lossy(),
    );
    let work = dir.join("job");
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let video = pipeline.run(&plan, &work, &mut |_, _| {}).expect("render");
    let image = spinbot_farm::input::load_photo(photo).expect("photo");
    let face: FaceData =
        serde_json::from_slice(&std::fs::read(work.join("face.json")).expect("face.json"))
            .expect("json");
    let view = View::whole_photo(image.width(), image.height(), DEFAULT_MAX_SIDE);
    let (width, height) = (view.width, view.height);
    let frames = common::decode_frames(&video, (width, height));
    assert!(frames.len() > 30, "{} frames", frames.len());
    let lipsync = LipSync::new(&image, &face, view, FPS, Device::Cpu).expect("lipsync");
    let still = RgbImage::from_raw(width, height, lipsync.still().to_vec()).expect("still");

    // Away from the face (and the label's corner, with an encoder block around it).
    let r = lipsync.rig().region;
    let (left, top, right, bottom, _) = spinbot_farm::mark::label_box(width, height);
    let away = |x: u32, y: u32| {
        let (x, y) = (i64::from(x), i64::from(y));
        let label = x + 16 >= left as i64
            && x < right as i64 + 16
            && y + 16 >= top as i64
            && y < bottom as i64 + 16;
        (x < r.x || y < r.y || x >= r.x + r.w || y >= r.y + r.h) && !label
    };
    let psnr = psnr(&frames[0], &still, away);

    let mut faces = FaceAnalyzer::load(&common::assets()).expect("face models");
    let photo_face = faces.analyse(&still).expect("a face in the photo");
    let upper: Vec<[f32; 2]> = UPPER_FACE.iter().map(|&i| photo_face.point(i)).collect();
    let detail =
        laplacian_variance(&frames[0], bounds(&upper)) / laplacian_variance(&still, bounds(&upper));

    let mouth_width = f64::from(photo_face.mouth_width());
    let lips = (judge_lips && mouth_width >= 20.0)
        .then(|| upper_lip_while_open(&mut faces, &frames, &still));
    Seen {
        size: (width, height),
        psnr,
        detail,
        mouth_width,
        lips,
    }
}

/// The upper lip's saturation against the photo's and its grey share (when the photo's lips
/// have colour), and the extra gap, over the most open fifth of the frames.
fn upper_lip_while_open(
    faces: &mut FaceAnalyzer,
    frames: &[RgbImage],
    still: &RgbImage,
) -> (Option<(f64, f64)>, f64) {
    let photo = faces.analyse(still).expect("a face in the photo");
    let first = faces
        .analyse(&frames[0])
        .expect("a face in the first frame");
    let meshes: Vec<FaceData> = frames
        .iter()
        .map(|f| faces.track(f, &first).expect("a face in every frame"))
        .collect();
    let gap = |f: &FaceData| f64::from(f.inner_lip_gap() / f.mouth_width().max(1.0));
    let mut order: Vec<usize> = (0..frames.len()).collect();
    order.sort_by(|&a, &b| gap(&meshes[b]).total_cmp(&gap(&meshes[a])));
    let open = &order[..(frames.len() / 5).max(1)];
    assert!(!open.is_empty());
    let (photo_saturation, _) = lip_colour(still, &photo);
    let (mut saturation, mut grey, mut wider) = (0.0, 0.0, 0.0);
    for &f in open {
        let (s, g) = lip_colour(&frames[f], &meshes[f]);
        saturation += s;
        grey += g;
        wider += gap(&meshes[f]) - gap(&photo);
    }
    let n = open.len() as f64;
    let colour =
        (photo_saturation > COLOURLESS).then(|| (saturation / n / photo_saturation, grey / n));
    (colour, wider / n)
}

/// Mean saturation of the upper lip and the share of its pixels that are grey.
fn lip_colour(image: &RgbImage, face: &FaceData) -> (f64, f64) {
    let polygon: Vec<[f32; 2]> = UPPER_LIP.iter().map(|&i| face.point(i)).collect();
    let [x0, y0, x1, y1] = bounds(&polygon);
    let (mut sum, mut grey, mut n) = (0.0, 0.0, 0.0);
    for y in y0..y1 {
        for x in x0..x1 {
            if !inside(&polygon, x as f32 + 0.5, y as f32 + 0.5) {
                continue;
            }
            let p = image.get_pixel(x, y).0.map(f64::from);
            let max = p.iter().cloned().fold(0.0, f64::max);
            let min = p.iter().cloned().fold(255.0, f64::min);
            let s = if max > 0.0 { (max - min) / max } else { 0.0 };
            sum += s;
            grey += f64::from(u8::from(s < GREY));
            n += 1.0;
        }
    }
    assert!(n > 10.0, "{n} pixels in the upper lip");
    (sum / n, grey / n)
}

/// Whether `(x, y)` is inside `polygon` (even-odd rule).
fn inside(polygon: &[[f32; 2]], x: f32, y: f32) -> bool {
    let mut odd = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
            odd = !odd;
        }
        j = i;
    }
    odd
}

/// The whole pixels the points span: `[x0, y0, x1, y1]`.
fn bounds(points: &[[f32; 2]]) -> [u32; 4] {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, 0f32, 0f32);
    for p in points {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    [x0, y0, x1.ceil(), y1.ceil()].map(|v| v.max(0.0) as u32)
}

/// Variance of the 4-neighbour Laplacian of the luminance inside `[x0, y0, x1, y1]`.
fn laplacian_variance(image: &RgbImage, [x0, y0, x1, y1]: [u32; 4]) -> f64 {
    let luma = |x: u32, y: u32| {
        let p = image.get_pixel(x, y).0.map(f64::from);
        0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
    };
    let (w, h) = image.dimensions();
    let mut values = Vec::new();
    for y in y0.max(1)..y1.min(h - 1) {
        for x in x0.max(1)..x1.min(w - 1) {
            values.push(
                luma(x - 1, y) + luma(x + 1, y) + luma(x, y - 1) + luma(x, y + 1)
                    - 4.0 * luma(x, y),
            );
        }
    }
    assert!(values.len() > 20, "{} pixels of upper face", values.len());
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

fn psnr(a: &RgbImage, b: &RgbImage, keep: impl Fn(u32, u32) -> bool) -> f64 {
    let (mut sum, mut n) = (0f64, 0usize);
    for (x, y, p) in a.enumerate_pixels() {
        if keep(x, y) {
            let q = b.get_pixel(x, y);
            for c in 0..3 {
                sum += (f64::from(p[c]) - f64::from(q[c])).powi(2);
            }
            n += 3;
        }
    }
    assert!(n > 0, "no pixels away from the face");
    10.0 * (255.0 * 255.0 / (sum / n as f64).max(1e-10)).log10()
}

/// A part `[x, y, w, h]` of a project photo, saved losslessly in `dir`.
fn part_of(name: &str, [x, y, w, h]: [u32; 4], dir: &Path) -> PathBuf {
    let image = spinbot_farm::input::load_photo(&common::photo(name)).expect("photo");
    let part = image::imageops::crop_imm(&image, x, y, w, h).to_image();
    let path = dir.join(format!("{name}-{w}x{h}.png"));
    part.save(&path).expect("save");
    path
}

/// Renders `photo`, prints what was seen and checks it: the size, the photo away from the
/// face, the upper face's detail, and (where the lips show and are large enough to judge) the
/// upper lip's colour while the lips are apart.
fn check(label: &str, photo: &Path, size: (u32, u32), dir: &Path, lips: bool) -> Seen {
    let seen = render(photo, dir, lips);
    println!(
        "{label}: {}x{}, away from the face {:.1} dB, upper-face detail {:.2}, mouth {:.0} px, \
         upper lip while open (saturation, grey, extra gap): {:?}",
        seen.size.0, seen.size.1, seen.psnr, seen.detail, seen.mouth_width, seen.lips
    );
    assert_eq!(seen.size, size, "{label}");
    assert!(seen.psnr >= 30.0, "{label}: {:.1} dB", seen.psnr);
    assert!(seen.detail >= 0.7, "{label}: detail {:.2}", seen.detail);
    // The lips' colour, where the photo has some (and the lips parted, or it proves nothing).
    if let Some((Some((saturation, grey)), wider)) = seen.lips {
        assert!(wider > 0.03, "{label}: the lips hardly parted ({wider:.3})");
        assert!(saturation >= 0.9, "{label}: saturation {saturation:.2}");
        assert!(grey <= 0.03, "{label}: {:.1}% grey", grey * 100.0);
    }
    seen
}

#[test]
fn a_large_landscape_is_scaled_to_the_cap_at_its_own_aspect() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 1280 x 886, the face near its left edge.
    let seen = check(
        "t1.jpg",
        &common::photo("t1.jpg"),
        (1040, 720),
        dir.path(),
        true,
    );
    assert!(
        seen.lips.is_some_and(|(colour, _)| colour.is_some()),
        "the lips' colour was judged"
    );
}

#[test]
fn a_portrait_keeps_its_own_pixels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = part_of("t1.jpg", [0, 80, 420, 524], dir.path());
    let seen = check("portrait", &photo, (420, 524), dir.path(), true);
    assert!(
        seen.lips.is_some_and(|(colour, _)| colour.is_some()),
        "the lips' colour was judged"
    );
}

#[test]
fn a_face_at_the_photos_edge_and_an_odd_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The face 10 pixels from the left edge; 361 pixels wide (the frame is 360).
    let photo = part_of("t1.jpg", [40, 170, 361, 300], dir.path());
    let seen = check("edge", &photo, (360, 300), dir.path(), true);
    assert!(
        seen.lips.is_some_and(|(colour, _)| colour.is_some()),
        "the lips' colour was judged"
    );
}

#[test]
fn small_photos_keep_their_size_and_detail() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, size) in [
        ("Tom_Hanks_54745.png", (112, 112)),
        ("messi5.jpg", (548, 342)),
    ] {
        let work = dir.path().join(name);
        check(name, &common::photo(name), size, &work, true);
    }
}

/// A photo with its lips apart and its teeth showing (here: a frame this renderer drew with
/// the mouth wide open) keeps its own teeth: nothing is painted over them as the mouth opens
/// further, the warp moves them.
#[test]
fn a_photo_with_its_teeth_showing_keeps_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = spinbot_farm::input::load_photo(&common::photo("t1.jpg")).expect("photo");
    let mut faces = FaceAnalyzer::load(&common::assets()).expect("face models");
    let face = faces.analyse(&image).expect("face");
    let view = View::whole_photo(image.width(), image.height(), DEFAULT_MAX_SIDE);
    let lipsync = LipSync::new(&image, &face, view, FPS, Device::Cpu).expect("lipsync");
    let mut open = MouthTrack::closed(1);
    open.open[0] = 1.0;
    let rgb = lipsync.render(&open, 0, 1).expect("render");
    let smile = RgbImage::from_raw(view.width, view.height, rgb).expect("frame");
    let path = dir.path().join("open.png");
    smile.save(&path).expect("save");

    let smile = spinbot_farm::input::load_photo(&path).expect("photo");
    let face = faces.analyse(&smile).expect("face");
    let parted = f64::from(face.inner_lip_gap() / face.mouth_width());
    println!("the photo's lips are {parted:.3} mouth widths apart");
    assert!(parted > 0.1, "{parted:.3}");
    let view = View::whole_photo(smile.width(), smile.height(), DEFAULT_MAX_SIDE);
    let lipsync = LipSync::new(&smile, &face, view, FPS, Device::Cpu).expect("lipsync");
    let mut track = MouthTrack::closed(10);
    for (f, o) in track.open.iter_mut().enumerate() {
        *o = f as f32 / 9.0;
    }
    let painted = lipsync
        .opening_mask(&track, 0, 10)
        .expect("mask")
        .max()
        .double_value(&[]);
    assert_eq!(painted, 0.0, "the photo's teeth were painted over");
    // And the mouth moves: shut, the lips close over the teeth.
    let frames = lipsync.render(&track, 0, 1).expect("render");
    let moved = frames
        .iter()
        .zip(lipsync.still())
        .filter(|(a, b)| a.abs_diff(**b) > 24)
        .count();
    println!("{moved} channel values moved");
    assert!(moved > 100, "{moved}");
}
