//! Messages written in HTML (Stack Exchange post bodies, Discourse's `cooked` posts, Mastodon
//! statuses) read as the plain text prose extraction expects: paragraphs and other blocks on
//! lines of their own, blockquote and aside lines (a Discourse quote with its title, a link
//! preview) prefixed `> ` (quoted: not the author's words), `<pre>`
//! blocks fenced with ```` ``` ```` and inline `<code>` in backticks (code: no sentiment), links
//! by their text, other tags dropped, entities decoded. Text that is not HTML is left alone:
//! only a known tag (a paragraph, a line break, a quote, code, a list, a link, emphasis) makes a
//! message HTML, so "I <3 this" or "a < b" stay as written.

/// Tags whose presence makes a text HTML (lower-cased, compared case-insensitively).
const MARKERS: &[&str] = &[
    "<p>",
    "<p ",
    "</p>",
    "<br>",
    "<br/>",
    "<br />",
    "</blockquote>",
    "</pre>",
    "</code>",
    "</a>",
    "</li>",
    "</em>",
    "</strong>",
    "</h1>",
    "</h2>",
    "</h3>",
    "</div>",
    "<hr>",
    "<hr />",
];

/// Tags an HTML message opens with (lower-cased).
const OPENERS: &[&str] = &[
    "<p>",
    "<p ",
    "<div",
    "<blockquote",
    "<pre",
    "<h1",
    "<h2",
    "<h3",
    "<h4",
    "<h5",
    "<h6",
    "<ul",
    "<ol",
    "<hr",
    "<aside",
    "<table",
    "<span",
    "<a ",
    "<img ",
    "<br",
    "<em>",
    "<strong>",
    "<code>",
    "<b>",
    "<i>",
];

/// Whether `text` is written in HTML: it opens with one of the tags above and holds one of
/// the markers. A plain message that mentions HTML, ends in a webmail's HTML footer or opens
/// with an autolink (`<https://…>`) does not.
pub fn is_html(text: &str) -> bool {
    let t = text.trim_start();
    let head = t.get(..12).unwrap_or(t).to_ascii_lowercase();
    if !OPENERS.iter().any(|o| head.starts_with(o)) {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

/// `text` as plain text when it is HTML, `None` when it is not.
pub fn to_text(text: &str) -> Option<String> {
    is_html(text).then(|| convert(text))
}

/// Block-level elements: each starts and ends a line.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "hr"
            | "ul"
            | "ol"
            | "li"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "table"
            | "tr"
            | "blockquote"
            | "pre"
            | "dl"
            | "dt"
            | "dd"
            | "header"
            | "article"
            | "section"
            | "figure"
            | "figcaption"
    )
}

struct Writer {
    out: String,
    /// Open `<blockquote>` and `<aside>` elements: each prefixes `> ` to the lines inside.
    quotes: usize,
    /// Inside `<pre>`: whitespace kept as written.
    pre: bool,
    /// At the start of a line (nothing written on it yet).
    at_line_start: bool,
    /// Whitespace seen since the last word (written as one space before the next).
    space: bool,
}

impl Writer {
    fn new(capacity: usize) -> Writer {
        Writer {
            out: String::with_capacity(capacity),
            quotes: 0,
            pre: false,
            at_line_start: true,
            space: false,
        }
    }

    /// Ends the current line, if anything is on it.
    fn break_line(&mut self) {
        if !self.at_line_start {
            self.out.push('\n');
            self.at_line_start = true;
        }
        self.space = false;
    }

    fn push_char(&mut self, c: char) {
        if self.pre {
            if self.at_line_start {
                self.prefix();
            }
            self.out.push(c);
            self.at_line_start = c == '\n';
            return;
        }
        if c.is_whitespace() {
            self.space = !self.at_line_start;
            return;
        }
        if self.at_line_start {
            self.prefix();
        } else if self.space {
            self.out.push(' ');
        }
        self.space = false;
        self.out.push(c);
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push_char(c);
        }
    }

    /// A fence line around a `<pre>` block.
    fn push_fence(&mut self) {
        self.prefix();
        self.out.push_str("```\n");
        self.at_line_start = true;
        self.space = false;
    }

    /// What opens a line inside quotes.
    fn prefix(&mut self) {
        for _ in 0..self.quotes {
            self.out.push_str("> ");
        }
        self.at_line_start = false;
    }
}

fn convert(text: &str) -> String {
    let mut w = Writer::new(text.len());
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        push_text(&mut w, &rest[..lt]);
        let after = &rest[lt + 1..];
        // A tag starts with a letter, `/` or `!` (a comment); any other `<` is text ("a < b").
        if !after
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'/' || b == b'!')
        {
            w.push_char('<');
            rest = after;
            continue;
        }
        // A comment runs to `-->` (it may hold `>`), an unclosed one to the end.
        if let Some(comment) = after.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(gt) = after.find('>') else {
            // An unclosed `<`: text.
            push_text(&mut w, &rest[lt..]);
            rest = "";
            break;
        };
        tag(&mut w, &after[..gt]);
        rest = &after[gt + 1..];
    }
    push_text(&mut w, rest);
    let mut out = w.out;
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// Applies one tag (the text between `<` and `>`).
fn tag(w: &mut Writer, inside: &str) {
    let closing = inside.starts_with('/');
    let name: String = inside
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match name.as_str() {
        "pre" => {
            w.break_line();
            w.push_fence();
            w.pre = !closing;
        }
        // A backtick around inline code, joined to the word it touches as written.
        "code" if !w.pre => w.push_char('`'),
        // An aside (Discourse's quote with its "name:" title, or a link's preview) is not the
        // author's writing either: quoted, like a blockquote.
        "blockquote" | "aside" => {
            w.break_line();
            if closing {
                w.quotes = w.quotes.saturating_sub(1);
            } else {
                w.quotes += 1;
            }
        }
        "li" if !closing => {
            w.break_line();
            w.push_str("- ");
        }
        n if is_block(n) => w.break_line(),
        // Anything else (links, emphasis, images, spans): its text stays, the tag goes.
        _ => {}
    }
}

/// Text between tags, its entities decoded.
fn push_text(w: &mut Writer, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        w.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match after.find(';').filter(|&end| end <= 10) {
            Some(end) => match entity(&after[..end]) {
                Some(c) => {
                    w.push_char(c);
                    rest = &after[end + 1..];
                }
                None => {
                    w.push_char('&');
                    rest = after;
                }
            },
            None => {
                w.push_char('&');
                rest = after;
            }
        }
    }
    w.push_str(rest);
}

/// The character of an entity (`amp`, `#39`, `#x27`), if kith knows it.
fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_not_html() {
        for text in [
            "I <3 this",
            "if a < b and c > d then",
            "use Vec<T> here",
            "<@U123> thanks",
            "",
            "see <https://example.org>",
            "Thanks.\n\nAnn\n<span><p>Get the free e-mail</p></span>",
            "<https://example.org> has <p> tags in its docs",
        ] {
            assert!(to_text(text).is_none(), "{text}");
        }
    }

    #[test]
    fn paragraphs_quotes_code_links_and_entities() {
        let body = "<p>Why was my <a href=\"https://x.org/q\">question</a> closed? It &amp; the <code>tag</code> were fine.</p>\n\n\
                    <blockquote>\n  <p>This is off topic.\nRead the FAQ.</p>\n</blockquote>\n\n\
                    <pre><code>fn main() {\n    panic!()\n}\n</code></pre>\n\n<ul>\n<li>one</li>\n<li>two &#39;2&#x27;</li>\n</ul>";
        assert_eq!(
            to_text(body).unwrap(),
            "Why was my question closed? It & the `tag` were fine.\n\
             > This is off topic. Read the FAQ.\n\
             ```\n\
             fn main() {\n    panic!()\n}\n\
             ```\n\
             - one\n\
             - two '2'"
        );
    }

    /// What scoring reads of an HTML post: the author's words, not the quote or the code.
    #[test]
    fn prose_of_an_html_post_leaves_out_its_quotes_and_code() {
        let post = "<p>Someone replied:</p>\n<blockquote><p>You are an idiot and your question is garbage.</p></blockquote>\n\
                    <p>Thanks, that explains it. The error was:</p>\n<pre><code>Error: object 'x' not found\n</code></pre>";
        let p = crate::prose::extract(post);
        assert!(p.had_quote && p.had_code, "{p:?}");
        assert!(
            !p.text.contains("idiot") && !p.text.contains("<p>"),
            "{p:?}"
        );
        assert!(p.text.contains("Thanks, that explains it."), "{p:?}");
        let a = crate::analyze_in(post, crate::Role::Reply);
        assert!(
            !a.hostility.is_hostile(),
            "a quoted insult is not the author's: {a:?}"
        );
        // Read as raw text, the tags and the quote used to count as the author's words.
        let raw = crate::prose::extract(&post.replace("<p>", "[p]"));
        assert!(raw.text.contains("idiot"), "{raw:?}");
    }

    proptest::proptest! {
        /// Any text, HTML or not, is read without a panic, and what it gives holds no tag of
        /// the markers (tags are dropped, `&lt;` decoded text aside).
        #[test]
        fn any_text_reads(body in "(<p>|</p>|<blockquote>|</blockquote>|<pre>|</pre>|<code>|</code>|<a href=\"x\">|</a>|<li>|&amp;|&#x41;|&#99999999;|&|<|>|[a-zé ]{0,6}|\n){0,40}") {
            let _ = to_text(&body);
            let html = format!("<p>{body}</p>");
            let text = to_text(&html).expect("opens with <p> and holds </p>");
            proptest::prop_assert!(!text.contains("<p>") && !text.contains("</blockquote>"));
            let _ = crate::analyze(&html);
        }
    }

    /// A Discourse reply as `cooked`: the quote's title and text, and a link preview, are not
    /// the author's words.
    #[test]
    fn discourse_quotes_and_link_previews_are_quoted() {
        let cooked = "<aside class=\"quote\" data-post=\"3\"><div class=\"title\">\n<img src=\"a.png\"> ann:</div>\n\
                      <blockquote><p>Is there a shortcut?</p></blockquote></aside>\n<p>Not yet, sorry.</p>\n\
                      <aside class=\"onebox\"><header><a href=\"https://x.org\">x.org</a></header><article><h3>Great tool</h3></article></aside>";
        assert_eq!(
            to_text(cooked).unwrap(),
            "> ann:\n> > Is there a shortcut?\nNot yet, sorry.\n> x.org\n> Great tool"
        );
        assert_eq!(crate::prose::extract(cooked).text, "Not yet, sorry.");
    }

    #[test]
    fn nested_quotes_and_unclosed_brackets() {
        assert_eq!(
            to_text("<blockquote><blockquote><p>a</p></blockquote><p>b</p></blockquote><!-- x > y --><p>c < d &bogus; &amp</p>").unwrap(),
            "> > a\n> b\nc < d &bogus; &amp"
        );
    }
}
