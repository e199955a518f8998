//! Text to IPA phonemes with espeak-ng (run as a program: it is GPL), grouped by sentence
//! the way Piper's own phonemizer groups them, so a Piper voice hears what it was trained on.

use crate::error::FarmError;
use std::io::Write;
use std::process::{Command, Stdio};
use unicode_normalization::UnicodeNormalization;

/// A clause of text with the punctuation that ended it.
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    text: String,
    /// The mark Piper keeps as a symbol (none at the end of the text or after an ellipsis).
    terminator: Option<char>,
    /// Whether a sentence ends here (Piper synthesises sentence by sentence).
    sentence_end: bool,
    /// The punctuation as written, handed back to espeak-ng.
    punctuation: String,
}

impl Clause {
    fn ends_sentence(&self) -> bool {
        self.sentence_end
    }
}

fn is_clause_mark(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ',' | ':' | ';' | '…')
}

/// Splits text at clause punctuation followed by a space or the end (so "3.5" stays whole),
/// the way espeak-ng does: an ellipsis breaks the clause but neither ends the sentence nor
/// leaves a mark.
fn clauses(text: &str) -> Vec<Clause> {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_clause_mark(c) {
            let mut j = i;
            while j < chars.len() && is_clause_mark(chars[j]) {
                j += 1;
            }
            if j == chars.len() || chars[j].is_whitespace() {
                let punctuation: String = chars[i..j].iter().collect();
                let ellipsis = c == '…' || punctuation.starts_with("..");
                let (terminator, sentence_end) = if ellipsis {
                    (None, false)
                } else {
                    (Some(c), matches!(c, '.' | '!' | '?'))
                };
                push_clause(
                    &mut out,
                    &mut current,
                    terminator,
                    sentence_end,
                    punctuation,
                );
                i = j;
                continue;
            }
        }
        current.push(c);
        i += 1;
    }
    push_clause(&mut out, &mut current, None, true, String::new());
    out
}

fn push_clause(
    out: &mut Vec<Clause>,
    current: &mut String,
    terminator: Option<char>,
    sentence_end: bool,
    punctuation: String,
) {
    let text = current.trim().to_owned();
    current.clear();
    if text.chars().any(|c| c.is_alphanumeric()) {
        out.push(Clause {
            text,
            terminator,
            sentence_end,
            punctuation,
        });
    }
}

/// Runs espeak-ng on `text`, returning one IPA line per clause it found.
fn espeak_lines(voice: &str, text: &str) -> Result<Vec<String>, FarmError> {
    let mut child = Command::new("espeak-ng")
        .args(["-q", "--ipa", "-v", voice, "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| FarmError::tool("espeak-ng", format!("cannot run espeak-ng: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| FarmError::tool("espeak-ng", e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| FarmError::tool("espeak-ng", e.to_string()))?;
    if !out.status.success() {
        return Err(FarmError::tool(
            "espeak-ng",
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| strip_language_flags(l.trim()))
        .filter(|l| !l.is_empty())
        .collect())
}

/// Removes espeak's "(en)" language-switch marks.
fn strip_language_flags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut depth = 0usize;
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Phonemes of `text` for the espeak voice `voice`: one list of symbols per sentence,
/// punctuation kept as symbols, accents split off (NFD) as Piper does.
pub fn phonemize(voice: &str, text: &str) -> Result<Vec<Vec<String>>, FarmError> {
    let clauses = clauses(text);
    if clauses.is_empty() {
        return Ok(Vec::new());
    }
    // One espeak-ng run for the whole text; when its clauses line up with ours (the usual
    // case) each line is one clause, else each clause is phonemized on its own.
    let joined = clauses
        .iter()
        .map(|c| format!("{}{}", c.text, c.punctuation))
        .collect::<Vec<_>>()
        .join(" ");
    let lines = espeak_lines(voice, &joined)?;
    let per_clause: Vec<String> = if lines.len() == clauses.len() {
        lines
    } else {
        clauses
            .iter()
            .map(|c| espeak_lines(voice, &c.text).map(|l| l.join(" ")))
            .collect::<Result<_, _>>()?
    };

    let mut sentences = Vec::new();
    let mut sentence: Vec<String> = Vec::new();
    for (clause, ipa) in clauses.iter().zip(per_clause) {
        let mut piece = ipa;
        if let Some(t) = clause.terminator {
            piece.push(t);
            if matches!(t, ',' | ':' | ';') {
                piece.push(' ');
            }
        }
        sentence.extend(piece.nfd().map(String::from));
        if clause.ends_sentence() {
            sentences.push(std::mem::take(&mut sentence));
        }
    }
    if !sentence.is_empty() {
        sentences.push(sentence);
    }
    Ok(sentences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_clauses_like_piper() {
        let c = clauses("Happy birthday,  Anna! How are you\ntoday?");
        let texts: Vec<_> = c.iter().map(|c| (c.text.as_str(), c.terminator)).collect();
        assert_eq!(
            texts,
            vec![
                ("Happy birthday", Some(',')),
                ("Anna", Some('!')),
                ("How are you today", Some('?'))
            ]
        );
        assert!(!c[0].ends_sentence());
        assert!(c[1].ends_sentence());
    }

    #[test]
    fn keeps_decimals_and_drops_bare_punctuation() {
        let c = clauses("It costs 3.5 dollars... ok?! ,,,");
        let texts: Vec<_> = c
            .iter()
            .map(|c| (c.text.as_str(), c.terminator, c.sentence_end))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("It costs 3.5 dollars", None, false),
                ("ok", Some('?'), true)
            ]
        );
    }

    #[test]
    fn strips_language_flags() {
        assert_eq!(strip_language_flags("(fr)bɔ̃ʒuʁ(en) hˈɛloʊ"), "bɔ̃ʒuʁ hˈɛloʊ");
    }
}
