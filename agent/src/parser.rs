//! The built-in parser: the common requests understood without any language model, by
//! plain word matching. It is what `spinbot plan` uses when no model is configured, and
//! what the agent falls back to when the model is absent, slow or talks nonsense, so a user
//! always gets an answer. It reads no state.

use crate::action::Action;

/// The namespaces of user ids; a message that names one asks about someone else.
const NAMESPACES: &[&str] = &["telegram:", "discord:", "web:", "cli:"];

/// What to do with `message`.
pub fn parse(message: &str) -> Vec<Action> {
    let raw = message.trim();
    if raw.is_empty() {
        return vec![Action::Help];
    }
    if let Some(command) = raw.strip_prefix('/') {
        return vec![slash_command(command)];
    }
    // ASCII lower-casing keeps every byte offset, so positions found in `lower` cut `raw`.
    let lower = raw.to_ascii_lowercase();
    let words = Words::new(raw);
    if words.lower.iter().any(|w| {
        NAMESPACES
            .iter()
            .any(|ns| w.starts_with(ns) && w.len() > ns.len())
    }) {
        return vec![Action::Unsupported];
    }
    let job = words.job_id();
    // What must never act on a misreading comes first: deletions and cancels said in the
    // negative, questions about how, edits of a photo, one video to delete; read in the
    // request itself, not in the words it asks to speak.
    let request = request_part(raw);
    if let Some(actions) = guarded(&request, job.clone()) {
        return actions;
    }
    // A script: asked for in the request itself (not in the words to speak).
    let unquoted = unquoted(raw).to_ascii_lowercase();
    let script = match (
        script_topic(&request, &request),
        ideas_topic(&unquoted, &unquoted),
    ) {
        (Some(_), _) => script_topic(raw, &lower),
        (None, Some(_)) => ideas_topic(raw, &lower),
        (None, None) => None,
    };
    if let Some(topic) = script.filter(|_| !is_voice_note_request(&lower)) {
        return vec![Action::WriteScript { topic, text: None }];
    }
    // Lower-cased beyond ASCII too, for messages in other scripts (no offsets taken from it).
    let folded = raw.to_lowercase();
    if is_forget_request(&request.to_lowercase()) {
        return vec![Action::ForgetMe { confirmed: false }];
    }
    if is_voice_note_request(&lower) {
        return vec![
            Action::UseVoiceNote,
            Action::Render {
                text: None,
                voice: None,
            },
        ];
    }
    let request_words = Words::new(&request);
    let use_photo = asks_to_use_photo(&request_words);
    let feedback = is_feedback(&lower);
    if let Some(render) = speech_request(raw, &lower).filter(|_| !feedback || asks(&lower)) {
        if asks_language(&render) {
            return vec![Action::Help];
        }
        if use_photo {
            return vec![Action::UsePhoto, render];
        }
        return vec![render];
    }
    if use_photo {
        return vec![Action::UsePhoto];
    }
    if job.is_some()
        && request_words.has_any(&[
            "kill",
            "cancel",
            "stop",
            "abort",
            "halt",
            "drop",
            "terminate",
            "scrap",
        ])
    {
        return vec![Action::Cancel { job }];
    }
    if (request_words.stops_a_video() && !feedback)
        || contains_any(
            &request,
            &[
                "stop making",
                "stop rendering",
                "never mind",
                "nevermind",
                "don't render",
            ],
        ) && find_word(&request, "yet").is_none()
    {
        return vec![Action::Cancel { job }];
    }
    if contains_any(
        &lower,
        &[
            "status",
            "progress",
            "is it done",
            "is it ready",
            "done yet",
            "ready yet",
            "how long",
            "coming along",
            "where is my",
            "where's my",
            "how's my",
            "how is my",
            "what's happening",
            "what is happening",
            "any news",
            "update on",
            "how far",
            "far along",
        ],
    ) || is_worried(&folded)
        || job.is_some()
    {
        return vec![Action::Status { job }];
    }
    if let Some(voice) = described_voice(&words, &lower) {
        return vec![Action::ChooseVoice { voice }];
    }
    if let Some(voice) = words.chosen_voice() {
        return vec![Action::ChooseVoice { voice }];
    }
    if words.has("voices")
        || contains_any(&lower, &["which voice", "what voice", "accent"])
        || (words.has("voice")
            && words.has_any(&[
                "options",
                "list",
                "show",
                "available",
                "choices",
                "female",
                "male",
                "woman",
                "man",
                "different",
                "another",
                "other",
                "instead",
                "hear",
                "girl",
                "boy",
                "guy",
                "british",
                "deep",
                "deeper",
            ]))
    {
        return vec![Action::ListVoices];
    }

    if let Some(voice) = named_voice(raw).filter(|_| {
        words.lower.len() <= 8
            || words.has_any(&[
                "use", "pick", "choose", "switch", "change", "set", "want", "like", "prefer",
                "try", "with",
            ])
    }) {
        return vec![Action::ChooseVoice { voice }];
    }
    // "pick joe", "ooh use the alan one", "gimme lessac fr".
    let kept: Vec<usize> = (0..words.lower.len())
        .filter(|&i| {
            ![
                "ooh", "oh", "ok", "the", "one", "fr", "pls", "please", "i'll", "ill", "then",
                "voice",
            ]
            .contains(&words.lower[i].as_str())
        })
        .collect();
    // "... go with ryan".
    if let [.., go, with, name] = words.lower.as_slice() {
        let not_a_name = ["it", "that", "this", "them", "me", "one", "the"];
        if go == "go" && with == "with" && !not_a_name.contains(&name.as_str()) {
            let original = words.original(words.lower.len() - 1);
            if is_voice_name(original) {
                return vec![Action::ChooseVoice {
                    voice: original.to_owned(),
                }];
            }
        }
    }
    if let [verb, name] = kept.as_slice() {
        let not_a_name = [
            "it",
            "that",
            "this",
            "me",
            "up",
            "photo",
            "selfie",
            "voice",
            "pic",
            "picture",
            "vid",
            "video",
            "script",
            "them",
            "my",
            "all",
            "everything",
        ];
        let name_word = words.lower[*name].as_str();
        if ["pick", "choose", "use", "gimme", "take"].contains(&words.lower[*verb].as_str())
            && is_voice_name(words.original(*name))
            && !not_a_name.contains(&name_word)
        {
            return vec![Action::ChooseVoice {
                voice: words.original(*name).to_owned(),
            }];
        }
    }
    if words.is_go() {
        return vec![Action::Render {
            text: None,
            voice: None,
        }];
    }
    if words.is_greeting()
        || contains_any(
            &folded,
            &[
                "what can you do",
                "first time",
                "what do i do",
                "what can this",
                "what can it do",
                "what does this bot",
                "qué hace",
                "que hace",
                "як цим",
                "what do you actually do",
                "what is this",
                "what's this",
                "nasıl çalışıyor",
                "merhaba",
                "hoe werkt",
                "wie funktioniert",
                "kya karta",
                "kaise kaam",
                "jak to działa",
                "i need help",
                "need some help",
                "comment ça marche",
                "cosa sai fare",
                "что ты умеешь",
                "qué puedes hacer",
                "was kannst du",
                "how does this work",
                "how do i",
                "how does it work",
                "what do you do",
                "good morning",
                "good evening",
                "good afternoon",
                "greetings",
                "what all",
                "purpose of",
                "first-time",
                "guidance",
                "what you can do",
                "como funciona",
                "어떻게",
                "بتقدر",
            ],
        )
    {
        return vec![Action::Help];
    }
    vec![Action::Unsupported]
}

fn slash_command(command: &str) -> Action {
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .unwrap_or((command, ""));
    // `/status@spinbot_bot` in groups.
    let name = name
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let rest = rest.trim();
    let job = Words::new(rest).job_id();
    match name.as_str() {
        "start" | "help" => Action::Help,
        "status" => Action::Status { job },
        "cancel" => Action::Cancel { job },
        "voices" => Action::ListVoices,
        "voice" if is_voice_name(rest) => Action::ChooseVoice {
            voice: rest.to_owned(),
        },
        "voice" => Action::ListVoices,
        "forget" | "delete" => Action::ForgetMe { confirmed: false },
        "say" if !rest.is_empty() => {
            let (text, voice) = split_voice_suffix(rest);
            Action::Render {
                text: Some(text),
                voice,
            }
        }
        "render" | "go" => Action::Render {
            text: None,
            voice: None,
        },
        "say" => Action::Help,
        _ => Action::Unsupported,
    }
}

/// An explicit yes to a question the bot asked: "yes", "yep", "yes please", "yes, delete
/// everything", "confirm", 👍; never a message with a no in it.
pub fn is_yes(message: &str) -> bool {
    let lower = message.trim().to_lowercase();
    if lower == "👍" || lower == "✅" {
        return true;
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    const YES: &[&str] = &[
        "yes",
        "y",
        "yeah",
        "yep",
        "yup",
        "yess",
        "confirm",
        "confirmed",
        "sure",
        "ok",
    ];
    const NO: &[&str] = &[
        "no", "not", "don't", "dont", "never", "nope", "wait", "stop",
    ];
    words.first().is_some_and(|w| YES.contains(w))
        && words.len() <= 6
        && !words.iter().any(|w| NO.contains(w))
}

fn contains_any(lower: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| lower.contains(n))
}

fn is_voice_note_request(lower: &str) -> bool {
    // "my voice note from yesterday was mostly me coughing": a story about one.
    let story = contains_any(
        lower,
        &[
            "note from yesterday",
            "note i sent my",
            "message i sent my",
            "note was",
            "message was",
            "memo was",
            "recording was",
            "note yesterday",
        ],
    );
    !story
        && contains_any(
            lower,
            &[
                "voice note",
                "voice message",
                "what i recorded",
                "my recording",
                "the recording",
                "audio i sent",
                "my audio",
                "voice msg",
                "audio i ",
                "lip sync me",
                "lip sync to",
                "lipsync me",
                "recorded myself",
                "latest recording",
                "voice memo",
                "my memo",
                "voice recording",
                "audio file",
                "an audio",
                "the audio i sent",
                "the audio i recorded",
                "my vn",
                "the vn",
                "that recording",
            ],
        )
}

/// "use a woman's voice", "switch to a British man's voice", "I want a deeper voice": the
/// description (from the verb to "voice"), for the executor to match. Questions about the
/// voices ("any female voices?") list them instead.
fn described_voice(words: &Words, lower: &str) -> Option<String> {
    let at = words.lower.iter().position(|w| w == "voice")?;
    let verb = words.lower[..at].iter().rposition(|w| {
        [
            "use", "switch", "change", "want", "give", "gimme", "set", "pick", "choose", "prefer",
            "like", "try", "make", "to",
        ]
        .contains(&w.as_str())
    })?;
    let asks = contains_any(
        lower,
        &[
            "any ",
            "do you have",
            "do u have",
            "are there",
            "which",
            "what",
            "is there",
            "got any",
            "how ",
            "or nah",
            "?",
        ],
    );
    let phrase = words.lower[verb + 1..=at].join(" ");
    (!asks && spinbot_core::voices::describes_a_voice(&phrase)).then_some(phrase)
}

/// "can it speak spanish or only english": a question about languages, not words to speak.
fn asks_language(render: &Action) -> bool {
    let Action::Render {
        text: Some(text), ..
    } = render
    else {
        return false;
    };
    const LANGUAGES: &[&str] = &[
        "english",
        "spanish",
        "french",
        "german",
        "italian",
        "portuguese",
        "hindi",
        "japanese",
        "chinese",
        "arabic",
        "russian",
        "other",
        "another",
        "any",
    ];
    // The first clause: "Portuguese? most of my clients are in Brazil".
    let (clause, asked) = match text.find(['?', '.', '!']) {
        Some(at) => (&text[..at], text[at..].starts_with('?')),
        None => (text.as_str(), false),
    };
    let words: Vec<String> = clause
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    words.len() <= 5
        && words
            .first()
            .is_some_and(|w| LANGUAGES.contains(&w.as_str()))
        && (asked
            || words
                .iter()
                .any(|w| w == "or" || w == "languages" || w == "language"))
}

/// "use this selfie", "here's my new pic", "make that my avatar", "swap to the photo I just
/// sent": the photo just sent becomes the face (not "I'll take a better one tomorrow").
fn asks_to_use_photo(words: &Words) -> bool {
    const PHOTO: &[&str] = &[
        "selfie",
        "photo",
        "picture",
        "pic",
        "image",
        "pfp",
        "foto",
        "photograph",
        "one",
    ];
    const LATEST: &[&str] = &["newest", "latest", "last", "new", "recent", "better"];
    let w = &words.lower;
    let named = w.iter().any(|p| PHOTO.contains(&p.as_str()) && p != "one");
    let later = words.has_any(&["tomorrow", "later", "i'll", "ill", "will", "gonna"]);
    let latest = (0..w.len()).any(|i| {
        LATEST.contains(&w[i].as_str())
            && w[i + 1..(i + 3).min(w.len())]
                .iter()
                .any(|p| PHOTO.contains(&p.as_str()))
    });
    let sets = words.has_any(&[
        "use", "set", "swap", "switch", "change", "put", "grab", "pick",
    ]) || contains_any(
        &w.join(" "),
        &[
            "here's",
            "heres",
            "here is",
            "this is me",
            "as my avatar",
            "as my face",
            "my face from now",
            "keeper",
            "make it my",
            "make that my",
            "my avatar to",
            "go with the",
        ],
    );
    named && (sets || (latest && !later))
}

/// "no idea what to say at my grandpa's funeral": a script about the occasion.
fn ideas_topic(raw: &str, lower: &str) -> Option<String> {
    let asks = contains_any(
        lower,
        &[
            "what to say",
            "something to say",
            "what should i say",
            "ideas for",
            "idea for",
            "ideas of what",
            "help me write",
            "write me something",
            "what i should say",
            "what could i say",
            "come up with what",
            "some ideas",
            "compose something",
        ],
    );
    if !asks {
        return None;
    }
    let at = [" at ", " for ", " about ", " on "]
        .iter()
        .filter_map(|c| lower.find(c).map(|i| i + c.len()))
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

fn is_forget_request(lower: &str) -> bool {
    const FOREIGN: &[&str] = &[
        "verwijder al mijn gegevens",
        "usuń wszystkie moje dane",
        "usun wszystkie moje dane",
        "tüm verilerimi sil",
        "borra mis datos",
        "borra todos mis datos",
        "apague todos os meus dados",
        "cancella tutti i miei dati",
        "lösche alle meine daten",
        "supprime toutes mes données",
        "supprimez toutes mes données",
        "удали все мои данные",
        "удалите все мои данные",
    ];
    if contains_any(lower, FOREIGN) {
        return true;
    }
    let foreign_delete = [
        "lösche",
        "löschen",
        "borra",
        "borrar",
        "apague",
        "apagar",
        "supprime",
        "supprimez",
        "cancella",
        "verwijder",
        "usuń",
        "usun",
        "sil",
        "удали",
        "удалите",
        "削除",
        "hatao",
        "radera",
        "borres",
        "mita do",
        "hapus",
        "eliminen",
        "elimina",
        "eliminar",
        "löscht",
        "видали",
        "видаліть",
    ];
    let foreign_all = [
        "alle",
        "todos",
        "tous",
        "toutes",
        "tutti",
        "wszystkie",
        "tüm",
        "все",
        "全部",
        "sab",
        "saara",
        "todo",
        "all information",
        "om mig",
        "mis datos",
        "meine daten",
        "mes données",
        "semua",
        "toda mi",
        "alles",
    ];
    if contains_any(lower, &foreign_delete) && contains_any(lower, &foreign_all) {
        return true;
    }
    let verbs = [
        "delete",
        "erase",
        "remove",
        "wipe",
        "get rid of",
        "forget",
        "purge",
        "clear",
        "nuke",
        "erasure",
        "off your server",
        "gone",
        "delet",
        "destroy",
    ];
    // "forget everything I said": about the conversation, not the data.
    if contains_any(
        lower,
        &[
            "forget everything i said",
            "forget what i said",
            "forget everything i wrote",
            "forget what i wrote",
            "forget that",
            "forget it",
        ],
    ) {
        return false;
    }
    let everything = [
        "everything",
        "all my",
        "all of my",
        "my data",
        "my info",
        "my account",
        "my stuff",
        "my history",
        "it all",
        "all of it",
        "everything else",
        "my profile",
        "gone from your",
        "gone from ur",
        "gone from the server",
        "gone from the system",
        "all data",
        "all info",
        "all the data",
        "about me",
        "forget me",
        "be forgotten",
        "delete me",
        "remove me",
        "erase me",
        "the lot",
        "evrything",
        "my records",
        "my details",
        "my all",
        "on me",
        "my likeness",
        "all my pictures",
        "off your server",
        "from your server",
    ];
    (contains_any(lower, &verbs) || lower.contains("forgotten")) && contains_any(lower, &everything)
}

/// Deletions and cancels said in the negative, questions about how to do things, photo
/// edits and single videos to delete: the actions they must not trigger, or none.
fn guarded(lower: &str, job: Option<String>) -> Option<Vec<Action>> {
    let words = Words::new(lower);
    const NEGATORS: &[&str] = &[
        "don't",
        "dont",
        "do",
        "not",
        "never",
        "didn't",
        "didnt",
        "no",
        "won't",
        "wont",
        "shouldn't",
        "nothing",
    ];
    const DESTRUCTIVE: &[&str] = &[
        "delete",
        "erase",
        "remove",
        "wipe",
        "forget",
        "cancel",
        "stop",
        "kill",
        "abort",
        "cancelled",
        "cancelling",
        "canceling",
        "deleting",
        "stopping",
        "erasing",
        "removing",
        "wiping",
        "forgetting",
        "clear",
        "clearing",
        "purge",
        "trash",
        "call",
        "scrap",
        "drop",
        "terminate",
        "rid",
        "purge",
        "cancle",
    ];
    let w = &words.lower;
    let negated = w.iter().enumerate().any(|(i, word)| {
        // "my boss told me to stop ...": someone else's words.
        let reported = i >= 2
            && w[i - 1] == "to"
            && w[i.saturating_sub(4)..i - 1].iter().any(|r| {
                ["told", "tells", "telling", "asked", "said", "says"].contains(&r.as_str())
            });
        DESTRUCTIVE.contains(&word.as_str()) && reported
            || DESTRUCTIVE.contains(&word.as_str())
                && (i.saturating_sub(5)..i).any(|j| {
                    let n = w[j].as_str();
                    let cancels = w.get(j + 1).is_some_and(|v| {
                        ["send", "make", "post", "render", "do"].contains(&v.as_str())
                    });
                    let never_mind = n == "never" && w.get(j + 1).is_some_and(|v| v == "mind");
                    NEGATORS.contains(&n)
                        && !cancels
                        && !never_mind
                        && (n != "do" || w[i.saturating_sub(5)..i].iter().any(|m| m == "not"))
                })
    });
    let asks_status = words.has_any(&[
        "when", "longer", "done", "ready", "progress", "status", "doing", "where", "yet", "news",
        "where's", "wheres",
    ]) || contains_any(lower, &["how's", "how is", "how long", "how far"]);
    // Negations in the other languages people write in.
    let negated = negated
        || contains_any(
            lower,
            &[
                "no borres",
                "no canceles",
                "no la canceles",
                "no lo canceles",
                "nicht abbrechen",
                "nichts abbrechen",
                "nichts löschen",
                "nicht löschen",
                "ne supprime",
                "ne supprimez",
                "n'annule",
                "não apague",
                "não cancele",
                "nie usuwaj",
                "не удаляй",
                "не отменяй",
            ],
        );
    if negated {
        return Some(vec![if asks_status
            || is_worried(lower)
            || contains_any(
                lower,
                &["wie weit", "fertig", "está pronto", "prête", "listo"],
            ) {
            Action::Status { job: job.clone() }
        } else {
            Action::Unsupported
        }]);
    }
    let how_to = (contains_any(
        lower,
        &[
            "how do i",
            "how can i",
            "how to ",
            "how would i",
            "how does",
            "how do you",
            "is there a way",
            "where's the option",
            "where is the option",
            "where do i",
            "what do i need",
            "what languages",
            "can i send",
            "can i delete",
            "can i cancel",
            "can i change",
            "can i stop",
            "can i remove",
            "can i use",
            "is it possible to delete",
            "how do i make you",
            "what kind of",
            "how long can",
            "works best",
            "what happens",
            "what if",
            "is there a command",
            "what's the max",
            "whats the max",
            "max length",
            "what is the max",
            "does the",
            "do i have to",
            "have to be",
            "can it be",
            "if i cancel",
            "is there a limit",
            "what format",
            "use my own voice",
            "with my own voice",
            "in my own voice",
            "if i delete",
            "if i send",
            "if i stop",
            "how may i",
            "how is it done",
            "what do i type",
            "what should i type",
            "the command",
            "procedure",
            "the method",
            "in what manner",
            "need to be",
            "what's the best",
            "what is the best",
            "trying to understand",
            "if i ask you to",
            "how much text",
            "how much can",
            "¿cómo",
            "cómo cambio",
            "comment est-ce",
            "juste pour savoir",
            "just asking",
            "just wondering",
            "for future reference",
            "or only",
        ],
    ) || (find_word(lower, "say").is_none()
        && contains_any(lower, &["is it possible to", "may i send", "can i record"])))
        && !lower.contains("about how")
        && !script_topic(lower, lower).is_some_and(|t| t.contains("how"));
    // "keep my stuff", "let it cook": whatever was said before, nothing goes.
    let keeps = contains_any(
        lower,
        &[
            "let it finish",
            "keep going",
            "let it run",
            "carry on",
            "keep it going",
            "keep rendering",
            "let it cook",
            "let him cook",
            "ignore that",
            "keep it running",
            "leave it running",
            "keep my",
            "keep all my",
            "keep everything",
            "keeping it",
            "keeping everything",
            "keeping the",
            "keep it all",
            "data stays",
            "stuff stays",
            "everything stays",
            "not asking for that",
        ],
    );
    let asks_now = contains_any(
        lower,
        &[
            "how long",
            "how far",
            "done yet",
            "ready yet",
            "is it done",
            "when will",
            "how's",
            "where's my",
            "wheres my",
            "any news",
        ],
    );
    if keeps && !how_to {
        return Some(vec![if asks_now {
            Action::Status { job: job.clone() }
        } else {
            Action::Unsupported
        }]);
    }
    // "have you forgotten me?": a worried question, not a wish to be forgotten.
    if contains_any(
        lower,
        &[
            "forgotten me",
            "forgot about me",
            "you forget about me",
            "u forget about me",
            "forgot me",
            "forget ab me",
        ],
    ) {
        return Some(vec![Action::Status { job }]);
    }
    let says = find_word(lower, "say").is_some() || find_word(lower, "saying").is_some();
    if contains_any(
        lower,
        &[
            "kill it",
            "kill that",
            "kill this",
            "scrap it",
            "changed my mind about the video",
            "changed my mind about that video",
            "do not proceed",
            "don't proceed",
            "withdraw the video",
            "withdraw my request",
            "no longer required",
            "no longer needed",
            "discontinue",
            "stop making",
            "stop rendering",
            "don't make",
            "dont make",
            "don't send",
            "dont send",
            "don't render",
            "dont render",
            "don't post",
            "dont post",
            "call it off",
            "call off",
            "don't want the video",
            "dont want the video",
            "don't want it anymore",
            "don't need it anymore",
            "don't need the video",
            "scratch that",
            "don't finish",
            "dont finish",
            "don't bother finishing",
            "pull the plug",
            "stop working on",
            "para el video",
            "para o vídeo",
            "brich das video",
        ],
    ) && !(says && contains_any(lower, &["make", "render", "send", "post"]))
        && find_word(lower, "yet").is_none()
    {
        return Some(vec![Action::Cancel { job }]);
    }
    if how_to {
        return Some(vec![Action::Help]);
    }
    // Words that take something away, of a photo or of a video.
    const TAKE_AWAY: &[&str] = &["remove", "erase", "delete", "get rid of", "trash"];
    let edits = (contains_any(lower, TAKE_AWAY)
        || contains_any(
            lower,
            &[
                "blur",
                "fix",
                "edit",
                "take out",
                "put a",
                "add a",
                "add some",
                "crop",
                "retouch",
                "photoshop",
                "whiten",
                "smooth",
            ],
        ))
        && contains_any(
            lower,
            &[
                "background",
                "red eye",
                "red-eye",
                "blemish",
                "glasses",
                "wrinkle",
                "spot",
                "shadow",
                "pimple",
                "acne",
                "tattoo",
                "hair",
                "photobomb",
                "watermark",
                "logo",
                "filter",
                "double chin",
                "teeth",
                "skin",
                "freckle",
                "mole",
                "scar",
                "bags",
                "in the back",
                "behind me",
                "from the photo",
                "from my photo",
                "from the pic",
                "from my selfie",
                "from the selfie",
                "from the picture",
                "stain",
                "in the selfie",
                "in my selfie",
                "in the photo",
                "in my photo",
                "in the pic",
                "in the picture",
                "spectacles",
            ],
        );
    let one_video = contains_any(lower, TAKE_AWAY)
        && contains_any(
            lower,
            &[
                "that one",
                "this one",
                "the clip",
                "that clip",
                "this clip",
                "the video where",
                "that video",
                "this video",
                "the last video",
                "my last video",
                "the first video",
                "the second",
                "one video",
                "the one",
                "last one",
                "the previous",
                "yesterday's",
                "last video",
                "last clip",
                "just the",
                "only the",
                "only yesterday",
                "particular",
                "the video about",
                "the video for",
                "the video of",
                "the video from",
                "the video with",
                "the clip about",
                "the clip for",
            ],
        )
        && !contains_any(
            &lower.replace("not my account", ""),
            &[
                "all my data",
                "all of my",
                "delete everything",
                "erase everything",
                "wipe everything",
                "remove everything",
                "my account",
                "all my stuff",
            ],
        );
    if edits || one_video {
        return Some(vec![Action::Unsupported]);
    }
    None
}

/// A worried question about a video on its way.
/// `video of me saying happy bday = 10/10, my aunt thought it was real`, `stop it, my staff
/// loved the video`: a report on a video already made, not a request for one.
fn is_feedback(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "thought it was",
            "10/10",
            "loved it",
            "loved the",
            "loved my",
            "loved your",
            "went viral",
            "was a hit",
            "was a huge hit",
            "turned out",
            "came out great",
            "came out perfect",
            "called me",
            "making me blush",
            "couldn't believe",
            "could not believe",
            "cried when",
            "laughed so",
            "was amazing",
            "was perfect",
            "worked great",
            "worked perfectly",
            "thanks for the video",
            "thank you for the video",
        ],
    )
}

/// A message that asks for something, in so many words.
fn asks(lower: &str) -> bool {
    let words = Words::new(lower);
    words.has_any(&[
        "make", "create", "render", "generate", "can", "could", "would", "please", "pls", "plz",
        "let", "need", "want", "another", "again", "next", "now",
    ]) || contains_any(lower, &["i'd like", "id like"])
        || SAY_ANY.contains(&words.lower.first().map(String::as_str).unwrap_or_default())
}

fn is_worried(lower: &str) -> bool {
    // "it's been 20 min", "it's been over an hour", "it's been spinning": time passing, not
    // "it's been that kind of week".
    let waited = ["it's been ", "its been ", "it has been "].iter().any(|p| {
        lower.match_indices(p).any(|(at, _)| {
            let next = lower[at + p.len()..]
                .split_whitespace()
                .next()
                .unwrap_or_default();
            next.starts_with(|c: char| c.is_ascii_digit())
                || [
                    "an",
                    "a",
                    "over",
                    "ages",
                    "forever",
                    "so",
                    "like",
                    "almost",
                    "nearly",
                    "more",
                    "half",
                    "hours",
                    "spinning",
                    "loading",
                    "processing",
                    "stuck",
                    "way",
                    "too",
                ]
                .contains(&next)
        })
    });
    waited
        || contains_any(
            &format!(" {lower} "),
            &[
                "stuck",
                "taking forever",
                "taking so long",
                "so long",
                "taking long",
                "it's been ages",
                "it's been forever",
                "it's been so",
                "its been ages",
                "never came",
                "never arrived",
                "went wrong",
                "go wrong",
                "it broken",
                "it's broken",
                "is broken?",
                "bot broken",
                "machine broken",
                "lose my",
                "lost my",
                "still nothing",
                "still waiting",
                "anyone there",
                "how much longer",
                "has it rendered",
                "finished?",
                "ready?",
                "done?",
                " eta ",
                " eta?",
                "get lost",
                "still working",
                "en proceso",
                "y nada",
                "hängen geblieben",
                "being made",
                "no video yet",
                "no video is",
                "have no video",
                "no video has",
                "still no video",
                "reach you",
                "came through",
                "did it die",
                "still no ",
                "been completed",
                "not received",
                "gone wrong",
                "some problem",
                "any problem",
                "waiting since",
                "is it cooking",
                "wo bleibt",
                "ya está",
                "好了没",
                "好了吗",
                "kab tak",
                "kab banega",
                "ещё не готово",
                "crash",
                "did it fail",
                "is it working",
                "nothing yet",
                "not here yet",
                "haven't got",
                "havent got",
                "didn't get",
                "didnt get",
                "how's it going",
                "hows it going",
                "any update",
                "finished yet",
                "happening",
                "go through",
                "went through",
                "frozen",
                "taking forever",
                "waiting forever",
                "forever?",
                "is it done",
                "still processing",
                "worried",
                "shown up",
                "show up",
                "forgot about my",
                "been waiting",
                "this long",
                "dónde está mi",
                "donde esta mi",
                "è pronto",
                "waar blijft",
                "готово",
                "wo ist mein",
                "est prêt",
                "está pronto",
                "esta pronto",
                "ist es fertig",
                "hows the",
                "how's the",
                "any word",
                "finished rendering",
                "how many more",
                "see it yet",
                "received nothing",
                "been lost",
                "vanished",
                "isn't here",
                "isnt here",
                "u there",
                " my vid ",
                " my vid?",
                " my video?",
                "is my video",
                "is my vid ",
                "is my clip",
                "where is it",
                "isnt done",
                "isn't done",
                "schon fertig",
                "cadê",
                "cade meu",
                "still not here",
                "not ready",
            ],
        )
}

/// `write a script about X`, `make a video about X`, `talk about X`, `a toast for X`: the
/// topic.
fn script_topic(raw: &str, lower: &str) -> Option<String> {
    // Words for spoken pieces; the second group also goes with "for" and "on".
    const ANY: &[&str] = &[
        "something",
        "video",
        "clip",
        "talk",
        "words",
        "message",
        "smth",
    ];
    const WRITTEN: &[&str] = &[
        "script",
        "speech",
        "toast",
        "announcement",
        "pitch",
        "intro",
        "reminder",
        "promo",
        "ad",
        "advert",
        "commercial",
        "blurb",
        "greeting",
        "invitation",
        "invite",
        "eulogy",
        "shoutout",
        "welcome",
        "goodbye",
        "farewell",
        "explainer",
        "tribute",
        "poem",
        "joke",
        "story",
        "outro",
        "thank-you",
    ];
    let (at, connector) = [
        ("about", true),
        ("abt", true),
        ("regarding", true),
        ("for", false),
        ("on", false),
    ]
    .iter()
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
        let before = &lower[from..at];
        let written = WRITTEN.iter().any(|w| find_word(before, w).is_some());
        let any = ANY.iter().any(|w| find_word(before, w).is_some());
        (written || (*loose && any)).then_some((at, *c))
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
        && contains_any(
            &topic.to_ascii_lowercase(),
            &[" minutes ago", " hours ago", " hour ago", " mins ago"],
        );
    (!topic.is_empty() && !time).then(|| topic.to_owned())
}

/// Words for "say" in the languages people write to the bot in, for `... say: X`.
const SAY_ANY: &[&str] = &[
    "line",
    "talking",
    "telling",
    "diciendo",
    "falando",
    "dise",
    "nói",
    "يقول",
    "bilang",
    "diz",
    "bole",
    "bolo",
    "bolna",
    "say",
    "saying",
    "speak",
    "read",
    "record",
    "announce",
    "tell",
    "dire",
    "dis",
    "dí",
    "di",
    "diga",
    "dizer",
    "sagen",
    "sag",
    "zeggen",
    "zeg",
    "powiedz",
    "söylesin",
    "söyle",
    "скажи",
    "скажет",
    "dile",
    "decir",
    "parler",
    "sprich",
    "mów",
    "powie",
    "spreek",
    "dica",
];

/// `<anything with a say word>: X` (`Say the following: X`, `Fais dire à mon avatar : X`):
/// X.
fn after_colon(raw: &str) -> Option<&str> {
    // A colon that ends a phrase (not one in 5:45).
    let colon = raw.char_indices().find_map(|(i, c)| {
        let next = raw[i + c.len_utf8()..].chars().next();
        (c == ':' && next.is_none_or(|n| !n.is_ascii_digit())).then_some(i)
    })?;
    let before = raw[..colon].to_lowercase();
    // An English say word is asked for in the words before it ("make my avatar say:", not
    // "the last line of my favourite poem:").
    let english = [
        "line", "talking", "telling", "say", "says", "saying", "speak", "read", "record",
        "announce", "tell", "talk", "recite", "render",
    ];
    let words = Words::new(&before);
    let says = words.lower.iter().enumerate().any(|(i, w)| {
        let w = w.as_str();
        let (start, end) = (words.offsets[i], words.offsets[i] + words.original(i).len());
        if english.contains(&w) {
            is_asked(&before[..start])
        } else {
            SAY_ANY.contains(&w)
                && is_asked_abroad(&before[..start], &format!("{}:", &before[end..]))
        }
    }) || [
        "clip of me",
        "video of me",
        "words for the video",
        "in my mouth",
        "my avatar",
        "avatar say",
        "words",
    ]
    .iter()
    .any(|e| before.trim_end().ends_with(e));
    let text = raw[colon + 1..].trim();
    (says && text.chars().any(char::is_alphanumeric)).then_some(text)
}

/// The request without the words it asks to speak: quoted passages left out, and what
/// follows a "say" cut off (lower-case).
fn request_part(raw: &str) -> String {
    let mut kept = unquoted(raw);
    if let Some(colon) = after_colon(&kept).map(|t| kept.len() - t.len()) {
        kept.truncate(colon);
    }
    let lower = kept.to_ascii_lowercase();
    let cut = [
        "say",
        "saying",
        "speak",
        "sayy",
        "sya",
        "sayin",
        "avatar said",
        "face said",
    ]
    .iter()
    .filter_map(|t| find_trigger(&lower, t).map(|at| at + t.len()))
    .min()
    .unwrap_or(lower.len());
    lower[..cut].to_owned()
}

/// The message with its quoted passages left out.
fn unquoted(raw: &str) -> String {
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
fn speech_request(raw: &str, lower: &str) -> Option<Action> {
    // Say words are looked for outside quotes ("she keeps replying 'say less'").
    let masked = masked_quotes(raw, lower);
    // Chinese: 让我的头像说“X”, 請讓我的頭像說：「X」.
    if let Some(q) = quoted(raw).filter(|q| {
        let before = &raw[..q.open];
        before
            .trim_end_matches([':', '：', ' '])
            .ends_with(['说', '說'])
            && ["让", "讓", "叫", "帮", "幫", "请", "請", "头像", "頭像"]
                .iter()
                .any(|w| before.contains(w))
    }) {
        return Some(Action::render(raw[q.start..q.end].trim()));
    }
    // Japanese: 「X」と言わせて, 「X」って言って (not 「X」と言った, a report).
    if [
        "言わせ",
        "言ってください",
        "言って下さい",
        "言ってほしい",
        "言って！",
    ]
    .iter()
    .any(|form| raw.contains(form))
        || raw
            .trim_end_matches(['w', '笑', '!', '！', '。', ' '])
            .ends_with("言って")
    {
        if let Some(q) = quoted(raw).filter(|q| raw[..q.start].ends_with('「')) {
            return Some(Action::render(raw[q.start..q.end].trim()));
        }
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
    let trigger = ENGLISH_SAY
        .iter()
        .chain(OTHER_SAY)
        .filter_map(|t| find_trigger(&masked, t).map(|at| (at, t.len())))
        .filter(|&(at, len)| {
            let say = &masked[at..at + len];
            // "just saying hi": a greeting, not a request.
            let greeting = say == "saying" && masked[..at].trim_end().ends_with("just")
                || is_idiom(
                    &masked[at..],
                    masked[..at].trim().is_empty(),
                    masked.trim_end().ends_with("for me"),
                );
            if ENGLISH_SAY.contains(&say) {
                is_asked(&masked[..at]) && !greeting
            } else {
                is_asked_abroad(&masked[..at], &lower[at + len..])
            }
        })
        .min();
    if let Some(Quote {
        open,
        start,
        end,
        rest,
    }) = quoted(raw)
    {
        let asks_render = [
            "again", "render", "make", "do", "video", "clip", "with", "avatar", "mouth", "face",
            "talking", "line for", "my line", "the line",
        ]
        .iter()
        .any(|w| find_word(&masked, w).is_some());
        // `my son said "do it again" ... say dinosaurs are real`: the say word that follows
        // the quote has its own words, unless they point back ("say that").
        let own_words = trigger.is_some_and(|(at, len)| {
            let after = masked[(at + len).min(masked.len())..].trim_start();
            at > open
                && after.split_whitespace().count() >= 3
                && ![
                    "that",
                    "this",
                    "it",
                    "these",
                    "those",
                    "the above",
                    "the quote",
                    "the same",
                ]
                .iter()
                .any(|p| after.starts_with(p))
        });
        // `say do not open the email from 'payroll', delete it`: the quote is inside the words.
        let inside_words = rest.split_whitespace().count() >= 3
            && trigger.is_some_and(|(at, len)| {
                at + len <= open && {
                    let between = lower[at + len..open].trim_matches([' ', ':', '-', ',']);
                    !between.is_empty()
                        && ![
                            "this",
                            "the following",
                            "the following words",
                            "these words",
                            "the words",
                            "the line",
                            "this line",
                            "the sentence",
                            "this sentence",
                        ]
                        .contains(&between)
                }
            });
        // Without a say word, a quote asks for a render only when it is most of the message
        // and the rest asks for a video (a quotation alone is not a request).
        let most = 2 * (end - start) >= raw.trim().len();
        if !inside_words && !own_words && (trigger.is_some() || (asks_render && most)) {
            let (_, voice) = split_voice_suffix(rest);
            return Some(Action::Render {
                text: Some(raw[start..end].trim().to_owned()),
                voice: voice.or_else(|| named_voice(raw)),
            });
        }
    }
    let (at, len) = trigger?;
    let mut text = raw[at + len..].trim_start();
    for filler in ["this", "out loud", "aloud", "loud"] {
        if text.to_ascii_lowercase().starts_with(filler) {
            text = text[filler.len()..].trim_start();
        }
    }
    let text = text.trim_start_matches([':', '-', ',']).trim();
    if text.is_empty() {
        return None;
    }
    let (text, voice) = split_voice_suffix(text);
    let text = tidy(strip_quotes(&text), is_question(lower));
    (!text.is_empty()).then(|| Action::Render {
        text: Some(text.to_owned()),
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
    let request = request_part(lower);
    if contains_any(
        &request,
        &["can ", "could ", "would ", "any way", "possible", "mind "],
    ) {
        return true;
    }
    let first = lower.split_whitespace().next().unwrap_or_default();
    [
        "can", "could", "would", "will", "may", "might", "pls", "please",
    ]
    .contains(&first)
        || lower.contains("possible")
}

/// The words to speak without what frames them: a closing emoji, a tag question (", ok?"),
/// the question mark of a request asked as a question, an unmatched quote mark.
fn tidy(text: &str, question: bool) -> &str {
    let mut t = text.trim();
    // A line break ends the words: what follows is a signature ("Regards,\nMrs. Iyer").
    if let Some(line) = t.split('\n').next() {
        t = line.trim();
    }
    // A closing pleasantry ("Thanks a bunch!", "sorry for the long message") after the end of
    // a sentence or an emoji is not part of the words; the sentence keeps its full stop.
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
        let last = t[cut..].trim().to_ascii_lowercase();
        let pleasantry = [
            "thank",
            "thanks",
            "thx",
            "ty",
            "cheers",
            "much appreciated",
            "many thanks",
            "sorry for",
            "regards",
            "best regards",
            "kind regards",
        ]
        .iter()
        .any(|p| last.starts_with(p));
        if !pleasantry || last.len() > 40 {
            break;
        }
        t = t[..cut].trim_end();
        t = t
            .trim_end_matches(|c: char| !c.is_ascii() && !c.is_alphanumeric())
            .trim_end();
    }
    t = t
        .trim_end_matches(|c: char| !c.is_ascii() && !c.is_alphanumeric() && !"”’»".contains(c))
        .trim_end();
    for tag in [
        ", ok?",
        ", okay?",
        " ok?",
        ", alright?",
        ", alright",
        ", right?",
        ", yeah?",
        ", pls",
        ", please",
        " pls",
        " lol",
        ", thanks",
        ", thx",
        ", please?",
        " please?",
        " please",
        " thx",
    ] {
        if let Some(cut) = t.strip_suffix(tag) {
            t = cut.trim_end();
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

/// A voice named anywhere in the message by its full name (`en_US-joe-medium`).
fn named_voice(raw: &str) -> Option<String> {
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

/// `... in the amy voice`, `... with the voice en_US-joe-medium`: the text before and the voice.
fn split_voice_suffix(text: &str) -> (String, Option<String>) {
    let words = Words::new(text);
    let n = words.lower.len();
    let prep = |i: usize| ["in", "with", "using"].contains(&words.lower[i].as_str());
    let cut = |i: usize| text[..words.offsets[i]].trim().to_owned();
    if n >= 4 && words.lower[n - 1] == "voice" {
        // in the amy voice / in amy voice
        let name = words.original(n - 2);
        if words.lower[n - 3] == "the" && prep(n - 4) && is_voice_name(name) {
            return (cut(n - 4), Some(name.to_owned()));
        }
        if prep(n - 3) && is_voice_name(name) {
            return (cut(n - 3), Some(name.to_owned()));
        }
    }
    if n >= 4 && words.lower[n - 2] == "voice" {
        // with the voice X / with voice X
        let name = words.original(n - 1);
        if words.lower[n - 3] == "the" && prep(n - 4) && is_voice_name(name) {
            return (cut(n - 4), Some(name.to_owned()));
        }
        if prep(n - 3) && is_voice_name(name) {
            return (cut(n - 3), Some(name.to_owned()));
        }
    }
    (text.trim().to_owned(), None)
}

fn is_voice_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The say words of other languages (and "where i go"), whose request is read around them.
const OTHER_SAY: &[&str] = &[
    "di que",
    "dí",
    "dis",
    "diga",
    "sagen",
    "sag",
    "fammi dire",
    "dire",
    "скажи",
    "скажет",
    "言わせて",
    "말하게",
    "dise",
    "desin",
    "where i go",
];

/// The say words of English, whose request is read in the words before them.
const ENGLISH_SAY: &[&str] = &[
    "say",
    "saying",
    "sayin",
    "sayy",
    "sya",
    "sey",
    "speak",
    "read this",
    "read out",
    "read aloud",
    "tell everyone",
    "tell them",
    "tell the team",
    "announce",
    "avatar said",
    "face said",
    "face telling",
    "avatar telling",
    "me telling",
];

/// Whether the words before an English say word ask for a video: nothing but greetings and
/// politeness ("hey, pls say ..."), or a request ("can you make me say", "a video of me
/// saying"); not a story, a report or a question about words ("my ex used to say", "the
/// avatar saying 'hi' made my day", "how do you say").
fn is_asked(before: &str) -> bool {
    // The clause the say word is in: "my son said 'do it again' so ok, one more: say ...".
    let before = before
        .rfind(['.', '!', '?', ':', ';', ',', '\n'])
        .map_or(before, |at| &before[at + 1..]);
    const FILLER: &[&str] = &[
        "hey",
        "hi",
        "hello",
        "yo",
        "ok",
        "okay",
        "k",
        "pls",
        "please",
        "plz",
        "bot",
        "now",
        "and",
        "then",
        "also",
        "so",
        "oh",
        "ooh",
        "alright",
        "cool",
        "great",
        "thanks",
        "thx",
        "lol",
        "haha",
        "good",
        "morning",
        "evening",
        "afternoon",
        "hiya",
        "sup",
        "yes",
        "yeah",
        "yep",
        "ya",
        "next",
        "quick",
        "one",
        "more",
        "again",
        "kindly",
        "dear",
        "sir",
        "madam",
        "bro",
        "bruh",
        "fam",
        "guys",
        "spinbot",
        "u",
        "you",
        "ai",
        "right",
        "fine",
        "perfect",
        "nice",
        "awesome",
        "wow",
        "btw",
        "but",
        "instead",
        "just",
        "go",
        "ahead",
        "ty",
        "ayo",
        "hmm",
        "um",
        "pls,",
        "actually",
        "aight",
        "ight",
    ];
    const REQUEST: &[&str] = &[
        "make", "have", "let", "lemme", "get", "gimme", "give", "want", "wanna", "need", "like",
        "can", "could", "would", "will", "please", "pls", "plz", "render", "create", "generate",
        "record", "send", "try", "mind", "kindly", "help", "lets", "let's", "i'd", "id", "love",
        "hoping", "hope", "possible", "should", "mke", "mak", "cn", "wna", "use", "using", "voice",
        "gotta", "u", "mk",
    ];
    const THINGS: &[&str] = &[
        "video", "clip", "vid", "avatar", "face", "mouth", "selfie", "avtar", "avatr", "avtr",
        "avi", "it",
    ];
    let words = Words::new(before);
    if words
        .lower
        .iter()
        .all(|w| FILLER.contains(&w.as_str()) || !w.chars().any(char::is_alphanumeric))
    {
        return true;
    }
    let story = contains_any(
        before,
        &[
            "how do",
            "how does",
            "how would",
            "how to",
            "how you",
            "used to",
            "made",
            "the way",
            "let's just",
            "lets just",
            "needless to",
            "that is to",
            "called to",
            "suffice to",
            "so to",
        ],
    ) || words
        .lower
        .last()
        .is_some_and(|w| ["we", "they", "people", "you"].contains(&w.as_str()))
        && !words.has_any(&[
            "can", "could", "would", "will", "cn", "make", "mke", "let", "have",
        ]);
    let asks = words.has_any(REQUEST)
        || words.lower.iter().any(|w| w.contains('_'))
        || THINGS.iter().any(|t| {
            words.has(t)
                && !["the", "that", "this", "ur", "your"]
                    .iter()
                    .any(|d| find_word(before, &format!("{d} {t}")).is_some())
        });
    asks && !story
}

/// `say less`, `say what??`, `say, are you free?`, `speak of the devil`, `say hi to your mom
/// for me`: a say word in an idiom, or a greeting passed on to someone.
fn is_idiom(from_say: &str, first: bool, for_me: bool) -> bool {
    let ends = |phrase: &str| {
        from_say.strip_prefix(phrase).is_some_and(|rest| {
            rest.trim_start()
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
        })
    };
    ["say what", "say my name", "say less", "say no more"]
        .iter()
        .any(|p| ends(p))
        || (first && from_say.starts_with("say,"))
        || starts_with_any(
            from_say,
            &[
                "speak of the devil",
                "say no more",
                "say cheese",
                "say sike",
                "say hi to your",
                "say hello to your",
            ],
        )
        || (for_me && starts_with_any(from_say, &["say hi to", "say hello to", "tell "]))
}

fn starts_with_any(text: &str, starts: &[&str]) -> bool {
    starts.iter().any(|s| text.starts_with(s))
}

/// Whether the words around a say word of another language ask for a video: the avatar, a
/// video or a "make me" verb before it ("Fais dire à mon avatar", "Lass meinen Avatar
/// sagen"), or the say word first, introducing the words with a colon or a quote ("Di que:
/// ...", "Sag bitte: ...", "Dis « ... »"); not "Dis donc, ...", "Sag mal, ...", "voglio dire".
fn is_asked_abroad(before: &str, after: &str) -> bool {
    const CONTEXT: &[&str] = &[
        "avatar",
        "awatar",
        "аватар",
        "avtar",
        "vidéo",
        "video",
        "vídeo",
        "видео",
        "clip",
        "visage",
        "faccia",
        "cara",
        "gesicht",
        "rosto",
        "fammi",
        "fais",
        "faites",
        "fai ",
        "faz",
        "haz",
        "lass",
        "laat",
        "пусть",
        "niech",
        "kannst",
        "puedes",
        "peux",
        "potresti",
        "podes",
        "quero",
        "quiero",
        "je veux",
        "voglio che",
        "ich möchte",
        "ich will",
        "아바타",
        "خلي",
        "اجعل",
        "أفاتار",
        "الأفاتار",
        "صورتي",
        "अवतार",
    ];
    const POLITE: &[&str] = &[
        "bitte", "por", "favor", "favore", "per", "s'il", "te", "plaît", "plait", "wey", "mano",
        "bro", "wsh", "digga", "ej", "kanka", "yaar", "hola", "salut", "ciao", "hallo", "oi",
        "şunu",
    ];
    if contains_any(before, CONTEXT) {
        return true;
    }
    let first = Words::new(before)
        .lower
        .iter()
        .all(|w| POLITE.contains(&w.as_str()) || !w.chars().any(char::is_alphanumeric));
    let mut rest = after.trim_start();
    for word in ["que", "bitte", "şunu", "che"] {
        if let Some(r) = rest.strip_prefix(word) {
            rest = r.trim_start();
        }
    }
    first && rest.starts_with([':', '"', '“', '«', '„', '\'', '‘', '「', '»'])
}

/// Where a say word asks for speech: not told as a story ("the clip where I say ..."), not
/// negated ("I didn't say delete"), not a duty ("I have to tell everyone").
fn find_trigger(lower: &str, trigger: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_word(&lower[from..], trigger).map(|i| from + i) {
        let before: Vec<&str> = lower[..at].split_whitespace().rev().take(5).collect();
        let word = |i: usize| before.get(i).copied().unwrap_or_default();
        let after = lower[at + trigger.len()..].trim_start();
        let first_or_after = |speakers: &[&str]| before.is_empty() || speakers.contains(&word(0));
        // Some say words need a speaker just before: "a video of me saying" (not "the cat
        // saying hi"), "make my avatar announce" (not "can you announce the gate changes").
        let has_speaker = match trigger {
            "saying" => first_or_after(&[
                "me", "me,", "myself", "avatar", "face", "i'm", "im", "it", "mouth", "selfie",
                "photo", "pic", "picture", "am", "be", "of", "just", "head", "clone", "version",
                "i",
            ]),
            "announce" => first_or_after(&["me", "avatar", "face", "it", "myself"]),

            _ => true,
        };
        // "don't make it say anything yet" (but "if u dont make me say ..." asks).
        let negated =
            (0..3).any(|i| ["don't", "dont", "not"].contains(&word(i))) && !before.contains(&"if");
        // "the clip where I say" tells of a video ("a video where I say" asks for one); "my
        // friends keep saying", "what to say later", "I have to tell everyone", "speak to you
        // later".
        let told = (word(0) == "i" && (word(2) == "the" || word(3) == "the"))
            || [
                "didn't", "didnt", "never", "keep", "keeps", "kept", "was", "were", "been",
                "always", "they", "he", "she", "people", "everyone",
            ]
            .contains(&word(0))
            || (0..3).any(|i| word(i) == "what")
            || (trigger.starts_with("tell") && word(0) == "to")
            || ["to u", "to you", "soon", "later"].iter().any(|p| {
                after == *p
                    || after.starts_with(&format!("{p} "))
                    || after.starts_with(&format!("{p},"))
            });
        if has_speaker && !negated && !told {
            return Some(at);
        }
        from = at + trigger.len();
    }
    None
}
/// Where `word` occurs in `lower` as a whole word (or phrase).
fn find_word(lower: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(word) {
        let at = from + i;
        let before = lower[..at].chars().next_back();
        let after = lower[at + word.len()..].chars().next();
        if before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
        {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// A message cut into words, with their offsets and lower-case forms.
struct Words<'a> {
    raw: &'a str,
    offsets: Vec<usize>,
    lower: Vec<String>,
}

impl<'a> Words<'a> {
    fn new(raw: &'a str) -> Self {
        let mut offsets = Vec::new();
        let mut lower = Vec::new();
        let mut start = None;
        for (i, c) in raw.char_indices().chain(std::iter::once((raw.len(), ' '))) {
            match (start, c.is_whitespace()) {
                (None, false) => start = Some(i),
                (Some(s), true) => {
                    offsets.push(s);
                    lower.push(Self::squeeze(&Self::trim(&raw[s..i]).to_ascii_lowercase()));
                    start = None;
                }
                _ => {}
            }
        }
        Self {
            raw,
            offsets,
            lower,
        }
    }

    /// "yesss", "slayyy", "pleaseee": three or more of a letter read as one.
    fn squeeze(word: &str) -> String {
        let mut out = String::with_capacity(word.len());
        let mut chars = word.chars().peekable();
        while let Some(c) = chars.next() {
            let mut run = 1;
            while chars.next_if_eq(&c).is_some() {
                run += 1;
            }
            let kept = if run >= 3 { 1 } else { run };
            out.extend(std::iter::repeat_n(c, kept));
        }
        out
    }

    fn trim(word: &str) -> &str {
        word.trim_matches(|c: char| {
            !(c.is_alphanumeric() || c == '-' || c == '_' || c == ':' || c == '\'')
        })
    }

    /// Word `i` as written.
    fn original(&self, i: usize) -> &'a str {
        let start = self.offsets[i];
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.raw.len());
        Self::trim(self.raw[start..end].trim())
    }

    fn has(&self, word: &str) -> bool {
        self.lower.iter().any(|w| w == word)
    }

    fn has_any(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.has(w))
    }

    /// A 32-hex-digit job id anywhere in the message, as written (not squeezed: an id may
    /// repeat a digit three times).
    fn job_id(&self) -> Option<String> {
        (0..self.lower.len())
            .map(|i| self.original(i))
            .find(|w| w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
    }

    /// `use the amy voice`, `switch voice to X`, `use voice X`.
    fn chosen_voice(&self) -> Option<String> {
        let i = self.lower.iter().position(|w| w == "voice")?;
        let asks = self.lower[..i].iter().any(|w| {
            [
                "use", "pick", "choose", "switch", "change", "want", "set", "like", "prefer",
                "try", "gimme", "give", "take",
            ]
            .contains(&w.as_str())
        });
        let not_a_name = [
            "the",
            "a",
            "my",
            "this",
            "that",
            "your",
            "different",
            "another",
            "new",
            "other",
            "to",
            "use",
        ];
        let name = if self.lower.get(i + 1).is_some_and(|w| w == "to") && i + 2 < self.lower.len() {
            self.original(i + 2)
        } else if asks && i >= 1 && !not_a_name.contains(&self.lower[i - 1].as_str()) {
            self.original(i - 1)
        } else if asks && i + 1 < self.lower.len() {
            self.original(i + 1)
        } else {
            return None;
        };
        const NOT_NAMES: &[&str] = &[
            "recording",
            "note",
            "memo",
            "message",
            "own",
            "stays",
            "is",
            "for",
            "sounds",
            "instead",
            "and",
            "of",
            "in",
            "from",
            "please",
            "pls",
            "too",
            "here",
        ];
        (is_voice_name(name) && !NOT_NAMES.contains(&name.to_ascii_lowercase().as_str()))
            .then(|| name.to_owned())
    }

    /// Whether the word at `i` ends a clause ("cancel, wrong name").
    fn ends_clause(&self, i: usize) -> bool {
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.raw.len());
        self.raw[self.offsets[i]..end]
            .trim_end()
            .ends_with([',', '.', '!', '?', ';', ':', '—', '-'])
    }

    /// "cancel", "stop the video", "kill that render pls", "abort abort": a stop word whose
    /// object is the video (or nothing), not "cancel my dentist appointment", "stop at the
    /// pharmacy" or "cancel culture".
    fn stops_a_video(&self) -> bool {
        const STOP: &[&str] = &[
            "stop",
            "halt",
            "terminate",
            "scrap",
            "cancel",
            "cancle",
            "cancell",
            "abort",
            "kill",
            "отмени",
            "cancela",
            "annule",
            "annuler",
            "arrête",
            "arrete",
        ];
        const SKIP: &[&str] = &[
            "the",
            "my",
            "that",
            "this",
            "tht",
            "these",
            "those",
            "a",
            "an",
            "please",
            "pls",
            "plz",
            "now",
            "rn",
            "right",
            "asap",
            "immediately",
            "kindly",
            "current",
            "last",
            "latest",
            "la",
            "le",
            "el",
            "o",
            "das",
            "die",
            "it",
            "its",
            "it's",
            "your",
            "ur",
            "",
            "mi",
            "mon",
            "ma",
            "meu",
            "mein",
            "esse",
            "essa",
            "este",
            "ese",
            "esta",
            "bitte",
        ];
        const VIDEO: &[&str] = &[
            "video",
            "vid",
            "vids",
            "videos",
            "clip",
            "clips",
            "render",
            "rendering",
            "job",
            "jobs",
            "one",
            "making",
            "working",
            "generating",
            "processing",
            "thing",
            "request",
            "order",
            "generation",
            "everything",
            "all",
            "process",
            "mission",
            "vidéo",
            "vídeo",
            "видео",
            "them",
            "both",
        ];
        let w = &self.lower;
        (0..w.len()).any(|i| {
            if !STOP.contains(&w[i].as_str()) {
                return false;
            }
            let mut j = i;
            loop {
                if self.ends_clause(j) || j + 1 >= w.len() {
                    return true;
                }
                j += 1;
                let next = w[j].as_str();
                if VIDEO.contains(&next) {
                    return true;
                }
                if !(SKIP.contains(&next) || STOP.contains(&next)) {
                    return false;
                }
            }
        })
    }

    /// `go`, `yes, render it`, `looks good, go ahead`, `make the video`.
    fn is_go(&self) -> bool {
        const FILLER: &[&str] = &[
            "ahead",
            "please",
            "it",
            "the",
            "video",
            "looks",
            "good",
            "great",
            "now",
            "that",
            "sounds",
            "fine",
            "lets",
            "let's",
            "",
            "alright",
            "that's",
            "thats",
            "for",
            "into",
            "love",
            "script",
            "bet",
            "slay",
            "fire",
            "is",
            "rn",
            "fr",
            "ya",
            "ok",
            "so",
            "right",
            "to",
            "me",
            "and",
            "wording's",
            "wording",
            "spot",
            "on",
            "así",
        ];
        const GO: &[&str] = &[
            "go",
            "yes",
            "yep",
            "yeah",
            "ok",
            "okay",
            "sure",
            "render",
            "do",
            "make",
            "send",
            "perfect",
            "generate",
            "create",
            "produce",
            "start",
            "rendering",
            "run",
            "lgtm",
            "turn",
            "away",
            "dale",
            "hazlo",
        ];
        // "ok" alone acknowledges; it asks for nothing.
        let acknowledgement =
            matches!(self.lower.as_slice(), [w] if ["ok", "okay", "k"].contains(&w.as_str()));
        !self.lower.is_empty()
            && !acknowledgement
            && self.lower.iter().any(|w| GO.contains(&w.as_str()))
            && self
                .lower
                .iter()
                .all(|w| GO.contains(&w.as_str()) || FILLER.contains(&w.as_str()))
    }

    fn is_greeting(&self) -> bool {
        const GREETING: &[&str] = &[
            "hi",
            "hello",
            "hey",
            "hallo",
            "yo",
            "start",
            "help",
            "menu",
            "commands",
            "there",
            "bot",
            "?",
            "sup",
            "hola",
            "bonjour",
            "ciao",
            "salut",
            "olá",
            "ola",
            "привет",
            "good",
            "morning",
            "evening",
            "afternoon",
            "hiya",
            "howdy",
            "i'm",
            "im",
            "new",
            "here",
            "namaste",
            "guten",
            "tag",
        ];
        self.lower.iter().any(|w| !w.is_empty())
            && self
                .lower
                .iter()
                .all(|w| w.is_empty() || GREETING.contains(&w.as_str()))
    }
}

#[cfg(test)]
mod tests {
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
}
