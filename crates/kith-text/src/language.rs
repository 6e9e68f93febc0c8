//! Language identification, offline: a fast English check on function words, then the
//! `whatlang` trigram model. Only English is scored by the lexicon models; other languages
//! are reported as not scored rather than scored wrong.

/// Languages the lexicon models (sentiment, hostility, intents) support.
pub const SUPPORTED: &[&str] = &["eng"];

/// The detected language of a message.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Language {
    /// ISO 639-3 code (`eng`, `deu`, …), or `und` when there are too few letters to tell.
    pub code: &'static str,
    /// The lexicon models support this language (undetermined text, such as emoji only, is
    /// scored: emoji and emoticons are language-neutral).
    pub supported: bool,
    /// Detector confidence in [0, 1].
    pub confidence: f64,
}

const EN_FUNCTION_WORDS: &[&str] = &[
    "the", "a", "an", "and", "or", "but", "is", "are", "was", "were", "be", "been", "it", "its",
    "it's", "this", "that", "to", "of", "in", "on", "for", "with", "at", "by", "from", "i", "i'm",
    "you", "you're", "we", "they", "he", "she", "my", "your", "our", "have", "has", "had", "do",
    "does", "did", "don't", "can", "can't", "not", "no", "yes", "what", "how", "why", "when",
    "where", "who", "which", "if", "so", "just", "there", "here", "all", "any", "me", "thanks",
    "thank", "please", "would", "should", "could", "will", "about", "like", "get", "got", "new",
    "one", "up", "out", "as", "some",
];

fn is_function_word(w: &str) -> bool {
    static SET: std::sync::OnceLock<crate::vader::FnvMap<&'static str, ()>> =
        std::sync::OnceLock::new();
    let set = SET.get_or_init(|| EN_FUNCTION_WORDS.iter().map(|&w| (w, ())).collect());
    let mut buf = [0u8; 8];
    let bytes = w.as_bytes();
    if bytes.len() > buf.len() {
        return false;
    }
    for (b, c) in buf.iter_mut().zip(bytes) {
        *b = c.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..bytes.len()]).is_ok_and(|l| set.contains_key(l))
}

/// Detects the language of `text` (ideally prose, see `prose::extract`).
pub fn detect(text: &str) -> Language {
    let mut words = 0usize;
    let mut function = 0usize;
    let mut letters = 0usize;
    for w in text.split_whitespace().take(200) {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
        if w.is_empty() {
            continue;
        }
        letters += w.chars().filter(|c| c.is_alphabetic()).count();
        words += 1;
        if w.len() <= 7 && is_function_word(w) {
            function += 1;
        }
    }
    if letters < 2 {
        return Language {
            code: "und",
            supported: true,
            confidence: 0.0,
        };
    }
    // English prose is about 40 % function words; one in five is already decisive.
    if words >= 3 && function * 5 >= words {
        return english(0.9);
    }
    let sample = match text.char_indices().nth(400) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    match whatlang::detect(sample) {
        Some(info) if info.lang() == whatlang::Lang::Eng => english(info.confidence()),
        Some(info)
            if info.script() != whatlang::Script::Latin
                || info.is_reliable()
                || (function * 8 < words && words >= 4 && info.confidence() >= 0.2) =>
        {
            Language {
                code: info.lang().code(),
                supported: false,
                confidence: info.confidence(),
            }
        }
        // Short Latin-script text without a confident verdict ("lgtm", "+1 works") is what
        // English-speaking communities write most; score it.
        _ => english(0.3),
    }
}

fn english(confidence: f64) -> Language {
    Language {
        code: "eng",
        supported: true,
        confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_languages_are_not_supported() {
        for t in [
            "Hallo zusammen, weiß jemand, wie man den Export für archivierte Kanäle abschaltet?",
            "Bonjour à tous, quelqu'un sait comment désactiver l'export des canaux archivés ?",
            "Hola a todos, ¿alguien sabe cómo desactivar la exportación de canales archivados?",
            "Всем привет, кто-нибудь знает, как отключить экспорт архивных каналов?",
            "アーカイブされたチャンネルのエクスポートを無効にする方法を知っている人はいますか",
        ] {
            let l = detect(t);
            assert!(!l.supported, "{t}: {l:?}");
        }
    }

    #[test]
    fn english_and_short_messages_are_supported() {
        for t in [
            "lgtm",
            "+1",
            "Thanks, that fixed it!",
            "👍",
            "Merged.",
            "brb, coffee",
        ] {
            assert!(detect(t).supported, "{t}");
        }
    }
}
