//! The evaluation set against the built-in parser: at least 60 utterances, and the parser
//! gets at least 95% of them wholly right.

use spinbot_agent::{eval, parser};

#[test]
fn the_parser_meets_the_goal_on_the_evaluation_set() {
    let cases = eval::cases().expect("the evaluation set is valid JSON lines");
    assert!(cases.len() >= 60, "only {} utterances", cases.len());
    let report = eval::score(&cases, parser::parse);
    for miss in &report.misses {
        eprintln!(
            "miss: {:?}\n  expected {:?}\n  got      {:?}",
            miss.text, miss.expected, miss.got
        );
    }
    eprintln!(
        "accuracy {}/{} = {:.3}",
        report.correct, report.utterances, report.accuracy
    );
    assert!(report.accuracy >= 0.95, "accuracy {:.3}", report.accuracy);
}
