//! What must never act on a misreading, read in the request itself (not in the words it asks
//! to speak): deletions and cancels said in the negative or reported from someone else,
//! questions about how to do things, things kept, photo edits and single videos to delete.
//! Also the reports and worries that look like requests.

use super::lexicon::{lexicon as lx, Text};
use super::words::{find_word, Words};
use super::Read;
use crate::action::Action;

/// The guards, in order: a negated or reported destructive word, keeping things, "have you
/// forgotten me", a stop said in so many words, a question about how, an edit.
pub fn guarded(read: &Read) -> Option<Vec<Action>> {
    let lower = read.request.as_str();
    let job = || read.job.clone();
    let how_to = asks_how(lower);
    if negated(lower) {
        let status =
            asks_status(lower) || is_worried(lower) || lx().negation.status_intl.hit(lower);
        return Some(vec![if status {
            Action::Status { job: job() }
        } else {
            Action::Unsupported
        }]);
    }
    // "keep my stuff", "let it cook": whatever was said before, nothing goes.
    if lx().keep.phrases.hit(lower) && !how_to {
        let now = lx().keep.asks_now.hit(lower);
        return Some(vec![if now {
            Action::Status { job: job() }
        } else {
            Action::Unsupported
        }]);
    }
    // "have you forgotten me?": a worried question, not a wish to be forgotten.
    if lx().status.forgotten_me.hit(lower) {
        return Some(vec![Action::Status { job: job() }]);
    }
    if stops_in_so_many_words(lower) {
        return Some(vec![Action::Cancel { job: job() }]);
    }
    if how_to {
        return Some(vec![Action::Help]);
    }
    edits(lower).then(|| vec![Action::Unsupported])
}

/// A destructive word with a negator up to five words before it ("don't delete", "I didn't
/// say cancel"), or told by someone else ("my boss told me to stop"); not "don't send it"
/// (a cancel) or "never mind".
fn negated(lower: &str) -> bool {
    let negation = &lx().negation;
    let words = Words::new(lower);
    let w = &words.lower;
    let negated_at = |i: usize| {
        (i.saturating_sub(5)..i).any(|j| {
            let n = w[j].as_str();
            let cancels = w.get(j + 1).is_some_and(|v| negation.do_verbs.has(v));
            let never_mind = n == "never" && w.get(j + 1).is_some_and(|v| v == "mind");
            negation.negators.has(n)
                && !cancels
                && !never_mind
                && (n != "do" || w[i.saturating_sub(5)..i].iter().any(|m| m == "not"))
        })
    };
    let reported_at = |i: usize| {
        i >= 2
            && w[i - 1] == "to"
            && w[i.saturating_sub(4)..i - 1]
                .iter()
                .any(|r| negation.report_verbs.has(r))
    };
    let english = w
        .iter()
        .enumerate()
        .any(|(i, word)| negation.destructive.has(word) && (reported_at(i) || negated_at(i)));
    english || negation.intl.hit(lower)
}

/// Asking about progress, in a negated request ("don't cancel, just tell me when").
fn asks_status(lower: &str) -> bool {
    let negation = &lx().negation;
    Words::new(lower).has_any(&negation.status_words) || negation.status_phrases.hit(lower)
}

/// A question about how to do something (not "a script about how we met").
fn asks_how(lower: &str) -> bool {
    let how_to = &lx().how_to;
    let says = find_word(lower, "say").is_some();
    (how_to.phrases.hit(lower) || (!says && how_to.without_say.hit(lower)))
        && !lower.contains("about how")
        && !super::intents::script_topic(lower, lower).is_some_and(|t| t.contains("how"))
}

/// "kill it", "scratch that", "don't render": a stop in so many words (not "don't make it say
/// X, make it say Y", not "not yet").
fn stops_in_so_many_words(lower: &str) -> bool {
    let cancel = &lx().cancel;
    let says = find_word(lower, "say").is_some() || find_word(lower, "saying").is_some();
    cancel.phrases.hit(lower)
        && !(says && cancel.unless_say_make.hit(lower))
        && find_word(lower, "yet").is_none()
}

/// Something taken away from a photo (an edit), or one video to delete: neither is
/// supported (deleting everything is).
fn edits(lower: &str) -> bool {
    let (edits, one_video) = (&lx().edits, &lx().one_video);
    let text = Text::new(lower);
    let takes_away = edits.take_away.in_text(&text);
    let photo_edit = (takes_away || edits.verbs.in_text(&text)) && edits.objects.in_text(&text);
    let one = takes_away
        && one_video.objects.in_text(&text)
        && !one_video
            .unless_all
            .hit(&lower.replace("not my account", ""));
    photo_edit || one
}

/// `video of me saying happy bday = 10/10, my aunt thought it was real`, `stop it, my staff
/// loved the video`: a report on a video already made, not a request for one.
pub fn is_feedback(lower: &str) -> bool {
    lx().feedback.phrases.hit(lower)
}

/// A message that asks for something, in so many words.
pub fn asks(lower: &str) -> bool {
    let words = Words::new(lower);
    words.has_any(&lx().asks.words)
        || lx().asks.phrases.hit(lower)
        || words
            .lower
            .first()
            .is_some_and(|w| lx().say.any_language.has(w))
}

/// A worried question about a video on its way: "it's been 20 min", "stuck?", "still
/// nothing"; not "it's been that kind of week".
pub fn is_worried(lower: &str) -> bool {
    let worried = &lx().worried;
    let text = Text::new(lower);
    let words = text.words();
    let waited = worried.waited.iter().any(|p| {
        (0..words.len()).any(|at| {
            p.matches_at(&text, at)
                && words.get(at + p.len()).is_some_and(|next| {
                    next.starts_with(|c: char| c.is_ascii_digit()) || worried.waited_next.has(next)
                })
        })
    });
    waited || worried.phrases.in_text(&text)
}
