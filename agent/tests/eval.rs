//! The evaluation set against the built-in understanding. On the held-out test part (170
//! lines, never tuned on) it decides 95.9% wholly right (renders with the exact words) with
//! no destructive false positive (a deletion, a cancel or a render nobody asked for); the
//! tuning part (1,914 lines, the last 171 a batch written blind on 2026-12-07 and scored once
//! before any change for it) is held at 97%. Every phrase of the data is matched by at least
//! one line of the set, so none is kept that nothing shows is needed.

use spinbot_agent::eval::{self, Report};
use spinbot_agent::understand;

fn show(part: &str, report: &Report) {
    for miss in &report.misses {
        eprintln!(
            "{part} miss [{}]: {:?}\n  expected {:?}\n  got      {:?}",
            miss.category, miss.text, miss.expected, miss.got
        );
    }
    eprintln!(
        "{part}: {}/{} = {:.3}, destructive false positives {}",
        report.correct, report.utterances, report.accuracy, report.destructive_false_positives
    );
}

#[test]
fn the_parser_meets_the_goal_on_the_held_out_part() {
    let tuning = eval::score(
        &eval::tuning_cases().expect("tuning part"),
        understand::parse,
    );
    show("tuning", &tuning);
    assert!(
        tuning.accuracy >= 0.97,
        "tuning accuracy {:.3}",
        tuning.accuracy
    );
    assert_eq!(tuning.destructive_false_positives, 0);
    let cases = eval::test_cases().expect("the test part is valid JSON lines");
    assert!(cases.len() >= 150, "only {} utterances", cases.len());
    let report = eval::score(&cases, understand::parse);
    show("test", &report);
    assert_eq!(report.destructive_false_positives, 0);
    assert!(report.accuracy >= 0.958, "accuracy {:.3}", report.accuracy);
}

#[test]
fn every_phrase_of_the_data_is_needed_by_a_line_of_the_set() {
    let cases: Vec<eval::Case> = eval::tuning_cases()
        .expect("tuning part")
        .into_iter()
        .chain(eval::test_cases().expect("test part"))
        .collect();
    assert!(cases.len() > 2000);
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let uncovered = understand::lexicon::uncovered(&texts).expect("the data reads");
    assert!(
        uncovered.is_empty(),
        "phrases no evaluation line matches (add a line, or drop the phrase): {uncovered:#?}"
    );
}
