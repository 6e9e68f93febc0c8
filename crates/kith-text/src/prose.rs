//! Prose extraction: what a member wrote in their own words. Code blocks, inline code, quoted
//! lines (`> `), stack traces and URLs carry no sentiment of the author and are removed before
//! any scoring; what was removed is reported so that callers can explain a score.
//!
//! E-mail (mailing lists) adds what is not the author's writing either: the attribution line
//! of a quote ("On Mon, 5 Jan 2015, Ann <ann at x.org> wrote:", whose quoted lines list
//! archives often strip), the signature after a `-- ` line, a list footer or Outlook's reply
//! separator (a rule of underscores), a forwarded or original message below its header
//! ("-----Original Message-----", "From: … Sent: …"), the archive's "[[alternative HTML
//! version deleted]]", and the sign-off ("Best regards,\nAnn Smith\nUniversity of X"): its
//! closing formula and the name and address lines under it. A sign-off that thanks
//! ("Thanks,", "Many thanks,") keeps its formula line, which says something; the lines under
//! it go.

/// A message reduced to its author's own prose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prose {
    /// The remaining text, lines joined with `\n`.
    pub text: String,
    /// A fenced or indented code block, or inline code, was removed.
    pub had_code: bool,
    /// Quoted lines (`>`) were removed.
    pub had_quote: bool,
    /// Stack-trace lines were removed.
    pub had_trace: bool,
    /// Lines of a tool's output (check messages, aligned columns) were removed.
    pub had_log: bool,
    /// Number of URLs removed.
    pub urls: usize,
    /// An e-mail's signature, sign-off, footer or a message quoted below the author's
    /// (forwarded, original, attribution line) was removed.
    pub had_signature: bool,
}

impl Prose {
    /// The message contained technical material (code, a trace, a tool's output).
    pub fn is_technical(&self) -> bool {
        self.had_code || self.had_trace || self.had_log
    }
}

fn is_trace_line(t: &str) -> bool {
    let t = t.trim();
    t.starts_with("Traceback (most recent call last)")
        || t.starts_with("File \"")
        || t.starts_with("stack backtrace:")
        || t.contains("panicked at")
        || t.starts_with("Exception in thread")
        || t.starts_with("Caused by:")
        || (t.starts_with("at ") && (t.contains(".java:") || t.contains(".js:") || t.contains("(")))
        || {
            // "12: core::panicking::panic_fmt"
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && t[digits..].starts_with(": ") && t.contains("::")
        }
        || {
            // "requests.exceptions.HTTPError: 413 ..." / "java.lang.NullPointerException"
            let head = t.split([':', ' ']).next().unwrap_or("");
            head.contains('.')
                && !head.ends_with('.')
                && (head.ends_with("Error") || head.ends_with("Exception"))
        }
}

/// A line of a tool's output pasted unfenced: R's check and error messages ("* checking …",
/// "Error in …", "Execution halted").
fn is_log_line(line: &str) -> bool {
    let t = line.trim();
    [
        "* checking",
        "** ",
        "*** ",
        "Error in ",
        "Error: ",
        "Warning in ",
        "Warning: ",
        "Warning message",
        "Execution halted",
        "Quitting from",
        "Backtrace:",
        "#> ",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// A line with aligned columns: a run of three or more spaces inside it, not after a
/// sentence's end. One such line is someone typing; a block of them (another within two
/// lines: `sessionInfo()`, a table) is a tool's output.
fn is_column_line(line: &str) -> bool {
    let bytes = line.trim().as_bytes();
    bytes.windows(4).any(|w| {
        w[1] == b' '
            && w[2] == b' '
            && w[3] == b' '
            && !matches!(w[0], b' ' | b'.' | b'?' | b'!' | b':' | b',' | b';')
    })
}

fn is_url(token: &str) -> bool {
    let t = token.trim_start_matches(['(', '<', '[', '"', '\'']);
    t.starts_with("http://") || t.starts_with("https://") || t.starts_with("www.")
}

/// Removes code, quotes, traces, URLs and e-mail furniture (see the module). Never fails; an
/// unterminated fence drops the rest. A message written in HTML or with Slack's markup is
/// read as its plain text first ([`crate::readable`]: HTML blockquotes become quoted lines,
/// `<pre>` and `<code>` code; Slack mentions and labelled links their names).
pub fn extract(text: &str) -> Prose {
    match crate::readable(text) {
        Some(plain) => extract_plain(&plain),
        None => extract_plain(text),
    }
}

fn extract_plain(text: &str) -> Prose {
    let mut p = Prose {
        text: String::with_capacity(text.len()),
        ..Prose::default()
    };
    // A one-line message (most chat messages) has no signature, sign-off or quoted message
    // below it, and needs no list of lines.
    let many: Vec<&str>;
    let one: [&str; 1];
    let (lines, end, cut): (&[&str], usize, bool) = if text.contains('\n') {
        many = text.lines().collect();
        let (end, cut) = email_end(&many);
        (&many, end, cut)
    } else if text.is_empty() {
        (&[], 0, false)
    } else {
        one = [text];
        (&one, 1, false)
    };
    p.had_signature = cut;
    let mut in_fence = false;
    for (i, &line) in lines[..end].iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            p.had_code = true;
            continue;
        }
        if in_fence {
            continue;
        }
        // `>` quotes; `|` quotes too, as some mail readers mark them (a Markdown table row
        // ends with `|` as well and stays).
        if trimmed.starts_with('>')
            || (trimmed.starts_with('|') && !trimmed.trim_end().ends_with('|'))
        {
            p.had_quote = true;
            continue;
        }
        if line.starts_with("    ") || line.starts_with('\t') {
            p.had_code = true;
            continue;
        }
        if is_trace_line(line) {
            p.had_trace = true;
            continue;
        }
        // A column line belongs to a block when another one stands within two lines.
        let in_block = || {
            (i.saturating_sub(2)..(i + 3).min(lines.len()))
                .any(|j| j != i && is_column_line(lines[j]))
        };
        if is_log_line(line) || (is_column_line(line) && in_block()) {
            p.had_log = true;
            continue;
        }
        if is_attribution(lines, i) || is_archive_note(trimmed) {
            p.had_quote = true;
            continue;
        }
        if !p.text.is_empty() {
            p.text.push('\n');
        }
        push_without_inline_code(&mut p, line);
    }
    p
}

/// Where the author's own writing of an e-mail ends (a line index), and whether anything was
/// cut there: the first signature delimiter, rule of underscores, forwarded or original
/// message header; then a sign-off among the last lines before it.
fn email_end(lines: &[&str]) -> (usize, bool) {
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let underscores = t.len() >= 10 && t.bytes().all(|b| b == b'_');
        if *line == "--" || *line == "-- " || underscores || is_forward_header(lines, i) {
            end = i;
            break;
        }
    }
    let cut = end < lines.len();
    match sign_off(&lines[..end]) {
        Some(at) if at < end => (at, true),
        _ => (end, cut),
    }
}

/// A quoted message's header: "-----Original Message-----", "---------- Forwarded message
/// ---------", "Begin forwarded message:", or Outlook's "From: …" with "Sent:"/"Date:" and
/// "To:"/"Subject:" in the lines after it.
fn is_forward_header(lines: &[&str], i: usize) -> bool {
    let t = lines[i].trim();
    if t.starts_with("---") {
        let lower = t.to_ascii_lowercase();
        return lower.contains("original message") || lower.contains("forwarded message");
    }
    if t.eq_ignore_ascii_case("begin forwarded message:") {
        return true;
    }
    if !t.starts_with("From:") {
        return false;
    }
    let next = &lines[i + 1..lines.len().min(i + 6)];
    let has = |field: &str| next.iter().any(|l| l.trim_start().starts_with(field));
    (has("Sent:") || has("Date:")) && (has("To:") || has("Subject:"))
}

/// A quote's attribution line ("On <date>, <name> wrote:", "<name> writes:"), or the first
/// line of one wrapped over two ("On Mon, 5 Jan 2015 at 10:00, Ann Smith <" + "ann at x.org>
/// wrote:").
fn is_attribution(lines: &[&str], i: usize) -> bool {
    // "… wrote:", or a date and an address then a colon ("2017-05-16 13:12 GMT+02:00 Ann
    // Smith <ann at x.org>:").
    let says = |l: &str| {
        let t = l.trim_end();
        t.ends_with(':')
            && (["wrote:", "writes:", "schrieb:", "a écrit :", "a écrit:"]
                .iter()
                .any(|w| t.ends_with(w))
                || (t.ends_with(">:") && t.contains('<')))
            && t.chars().count() <= 200
    };
    if says(lines[i]) {
        return true;
    }
    lines[i].trim_start().starts_with("On ")
        && lines.get(i + 1).is_some_and(|next| {
            says(next) && !next.trim_start().starts_with("On ") && next.chars().count() <= 120
        })
        && lines[i].chars().count() <= 200
}

/// A line a list archive adds in place of what it removed.
fn is_archive_note(t: &str) -> bool {
    t.starts_with("[[alternative HTML version deleted]]")
        || t.starts_with("[[alternative text/enriched version deleted]]")
}

/// Closing formulas of a sign-off, lower case, without punctuation, that say nothing more.
const CLOSINGS: [&str; 18] = [
    "best",
    "best regards",
    "kind regards",
    "warm regards",
    "warmest regards",
    "with best regards",
    "with kind regards",
    "regards",
    "cheers",
    "best wishes",
    "all the best",
    "sincerely",
    "yours sincerely",
    "sincerely yours",
    "yours",
    "greetings",
    "ciao",
    "thanks and regards",
];
/// Closing formulas that thank: a sign-off of these keeps its line.
const THANKING_SIGN_OFFS: [&str; 9] = [
    "many thanks",
    "thanks",
    "thank you",
    "thanks again",
    "thanks a lot",
    "thank you very much",
    "thanks so much",
    "thank you so much",
    "thx",
];

/// The line where a sign-off starts, if the text ends with one: a closing formula
/// ([`is_sign_off_formula`]) among the last seven filled lines, below some writing, with at
/// most six short lines (a name, a title, an address: eight words or fewer) after it. A
/// sign-off that thanks starts one line later: its formula is kept.
fn sign_off(lines: &[&str]) -> Option<usize> {
    // The last seven filled lines, from the bottom: the lowest formula line whose lines below
    // are few and short.
    let mut below = 0usize;
    let mut below_short = true;
    let mut seen = 0usize;
    let mut after_formula: Option<usize> = None;
    for i in (0..lines.len()).rev() {
        let line = lines[i].trim();
        if line.is_empty() {
            continue;
        }
        if seen == 7 {
            break;
        }
        seen += 1;
        // Some writing above it: a filled line before `i`.
        if below <= 6
            && below_short
            && is_sign_off_formula(line)
            && lines[..i].iter().any(|l| !l.trim().is_empty())
        {
            let formula = line.split(',').next().unwrap_or(line);
            let formula = formula.trim().trim_end_matches(['.', '!']);
            let thanking = THANKING_SIGN_OFFS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(formula));
            return Some(if thanking {
                after_formula.unwrap_or(lines.len())
            } else {
                i
            });
        }
        below += 1;
        below_short &= line.split_whitespace().nth(8).is_none();
        after_formula = Some(i);
    }
    None
}

/// A closing formula alone on its line, optionally followed by a name of up to three
/// capitalised words ("Best, Ann", "Thanks, -Dirk").
pub(crate) fn is_sign_off_formula(line: &str) -> bool {
    // Every formula is short: a longer line is writing.
    if line.len() > 60 {
        return false;
    }
    let (formula, name) = line.split_once(',').unwrap_or((line, ""));
    let formula = formula.trim().trim_end_matches(['.', '!']);
    if formula.len() > 20
        || !CLOSINGS
            .iter()
            .chain(&THANKING_SIGN_OFFS)
            .any(|f| f.eq_ignore_ascii_case(formula))
    {
        return false;
    }
    let mut words = 0;
    name.split_whitespace().all(|w| {
        words += 1;
        words <= 3
            && w.trim_start_matches('-')
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
    })
}

fn push_without_inline_code(p: &mut Prose, line: &str) {
    // Inline code becomes a space; an unmatched backtick is punctuation and stays.
    let mut kept = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        match after.find('`') {
            Some(close) => {
                kept.push_str(&rest[..open]);
                kept.push(' ');
                p.had_code = true;
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    kept.push_str(rest);
    let mut first = true;
    for word in kept.split(' ') {
        if is_url(word) {
            p.urls += 1;
            continue;
        }
        if !first {
            p.text.push(' ');
        }
        p.text.push_str(word);
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_quotes_traces_and_urls_are_not_prose() {
        let p = extract(
            "> you idiot\nSee `kill -9` and https://x.org/a\n```\nfn main() {}\n```\nthread 'main' panicked at 'x'\nok",
        );
        assert_eq!(
            p.text.split_whitespace().collect::<Vec<_>>(),
            ["See", "and", "ok"]
        );
        assert!(p.had_code && p.had_quote && p.had_trace);
        assert_eq!(p.urls, 1);
    }

    #[test]
    fn unmatched_backtick_is_kept() {
        assert_eq!(extract("it`s fine").text, "it`s fine");
    }

    #[test]
    fn an_emails_signature_sign_off_footer_and_quoted_message_are_not_prose() {
        let mail = "On Mon, 5 Jan 2015 at 10:00, Ann Smith <ann at x.org> wrote:\n\
            \n\
            It works now, the NOTE is gone.\n\
            \n\
            Best regards,\n\
            Bob Jones\n\
            University of Somewhere\n\
            \n\
            \t[[alternative HTML version deleted]]\n\
            \n\
            ______________________________________________\n\
            R-package-devel at r-project.org mailing list";
        let p = extract(mail);
        assert_eq!(p.text.trim(), "It works now, the NOTE is gone.");
        assert!(p.had_signature && p.had_quote);
        // A `-- ` signature, and a top-posted reply above Outlook's quoted message.
        let p = extract("Yes, that is the fix.\n-- \nBob\nhttp://bob.example.org");
        assert_eq!(p.text.trim(), "Yes, that is the fix.");
        let p = extract(
            "I agree.\n\nFrom: Ann\nSent: Monday\nTo: list\nSubject: Re: NOTE\n\nYou idiot.",
        );
        assert_eq!(p.text.trim(), "I agree.");
        // A wrapped attribution line, and `|` quotes (a table row stays).
        let p = extract(
            "On Sun, Aug 9, 2015 at 7:04 AM, Joshua Ulrich <\njosh at x.com> wrote:\n| quoted\n| a | b |\nMine.",
        );
        assert_eq!(p.text, "| a | b |\nMine.");
    }

    #[test]
    fn a_thanking_sign_off_keeps_its_formula_and_a_lone_closing_stays() {
        let p = extract("Could you check the logs?\n\nThanks,\nAnn\nSomewhere Inc.");
        assert_eq!(p.text.trim(), "Could you check the logs?\n\nThanks,");
        // A message that is only a closing word is its own writing.
        assert_eq!(extract("Cheers!").text, "Cheers!");
        // "Thanks, that fixed it" is no sign-off: it stays whole.
        assert_eq!(
            extract("Thanks, that fixed it").text,
            "Thanks, that fixed it"
        );
        assert!(!extract("Thanks, that fixed it").had_signature);
    }

    #[test]
    fn pasted_tool_output_is_not_prose() {
        let p = extract(
            "My check fails:\n* checking examples ... ERROR\nError in f(x) : boom\n\
             Execution halted\nlanguage       R\nnickname       You Stupid Darkness\n\
             What can I do?",
        );
        assert_eq!(p.text, "My check fails:\nWhat can I do?");
        assert!(p.had_log && p.is_technical());
        // Two spaces after a sentence are prose, and so is one line with a wide gap.
        assert_eq!(extract("It works.  Thanks!").text, "It works.  Thanks!");
        assert_eq!(
            extract("@anon   I think it's time for a marathon weekend").text,
            "@anon   I think it's time for a marathon weekend"
        );
    }
}
