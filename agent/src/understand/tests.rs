use super::*;

fn one(message: &str) -> Action {
    parse(message)
        .into_iter()
        .next()
        .unwrap_or(Action::Unsupported)
}

#[test]
fn speech_keeps_the_words_as_written() {
    assert_eq!(
        one("Make my avatar say: Happy birthday, Anna!"),
        Action::render("Happy birthday, Anna!")
    );
    assert_eq!(one("SAY GOOD NIGHT"), Action::render("GOOD NIGHT"));
    assert_eq!(
        one("make a video: \"We ship on Friday.\""),
        Action::render("We ship on Friday.")
    );
    // A quotation alone (a proverb, a friend's text pasted) asks for nothing.
    assert_eq!(one("\"We ship on Friday.\""), Action::Unsupported);
    assert_eq!(
        one("say hi in the amy voice"),
        Action::Render {
            text: Some("hi".into()),
            voice: Some("amy".into())
        }
    );
}

#[test]
fn told_negated_and_reported_words_ask_for_nothing() {
    // A story about a video, a denial, someone else's words, a kept account.
    assert_eq!(
        one("the clip where I say happy birthday has a typo, remove it"),
        Action::Unsupported
    );
    assert_eq!(one("hold on, I didn't say delete"), Action::Unsupported);
    assert_eq!(
        one("my boss told me to stop wasting time on this"),
        Action::Unsupported
    );
    assert_eq!(
        one("my friend told me to wipe my data but nah im keeping it"),
        Action::Unsupported
    );
    assert_eq!(
        one("forget what i said, make it say see you at noon"),
        Action::render("see you at noon")
    );
    // "a video where I say" asks for one.
    assert_eq!(
        one("I'd love a video where I say welcome aboard"),
        Action::render("welcome aboard")
    );
}

#[test]
fn the_words_end_where_a_signature_or_a_closing_thanks_begins() {
    assert_eq!(
        one("Please make my avatar say the shop opens at 9.\nRegards,\nAnita"),
        Action::render("the shop opens at 9.")
    );
    assert_eq!(
        one("could you make me say see you soon? Many thanks."),
        Action::render("see you soon")
    );
    assert_eq!(
        one("make me say happy birthday Dad 🎂 sorry for the long message"),
        Action::render("happy birthday Dad")
    );
}

#[test]
fn apostrophes_are_not_quotes() {
    assert_eq!(
        one("say it's a good day, isn't it"),
        Action::render("it's a good day, isn't it")
    );
}

#[test]
fn other_users_and_nonsense_are_unsupported() {
    assert_eq!(one("cancel all jobs of telegram:999"), Action::Unsupported);
    assert_eq!(one("what's the weather in Paris?"), Action::Unsupported);
}

#[test]
fn empty_and_giant_messages_get_an_answer() {
    assert_eq!(parse("   "), vec![Action::Help]);
    let giant = "blah ".repeat(10_000);
    assert_eq!(parse(&giant), vec![Action::Unsupported]);
    let non_ascii = "ſay ÄÖÜ İstanbul “x”";
    assert!(!parse(non_ascii).is_empty());
}

#[test]
fn slash_commands_in_groups_carry_the_bot_name() {
    assert_eq!(one("/status@spinbot_bot"), Action::Status { job: None });
    assert_eq!(
        one("/voice en_US-joe-medium"),
        Action::ChooseVoice {
            voice: "en_US-joe-medium".into()
        }
    );
}

#[test]
fn job_ids_that_repeat_a_digit_are_read_whole() {
    // One id in nine repeats a hex digit three times in a row; "yesss" squeezing must not
    // shorten it (a Cancel button then cancelled the presser's latest job instead).
    let id = "5d0c1b2a000f4e6d8c7b9a1e2f3d4c5b";
    let job = Some(id.to_owned());
    assert_eq!(
        one(&format!("/cancel {id}")),
        Action::Cancel { job: job.clone() }
    );
    assert_eq!(
        one(&format!("/status {id}")),
        Action::Status { job: job.clone() }
    );
    assert_eq!(
        one(&format!("cancel {}", id.to_ascii_uppercase())),
        Action::Cancel { job }
    );
}

#[test]
fn words_inside_other_words_do_not_count() {
    // "sil" (Turkish: delete) and "todo" (Spanish: all) are not in "silly" or a to-do list.
    assert_eq!(one("my silly todo list keeps growing"), Action::Unsupported);
    assert_eq!(
        one("tüm verilerimi SİL"),
        Action::ForgetMe { confirmed: false }
    );
}

#[test]
fn a_say_command_speaks_its_words_as_written() {
    // The words may themselves end like a voice choice; only the command's own voice
    // option (a typed action, never text) chooses one.
    assert_eq!(
        parse("/say I sing along with the voice amy"),
        vec![Action::render("I sing along with the voice amy")]
    );
}

#[test]
fn requests_in_capitals_of_other_scripts_are_read() {
    assert_eq!(
        one("СКАЖИ ПРИВЕТ ВСЕМ ДРУЗЬЯМ"),
        Action::render("ПРИВЕТ ВСЕМ ДРУЗЬЯМ")
    );
    // A question that begins "tell me" asks the bot something.
    assert_eq!(one("Скажи честно, ты вообще спишь?"), Action::Unsupported);
}

#[test]
fn the_rules_are_tried_in_their_documented_order() {
    let names: Vec<&str> = RULES.iter().map(|(name, _)| *name).collect();
    assert_eq!(names[0], "guards");
    // A negated deletion is stopped by the guards before the deletion rule reads it.
    assert_eq!(one("please don't delete my data"), Action::Unsupported);
    assert_eq!(one("delete my data"), Action::ForgetMe { confirmed: false });
}
