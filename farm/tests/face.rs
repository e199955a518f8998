//! The face stage on real photos with the real weights: faces and lip landmarks are found on
//! photos of different people, the largest face is the one described, and photos without
//! a face are refused.

mod common;

use image::RgbImage;
use spinbot_core::InputError;
use spinbot_farm::face::{
    FaceAnalyzer, FaceData, EYE_LEFT, EYE_RIGHT, INNER_LIP_BOTTOM, INNER_LIP_TOP, LIPS_INNER,
    LIPS_OUTER, MOUTH_LEFT, MOUTH_RIGHT,
};
use spinbot_farm::input::load_photo;

/// The six people of the insightface group photo, each cut out by hand (x, y, w, h) so the
/// crop holds one face and no other.
const PEOPLE: [(&str, [u32; 4]); 6] = [
    ("left, cards", [0, 200, 260, 300]),
    ("standing behind", [200, 70, 250, 260]),
    ("middle, dark shirt", [400, 180, 280, 300]),
    ("red shirt", [680, 260, 260, 280]),
    ("standing right", [860, 0, 260, 280]),
    ("right, blonde", [1080, 220, 200, 240]),
];

fn analyzer() -> FaceAnalyzer {
    FaceAnalyzer::load(&common::assets()).expect("face models")
}

fn centroid(face: &FaceData, idx: &[usize]) -> [f32; 2] {
    let n = idx.len() as f32;
    let s = idx.iter().fold([0.0, 0.0], |a, &i| {
        let p = face.point(i);
        [a[0] + p[0], a[1] + p[1]]
    });
    [s[0] / n, s[1] / n]
}

/// Checks that the landmarks sit like a face's: eyes above the mouth, the mouth inside the
/// face, the inner lips inside the outer lips, plausible proportions.
fn assert_plausible(who: &str, face: &FaceData, image: &RgbImage) {
    assert_eq!(face.landmarks.len(), 468, "{who}");
    assert!(
        face.presence > 0.5,
        "{who}: mesh presence {}",
        face.presence
    );
    let b = face.mesh_box();
    assert!(b[0] >= -5.0 && b[1] >= -5.0, "{who}: {b:?}");
    assert!(
        b[2] <= image.width() as f32 + 5.0 && b[3] <= image.height() as f32 + 5.0,
        "{who}"
    );
    let (le, re) = (centroid(face, &EYE_LEFT), centroid(face, &EYE_RIGHT));
    let mouth = centroid(face, &LIPS_OUTER);
    let eyes_y = (le[1] + re[1]) / 2.0;
    let eye_distance = ((re[0] - le[0]).powi(2) + (re[1] - le[1]).powi(2)).sqrt();
    assert!(le[0] < re[0], "{who}: eyes swapped");
    assert!(
        mouth[1] > eyes_y + 0.5 * eye_distance,
        "{who}: mouth not below the eyes"
    );
    assert!(
        mouth[0] > le[0] - eye_distance * 0.5 && mouth[0] < re[0] + eye_distance * 0.5,
        "{who}"
    );
    let width = face.mouth_width();
    assert!(
        width > 0.5 * eye_distance && width < 1.6 * eye_distance,
        "{who}: mouth width {width}"
    );
    // The inner lips lie within the outer lips' box.
    let outer = bounds(face, &LIPS_OUTER);
    for &i in &LIPS_INNER {
        let p = face.point(i);
        assert!(
            p[0] >= outer[0] - 1.0 && p[0] <= outer[2] + 1.0,
            "{who}: inner lip {i}"
        );
        assert!(
            p[1] >= outer[1] - 1.0 && p[1] <= outer[3] + 1.0,
            "{who}: inner lip {i}"
        );
    }
    let top = face.point(INNER_LIP_TOP);
    let bottom = face.point(INNER_LIP_BOTTOM);
    assert!(
        bottom[1] >= top[1] - 1.0,
        "{who}: lower lip above the upper lip"
    );
    let corners = (face.point(MOUTH_LEFT), face.point(MOUTH_RIGHT));
    assert!(corners.0[0] < corners.1[0], "{who}: mouth corners swapped");
}

fn bounds(face: &FaceData, idx: &[usize]) -> [f32; 4] {
    idx.iter()
        .fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, &i| {
            let p = face.point(i);
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        })
}

#[test]
fn finds_the_face_and_lips_of_each_person() {
    let group = load_photo(&common::photo("t1.jpg")).expect("group photo");
    let mut faces = analyzer();
    for (who, [x, y, w, h]) in PEOPLE {
        let crop = image::imageops::crop_imm(&group, x, y, w, h).to_image();
        let face = faces
            .analyse(&crop)
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_plausible(who, &face, &crop);
        // The face is the person's, in the crop's middle, not a sliver at its edge.
        let b = face.mesh_box();
        let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
        assert!(
            cx > w as f32 * 0.2 && cx < w as f32 * 0.8,
            "{who}: centre x {cx}"
        );
        assert!(
            cy > h as f32 * 0.15 && cy < h as f32 * 0.85,
            "{who}: centre y {cy}"
        );
    }
}

#[test]
fn finds_a_portrait() {
    let image = load_photo(&common::photo("Tom_Hanks_54745.png")).expect("portrait");
    let face = analyzer().analyse(&image).expect("a face");
    assert_plausible("portrait", &face, &image);
}

#[test]
fn describes_the_largest_of_several_faces() {
    let image = load_photo(&common::photo("t1.jpg")).expect("group photo");
    let mut faces = analyzer();
    let found = faces.detect(&image).expect("detect");
    assert!(found.len() >= 6, "found {} faces of 6", found.len());
    let face = faces.analyse(&image).expect("a face");
    assert_eq!(face.faces_found, found.len());
    let largest = found.iter().map(|d| d.area()).fold(0.0, f32::max);
    let chosen = (face.bbox[2] - face.bbox[0]) * (face.bbox[3] - face.bbox[1]);
    assert!(
        (chosen - largest).abs() < 1e-3,
        "chose {chosen}, largest {largest}"
    );
    assert_plausible("group", &face, &image);
}

#[test]
fn finds_no_face_where_there_is_none() {
    let mut faces = analyzer();
    for name in [
        "fruits.jpg",
        "building.jpg",
        "mask_white.jpg",
        "mask_blue.jpg",
    ] {
        let image = load_photo(&common::photo(name)).expect("photo");
        match faces.analyse(&image) {
            Err(e) => assert_eq!(e.as_input(), Some(&InputError::NoFace), "{name}: {e}"),
            Ok(face) => panic!("{name}: found a face at {:?}", face.bbox),
        }
    }
}
