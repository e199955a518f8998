//! The words to speak: where a request asks for speech (a say word that asks, a colon after
//! one, a quote, the Chinese and Japanese forms) and the words as written, without what
//! frames them (a closing thanks, a tag question, quote marks, a voice named at the end).

use super::asked::{after_colon, find_trigger, is_asked, is_asked_abroad, is_idiom};
use super::lexicon::{lexicon as lx, Text};
use super::words::{is_voice_name, lower, Words};
use crate::action::Action;

/// The request without the words it asks to speak: quoted passages left out, and what
/// follows a "say" cut off (lower-case).
pub fn request_part(raw: &str) -> String {
    let mut kept = unquoted(raw);
    if let Some(colon) = after_colon(&kept).map(|t| kept.len() - t.len()) {
        kept.truncate(colon);
    }
    let lower = lower(&kept);
    let cut = lx()
        .say
        .request_cut
        .written()
        .filter_map(|t| find_trigger(&lower, t).map(|at| at + t.len()))
        .min()
        .unwrap_or(lower.len());
    lower[..cut].to_owned()
}

/// The message with its quoted passages left out.
pub fn unquoted(raw: &str) -> String {
    let mut kept = String::new();
    let mut rest = raw;
    while let Some(q) = quoted(rest) {
        kept.push_str(&rest[..q.open]);
        kept.push(' ');
        rest = q.rest;
    }
    kept.push_str(rest);
    kept
}

/// `say X`, `make my avatar say: X`, `read this: X`, a quoted sentence: render X.
pub fn speech_request(raw: &str, lower: &str) -> Option<Action> {
    if let Some(text) = east_asian(raw) {
        return Some(Action::render(text));
    }
    if let Some(text) = after_colon(raw) {
        let (text, voice) = split_voice_suffix(text);
        let text = tidy(strip_quotes(&text), is_question(lower));
        if !text.is_empty() {
            return Some(Action::Render {
                text: Some(text.to_owned()),
                voice: voice.or_else(|| named_voice(raw)),
            });
        }
    }
    // Say words are looked for outside quotes ("she keeps replying 'say less'").
    let masked = masked_quotes(raw, lower);
    let trigger = say_word(&masked, lower);
    if let Some(render) = quote_request(raw, lower, &masked, trigger) {
        return Some(render);
    }
    let (at, len) = trigger?;
    let mut text = raw[at + len..].trim_start();
    for filler in lx().say.fillers_after.written() {
        if super::words::lower(text).starts_with(filler) {
            text = text[filler.len()..].trim_start();
        }
    }
    let text = text.trim_start_matches([':', '-', ',']).trim();
    let (text, voice) = split_voice_suffix(text);
    let text = tidy(strip_quotes(&text), is_question(lower));
    (!text.is_empty()).then(|| Action::Render {
        text: Some(text.to_owned()),
        voice: voice.or_else(|| named_voice(raw)),
    })
}

/// Chinese 让我的头像说“X” / 請讓我的頭像說：「X」, Japanese 「X」と言わせて / 「X」って言って
/// (not 「X」と言った, a report): X.
fn east_asian(raw: &str) -> Option<&str> {
    let say = &lx().say;
    let quote = quoted(raw)?;
    let before = &raw[..quote.open];
    let chinese = before
        .trim_end_matches([':', '：', ' '])
        .ends_with(['说', '說'])
        && say.zh_request.written().any(|w| before.contains(w));
    let japanese = (say.ja_forms.written().any(|form| raw.contains(form))
        || raw
            .trim_end_matches(['w', '笑', '!', '！', '。', ' '])
            .ends_with("言って"))
        && raw[..quote.start].ends_with('「');
    (chinese || japanese).then(|| raw[quote.start..quote.end].trim())
}

/// The first say word that asks for speech: where it is and how long.
fn say_word(masked: &str, lower: &str) -> Option<(usize, usize)> {
    let say = &lx().say;
    say.english
        .written()
        .map(|t| (t, true))
        .chain(say.other.written().map(|t| (t, false)))
        .filter_map(|(t, english)| find_trigger(masked, t).map(|at| (at, t.len(), english)))
        .filter(|&(at, len, english)| {
            let said = &masked[at..at + len];
            // "just saying hi": a greeting, not a request.
            let greeting = said == "saying" && masked[..at].trim_end().ends_with("just")
                || is_idiom(
                    &masked[at..],
                    masked[..at].trim().is_empty(),
                    masked.trim_end().ends_with("for me"),
                );
            if english {
                is_asked(&masked[..at]) && !greeting
            } else {
                // "Скажи привет всем" (not "Скажи честно, ты спишь?", a question).
                let leading = masked[..at].trim().is_empty()
                    && !masked.contains('?')
                    && lx().abroad.leading_imperatives.has(said);
                leading || is_asked_abroad(&masked[..at], &lower[at + len..])
            }
        })
        .map(|(at, len, _)| (at, len))
        .min()
}

/// A quoted passage to speak: after a say word, or most of a message that asks for a video
/// (a quotation alone asks for nothing); not a quote inside the words, nor one followed by a
/// say word with its own words.
fn quote_request(
    raw: &str,
    lower: &str,
    masked: &str,
    trigger: Option<(usize, usize)>,
) -> Option<Action> {
    let say = &lx().say;
    let Quote {
        open,
        start,
        end,
        rest,
    } = quoted(raw)?;
    let masked_text = Text::new(masked);
    let asks_render = say.quote_render_words.in_text(&masked_text);
    // `my son said "do it again" ... say dinosaurs are real`: the say word that follows
    // the quote has its own words, unless they point back ("say that").
    let own_words = trigger.is_some_and(|(at, len)| {
        let after = masked[(at + len).min(masked.len())..].trim_start();
        at > open
            && after.split_whitespace().count() >= 3
            && !say.points_back.written().any(|p| after.starts_with(p))
    });
    // `say do not open the email from 'payroll', delete it`: the quote is inside the words.
    let inside_words = rest.split_whitespace().count() >= 3
        && trigger.is_some_and(|(at, len)| {
            at + len <= open && {
                let between = lower[at + len..open].trim_matches([' ', ':', '-', ',']);
                !between.is_empty() && !say.intro_words.written().any(|w| w == between)
            }
        });
    let most = 2 * (end - start) >= raw.trim().len();
    if inside_words || own_words || !(trigger.is_some() || (asks_render && most)) {
        return None;
    }
    let (_, voice) = split_voice_suffix(rest);
    Some(Action::Render {
        text: Some(raw[start..end].trim().to_owned()),
        voice: voice.or_else(|| named_voice(raw)),
    })
}

/// `lower` with the insides of quoted passages blanked (byte offsets kept).
fn masked_quotes(raw: &str, lower: &str) -> String {
    let mut bytes = lower.as_bytes().to_vec();
    let mut from = 0;
    while let Some(q) = quoted(&raw[from..]) {
        for b in &mut bytes[from + q.start..from + q.end] {
            *b = b' ';
        }
        from = raw.len() - q.rest.len();
    }
    String::from_utf8(bytes).unwrap_or_else(|_| lower.to_owned())
}

/// A quoted passage: where its opening mark is, its content's byte range, what follows.
struct Quote<'a> {
    open: usize,
    start: usize,
    end: usize,
    rest: &'a str,
}

/// Opening and closing quote marks, of every kind people type.
const QUOTE_PAIRS: [(char, char); 8] = [
    ('"', '"'),
    ('“', '”'),
    ('«', '»'),
    ('\'', '\''),
    ('‘', '’'),
    ('`', '`'),
    ('„', '“'),
    ('「', '」'),
];

/// The first quoted passage.
fn quoted(raw: &str) -> Option<Quote<'_>> {
    for (i, c) in raw.char_indices() {
        let Some(&(_, close)) = QUOTE_PAIRS.iter().find(|(open, _)| *open == c) else {
            continue;
        };
        let starts_word = raw[..i]
            .chars()
            .next_back()
            .is_none_or(|p| p.is_whitespace() || p == ':' || p >= '\u{3000}');
        if !starts_word && c != '「' {
            continue;
        }
        let from = i + c.len_utf8();
        let found = raw[from..].char_indices().find(|&(j, d)| {
            let after = raw[from + j + d.len_utf8()..].chars().next();
            d == close && (close == '」' || after.is_none_or(|a| !a.is_ascii_alphanumeric()))
        });
        if let Some((j, d)) = found {
            let end = from + j;
            if raw[from..end].chars().any(char::is_alphanumeric) {
                return Some(Quote {
                    open: i,
                    start: from,
                    end,
                    rest: &raw[end + d.len_utf8()..],
                });
            }
        }
    }
    None
}

/// A request asked as a question ("can you make it say ... ?").
fn is_question(lower: &str) -> bool {
    let question = &lx().question;
    if question.request_words.hit(&request_part(lower)) {
        return true;
    }
    let first = lower.split_whitespace().next().unwrap_or_default();
    question.first_words.has(first) || lower.contains("possible")
}

/// The words to speak without what frames them: a signature after a line break, a closing
/// pleasantry, a closing emoji, a tag question (", ok?"), the question mark of a request
/// asked as a question, an unmatched quote mark.
fn tidy(text: &str, question: bool) -> &str {
    let mut t = text.trim();
    // A line break ends the words: what follows is a signature ("Regards,\nMrs. Iyer").
    if let Some(line) = t.split('\n').next() {
        t = line.trim();
    }
    t = without_pleasantry(t);
    t = t
        .trim_end_matches(|c: char| !c.is_ascii() && !c.is_alphanumeric() && !"”’»".contains(c))
        .trim_end();
    for tag in lx().tidy.tags.written() {
        let cut = t
            .len()
            .checked_sub(tag.len())
            .filter(|&at| t.is_char_boundary(at));
        if let Some(at) = cut.filter(|&at| t[at..].eq_ignore_ascii_case(tag)) {
            let before = &t[..at];
            if before.ends_with([' ', ',']) || tag.starts_with(',') {
                t = before.trim_end_matches([' ', ',']).trim_end();
            }
        }
    }
    if question {
        t = t.strip_suffix('?').unwrap_or(t).trim_end();
    }
    for mark in ['"', '“', '\'', '‘', '`', '«', '„'] {
        if t.starts_with(mark)
            && !t[mark.len_utf8()..].contains(mark)
            && !t.ends_with(['"', '”', '\'', '’', '`', '»'])
        {
            t = t[mark.len_utf8()..].trim_start();
        }
    }
    t
}

/// A closing pleasantry ("Thanks a bunch!", "sorry for the long message") after the end of
/// a sentence or an emoji is not part of the words; the sentence keeps its full stop.
fn without_pleasantry(mut t: &str) -> &str {
    for _ in 0..2 {
        let cut = t
            .char_indices()
            .filter(|(i, c)| {
                (".!?".contains(*c) || (!c.is_ascii() && !c.is_alphanumeric()))
                    && t[i + c.len_utf8()..].starts_with(' ')
            })
            .map(|(i, c)| i + c.len_utf8())
            .next_back();
        let Some(cut) = cut else { break };
        let last = t[cut..].trim();
        let pleasantry = lx().tidy.pleasantries.starts(&Text::new(last));
        if !pleasantry || last.len() > 40 {
            break;
        }
        t = t[..cut].trim_end();
        t = t
            .trim_end_matches(|c: char| !c.is_ascii() && !c.is_alphanumeric())
            .trim_end();
    }
    t
}

/// A voice named anywhere in the message by its full name (`en_US-joe-medium`).
pub fn named_voice(raw: &str) -> Option<String> {
    raw.split(|c: char| c.is_whitespace() || ",.;:!?\"'“”".contains(c))
        .find(|w| {
            let parts: Vec<&str> = w.split('-').collect();
            parts.len() == 3
                && parts[0].len() == 5
                && parts[0].as_bytes().get(2) == Some(&b'_')
                && is_voice_name(w)
        })
        .map(str::to_owned)
}

fn strip_quotes(text: &str) -> &str {
    let t = text.trim();
    for (open, close) in QUOTE_PAIRS {
        if let Some(inner) = t.strip_prefix(open).and_then(|s| s.strip_suffix(close)) {
            return inner.trim();
        }
    }
    t
}

/// `... in the amy voice`, `... with the voice en_US-joe-medium`: the text before and the
/// voice.
fn split_voice_suffix(text: &str) -> (String, Option<String>) {
    let words = Words::new(text);
    let n = words.lower.len();
    if n < 4 {
        return (text.trim().to_owned(), None);
    }
    let prep = |i: usize| lx().voices.suffix_preps.has(&words.lower[i]);
    let cut = |i: usize| text[..words.offsets[i]].trim().to_owned();
    // "in the amy voice", "in amy voice"; "with the voice X", "with voice X".
    let name_at = if words.lower[n - 1] == "voice" {
        n - 2
    } else if words.lower[n - 2] == "voice" {
        n - 1
    } else {
        return (text.trim().to_owned(), None);
    };
    let name = words.original(name_at);
    if !is_voice_name(name) {
        return (text.trim().to_owned(), None);
    }
    if words.lower[n - 3] == "the" && prep(n - 4) {
        return (cut(n - 4), Some(name.to_owned()));
    }
    if prep(n - 3) {
        return (cut(n - 3), Some(name.to_owned()));
    }
    (text.trim().to_owned(), None)
}
