//! The text of a job's status message: what is happening, a progress bar, an estimate.

use std::time::Duration;

/// A ten-cell text progress bar.
pub fn bar(percent: u8) -> String {
    let filled = usize::from(percent.min(100)) / 10;
    format!("{}{}", "█".repeat(filled), "░".repeat(10 - filled))
}

/// The name of a farm stage for a person.
pub fn stage_label(stage: &str) -> &str {
    match stage {
        "speech" | "tts" => "making the voice",
        "voice_note" => "reading your voice note",
        "face" => "finding your face",
        "render" | "lipsync" => "animating",
        "upscale" => "sharpening",
        "encode" => "encoding",
        "" => "starting",
        other => other,
    }
}

/// `about 20 s left`, from the time spent so far and the share done.
pub fn estimate(elapsed: Duration, percent: u8) -> Option<String> {
    if !(5..100).contains(&percent) {
        return None;
    }
    let left = elapsed.as_secs_f64() * f64::from(100 - percent) / f64::from(percent);
    Some(if left < 60.0 {
        format!("about {} s left", left.ceil().max(1.0))
    } else {
        format!("about {} min left", (left / 60.0).ceil())
    })
}

pub fn queued(position: Option<u64>) -> String {
    match position {
        Some(p) if p > 1 => format!("⏳ Queued: number {p} in line."),
        _ => "⏳ Queued: you're next in line.".to_owned(),
    }
}

pub fn working(stage: &str, percent: u8, elapsed: Duration) -> String {
    let mut text = format!(
        "🎬 Making your video: {}\n{} {percent}%",
        stage_label(stage),
        bar(percent)
    );
    if let Some(left) = estimate(elapsed, percent) {
        text.push_str(&format!(" · {left}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_and_estimate() {
        assert_eq!(bar(0), "░░░░░░░░░░");
        assert_eq!(bar(55), "█████░░░░░");
        assert_eq!(bar(100), "██████████");
        assert_eq!(
            estimate(Duration::from_secs(10), 50).as_deref(),
            Some("about 10 s left")
        );
        assert_eq!(estimate(Duration::from_secs(10), 2), None);
        assert!(working("render", 40, Duration::from_secs(4)).contains("animating"));
    }
}
