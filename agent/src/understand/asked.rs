//! Whether a say word asks for a video: in English, read in the words before it (a request,
//! a greeting, the avatar named; not a story, a report, an idiom or a negation); in other
//! languages, read around it (the avatar or a "make me" verb before, or the words introduced
//! by a colon or a quote after).

use super::lexicon::{lexicon as lx, Text};
use super::words::{find_word, Words};

/// `<anything with a say word>: X` (`Say the following: X`, `Fais dire à mon avatar : X`):
/// X.
pub fn after_colon(raw: &str) -> Option<&str> {
    // A colon that ends a phrase (not one in 5:45).
    let colon = raw.char_indices().find_map(|(i, c)| {
        let next = raw[i + c.len_utf8()..].chars().next();
        (c == ':' && next.is_none_or(|n| !n.is_ascii_digit())).then_some(i)
    })?;
    let before = super::words::lower(&raw[..colon]);
    let say = &lx().say;
    // An English say word is asked for in the words before it ("make my avatar say:", not
    // "the last line of my favourite poem:").
    let words = Words::new(&before);
    let says = words.lower.iter().enumerate().any(|(i, w)| {
        let (start, end) = (words.offsets[i], words.offsets[i] + words.original(i).len());
        if say.before_colon.has(w) {
            is_asked(&before[..start])
        } else {
            say.any_language.has(w)
                && is_asked_abroad(&before[..start], &format!("{}:", &before[end..]))
        }
    }) || {
        let words = Text::new(&before);
        let n = words.words().len();
        say.colon_endings
            .iter()
            .any(|e| n >= e.len() && e.matches_at(&words, n - e.len()))
    };
    let text = raw[colon + 1..].trim();
    (says && text.chars().any(char::is_alphanumeric)).then_some(text)
}

/// Whether the words before an English say word ask for a video: nothing but greetings and
/// politeness ("hey, pls say ..."), or a request ("can you make me say", "a video of me
/// saying"); not a story, a report or a question about words ("my ex used to say", "the
/// avatar saying 'hi' made my day", "how do you say").
pub fn is_asked(before: &str) -> bool {
    // The clause the say word is in: "my son said 'do it again' so ok, one more: say ...".
    let before = before
        .rfind(['.', '!', '?', ':', ';', ',', '\n'])
        .map_or(before, |at| &before[at + 1..]);
    let asked = &lx().asked;
    let words = Words::new(before);
    if words
        .lower
        .iter()
        .all(|w| asked.filler.has(w) || !w.chars().any(char::is_alphanumeric))
    {
        return true;
    }
    let others =
        words.lower.last().is_some_and(|w| asked.others.has(w)) && !words.has_any(&asked.modal);
    let story = asked.story.hit(before) || others;
    let named = asked.things.written().any(|t| {
        words.has(t)
            && !asked
                .determiners
                .written()
                .any(|d| find_word(before, &format!("{d} {t}")).is_some())
    });
    let asks =
        words.has_any(&asked.request) || words.lower.iter().any(|w| w.contains('_')) || named;
    asks && !story
}

/// `say less`, `say what??`, `say, are you free?`, `speak of the devil`, `say hi to your mom
/// for me`: a say word in an idiom, or a greeting passed on to someone.
pub fn is_idiom(from_say: &str, first: bool, for_me: bool) -> bool {
    let idiom = &lx().idiom;
    let text = Text::new(from_say);
    let whole = idiom.whole.iter().any(|p| {
        p.starts(&text)
            && text
                .words()
                .get(p.len())
                .is_none_or(|w| !w.chars().any(char::is_alphanumeric))
    });
    whole
        || (first && from_say.starts_with("say,"))
        || idiom.starts.starts(&text)
        || (for_me && idiom.for_me.starts(&text))
}

/// Whether the words around a say word of another language ask for a video: the avatar, a
/// video or a "make me" verb before it ("Fais dire à mon avatar", "Lass meinen Avatar
/// sagen"), or the say word first, introducing the words with a colon or a quote ("Di que:
/// ...", "Sag bitte: ...", "Dis « ... »"); not "Dis donc, ...", "Sag mal, ...", "voglio dire".
pub fn is_asked_abroad(before: &str, after: &str) -> bool {
    let abroad = &lx().abroad;
    if abroad.context.hit(before) {
        return true;
    }
    let first = Words::new(before)
        .lower
        .iter()
        .all(|w| abroad.polite.has(w) || !w.chars().any(char::is_alphanumeric));
    let mut rest = after.trim_start();
    for word in abroad.lead_words.written() {
        if let Some(r) = rest.strip_prefix(word) {
            rest = r.trim_start();
        }
    }
    first && rest.starts_with([':', '"', '“', '«', '„', '\'', '‘', '「', '»'])
}

/// Where a say word asks for speech: not told as a story ("the clip where I say ..."), not
/// negated ("I didn't say delete"), not a duty ("I have to tell everyone").
pub fn find_trigger(lower: &str, trigger: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_word(&lower[from..], trigger).map(|i| from + i) {
        if asks_at(lower, at, trigger) {
            return Some(at);
        }
        from = at + trigger.len();
    }
    None
}

/// Whether the say word `trigger` at `at` in `lower` asks.
fn asks_at(lower: &str, at: usize, trigger: &str) -> bool {
    let t = &lx().trigger;
    let before: Vec<String> = lower[..at]
        .split_whitespace()
        .rev()
        .take(5)
        .map(super::lexicon::fold)
        .collect();
    let word = |i: usize| before.get(i).map(String::as_str).unwrap_or_default();
    let after = lower[at + trigger.len()..].trim_start();
    let first_or_after = |speakers: &super::lexicon::Phrases| {
        before.is_empty() || speakers.has(word(0).trim_end_matches(','))
    };
    // Some say words need a speaker just before: "a video of me saying" (not "the cat
    // saying hi"), "make my avatar announce" (not "can you announce the gate changes").
    let has_speaker = match trigger {
        "saying" => first_or_after(&t.speakers_saying),
        "announce" => first_or_after(&t.speakers_announce),
        _ => true,
    };
    // "don't make it say anything yet" (but "if u dont make me say ..." asks).
    let negated = (0..3).any(|i| t.negators.has(word(i))) && !before.iter().any(|w| w == "if");
    // "the clip where I say" tells of a video ("a video where I say" asks for one); "my
    // friends keep saying", "what to say later", "I have to tell everyone", "speak to you
    // later".
    let told = (word(0) == "i" && (word(2) == "the" || word(3) == "the"))
        || t.told_before.has(word(0))
        || (0..3).any(|i| word(i) == "what")
        || (trigger.starts_with("tell") && word(0) == "to")
        || t.told_after.written().any(|p| {
            after == p || after.starts_with(&format!("{p} ")) || after.starts_with(&format!("{p},"))
        });
    has_speaker && !negated && !told
}
