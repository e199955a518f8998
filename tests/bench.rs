//! `spinbot bench` prints one JSON object per line with the measured figures.

mod common;

#[test]
fn bench_tts_prints_its_real_time_factor() {
    let out = common::run(&["bench", "tts", "--rounds", "1"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
    assert_eq!(v["bench"], "tts");
    let audio = v["audio_s"].as_f64().expect("audio_s");
    let wall = v["wall_s"].as_f64().expect("wall_s");
    let rtf = v["rtf"].as_f64().expect("rtf");
    assert!(audio > 5.0, "the benchmark text speaks for {audio} s");
    assert!(
        (rtf - wall / audio).abs() < 1e-9,
        "rtf {rtf} is not wall/audio"
    );
}
