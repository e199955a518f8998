//! The requests that carry their own words: a script about something, a deletion of
//! everything, a voice note to speak, a photo to use, a voice to choose or list.

use super::lexicon::{fold, lexicon as lx};
use super::speech::{named_voice, unquoted};
use super::words::{find_word, is_voice_name, lower, Words};
use super::Read;
use crate::action::Action;

/// A script: asked for in the request itself (not in the words to speak), by a piece of
/// writing named before "about"/"for"/"on", or by asking what to say.
pub fn script(read: &Read) -> Option<Vec<Action>> {
    let unquoted = lower(&unquoted(read.raw));
    let topic = match (
        script_topic(&read.request, &read.request),
        ideas_topic(&unquoted, &unquoted),
    ) {
        (Some(_), _) => script_topic(read.raw, &read.lower),
        (None, Some(_)) => ideas_topic(read.raw, &read.lower),
        (None, None) => None,
    }?;
    (!is_voice_note_request(&read.lower)).then(|| vec![Action::WriteScript { topic, text: None }])
}

/// Everything about the person deleted (asked first by the executor).
pub fn forget(read: &Read) -> Option<Vec<Action>> {
    is_forget_request(&read.request).then(|| vec![Action::ForgetMe { confirmed: false }])
}

/// The voice note sent, spoken.
pub fn voice_note(read: &Read) -> Option<Vec<Action>> {
    is_voice_note_request(&read.lower).then(|| {
        vec![
            Action::UseVoiceNote,
            Action::Render {
                text: None,
                voice: None,
            },
        ]
    })
}

fn is_voice_note_request(lower: &str) -> bool {
    // "my voice note from yesterday was mostly me coughing": a story about one.
    let note = &lx().voice_note;
    !note.stories.hit(lower) && note.asks.hit(lower)
}

/// A voice chosen (by description or name) or the list of them asked for.
pub fn voices(read: &Read) -> Option<Vec<Action>> {
    let voices = &lx().voices;
    let words = &read.words;
    let choose = |voice: String| Some(vec![Action::ChooseVoice { voice }]);
    if let Some(voice) = described_voice(words, &read.lower).or_else(|| words.chosen_voice()) {
        return choose(voice);
    }
    if words.has("voices")
        || voices.which.hit(&read.lower)
        || (words.has("voice") && words.has_any(&voices.list_words))
    {
        return Some(vec![Action::ListVoices]);
    }
    let named = named_voice(read.raw)
        .filter(|_| words.lower.len() <= 8 || words.has_any(&voices.name_verbs));
    if let Some(voice) = named.or_else(|| picked_voice(words)) {
        return choose(voice);
    }
    None
}

/// "pick joe", "ooh use the alan one", "gimme lessac fr", "... go with ryan".
fn picked_voice(words: &Words) -> Option<String> {
    let voices = &lx().voices;
    let w = &words.lower;
    if let [.., go, with, name] = w.as_slice() {
        let original = words.original(w.len() - 1);
        if go == "go"
            && with == "with"
            && !voices.not_a_name_after_go_with.has(name)
            && is_voice_name(original)
        {
            return Some(original.to_owned());
        }
    }
    let kept: Vec<usize> = (0..w.len())
        .filter(|&i| !voices.pick_fillers.has(&w[i]))
        .collect();
    let [verb, name] = kept.as_slice() else {
        return None;
    };
    let original = words.original(*name);
    (voices.pick_verbs.has(&w[*verb])
        && is_voice_name(original)
        && !voices.not_a_name_after_verb.has(&w[*name]))
    .then(|| original.to_owned())
}

/// "use a woman's voice", "switch to a British man's voice", "I want a deeper voice": the
/// description (from the verb to "voice"), for the executor to match. Questions about the
/// voices ("any female voices?") list them instead.
fn described_voice(words: &Words, lower: &str) -> Option<String> {
    let voices = &lx().voices;
    let at = words.lower.iter().position(|w| w == "voice")?;
    let verb = words.lower[..at]
        .iter()
        .rposition(|w| voices.describe_verbs.has(w))?;
    let phrase = words.lower[verb + 1..=at].join(" ");
    if voices.question_words.hit(lower) || !spinbot_core::voices::describes_a_voice(&phrase) {
        return None;
    }
    // "a british man voice": the description, "british man", when it says as much alone.
    let inner = &words.lower[verb + 1..at];
    let inner = match inner.first().map(String::as_str) {
        Some("a" | "an" | "the") => &inner[1..],
        _ => inner,
    };
    let short = inner.join(" ");
    Some(if spinbot_core::voices::describes_a_voice(&short) {
        short
    } else {
        phrase
    })
}

/// "can it speak spanish or only english": a question about languages, not words to speak.
pub fn asks_language(render: &Action) -> bool {
    let Action::Render {
        text: Some(text), ..
    } = render
    else {
        return false;
    };
    // The first clause: "Portuguese? most of my clients are in Brazil".
    let (clause, asked) = match text.find(['?', '.', '!']) {
        Some(at) => (&text[..at], text[at..].starts_with('?')),
        None => (text.as_str(), false),
    };
    let words: Vec<String> = clause
        .split_whitespace()
        .map(|w| fold(w.trim_matches(|c: char| !c.is_alphanumeric())))
        .collect();
    words.len() <= 5
        && words.first().is_some_and(|w| lx().languages.names.has(w))
        && (asked
            || words
                .iter()
                .any(|w| w == "or" || w == "languages" || w == "language"))
}

/// "use this selfie", "here's my new pic", "make that my avatar", "swap to the photo I just
/// sent": the photo just sent becomes the face (not "I'll take a better one tomorrow").
pub fn asks_to_use_photo(words: &Words) -> bool {
    let photo = &lx().photo;
    let w = &words.lower;
    let named = w.iter().any(|p| photo.nouns.has(p) && p != "one");
    let later = words.has_any(&photo.later);
    let latest = (0..w.len()).any(|i| {
        photo.latest.has(&w[i])
            && w[i + 1..(i + 3).min(w.len())]
                .iter()
                .any(|p| photo.nouns.has(p))
    });
    let sets = words.has_any(&photo.set_verbs) || photo.set_phrases.hit(&w.join(" "));
    named && (sets || (latest && !later)) || photo.without_noun.hit(&w.join(" "))
}

/// "no idea what to say at my grandpa's funeral": a script about the occasion.
fn ideas_topic(raw: &str, lower: &str) -> Option<String> {
    let script = &lx().script;
    if !script.ideas_asks.hit(lower) {
        return None;
    }
    let at = script
        .ideas_connectors
        .written()
        .filter_map(|c| lower.find(&format!(" {c} ")).map(|i| i + c.len() + 2))
        .min()?;
    let rest = &raw[at..];
    let end = [" and ", ",", "?", "!", "."]
        .iter()
        .filter_map(|c| rest.find(c))
        .min()
        .unwrap_or(rest.len());
    let topic = rest[..end].trim();
    (!topic.is_empty()).then(|| topic.to_owned())
}

/// A delete word and an "everything" word (in English, or in another language), not about
/// the conversation ("forget what I said").
fn is_forget_request(lower: &str) -> bool {
    let forget = &lx().forget;
    let text = super::lexicon::Text::new(lower);
    if forget.delete_intl.in_text(&text) && forget.all_intl.in_text(&text) {
        return true;
    }
    if forget.conversation.in_text(&text) {
        return false;
    }
    forget.delete.in_text(&text) && forget.everything.in_text(&text)
}

/// `write a script about X`, `make a video about X`, `talk about X`, `a toast for X`: the
/// topic.
pub fn script_topic(raw: &str, lower: &str) -> Option<String> {
    let script = &lx().script;
    let connectors = script
        .connectors_loose
        .written()
        .map(|c| (c, true))
        .chain(script.connectors.written().map(|c| (c, false)));
    let (at, connector) = connectors
        .filter_map(|(c, loose)| {
            let at = find_word(lower, c)?;
            // The piece is named just before ("a toast for"), not far off ("long story short
            // ... left the oven on").
            let from = lower[..at]
                .char_indices()
                .rev()
                .filter(|(_, ch)| ch.is_whitespace())
                .nth(6)
                .map_or(0, |(i, _)| i);
            let before = super::lexicon::Text::new(&lower[from..at]);
            let written = script.written_pieces.in_text(&before);
            let any = script.any_pieces.in_text(&before);
            (written || (loose && any)).then_some((at, c))
        })
        .min()?;
    let topic = raw[at + connector.len()..]
        .trim()
        .trim_end_matches(['.', '?', '!'])
        .trim();
    // "a video about 40 minutes ago" is a time, not a topic.
    let time = topic
        .split_whitespace()
        .next()
        .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()) || w == "an" || w == "a")
        && script.time_ago.hit(topic);
    (!topic.is_empty() && !time).then(|| topic.to_owned())
}
