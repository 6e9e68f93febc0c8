//! Evaluation helpers shared by the accuracy example, the regression test and the bench:
//! parsing the labelled set and the tweet set, Pearson r, precision and recall. Pure: the
//! callers read the files.

use std::collections::HashMap;

use crate::intent::{Intent, Role};

/// One labelled message of `data/eval/messages.tsv`, `holdout2.tsv`, `real.tsv`, `real2.tsv` or
/// `real3.tsv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub id: String,
    /// The split column says `test` or `holdout`: the message was held out of tuning when
    /// its set was made (`messages.tsv`'s test split is tuning data since held-out set 2).
    pub test: bool,
    pub intents: Vec<Intent>,
    pub hostile: bool,
    pub text: String,
}

/// The labelled set shipped with the crate: since held-out set 2 exists, all of it (both
/// splits) is tuning data.
pub const MESSAGES_TSV: &str = include_str!("../data/eval/messages.tsv");

/// Held-out set 2 (`data/eval/holdout2.tsv`, split column `holdout`): written and labelled
/// before the rules were tuned against the old set's both splits; read only to report the bar.
pub const HOLDOUT2_TSV: &str = include_str!("../data/eval/holdout2.tsv");

/// The labelled sample of real community messages (`data/eval/real.tsv`: Stack Exchange
/// history.meta posts and comments, CC BY-SA 3.0, and the houstondatavis Slack, MIT),
/// labelled before any rule was tuned on it. Split `holdout` when [`split_hash`] of the id
/// is divisible by 3, else `tune`; rule work reads only the `tune` split.
pub const REAL_TSV: &str = include_str!("../data/eval/real.tsv");

/// Attribution of every message of [`REAL_TSV`]: `id`, then its source (site and post or
/// comment id, or Slack channel and timestamp).
pub const REAL_SOURCES_TSV: &str = include_str!("../data/eval/real-sources.tsv");

/// Real-message set 2 (`data/eval/real2.tsv`, ids `s0001`…, split `holdout` on every row):
/// more history.meta and houstondatavis messages, none of them in [`REAL_TSV`], sampled by
/// structural strata so the rare intents get support, and labelled by a labeller who had not
/// seen the rules. The whole set is held out: rule work never reads it.
pub const REAL2_TSV: &str = include_str!("../data/eval/real2.tsv");

/// Attribution of every message of [`REAL2_TSV`], in the format of [`REAL_SOURCES_TSV`].
pub const REAL2_SOURCES_TSV: &str = include_str!("../data/eval/real2-sources.tsv");

/// Real-message set 3 (`data/eval/real3.tsv`, ids `t0001`…, split `holdout` on every row):
/// further history.meta and houstondatavis messages, none of them in [`REAL_TSV`] or
/// [`REAL2_TSV`], sampled by structural strata designed to reach the rare intents (a user's
/// first post or message, event and site-evaluation tags, a Slack channel's first message of
/// a day…) and labelled by a labeller who had not seen the rules. Held out: rule work never
/// reads it; it is to be read once.
pub const REAL3_TSV: &str = include_str!("../data/eval/real3.tsv");

/// Attribution of every message of [`REAL3_TSV`], in the format of [`REAL_SOURCES_TSV`].
pub const REAL3_SOURCES_TSV: &str = include_str!("../data/eval/real3-sources.tsv");

/// Structural role of every message of [`REAL3_TSV`]: `id`, then `opening` (a Stack Exchange
/// question post, or a Slack message that is the first of its channel's day), `reply` (a
/// Stack Exchange answer or comment) or `unknown` (any other Slack message: the export has no
/// threads). Derived from the data's structure, never from the text.
pub const REAL3_CONTEXT_TSV: &str = include_str!("../data/eval/real3-context.tsv");

/// Real-message set 4 (`data/eval/real4.tsv`, ids `u0001`…, split `holdout` on every row):
/// messages of the R package-devel mailing list, a community none of the earlier sets came
/// from, labelled blind to the rules. **Labels only**: the `text` column is empty, because
/// the list's messages are not copied into the repository; the texts are read from the
/// shared data with kith's mbox importer and made by [`real4_text`] (see
/// `data/eval/README.md`).
pub const REAL4_TSV: &str = include_str!("../data/eval/real4.tsv");

/// Attribution of every message of [`REAL4_TSV`]: `id`, then `r-package-devel message
/// <Message-ID>` (the activity's id in the source).
pub const REAL4_SOURCES_TSV: &str = include_str!("../data/eval/real4-sources.tsv");

/// Structural role of every message of [`REAL4_TSV`]: `opening` (a thread's first message)
/// or `reply`.
pub const REAL4_CONTEXT_TSV: &str = include_str!("../data/eval/real4-context.tsv");

/// The second labeller's labels of [`REAL4_TSV`] (`id`, `intents`, `hostile`), made
/// independently: the measure of how reproducibly the guide is read.
pub const REAL4_SECOND_TSV: &str = include_str!("../data/eval/real4-second.tsv");

/// Real-message set 5 (`data/eval/real5.tsv`, ids `v0001`…, split `holdout` on every row):
/// further messages of the R package-devel list, none of them in set 4, labelled blind to the
/// rules after set 4's reading. Labels only, as [`REAL4_TSV`].
pub const REAL5_TSV: &str = include_str!("../data/eval/real5.tsv");

/// Attribution of every message of [`REAL5_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL5_SOURCES_TSV: &str = include_str!("../data/eval/real5-sources.tsv");

/// Structural role of every message of [`REAL5_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL5_CONTEXT_TSV: &str = include_str!("../data/eval/real5-context.tsv");

/// The second labeller's labels of [`REAL5_TSV`], as [`REAL4_SECOND_TSV`].
pub const REAL5_SECOND_TSV: &str = include_str!("../data/eval/real5-second.tsv");

/// Real-message set 6 (`data/eval/real6.tsv`, ids `w0001`…): further messages of the list,
/// none of them in sets 4 or 5, labelled blind after set 5's reading. Labels only.
pub const REAL6_TSV: &str = include_str!("../data/eval/real6.tsv");

/// Attribution of every message of [`REAL6_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL6_SOURCES_TSV: &str = include_str!("../data/eval/real6-sources.tsv");

/// Structural role of every message of [`REAL6_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL6_CONTEXT_TSV: &str = include_str!("../data/eval/real6-context.tsv");

/// The second labeller's labels of [`REAL6_TSV`], as [`REAL4_SECOND_TSV`].
pub const REAL6_SECOND_TSV: &str = include_str!("../data/eval/real6-second.tsv");

/// Real-message set 7 (`data/eval/real7.tsv`, ids `x0001`…): further messages of the list,
/// none of them in sets 4 to 6, labelled blind after set 6's reading. Labels only.
pub const REAL7_TSV: &str = include_str!("../data/eval/real7.tsv");

/// Attribution of every message of [`REAL7_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL7_SOURCES_TSV: &str = include_str!("../data/eval/real7-sources.tsv");

/// Structural role of every message of [`REAL7_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL7_CONTEXT_TSV: &str = include_str!("../data/eval/real7-context.tsv");

/// The second labeller's labels of [`REAL7_TSV`], as [`REAL4_SECOND_TSV`].
pub const REAL7_SECOND_TSV: &str = include_str!("../data/eval/real7-second.tsv");

/// Real-message set 8 (`data/eval/real8.tsv`, ids `y0001`…): further messages of the list,
/// none of them in sets 4 to 7, labelled blind after set 7's reading. Labels only.
pub const REAL8_TSV: &str = include_str!("../data/eval/real8.tsv");

/// Attribution of every message of [`REAL8_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL8_SOURCES_TSV: &str = include_str!("../data/eval/real8-sources.tsv");

/// Structural role of every message of [`REAL8_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL8_CONTEXT_TSV: &str = include_str!("../data/eval/real8-context.tsv");

/// The second labeller's labels of [`REAL8_TSV`], as [`REAL4_SECOND_TSV`].
pub const REAL8_SECOND_TSV: &str = include_str!("../data/eval/real8-second.tsv");

/// Real-message set 9 (`data/eval/real9.tsv`, ids `z0001`…): further messages of the list,
/// none of them in sets 4 to 8, labelled blind after set 8's reading. Labels only.
pub const REAL9_TSV: &str = include_str!("../data/eval/real9.tsv");

/// Attribution of every message of [`REAL9_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL9_SOURCES_TSV: &str = include_str!("../data/eval/real9-sources.tsv");

/// Structural role of every message of [`REAL9_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL9_CONTEXT_TSV: &str = include_str!("../data/eval/real9-context.tsv");

/// The second labeller's labels of [`REAL9_TSV`], as [`REAL4_SECOND_TSV`].
pub const REAL9_SECOND_TSV: &str = include_str!("../data/eval/real9-second.tsv");

/// Real-message set 10 (`data/eval/real10.tsv`, ids `t0001`…): further messages of the list,
/// none of them in sets 4 to 9, labelled blind after set 9's reading by two labellers. Labels
/// only.
pub const REAL10_TSV: &str = include_str!("../data/eval/real10.tsv");

/// Attribution of every message of [`REAL10_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL10_SOURCES_TSV: &str = include_str!("../data/eval/real10-sources.tsv");

/// Structural role of every message of [`REAL10_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL10_CONTEXT_TSV: &str = include_str!("../data/eval/real10-context.tsv");

/// The second labeller's labels of [`REAL10_TSV`], as [`REAL4_SECOND_TSV`].
pub const REAL10_SECOND_TSV: &str = include_str!("../data/eval/real10-second.tsv");

/// Real-message set 11 (`data/eval/real11.tsv`, ids `s0001`…, split `tune`): further
/// messages of the list, none of them in sets 4 to 10, labelled by one labeller as training
/// data (never a bar). Labels only.
pub const REAL11_TSV: &str = include_str!("../data/eval/real11.tsv");

/// Attribution of every message of [`REAL11_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL11_SOURCES_TSV: &str = include_str!("../data/eval/real11-sources.tsv");

/// Structural role of every message of [`REAL11_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL11_CONTEXT_TSV: &str = include_str!("../data/eval/real11-context.tsv");

/// Real-message set 12 (`data/eval/real12.tsv`, ids `r0001`…, split `tune`): as
/// [`REAL11_TSV`], none of its messages in sets 4 to 11.
pub const REAL12_TSV: &str = include_str!("../data/eval/real12.tsv");

/// Attribution of every message of [`REAL12_TSV`], as [`REAL4_SOURCES_TSV`].
pub const REAL12_SOURCES_TSV: &str = include_str!("../data/eval/real12-sources.tsv");

/// Structural role of every message of [`REAL12_TSV`], as [`REAL4_CONTEXT_TSV`].
pub const REAL12_CONTEXT_TSV: &str = include_str!("../data/eval/real12-context.tsv");

/// The characters at which [`real4_text`] cuts a text (and keeps at least half of them).
pub const REAL4_MAX_CHARS: usize = 3000;

/// A message of sets 4 to 9 as their labellers read it, from the text kith stores: carriage returns
/// dropped, each line's trailing whitespace trimmed, three or more line breaks made two, the
/// whole trimmed; then, past [`REAL4_MAX_CHARS`] characters, cut after the last line break or
/// sentence end (`. `, `? `, `! `) in the first [`REAL4_MAX_CHARS`] (after the last space
/// when that leaves less than half) and marked ` [...]`. The same as `tidy` and `cut` in
/// `scripts/real4_sample.py`, which drew the sample.
pub fn real4_text(raw: &str) -> String {
    let joined = raw
        .replace('\r', "")
        .split('\n')
        .map(|l| l.trim_end_matches(char::is_whitespace))
        .collect::<Vec<_>>()
        .join("\n");
    let mut text = String::with_capacity(joined.len());
    let mut breaks = 0usize;
    for c in joined.chars() {
        if c == '\n' {
            breaks += 1;
            continue;
        }
        if breaks > 0 {
            text.push_str(if breaks >= 3 {
                "\n\n"
            } else {
                &"\n\n"[..breaks]
            });
            breaks = 0;
        }
        text.push(c);
    }
    let text = text.trim();
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= REAL4_MAX_CHARS {
        return text.to_string();
    }
    let head = &chars[..REAL4_MAX_CHARS];
    let rfind = |pat: &[char]| -> Option<usize> {
        (0..=head.len().saturating_sub(pat.len()))
            .rev()
            .find(|&i| head[i..].starts_with(pat))
    };
    let at = [&['\n'][..], &['.', ' '], &['?', ' '], &['!', ' ']]
        .iter()
        .filter_map(|p| rfind(p))
        .max();
    let at = match at {
        Some(a) if a >= REAL4_MAX_CHARS / 2 => Some(a),
        _ => rfind(&[' ']),
    };
    let kept: String = match at {
        Some(a) => head[..=a].iter().collect(),
        None => String::new(),
    };
    format!("{} [...]", kept.trim_end())
}

/// Where each message of [`REAL_TSV`] stands in its thread (`id`, `role`), derived from the
/// structure only (Stack Exchange post type, comment; Slack unknown) by
/// `scripts/real_context.py`.
pub const REAL_CONTEXT_TSV: &str = include_str!("../data/eval/real-context.tsv");

/// Where each message of [`REAL2_TSV`] stands in its thread, as [`REAL_CONTEXT_TSV`].
pub const REAL2_CONTEXT_TSV: &str = include_str!("../data/eval/real2-context.tsv");

/// Parses a context file (header `id`, `role`; one row per message; roles `opening`,
/// `reply`, `unknown`). `Err` names the line that is wrong, or an id given twice.
pub fn parse_context(tsv: &str) -> Result<HashMap<String, Role>, String> {
    let mut lines = tsv.lines().enumerate();
    match lines.next() {
        Some((_, "id\trole")) => {}
        _ => return Err("context line 1: expected the header `id<TAB>role`".into()),
    }
    let mut out = HashMap::new();
    for (n, line) in lines {
        let Some((id, role)) = line.split_once('\t') else {
            return Err(format!("context line {}: expected 2 columns", n + 1));
        };
        let role =
            Role::parse(role).ok_or(format!("context line {}: unknown role {role:?}", n + 1))?;
        if out.insert(id.to_string(), role).is_some() {
            return Err(format!("context line {}: id {id} given twice", n + 1));
        }
    }
    Ok(out)
}

/// FNV-1a 64 of the id: the split is `test` when this is divisible by 3.
pub fn split_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses the labelled TSV; `Err` names the line that is wrong.
pub fn parse_labelled(tsv: &str) -> Result<Vec<Labelled>, String> {
    let mut out = Vec::new();
    for (n, line) in tsv.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.splitn(5, '\t').collect();
        let [id, split, intents, hostile, text] = f[..] else {
            return Err(format!("messages.tsv line {}: expected 5 columns", n + 1));
        };
        let intents = intents
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Intent::parse(s).ok_or(format!("line {}: unknown intent {s}", n + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Labelled {
            id: id.to_string(),
            test: split == "test" || split == "holdout",
            intents,
            hostile: hostile == "1",
            text: unescape(text),
        });
    }
    Ok(out)
}

/// Parses the VADER tweet ground truth: (id, mean rating −4..4, text).
pub fn parse_tweets(tsv: &str) -> Vec<(String, f64, String)> {
    tsv.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            let id = f.next()?;
            let r = f.next()?.trim().parse().ok()?;
            Some((id.to_string(), r, f.next()?.to_string()))
        })
        .collect()
}

/// Pearson correlation; 0 when either side has no variance.
pub fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let (mut c, mut vx, mut vy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        c += (x - mx) * (y - my);
        vx += (x - mx) * (x - mx);
        vy += (y - my) * (y - my);
    }
    if vx == 0.0 || vy == 0.0 {
        0.0
    } else {
        c / (vx * vy).sqrt()
    }
}

/// Counts for one binary label.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Counts {
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => {}
        }
    }
    /// Precision; 1 when nothing was predicted (no false claims).
    pub fn precision(&self) -> f64 {
        let d = self.tp + self.fp;
        if d == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(d)
        }
    }
    pub fn recall(&self) -> f64 {
        let d = self.tp + self.fn_;
        if d == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(d)
        }
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `real4_text` as the sampler's `tidy` and `cut` (their outputs for these inputs were
    /// taken from Python).
    #[test]
    fn real4_text_tidies_and_cuts_as_the_sampler() {
        assert_eq!(real4_text("  Hi  \r\n\r\n\r\n\nthere \t\n"), "Hi\n\nthere");
        assert_eq!(real4_text("a\n\nb\n\n\nc"), "a\n\nb\n\nc");
        assert_eq!(real4_text(""), "");
        // Cut after the last sentence end in the first 3,000 characters.
        let long = format!("{}. {}", "x".repeat(2000), "y".repeat(1500));
        assert_eq!(real4_text(&long), format!("{}. [...]", "x".repeat(2000)));
        // A sentence end before the half: after the last space instead.
        let early = format!(
            "{}. {} {}",
            "x".repeat(100),
            "y".repeat(2500),
            "z".repeat(900)
        );
        assert_eq!(
            real4_text(&early),
            format!("{}. {} [...]", "x".repeat(100), "y".repeat(2500))
        );
        // No place to cut at all: only the mark is left, as in Python.
        assert_eq!(real4_text(&"é".repeat(3001)), " [...]");
        // Characters, not bytes, are counted.
        assert_eq!(real4_text(&"é".repeat(3000)), "é".repeat(3000));
    }

    #[test]
    fn context_files_parse_and_name_each_role() {
        let c = parse_context("id\trole\na\topening\nb\treply\nc\tunknown\n");
        assert_eq!(
            c.map(|m| [m["a"], m["b"], m["c"]]),
            Ok([Role::Opening, Role::Reply, Role::Unknown])
        );
        assert!(parse_context("id\trole\na\tquestion\n").is_err());
        assert!(parse_context("id\trole\na\n").is_err());
        assert!(parse_context("a\topening\n").is_err());
        assert!(parse_context("id\trole\na\treply\na\topening\n").is_err());
        // The shipped files: one row per labelled message, every role present.
        for (ctx, set) in [(REAL_CONTEXT_TSV, REAL_TSV), (REAL2_CONTEXT_TSV, REAL2_TSV)] {
            let ctx = parse_context(ctx).unwrap_or_default();
            let set = parse_labelled(set).unwrap_or_default();
            assert!(!set.is_empty());
            assert_eq!(ctx.len(), set.len());
            assert!(set.iter().all(|m| ctx.contains_key(&m.id)));
            for r in Role::ALL {
                assert!(ctx.values().any(|&v| v == r), "{}", r.as_str());
            }
        }
    }
}
