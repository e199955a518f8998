//! The evaluation set (`agent/eval/`, built into the binary): messages written the way people
//! write to a bot, each with the actions a person would expect, in two parts: `tuning.jsonl`
//! (looked at while changing the parser) and `test.jsonl` (held out: committed before any
//! tuning and never edited since). A decider (the parser, or a model) is scored on a part:
//! accuracy with the exact words for renders, per-action precision and recall, a confusion
//! matrix, and the destructive false positives (a deletion, a cancel or a render nobody asked
//! for).

use crate::action::Action;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The held-out part.
pub const TEST: &str = include_str!("../eval/test.jsonl");
/// The part tuned on.
pub const TUNING: &str = include_str!("../eval/tuning.jsonl");

#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub text: String,
    #[serde(default)]
    pub category: String,
    pub expect: Vec<Action>,
}

/// A case decided wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub text: String,
    pub category: String,
    pub expected: Vec<Action>,
    pub got: Vec<Action>,
}

/// How one action did over a part.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActionScore {
    /// Cases that expect it / that got it / both.
    pub expected: usize,
    pub got: usize,
    pub both: usize,
    pub precision: f64,
    pub recall: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub utterances: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// Cases that got a deletion, a cancel or a render they did not ask for.
    pub destructive_false_positives: usize,
    pub per_action: BTreeMap<String, ActionScore>,
    /// Expected first action -> decided first action -> cases.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub misses: Vec<Miss>,
}

/// The actions that change or cost something a person did not ask for.
const DESTRUCTIVE: [&str; 3] = ["forget_me", "cancel", "render"];

/// The cases of a part (one JSON object per line).
pub fn parse_cases(part: &str) -> Result<Vec<Case>, serde_json::Error> {
    part.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// The held-out test part.
pub fn test_cases() -> Result<Vec<Case>, serde_json::Error> {
    parse_cases(TEST)
}

/// The tuning part.
pub fn tuning_cases() -> Result<Vec<Case>, serde_json::Error> {
    parse_cases(TUNING)
}

/// Whether `got` is what `expected` asks: the same actions in order, renders with the exact
/// words and voice, jobs and voices as named; a script's topic is the model's to word.
pub fn matches(expected: &[Action], got: &[Action]) -> bool {
    expected.len() == got.len()
        && expected.iter().zip(got).all(|(e, g)| match (e, g) {
            (Action::WriteScript { .. }, Action::WriteScript { .. }) => true,
            (Action::ChooseVoice { voice: a }, Action::ChooseVoice { voice: b }) => {
                a.eq_ignore_ascii_case(b)
            }
            (Action::ForgetMe { .. }, Action::ForgetMe { .. }) => true,
            _ => e == g,
        })
}

fn names(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(Action::name).collect()
}

/// Scores `decide` on `cases`.
pub fn score(cases: &[Case], decide: impl Fn(&str) -> Vec<Action>) -> Report {
    let mut misses = Vec::new();
    let mut destructive = 0;
    let mut per_action: BTreeMap<String, ActionScore> = BTreeMap::new();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for case in cases {
        let got = decide(&case.text);
        let (want, have) = (names(&case.expect), names(&got));
        if have
            .iter()
            .any(|a| DESTRUCTIVE.contains(a) && !want.contains(a))
        {
            destructive += 1;
        }
        for name in &want {
            per_action.entry((*name).to_owned()).or_default();
        }
        for name in &have {
            let score = per_action.entry((*name).to_owned()).or_default();
            score.got += 1;
            score.both += usize::from(want.contains(name));
        }
        *confusion
            .entry(want.first().copied().unwrap_or("none").to_owned())
            .or_default()
            .entry(have.first().copied().unwrap_or("none").to_owned())
            .or_default() += 1;
        if !matches(&case.expect, &got) {
            misses.push(Miss {
                text: case.text.clone(),
                category: case.category.clone(),
                expected: case.expect.clone(),
                got,
            });
        }
    }
    for (name, score) in per_action.iter_mut() {
        score.expected = cases
            .iter()
            .filter(|c| names(&c.expect).contains(&name.as_str()))
            .count();
        score.precision = ratio(score.both, score.got);
        score.recall = ratio(score.both, score.expected);
    }
    let correct = cases.len() - misses.len();
    Report {
        utterances: cases.len(),
        correct,
        accuracy: ratio(correct, cases.len()),
        destructive_false_positives: destructive,
        per_action,
        confusion,
        misses,
    }
}

/// `a / b` to four places (1 when there is nothing to count).
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        return 1.0;
    }
    (a as f64 / b as f64 * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_parse_and_every_render_quotes_its_message() {
        for part in [TEST, TUNING] {
            let cases = parse_cases(part).expect("JSON lines");
            assert!(cases.len() >= 150, "{}", cases.len());
            for case in &cases {
                assert!(!case.expect.is_empty(), "{}", case.text);
                for action in &case.expect {
                    if let Action::Render { text: Some(t), .. } = action {
                        assert!(case.text.contains(t.as_str()), "{}", case.text);
                    }
                }
            }
        }
    }

    #[test]
    fn scores_count_misses_and_destructive_false_positives() {
        let cases = parse_cases(
            r#"{"text": "say hi", "expect": [{"action": "render", "text": "hi"}]}
{"text": "don't delete anything", "expect": [{"action": "unsupported"}]}"#,
        )
        .expect("cases");
        let report = score(&cases, |_| vec![Action::ForgetMe { confirmed: false }]);
        assert_eq!(report.correct, 0);
        assert_eq!(report.destructive_false_positives, 2);
        assert_eq!(report.per_action["forget_me"].precision, 0.0);
        assert_eq!(report.per_action["render"].recall, 0.0);
        assert_eq!(report.confusion["render"]["forget_me"], 1);
        let perfect = score(&cases, |t| {
            if t == "say hi" {
                vec![Action::render("hi")]
            } else {
                vec![Action::Unsupported]
            }
        });
        assert_eq!(perfect.accuracy, 1.0);
        assert_eq!(perfect.destructive_false_positives, 0);
    }
}
