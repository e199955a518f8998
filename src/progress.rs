//! The terminal progress bar: the stage and the whole job's percent, drawn on stderr only
//! when it is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spinbot_core::{Plan, Stage};
use spinbot_farm::Progress;

pub struct Bar {
    bar: ProgressBar,
    /// Progress weight of the stages before each stage.
    offsets: Vec<(Stage, f64)>,
}

impl Bar {
    pub fn new(plan: &Plan) -> Self {
        let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg:>7} [{wide_bar}] {percent:>3}% {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let mut offsets = Vec::new();
        let mut acc = 0.0;
        for stage in plan.stages() {
            offsets.push((stage, acc));
            acc += stage.weight();
        }
        Self { bar, offsets }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn update(&mut self, stage: Stage, fraction: f64) {
        let offset = self
            .offsets
            .iter()
            .find(|(s, _)| *s == stage)
            .map_or(0.0, |(_, o)| *o);
        let whole = offset + stage.weight() * fraction.clamp(0.0, 1.0);
        self.bar.set_message(stage.name());
        self.bar.set_position((whole * 1000.0).round() as u64);
    }
}
