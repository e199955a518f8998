//! The evaluation set against the built-in parser. The goal on the held-out test part is at
//! least 95% decided wholly right (renders with the exact words) and not one destructive
//! false positive (a deletion, a cancel or a render nobody asked for); the parser is at
//! 95.9% and 1, so these floors hold it there and are raised as it improves. The tuning
//! part (1,263 lines, most of them written by people who never saw the parser) is held to
//! what was tuned.

use spinbot_agent::eval::{self, Report};
use spinbot_agent::parser;

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
    let tuning = eval::score(&eval::tuning_cases().expect("tuning part"), parser::parse);
    show("tuning", &tuning);
    assert!(
        tuning.accuracy >= 0.97,
        "tuning accuracy {:.3}",
        tuning.accuracy
    );
    assert_eq!(tuning.destructive_false_positives, 0);
    let cases = eval::test_cases().expect("the test part is valid JSON lines");
    assert!(cases.len() >= 150, "only {} utterances", cases.len());
    let report = eval::score(&cases, parser::parse);
    show("test", &report);
    assert_eq!(report.destructive_false_positives, 0);
    assert!(report.accuracy >= 0.95, "accuracy {:.3}", report.accuracy);
}
