//! The understanding's data (`agent/understanding.toml`, built into the binary) compiled once
//! into phrase matchers: a message is cut into words (lower-cased, Unicode-aware, letters
//! repeated three times and more squeezed), and a phrase matches where its words follow one
//! another (`word*` a word that begins so, `*` any one word; phrases in scripts written
//! without spaces anywhere in the text).

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// The data, as built in.
pub const DATA: &str = include_str!("../../understanding.toml");

/// The lexicon, read once. The data is built in and checked by the tests, so it cannot fail
/// on a user's machine; were it ever broken, every list is empty and messages get help.
pub fn lexicon() -> &'static Lexicon {
    static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
        toml::from_str(DATA).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the built-in understanding does not parse");
            Lexicon::default()
        })
    });
    &LEXICON
}

/// A message cut into words: each word folded (lower case, "’" as "'", letters repeated
/// three times or more read once), punctuation one word per mark.
#[derive(Debug, Clone)]
pub struct Text {
    words: Vec<String>,
    /// The folded words joined by spaces, for phrases of scripts without spaces.
    joined: String,
}

impl Text {
    pub fn new(text: &str) -> Self {
        let words = split(text);
        let joined = words.join(" ");
        Self { words, joined }
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// Whether `c` belongs inside a word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '\'' | '’' | '_' | '-') || is_mark(c)
}

/// Combining marks (Devanagari vowel signs, Arabic harakat): part of the word they follow.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0610..=0x061A | 0x064B..=0x065F | 0x0900..=0x0903
        | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963 | 0x3099..=0x309A)
}

/// Scripts written without spaces between words.
fn is_unspaced(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0x0E00..=0x0E7F | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

fn split(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_word_char(c) {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            words.push(fold(&word));
            word.clear();
        }
        if !c.is_whitespace() {
            words.push(fold(c.encode_utf8(&mut [0; 4])));
        }
    }
    if !word.is_empty() {
        words.push(fold(&word));
    }
    words
}

/// Lower case ("İ" as "i"), "’" as "'", and three or more of a letter as one ("yesss", "stuuuck").
pub fn fold(word: &str) -> String {
    // "İ" lower-cases to "i" and a combining dot: read as "i".
    let lower = word.to_lowercase().replace('’', "'").replace('\u{307}', "");
    let mut out = String::with_capacity(lower.len());
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.next_if_eq(&c).is_some() {
            run += 1;
        }
        let kept = if run >= 3 && c.is_alphabetic() {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(c, kept));
    }
    out
}

/// One word of a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Word(String),
    Prefix(String),
    Any,
}

impl Part {
    fn matches(&self, word: &str) -> bool {
        match self {
            Part::Word(w) => w == word,
            Part::Prefix(p) => word.starts_with(p.as_str()),
            Part::Any => word.chars().any(char::is_alphanumeric),
        }
    }
}

/// A phrase as written in the data, and how it matches.
#[derive(Debug, Clone)]
pub struct Phrase {
    pub written: String,
    /// The language list it came from.
    pub language: String,
    parts: Vec<Part>,
    /// Of a script without spaces: matched anywhere.
    unspaced: Option<String>,
}

impl Phrase {
    fn new(written: &str, language: &str) -> Self {
        let unspaced = written
            .chars()
            .any(is_unspaced)
            .then(|| split(written).join(" "));
        let parts = written
            .split_whitespace()
            .flat_map(|w| match w {
                "*" => vec![Part::Any],
                w if w.len() > 1 && w.ends_with('*') => {
                    vec![Part::Prefix(fold(&w[..w.len() - 1]))]
                }
                w => split(w).into_iter().map(Part::Word).collect(),
            })
            .collect();
        Self {
            written: written.to_owned(),
            language: language.to_owned(),
            parts,
            unspaced,
        }
    }

    /// Where the phrase first occurs in `text`: its first word's index.
    pub fn find(&self, text: &Text) -> Option<usize> {
        if let Some(unspaced) = &self.unspaced {
            return text.joined.contains(unspaced.as_str()).then_some(0);
        }
        let n = self.parts.len();
        if n == 0 || n > text.words.len() {
            return None;
        }
        (0..=text.words.len() - n).find(|&at| self.matches_at(text, at))
    }

    /// How many words the phrase is.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Whether the phrase occurs in `text` from word `at`.
    pub fn matches_at(&self, text: &Text, at: usize) -> bool {
        self.unspaced.is_none()
            && !self.parts.is_empty()
            && at + self.parts.len() <= text.words.len()
            && self
                .parts
                .iter()
                .zip(&text.words[at..])
                .all(|(p, w)| p.matches(w))
    }

    /// Whether `text` starts with the phrase.
    pub fn starts(&self, text: &Text) -> bool {
        self.matches_at(text, 0)
    }
}

/// A list of phrases: one list, or one per language (all taken), indexed by first word.
#[derive(Debug, Clone, Default)]
pub struct Phrases {
    phrases: Vec<Phrase>,
    /// The phrases that begin with a given word.
    by_first: HashMap<String, Vec<usize>>,
    /// The others: beginning with a wildcard, or of a script without spaces.
    others: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    One(Vec<String>),
    PerLanguage(BTreeMap<String, Vec<String>>),
}

impl<'de> Deserialize<'de> for Phrases {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let languages = match Written::deserialize(d)? {
            Written::One(list) => BTreeMap::from([(String::new(), list)]),
            Written::PerLanguage(map) => map,
        };
        let phrases = languages
            .iter()
            .flat_map(|(language, list)| list.iter().map(|w| Phrase::new(w, language)))
            .collect();
        Ok(Self::indexed(phrases))
    }
}

impl Phrases {
    fn indexed(phrases: Vec<Phrase>) -> Self {
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        let mut others = Vec::new();
        for (i, phrase) in phrases.iter().enumerate() {
            match (&phrase.unspaced, phrase.parts.first()) {
                (None, Some(Part::Word(first))) => {
                    by_first.entry(first.clone()).or_default().push(i)
                }
                _ => others.push(i),
            }
        }
        Self {
            phrases,
            by_first,
            others,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Phrase> {
        self.phrases.iter()
    }

    /// Whether any phrase occurs in `text`.
    pub fn in_text(&self, text: &Text) -> bool {
        let starting = text.words.iter().enumerate().any(|(at, word)| {
            self.by_first
                .get(word)
                .is_some_and(|found| found.iter().any(|&i| self.phrases[i].matches_at(text, at)))
        });
        starting
            || self
                .others
                .iter()
                .any(|&i| self.phrases[i].find(text).is_some())
    }

    /// Whether any phrase occurs in `text` (cut into words here).
    pub fn hit(&self, text: &str) -> bool {
        self.in_text(&Text::new(text))
    }

    /// Whether `word` (already folded) is one of the list's one-word phrases.
    pub fn has(&self, word: &str) -> bool {
        let one = |i: &usize| self.phrases[*i].parts.len() == 1;
        self.by_first
            .get(word)
            .is_some_and(|found| found.iter().any(one))
            || self
                .others
                .iter()
                .filter(|i| one(i))
                .any(|&i| self.phrases[i].parts[0].matches(word))
    }

    /// Whether `text` starts with one of the phrases.
    pub fn starts(&self, text: &Text) -> bool {
        self.phrases.iter().any(|p| p.starts(text))
    }

    /// The phrases as written.
    pub fn written(&self) -> impl Iterator<Item = &str> {
        self.phrases.iter().map(|p| p.written.as_str())
    }
}

/// A rule's lists, by list name; the data's sections, by rule.
pub type Sections = BTreeMap<String, BTreeMap<String, Phrases>>;

/// Every list of the data, by section and name, for the coverage report and the checks.
pub fn sections() -> Result<Sections, toml::de::Error> {
    toml::from_str(DATA)
}

/// The phrases no text of `texts` matches: `section.list: phrase`.
pub fn uncovered(texts: &[&str]) -> Result<Vec<String>, toml::de::Error> {
    let texts: Vec<Text> = texts.iter().map(|t| Text::new(t)).collect();
    let mut left = Vec::new();
    for (section, lists) in sections()? {
        for (name, phrases) in lists {
            for phrase in phrases.iter() {
                if !texts.iter().any(|t| phrase.find(t).is_some()) {
                    left.push(format!("{section}.{name}: {}", phrase.written));
                }
            }
        }
    }
    Ok(left)
}

/// The data: one section per rule, each a few lists of phrases.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    pub say: Say,
    pub asked: Asked,
    pub trigger: Trigger,
    pub idiom: Idiom,
    pub abroad: Abroad,
    pub tidy: Tidy,
    pub question: Question,
    pub script: Script,
    pub negation: Negation,
    pub how_to: HowTo,
    pub keep: Keep,
    pub cancel: Cancel,
    pub stop: Stop,
    pub status: Status,
    pub worried: Worried,
    pub feedback: Feedback,
    pub forget: Forget,
    pub edits: Edits,
    pub one_video: OneVideo,
    pub photo: Photo,
    pub voice_note: VoiceNote,
    pub voices: Voices,
    pub languages: Languages,
    pub go: Go,
    pub yes: Yes,
    pub asks: Asks,
    pub help: Help,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Say {
    /// Say words of every language, for "... say: X".
    pub any_language: Phrases,
    /// English say words before a colon.
    pub before_colon: Phrases,
    /// The words before a colon that introduce what to say.
    pub colon_endings: Phrases,
    /// The request ends at the first of these.
    pub request_cut: Phrases,
    /// Chinese: 让我的头像说“X”.
    pub zh_request: Phrases,
    /// Japanese: 「X」と言わせて.
    pub ja_forms: Phrases,
    /// A quote that is most of the message is rendered with one of these.
    pub quote_render_words: Phrases,
    /// "say that": words that point back to a quote.
    pub points_back: Phrases,
    /// "say the following: 'X'": words that introduce a quote.
    pub intro_words: Phrases,
    /// Left out after the say word ("say this out loud: X").
    pub fillers_after: Phrases,
    /// Say words of other languages, whose request is read around them.
    pub other: Phrases,
    /// English say words, whose request is read in the words before them.
    pub english: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asked {
    /// Greetings and politeness before a say word still ask.
    pub filler: Phrases,
    /// Words that ask for a video before a say word.
    pub request: Phrases,
    /// The video or the avatar named before a say word.
    pub things: Phrases,
    /// A story or a question about words, not a request.
    pub story: Phrases,
    /// "they say": other people's words.
    pub others: Phrases,
    /// ...unless asked with one of these.
    pub modal: Phrases,
    /// "the video": a video already made.
    pub determiners: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// "saying" needs one of these just before.
    pub speakers_saying: Phrases,
    /// "announce" needs one of these just before.
    pub speakers_announce: Phrases,
    /// "don't make it say".
    pub negators: Phrases,
    /// "my friends keep saying": told, not asked.
    pub told_before: Phrases,
    /// "speak to you later".
    pub told_after: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idiom {
    /// Idioms with a say word (the whole phrase).
    pub whole: Phrases,
    /// Idioms with a say word (at its start).
    pub starts: Phrases,
    /// "say hi to your mom for me".
    pub for_me: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Abroad {
    /// The avatar, a video or a "make me" verb before a say word of another language.
    pub context: Phrases,
    /// Politeness that may come before a say word of another language.
    pub polite: Phrases,
    /// Left out between the say word and the words.
    pub lead_words: Phrases,
    /// A say word of these languages first in the message asks even without a colon.
    pub leading_imperatives: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tidy {
    /// A closing pleasantry after the words is left out.
    pub pleasantries: Phrases,
    /// Tag questions and politeness at the end are left out.
    pub tags: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// A request asked as a question.
    pub request_words: Phrases,
    /// A request asked as a question begins with one of these.
    pub first_words: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Asking for ideas of what to say.
    pub ideas_asks: Phrases,
    /// The topic of ideas follows one of these.
    pub ideas_connectors: Phrases,
    /// Spoken pieces that go with "about".
    pub any_pieces: Phrases,
    /// Written pieces that go with "about", "for" and "on".
    pub written_pieces: Phrases,
    /// "a video about 40 minutes ago" is a time.
    pub time_ago: Phrases,
    /// The topic follows one of these, after a written piece.
    pub connectors: Phrases,
    /// The topic follows one of these, after any piece.
    pub connectors_loose: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Negation {
    /// A destructive word with one of these up to five words before is negated.
    pub negators: Phrases,
    /// Words that delete or stop something.
    pub destructive: Phrases,
    /// "told me to stop": someone else's words.
    pub report_verbs: Phrases,
    /// "don't send it": a negator before one of these is a request, not a negation.
    pub do_verbs: Phrases,
    /// A negated request that asks about progress is a status question.
    pub status_words: Phrases,
    /// A negated request that asks about progress is a status question.
    pub status_phrases: Phrases,
    /// Negated deletions and cancels in other languages.
    pub intl: Phrases,
    /// Progress questions in other languages.
    pub status_intl: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HowTo {
    /// Questions about how to do something: answered with help.
    pub phrases: Phrases,
    /// Questions about how, when no say word is there.
    pub without_say: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keep {
    /// Keeping things as they are: nothing goes.
    pub phrases: Phrases,
    /// ...and asking about progress.
    pub asks_now: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    /// A job id and one of these words cancels that job.
    pub verbs_with_id: Phrases,
    /// Said as a request, these stop the latest video (not with "yet").
    pub request_phrases: Phrases,
    /// Stopping the video in the making.
    pub phrases: Phrases,
    /// ...unless a say word and one of these ask for a new one.
    pub unless_say_make: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    /// Stop words whose object is the video (or nothing).
    pub verbs: Phrases,
    /// Skipped between the stop word and its object.
    pub skip: Phrases,
    /// The video, as the object of a stop word.
    pub objects: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// Asking how a video is doing.
    pub asks: Phrases,
    /// "have you forgotten me?": a worried question.
    pub forgotten_me: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worried {
    /// "it's been ...": time passing...
    pub waited: Phrases,
    /// ...when followed by one of these (or a number).
    pub waited_next: Phrases,
    /// Worry about a video on its way.
    pub phrases: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// A report on a video already made.
    pub phrases: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forget {
    /// Delete, in other languages (with an "all" word below).
    pub delete_intl: Phrases,
    /// All / my data, in other languages.
    pub all_intl: Phrases,
    /// Delete verbs (with an "everything" phrase below).
    pub delete: Phrases,
    /// About the conversation, not the data.
    pub conversation: Phrases,
    /// What is deleted: everything about the person.
    pub everything: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edits {
    /// Words that take something away.
    pub take_away: Phrases,
    /// Photo edits.
    pub verbs: Phrases,
    /// What a photo edit is of.
    pub objects: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneVideo {
    /// One video to delete (not supported).
    pub objects: Phrases,
    /// ...unless everything is to go.
    pub unless_all: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    /// The photo just sent.
    pub nouns: Phrases,
    /// "my latest photo".
    pub latest: Phrases,
    /// A photo promised for later, not sent.
    pub later: Phrases,
    /// Verbs that make a photo the avatar.
    pub set_verbs: Phrases,
    /// Phrases that make a photo the avatar.
    pub set_phrases: Phrases,
    /// The photo just sent made the avatar without naming it.
    pub without_noun: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceNote {
    /// A story about a voice note, not a request to use one.
    pub stories: Phrases,
    /// Naming the voice note or recording the person sent.
    pub asks: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voices {
    /// Asking which voices there are.
    pub which: Phrases,
    /// With the word "voice", these ask for the list.
    pub list_words: Phrases,
    /// A full voice name (en_US-joe-medium) in a longer message is chosen with one of these.
    pub name_verbs: Phrases,
    /// Words left out when reading "pick joe", "ooh use the alan one".
    pub pick_fillers: Phrases,
    /// "... go with X": X is not a voice when it is one of these.
    pub not_a_name_after_go_with: Phrases,
    /// "pick X": X is not a voice when it is one of these.
    pub not_a_name_after_verb: Phrases,
    /// "pick X", "use X": the verbs.
    pub pick_verbs: Phrases,
    /// "use a woman's voice": the verb before the description.
    pub describe_verbs: Phrases,
    /// A description asked about ("any female voices?") lists the voices.
    pub question_words: Phrases,
    /// "... in the amy voice", "with the voice X".
    pub suffix_preps: Phrases,
    /// "use the amy voice": the verbs.
    pub choose_verbs: Phrases,
    /// Words before "voice" that are not a name.
    pub not_a_name_before: Phrases,
    /// Words after "voice" that are not a name.
    pub not_names: Phrases,
    /// The word "voice".
    pub voice_words: Phrases,
    /// "switch voice to X", "la voz de X": the name follows one of these.
    pub name_follows: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Languages {
    /// "can it speak spanish?": a question about languages, not words to speak.
    pub names: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Go {
    /// "looks good, go ahead": the words around a go word.
    pub filler: Phrases,
    /// Go words.
    pub words: Phrases,
    /// "ok" alone acknowledges; it asks for nothing.
    pub acknowledgements: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Yes {
    /// A yes to a question the bot asked, when it is the first word.
    pub words: Phrases,
    /// Any of these in the answer makes it not a yes.
    pub no_words: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asks {
    /// Words that ask for something.
    pub words: Phrases,
    /// Phrases that ask for something.
    pub phrases: Phrases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Help {
    /// Asking what the bot does or how it works.
    pub phrases: Phrases,
    /// A message made of these is a greeting.
    pub greeting_words: Phrases,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases(list: &[&str]) -> Phrases {
        let toml = format!("x = {list:?}");
        let parsed: BTreeMap<String, Phrases> = toml::from_str(&toml).unwrap_or_default();
        parsed.get("x").cloned().unwrap_or_default()
    }

    #[test]
    fn the_data_reads_and_no_list_holds_a_phrase_twice() {
        let read: Result<Lexicon, _> = toml::from_str(DATA);
        assert!(read.is_ok(), "{read:?}");
        let sections = sections().unwrap_or_default();
        assert!(sections.len() > 20);
        for (section, lists) in &sections {
            for (name, list) in lists {
                let written: Vec<(&str, &str)> = list
                    .iter()
                    .map(|p| (p.language.as_str(), p.written.as_str()))
                    .collect();
                assert!(!written.is_empty(), "{section}.{name} is empty");
                for (i, phrase) in written.iter().enumerate() {
                    assert!(
                        !written[..i].contains(phrase),
                        "{section}.{name}: {phrase:?} twice"
                    );
                }
            }
        }
    }

    #[test]
    fn phrases_match_whole_words_in_any_case_and_script() {
        let sil = phrases(&["sil", "todo"]);
        assert!(!sil.hit("my silly todolist"));
        assert!(sil.hit("tüm verilerimi SİL"));
        assert!(phrases(&["скажи"]).hit("СКАЖИ ПРИВЕТ"));
        assert!(phrases(&["χρόνια πολλά"]).hit("ΧΡΌΝΙΑ ΠΟΛΛΆ!"));
        assert!(phrases(&["don't send"]).hit("pls DON’T send it"));
        assert!(phrases(&["done?"]).hit("is it done??"));
        assert!(!phrases(&["done?"]).hit("done. thanks"));
        assert!(phrases(&["crash*"]).hit("did it crash"));
        assert!(phrases(&["crash*"]).hit("it crashed again"));
        assert!(phrases(&["let * cook"]).hit("let him cook"));
        assert!(!phrases(&["let * cook"]).hit("let cook"));
        assert!(phrases(&["stuck"]).hit("is it stuuuck"));
        assert!(phrases(&["删除"]).hit("删除我的所有数据"));
        assert!(phrases(&["사용법"]).hit("안녕하세요 사용법 알려주세요"));
    }
}
