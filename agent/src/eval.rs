//! The evaluation set (`agent/eval/utterances.jsonl`, built into the binary): messages with
//! the actions a person would expect, scored against the built-in parser.

use crate::action::Action;
use serde::{Deserialize, Serialize};

/// The set, one JSON object per line: `{"text", "expect": [actions]}`.
pub const UTTERANCES: &str = include_str!("../eval/utterances.jsonl");

#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub text: String,
    pub expect: Vec<Action>,
}

/// A case the parser got wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub text: String,
    pub expected: Vec<Action>,
    pub got: Vec<Action>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub utterances: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub misses: Vec<Miss>,
}

/// The cases of the built-in set.
pub fn cases() -> Result<Vec<Case>, serde_json::Error> {
    UTTERANCES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// Scores `decide` on `cases`: a case is right when the whole action list matches.
pub fn score(cases: &[Case], decide: impl Fn(&str) -> Vec<Action>) -> Report {
    let mut misses = Vec::new();
    for case in cases {
        let got = decide(&case.text);
        if got != case.expect {
            misses.push(Miss {
                text: case.text.clone(),
                expected: case.expect.clone(),
                got,
            });
        }
    }
    let correct = cases.len() - misses.len();
    Report {
        utterances: cases.len(),
        correct,
        accuracy: if cases.is_empty() {
            0.0
        } else {
            correct as f64 / cases.len() as f64
        },
        misses,
    }
}
