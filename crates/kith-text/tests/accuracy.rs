//! The accuracy bars of SPEC §9 as regression tests. The tweet bar needs the shared data set
//! (`KITH_SHARED_DATA`); without it the test skips, except under `CI=true`, where it fails.

use std::collections::HashSet;

use kith_text::eval::{self, Counts};
use kith_text::learned::{LEARNED, Model, train};
use kith_text::{Intent, Role, analyze_in, sentiment};

#[test]
fn tweet_sentiment_correlates_with_human_mean_at_least_0_86() {
    let Some(dir) = std::env::var_os("KITH_SHARED_DATA") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KITH_SHARED_DATA must be set in CI (the directory holding sentiment-vader-tweets/)"
        );
        eprintln!("skipped: KITH_SHARED_DATA not set");
        return;
    };
    let path = std::path::Path::new(&dir).join("sentiment-vader-tweets/tweets_GroundTruth.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let tweets = eval::parse_tweets(&text);
    assert_eq!(
        tweets.len(),
        4200,
        "{} should hold 4,200 tweets",
        path.display()
    );
    let human: Vec<f64> = tweets.iter().map(|t| t.1).collect();
    let kith: Vec<f64> = tweets
        .iter()
        .map(|t| sentiment::sentiment(&t.2).score)
        .collect();
    let r = eval::pearson(&kith, &human);
    assert!(r >= 0.86, "Pearson r {r:.4} < 0.86");
}

#[test]
fn split_is_the_fixed_hash_of_the_id() {
    let set = eval::parse_labelled(eval::MESSAGES_TSV).expect("labelled set parses");
    assert!(set.len() >= 600);
    for m in &set {
        assert_eq!(
            m.test,
            eval::split_hash(&m.id).is_multiple_of(3),
            "{}",
            m.id
        );
    }
}

/// Held-out set 2 is well formed and large enough to measure every class: ids `h0001`… in
/// order, split column `holdout`, at least 450 messages, at least 60 complaints (one message
/// is then under 1.7 points of recall), 40 of every other intent and 30 hostile ones, and no
/// message copied from the tuning set.
#[test]
fn holdout2_parses_with_enough_of_every_class() {
    let set = eval::parse_labelled(eval::HOLDOUT2_TSV).expect("holdout2.tsv parses");
    assert!(set.len() >= 450, "{} messages", set.len());
    for (n, line) in eval::HOLDOUT2_TSV.lines().skip(1).enumerate() {
        let mut cols = line.split('\t');
        assert_eq!(
            cols.next(),
            Some(format!("h{:04}", n + 1).as_str()),
            "line {}",
            n + 2
        );
        assert_eq!(cols.next(), Some("holdout"), "line {}", n + 2);
    }
    for intent in Intent::ALL {
        let n = set.iter().filter(|m| m.intents.contains(&intent)).count();
        let floor = if intent == Intent::Complaint { 60 } else { 40 };
        assert!(n >= floor, "{}: {n} messages < {floor}", intent.as_str());
    }
    assert!(set.iter().filter(|m| m.hostile).count() >= 30);
    let tuning = eval::parse_labelled(eval::MESSAGES_TSV).expect("labelled set parses");
    let tuning: std::collections::HashSet<&str> = tuning.iter().map(|m| m.text.as_str()).collect();
    let copied: Vec<&str> = set
        .iter()
        .filter(|m| tuning.contains(m.text.as_str()))
        .map(|m| m.id.as_str())
        .collect();
    assert!(copied.is_empty(), "in both sets: {copied:?}");
}

/// The real-message set is well formed: ids `r0001`… in order, split `holdout` exactly when
/// FNV-1a-64(id) % 3 == 0 (else `tune`), at least 600 messages, every message attributed to
/// its source in `real-sources.tsv` (same ids, same order, no source twice), no empty text
/// and no message copied from the written sets. The class counts of the held-out split are
/// the ones `data/eval/README.md` reports (counted when the set was labelled).
#[test]
fn real_set_parses_with_fixed_split_and_attribution() {
    let set = eval::parse_labelled(eval::REAL_TSV).expect("real.tsv parses");
    assert!(set.len() >= 600, "{} messages", set.len());
    for (n, line) in eval::REAL_TSV.lines().skip(1).enumerate() {
        let mut cols = line.split('\t');
        let id = format!("r{:04}", n + 1);
        assert_eq!(cols.next(), Some(id.as_str()), "line {}", n + 2);
        let split = if eval::split_hash(&id).is_multiple_of(3) {
            "holdout"
        } else {
            "tune"
        };
        assert_eq!(cols.next(), Some(split), "{id}");
    }
    let sources: Vec<(&str, &str)> = eval::REAL_SOURCES_TSV
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .collect();
    assert_eq!(sources.len(), set.len());
    for (m, (id, source)) in set.iter().zip(&sources) {
        assert_eq!(m.id, *id);
        assert!(
            source.starts_with("history.meta.stackexchange.com ")
                || source.starts_with("slack houstondatavis #"),
            "{id}: {source}"
        );
        assert!(!m.text.trim().is_empty(), "{id} is empty");
    }
    let distinct: std::collections::HashSet<&str> = sources.iter().map(|s| s.1).collect();
    assert_eq!(distinct.len(), sources.len(), "a source appears twice");
    let written: std::collections::HashSet<String> = [eval::MESSAGES_TSV, eval::HOLDOUT2_TSV]
        .into_iter()
        .flat_map(|t| eval::parse_labelled(t).expect("parses"))
        .map(|m| m.text)
        .collect();
    assert!(set.iter().all(|m| !written.contains(&m.text)));
    // Counted from real.tsv when it was committed; README.md's table says the same.
    let held: Vec<&eval::Labelled> = set.iter().filter(|m| m.test).collect();
    assert_eq!((set.len(), held.len()), (679, 224));
    let count = |i: Intent| held.iter().filter(|m| m.intents.contains(&i)).count();
    let expected = [
        (Intent::Question, 30),
        (Intent::Answer, 74),
        (Intent::Thanks, 7),
        (Intent::BugReport, 1),
        (Intent::FeatureRequest, 3),
        (Intent::Complaint, 28),
        (Intent::Praise, 14),
        (Intent::Introduction, 0),
        (Intent::Announcement, 7),
    ];
    for (i, n) in expected {
        assert_eq!(count(i), n, "{}", i.as_str());
    }
    assert_eq!(held.iter().filter(|m| m.hostile).count(), 1);
}

/// Real-message set 2 is well formed and is a new held-out set: ids `s0001`… in order (so
/// unique), none of them an id of `real.tsv`, `holdout` on every row, at least 600
/// messages, each attributed in `real2-sources.tsv` (same ids, same order, a
/// history.meta post or comment or a houstondatavis Slack message, no source twice), none
/// of them a post, comment or Slack message already in `real-sources.tsv`, and no empty
/// text. The class counts are the ones `data/eval/README.md` reports (counted from the
/// labels when the set was committed), so a silent relabelling fails here.
#[test]
fn real2_set_parses_all_holdout_disjoint_from_real_and_attributed() {
    let set = eval::parse_labelled(eval::REAL2_TSV).expect("real2.tsv parses");
    assert!(set.len() >= 600, "{} messages", set.len());
    for (n, line) in eval::REAL2_TSV.lines().skip(1).enumerate() {
        let mut cols = line.split('\t');
        let id = format!("s{:04}", n + 1);
        assert_eq!(cols.next(), Some(id.as_str()), "line {}", n + 2);
        assert_eq!(cols.next(), Some("holdout"), "{id}");
    }
    let real = eval::parse_labelled(eval::REAL_TSV).expect("real.tsv parses");
    let real_ids: HashSet<&str> = real.iter().map(|m| m.id.as_str()).collect();
    assert!(set.iter().all(|m| !real_ids.contains(m.id.as_str())));

    let sources = |tsv: &'static str| -> Vec<(&'static str, &'static str)> {
        tsv.lines()
            .skip(1)
            .filter_map(|l| l.split_once('\t'))
            .collect()
    };
    let attributed = sources(eval::REAL2_SOURCES_TSV);
    assert_eq!(attributed.len(), set.len());
    for (m, (id, source)) in set.iter().zip(&attributed) {
        assert_eq!(m.id, *id);
        assert!(
            source.starts_with("history.meta.stackexchange.com post ")
                || source.starts_with("history.meta.stackexchange.com comment ")
                || source.starts_with("slack houstondatavis #"),
            "{id}: {source}"
        );
        assert!(!m.text.trim().is_empty(), "{id} is empty");
    }
    let distinct: HashSet<&str> = attributed.iter().map(|s| s.1).collect();
    assert_eq!(distinct.len(), attributed.len(), "a source appears twice");
    let in_real: Vec<&str> = sources(eval::REAL_SOURCES_TSV)
        .into_iter()
        .map(|s| s.1)
        .filter(|s| distinct.contains(s))
        .collect();
    assert!(in_real.is_empty(), "already in real.tsv: {in_real:?}");

    // Counted from real2.tsv when it was committed; README.md's table says the same.
    let count = |i: Intent| set.iter().filter(|m| m.intents.contains(&i)).count();
    let expected = [
        (Intent::Question, 157),
        (Intent::Answer, 211),
        (Intent::Thanks, 18),
        (Intent::BugReport, 19),
        (Intent::FeatureRequest, 17),
        (Intent::Complaint, 63),
        (Intent::Praise, 43),
        (Intent::Introduction, 0),
        (Intent::Announcement, 16),
    ];
    for (i, n) in expected {
        assert_eq!(count(i), n, "{}", i.as_str());
    }
    assert_eq!(set.iter().filter(|m| m.intents.is_empty()).count(), 164);
    assert_eq!(set.iter().filter(|m| m.hostile).count(), 3);
}

#[test]
fn real3_set_parses_all_holdout_disjoint_from_real_and_real2_attributed_with_context() {
    let set = eval::parse_labelled(eval::REAL3_TSV).expect("real3.tsv parses");
    assert!(set.len() >= 600, "{} messages", set.len());
    for (n, line) in eval::REAL3_TSV.lines().skip(1).enumerate() {
        let mut cols = line.split('\t');
        let id = format!("t{:04}", n + 1);
        assert_eq!(cols.next(), Some(id.as_str()), "line {}", n + 2);
        assert_eq!(cols.next(), Some("holdout"), "{id}");
        let hostile = cols.nth(1);
        assert!(
            matches!(hostile, Some("0" | "1")),
            "{id}: hostile {hostile:?}"
        );
    }

    let earlier: Vec<eval::Labelled> = [eval::REAL_TSV, eval::REAL2_TSV]
        .into_iter()
        .flat_map(|tsv| eval::parse_labelled(tsv).expect("earlier set parses"))
        .collect();
    let earlier_ids: HashSet<&str> = earlier.iter().map(|m| m.id.as_str()).collect();
    let earlier_texts: HashSet<&str> = earlier.iter().map(|m| m.text.as_str()).collect();
    for m in &set {
        assert!(!earlier_ids.contains(m.id.as_str()), "{} reused", m.id);
        assert!(!m.text.trim().is_empty(), "{} is empty", m.id);
        // Distinct messages can say the same stock phrase (":+1:", "welcome!", "wow"): every
        // drawn message was kept whatever it says, so only those short ones may recur.
        assert!(
            m.text.chars().count() < 20 || !earlier_texts.contains(m.text.as_str()),
            "{}: text already in real.tsv or real2.tsv",
            m.id
        );
    }
    let shared: Vec<&str> = set
        .iter()
        .filter(|m| earlier_texts.contains(m.text.as_str()))
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(
        shared,
        ["t0446", "t0538", "t0567", "t0593", "t0597", "t0619"],
        "short stock phrases also said in real.tsv or real2.tsv"
    );

    let pairs = |tsv: &'static str| -> Vec<(&'static str, &'static str)> {
        tsv.lines()
            .skip(1)
            .filter_map(|l| l.split_once('\t'))
            .collect()
    };
    let attributed = pairs(eval::REAL3_SOURCES_TSV);
    let roles = pairs(eval::REAL3_CONTEXT_TSV);
    assert_eq!(attributed.len(), set.len());
    assert_eq!(roles.len(), set.len());
    for ((m, (id, source)), (role_id, role)) in set.iter().zip(&attributed).zip(&roles) {
        assert_eq!(m.id, *id);
        assert_eq!(m.id, *role_id);
        // The role follows from the structure the source names.
        let allowed: &[&str] = if source.starts_with("history.meta.stackexchange.com post ") {
            &["opening", "reply"]
        } else if source.starts_with("history.meta.stackexchange.com comment ") {
            &["reply"]
        } else if source.starts_with("slack houstondatavis #") {
            &["opening", "unknown"]
        } else {
            panic!("{id}: unknown source {source}")
        };
        assert!(allowed.contains(role), "{id}: {source} cannot be {role}");
    }
    let distinct: HashSet<&str> = attributed.iter().map(|s| s.1).collect();
    assert_eq!(distinct.len(), attributed.len(), "a source appears twice");
    let reused: Vec<&str> = [eval::REAL_SOURCES_TSV, eval::REAL2_SOURCES_TSV]
        .into_iter()
        .flat_map(pairs)
        .map(|s| s.1)
        .filter(|s| distinct.contains(s))
        .collect();
    assert!(
        reused.is_empty(),
        "already in real.tsv or real2.tsv: {reused:?}"
    );
    let role_count = |r: &str| roles.iter().filter(|(_, role)| *role == r).count();
    assert_eq!(
        (
            role_count("opening"),
            role_count("reply"),
            role_count("unknown")
        ),
        (197, 289, 142)
    );

    // Counted from real3.tsv when its labels were committed; README.md's table says the same.
    let count = |i: Intent| set.iter().filter(|m| m.intents.contains(&i)).count();
    let expected = [
        (Intent::Question, 136),
        (Intent::Answer, 264),
        (Intent::Thanks, 24),
        (Intent::BugReport, 5),
        (Intent::FeatureRequest, 5),
        (Intent::Complaint, 58),
        (Intent::Praise, 45),
        (Intent::Introduction, 3),
        (Intent::Announcement, 32),
    ];
    for (i, n) in expected {
        assert_eq!(count(i), n, "{}", i.as_str());
    }
    assert_eq!(set.iter().filter(|m| m.intents.is_empty()).count(), 145);
    assert_eq!(set.iter().filter(|m| m.hostile).count(), 1);
}

/// Per-intent and hostility counts of `analyze_in` over one labelled set, each message in its
/// role from `context` (a context file; `None` for the written sets: role unknown).
fn counts(tsv: &str, context: Option<&str>) -> (Vec<(Intent, Counts)>, Counts) {
    let set = eval::parse_labelled(tsv).expect("labelled set parses");
    let roles = context
        .map(|c| eval::parse_context(c).expect("context file parses"))
        .unwrap_or_default();
    counts_of(set.iter(), &roles)
}

fn counts_of<'a>(
    set: impl Iterator<Item = &'a eval::Labelled>,
    roles: &std::collections::HashMap<String, Role>,
) -> (Vec<(Intent, Counts)>, Counts) {
    let mut per: Vec<(Intent, Counts)> = Intent::ALL
        .iter()
        .map(|&i| (i, Counts::default()))
        .collect();
    let mut host = Counts::default();
    for m in set {
        let role = roles.get(&m.id).copied().unwrap_or(Role::Unknown);
        let a = analyze_in(&m.text, role);
        for (intent, c) in per.iter_mut() {
            c.add(
                a.intents.iter().any(|x| x.intent == *intent),
                m.intents.contains(intent),
            );
        }
        host.add(a.hostility.is_hostile(), m.hostile);
    }
    (per, host)
}

fn below(per: &[(Intent, Counts)], p: f64, r: f64) -> Vec<String> {
    per.iter()
        .filter(|(_, c)| c.precision() < p || c.recall() < r)
        .map(|(i, c)| format!("{} P {:.2} R {:.2}", i.as_str(), c.precision(), c.recall()))
        .collect()
}

#[test]
fn hostility_precision_on_holdout2_at_least_0_90() {
    let (_, host) = counts(eval::HOLDOUT2_TSV, None);
    assert!(
        host.precision() >= 0.90,
        "hostility precision {:.2}",
        host.precision()
    );
}

/// The figures reached on real-message set 3 at its one reading (commit "Real-message set 3,
/// first reading"), truncated to two decimals, as floors: no rule change may lower them. Set 3
/// was the bar until set 4's reading and is tuning data since. One measured loss accepted in
/// the mailing-list round: thanks P 0.86 R 0.75 -> P 0.83 R 0.79 (18 of 21 -> 19 of 23; a
/// long reply that thanks someone for something thanks wherever it says so, which found 14
/// more on set 4).
/// Bug report and feature request (5 examples each, none found) have no floor to hold, so
/// their false alarms (4 and 9) are ceilings, like hostility's (1).
#[test]
fn intent_real3_figures_do_not_regress() {
    let (per, host) = counts(eval::REAL3_TSV, Some(eval::REAL3_CONTEXT_TSV));
    let floors: &[(Intent, f64, f64)] = &[
        // 114 of 142 predicted right, 114 of 136 found.
        (Intent::Question, 0.80, 0.83),
        // 200 of 236, 200 of 264.
        (Intent::Answer, 0.84, 0.75),
        // 18 of 21, 18 of 24.
        (Intent::Thanks, 0.82, 0.79),
        // 1 of 5, 1 of 3.
        (Intent::Introduction, 0.20, 0.33),
    ];
    hold_floors(&per, floors, "real-message set 3");
    assert!(host.fp <= 1, "{} false hostility alarms", host.fp);
}

/// Asserts every intent's precision and recall on a set stay at or above its floor.
///
/// Since MODEL_VERSION 12 the learned model (`src/learned.rs`) decides bug report, feature
/// request, complaint, praise and announcement, and every tuning set is its training data: on
/// a tuning set those figures are the model's fit to what it learned from, not a measure, so
/// the tuning sets' tests hold floors and ceilings of the other intents only. The model's
/// honest figures are cross-validated (`data/model/intents-cv.md`, each real set held out in
/// turn) and read on the bar, set 10, which the model never saw.
fn hold_floors(per: &[(Intent, Counts)], floors: &[(Intent, f64, f64)], set: &str) {
    for &(intent, p, r) in floors {
        let c = per
            .iter()
            .find(|(i, _)| *i == intent)
            .map(|(_, c)| *c)
            .unwrap_or_default();
        assert!(
            c.precision() >= p && c.recall() >= r,
            "{set}, {}: P {:.2} R {:.2} fell below the floor P {p} R {r}",
            intent.as_str(),
            c.precision(),
            c.recall()
        );
    }
}

/// Asserts every listed intent's false alarms on a set stay at or below its ceiling.
fn hold_ceilings(per: &[(Intent, Counts)], ceilings: &[(Intent, u32)], set: &str) {
    for &(intent, most) in ceilings {
        let fp = per
            .iter()
            .find(|(i, _)| *i == intent)
            .map_or(0, |(_, c)| c.fp);
        assert!(
            fp <= most,
            "{set}, {}: {fp} false alarms, above the ceiling {most}",
            intent.as_str()
        );
    }
}

/// Real-message set 2 is tuning data since its one reading (commit "Real-message set 2,
/// first reading": question P 0.81 R 0.82, answer 0.69/0.59, thanks 0.77/0.94, bug report
/// 0.46/0.32, feature request 0.18/0.12, complaint 0.28/0.29, praise 0.49/0.49, announcement
/// 0.40/0.12, hostility 2 false alarms). Its figures after the rounds on sets 1 and 2, each
/// message in its role from `real2-context.tsv`, truncated to two decimals, are floors. It
/// has no introduction, so its three false alarms are the ceiling; it has no hostility false
/// alarm left. One measured loss against the reading is accepted: praise recall 0.49 -> 0.46
/// (21 -> 20 of 43; round 3: a long reply praises in its first sentence or a short closing
/// one, which took 9 false alarms off set 2 and lost one hit), for precision 0.49 -> 0.60.
#[test]
fn intent_real2_figures_do_not_regress() {
    let (per, host) = counts(eval::REAL2_TSV, Some(eval::REAL2_CONTEXT_TSV));
    let floors: &[(Intent, f64, f64)] = &[
        // 144 of 172 predicted right, 144 of 157 found since the second list round (was 139
        // of 163, 139 of 157: P 0.85 R 0.88). Accepted: an opening post's question counts
        // worded as one or not, and a reply's question put to "you" counts (F1 0.87 -> 0.87,
        // set 4 question R 0.61 -> 0.82).
        // Third round: 145 of 176, 145 of 157 (a reply's plea for help put as a question).
        (Intent::Question, 0.82, 0.92),
        // 167 of 226, 167 of 211 since the mailing-list round (was 163 of 217, 163 of 211:
        // P 0.75 R 0.77). Accepted: a reply that thanks and goes on for twenty words or more
        // answers too, which found 4 answers here and 38 on set 4 and added 5 false alarms
        // here (F1 0.76 -> 0.77).
        (Intent::Answer, 0.73, 0.79),
        // 17 of 22, 17 of 18.
        (Intent::Thanks, 0.77, 0.94),
    ];
    hold_floors(&per, floors, "real-message set 2");
    let introductions = per
        .iter()
        .find(|(i, _)| *i == Intent::Introduction)
        .map(|(_, c)| *c)
        .unwrap_or_default();
    assert_eq!(
        introductions.tp + introductions.fn_,
        0,
        "no introduction in real-message set 2"
    );
    assert!(
        introductions.fp <= 3,
        "{} false introductions",
        introductions.fp
    );
    assert!(host.fp == 0, "{} false hostility alarms", host.fp);
}

/// Real-message set 1 (both splits) is tuning data since its held-out split was read; its
/// figures after the rounds on sets 1 and 2, each message in its role from
/// `real-context.tsv`, truncated to two decimals, are floors. Two measured losses against
/// the floors before those rounds (question P 0.68 R 0.88, praise P 0.60 R 0.65) are
/// accepted: question recall 0.88 -> 0.87 (82 -> 81 of 93; round 1: a long reply asks only
/// when it puts its question to the readers; with the round's opening-post rules, question
/// false alarms went from 38 to 26 on set 1 and from 30 to 22 on set 2) and praise recall 0.65 -> 0.57 (26 -> 23 of 40; round 3, see
/// `intent_real2_figures_do_not_regress`: both sets pooled, praise went from P 0.55 R 0.57
/// to P 0.62 R 0.52); and answer precision 0.57 -> 0.51 (round 5: a long reply telling the
/// writer's experience answers, as set 2's labeller reads it: on set 1 +13 hits and +48
/// false alarms, on set 2 +22 hits and +8 false alarms; both sets pooled, answer went from
/// P 0.64 R 0.73 to P 0.60 R 0.81).
#[test]
fn intent_real_set_figures_do_not_regress() {
    let (per, _) = counts(eval::REAL_TSV, Some(eval::REAL_CONTEXT_TSV));
    let floors: &[(Intent, f64, f64)] = &[
        // 81 of 108 predicted right, 81 of 93 found.
        // 87 of 122, 87 of 93 since the third list round (was P 0.75 R 0.87: an opening
        // post's questions count worded as one or not, a reply's put to the asker, put in the
        // first person or asking for help count).
        (Intent::Question, 0.71, 0.93),
        // 189 of 366, 189 of 224.
        (Intent::Answer, 0.51, 0.84),
        // 19 of 24, 19 of 19.
        (Intent::Thanks, 0.79, 1.00),
        // 1 of 3, 1 of 2.
        (Intent::Introduction, 0.33, 0.50),
    ];
    hold_floors(&per, floors, "real-message set 1");
}

/// Hostility precision ≥ 0.90 on real-message set 1 (tuning data): every hostile prediction
/// on it must be right (1 of 1 today). On set 2 (tuning data too) no message is flagged and
/// none may be wrongly (`intent_real2_figures_do_not_regress`).
#[test]
fn hostility_precision_on_real_messages_at_least_0_90() {
    let (_, host) = counts(eval::REAL_TSV, Some(eval::REAL_CONTEXT_TSV));
    assert!(
        host.tp + host.fp >= 1,
        "some real message is flagged hostile"
    );
    assert!(
        host.precision() >= 0.90,
        "hostility precision {:.2} on real messages",
        host.precision()
    );
}

/// Held-out set 2 became tuning data with the real-message set; its figures after the
/// real-text rounds, truncated to two decimals, are floors. Two measured losses against its
/// one reading are accepted for rules that help on real text: question R 0.89 -> 0.88 (a
/// question quoted as its own title, h0108, is now read as quoted speech) and answer P 0.46
/// -> 0.45 (a bug report starting "I think it's plotting …", h0309, reads as a position).
#[test]
fn intent_holdout2_figures_do_not_regress() {
    let (per, _) = counts(eval::HOLDOUT2_TSV, None);
    let floors: &[(Intent, f64, f64)] = &[
        (Intent::Question, 0.80, 0.88),
        (Intent::Answer, 0.45, 0.78),
        (Intent::Thanks, 0.89, 0.97),
        // 36 of 36, 36 of 42 since the fourth list round (37 of 38, 37 of 42 before): a
        // message that asks introduces its writer only by name; one written introduction
        // that asks without a name is lost, its one false alarm gone.
        (Intent::Introduction, 1.00, 0.85),
    ];
    hold_floors(&per, floors, "held-out set 2");
}

/// The tuning data (both splits of the first set) keeps every intent the rules decide at P,
/// R ≥ 0.80 and hostility precision ≥ 0.90: a rule that helps elsewhere must not break what
/// it was tuned on. (The learned model's intents are its training fit here, see
/// [`hold_floors`].)
#[test]
fn tuning_data_keeps_every_intent_at_0_80_and_hostility_precision_at_0_90() {
    let (per, host) = counts(eval::MESSAGES_TSV, None);
    let by_rules: Vec<(Intent, Counts)> = per
        .into_iter()
        .filter(|(i, _)| !LEARNED.contains(i))
        .collect();
    let short = below(&by_rules, 0.80, 0.80);
    assert!(short.is_empty(), "below 0.80 on the tuning data: {short:?}");
    assert!(
        host.precision() >= 0.90,
        "hostility P {:.2}",
        host.precision()
    );
}

/// The VADER port gives Python vaderSentiment 3.3.2's compound score (rounded to 4 decimals,
/// as Python reports it) for every tweet: the port is faithful, and kith's own adjustments
/// live outside it.
#[test]
fn vader_port_matches_python_vader_on_every_tweet() {
    let Some(dir) = std::env::var_os("KITH_SHARED_DATA") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KITH_SHARED_DATA must be set in CI"
        );
        eprintln!("skipped: KITH_SHARED_DATA not set");
        return;
    };
    let path = std::path::Path::new(&dir).join("sentiment-vader-tweets/tweets_GroundTruth.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let python: std::collections::HashMap<&str, f64> =
        include_str!("../data/python-vader-3.3.2-tweets.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (id, v) = l.split_once('\t')?;
                Some((id, v.parse().ok()?))
            })
            .collect();
    let mut mismatches = Vec::new();
    for (id, _, tweet) in eval::parse_tweets(&text) {
        let ours =
            (kith_text::vader::polarity_scores(&tweet).compound * 10_000.0).round() / 10_000.0;
        let theirs = python.get(id.as_str()).copied().unwrap_or(f64::NAN);
        if (ours - theirs).abs() > 1e-9 {
            mismatches.push(format!("{id}: {ours} vs {theirs}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );
}

#[path = "../examples/common/list_sets.rs"]
mod list_sets;
#[path = "../examples/common/training.rs"]
mod training;

/// The compiled-in learned model was trained on exactly what the labelled tuning sets and
/// the current rules give (`examples/train_intents.rs`): a rule change or a label change
/// without retraining fails here, naming the command.
#[test]
fn learned_model_was_trained_on_the_current_rules_and_labels() {
    let Some(dir) = shared_data() else { return };
    let examples = training::examples(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(examples.len(), 7917);
    let model = Model::builtin().expect("data/model/intents.bin is a model");
    assert_eq!(
        model.trained_on,
        train::fingerprint(&examples),
        "data/model/intents.bin is stale: retrain it with `KITH_SHARED_DATA=... cargo run -p \
         kith-text --release --example train_intents` (and bump MODEL_VERSION)"
    );
}

/// The shared data directory, or `None` (the caller skips) when `KITH_SHARED_DATA` is not
/// set; under `CI=true` a missing directory fails instead.
fn shared_data() -> Option<std::path::PathBuf> {
    let Some(dir) = std::env::var_os("KITH_SHARED_DATA") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KITH_SHARED_DATA must be set in CI"
        );
        eprintln!("skipped: KITH_SHARED_DATA not set");
        return None;
    };
    Some(dir.into())
}

/// One of the mailing-list sets as committed (labels, sources, roles, the intents' counts
/// README.md gives).
struct ListSet {
    labels: &'static str,
    sources: &'static str,
    context: &'static str,
    prefix: char,
    /// (opening, reply) roles.
    roles: (usize, usize),
    /// Messages per intent, in `Intent::ALL` order; with no intent; hostile.
    intents: [usize; 9],
    none: usize,
    hostile: usize,
    /// Split `holdout` on every row (a bar once); false for the training sets 11 and 12
    /// (split `tune`).
    held_out: bool,
}

const SET4: ListSet = ListSet {
    labels: eval::REAL4_TSV,
    sources: eval::REAL4_SOURCES_TSV,
    context: eval::REAL4_CONTEXT_TSV,
    prefix: 'u',
    roles: (260, 360),
    intents: [305, 296, 77, 67, 30, 44, 18, 1, 12],
    none: 2,
    hostile: 2,
    held_out: true,
};

const SET10: ListSet = ListSet {
    labels: eval::REAL10_TSV,
    sources: eval::REAL10_SOURCES_TSV,
    context: eval::REAL10_CONTEXT_TSV,
    prefix: 't',
    roles: (260, 356),
    intents: [320, 315, 76, 68, 18, 27, 24, 1, 6],
    none: 2,
    hostile: 0,
    held_out: true,
};

const SET11: ListSet = ListSet {
    labels: eval::REAL11_TSV,
    sources: eval::REAL11_SOURCES_TSV,
    context: eval::REAL11_CONTEXT_TSV,
    prefix: 's',
    roles: (260, 320),
    intents: [301, 294, 83, 73, 21, 32, 16, 1, 7],
    none: 2,
    hostile: 1,
    held_out: false,
};

const SET12: ListSet = ListSet {
    labels: eval::REAL12_TSV,
    sources: eval::REAL12_SOURCES_TSV,
    context: eval::REAL12_CONTEXT_TSV,
    prefix: 'r',
    roles: (200, 320),
    intents: [244, 294, 88, 54, 16, 23, 12, 0, 9],
    none: 0,
    hostile: 0,
    held_out: false,
};

const SET9: ListSet = ListSet {
    labels: eval::REAL9_TSV,
    sources: eval::REAL9_SOURCES_TSV,
    context: eval::REAL9_CONTEXT_TSV,
    prefix: 'z',
    roles: (260, 360),
    intents: [310, 328, 74, 82, 20, 24, 18, 1, 8],
    none: 2,
    hostile: 1,
    held_out: true,
};

const SET8: ListSet = ListSet {
    labels: eval::REAL8_TSV,
    sources: eval::REAL8_SOURCES_TSV,
    context: eval::REAL8_CONTEXT_TSV,
    prefix: 'y',
    roles: (260, 360),
    intents: [330, 326, 82, 72, 23, 28, 14, 1, 8],
    none: 1,
    hostile: 0,
    held_out: true,
};

const SET7: ListSet = ListSet {
    labels: eval::REAL7_TSV,
    sources: eval::REAL7_SOURCES_TSV,
    context: eval::REAL7_CONTEXT_TSV,
    prefix: 'x',
    roles: (260, 360),
    intents: [319, 311, 72, 66, 18, 33, 21, 1, 11],
    none: 4,
    hostile: 0,
    held_out: true,
};

const SET6: ListSet = ListSet {
    labels: eval::REAL6_TSV,
    sources: eval::REAL6_SOURCES_TSV,
    context: eval::REAL6_CONTEXT_TSV,
    prefix: 'w',
    roles: (260, 360),
    intents: [321, 336, 78, 52, 17, 40, 13, 0, 12],
    none: 2,
    hostile: 0,
    held_out: true,
};

const SET5: ListSet = ListSet {
    labels: eval::REAL5_TSV,
    sources: eval::REAL5_SOURCES_TSV,
    context: eval::REAL5_CONTEXT_TSV,
    prefix: 'v',
    roles: (260, 360),
    intents: [316, 317, 85, 71, 20, 33, 27, 0, 11],
    none: 2,
    hostile: 0,
    held_out: true,
};

/// A list set as committed: labels only (no text: the list's messages stay in the shared
/// data), every row held out, each message attributed to one list message and given its role
/// from structure.
fn check_list_set(set: &ListSet) {
    let labelled = eval::parse_labelled(set.labels).expect("labels parse");
    assert_eq!(labelled.len(), set.roles.0 + set.roles.1);
    for (n, m) in labelled.iter().enumerate() {
        assert_eq!(m.id, format!("{}{:04}", set.prefix, n + 1));
        assert_eq!(m.test, set.held_out, "{}: split", m.id);
        assert!(
            m.text.is_empty(),
            "{}: the labels file must hold no text",
            m.id
        );
    }
    let pairs = |tsv: &'static str| -> Vec<(&'static str, &'static str)> {
        tsv.lines()
            .skip(1)
            .filter_map(|l| l.split_once('\t'))
            .collect()
    };
    let sources = pairs(set.sources);
    let roles = pairs(set.context);
    assert_eq!(sources.len(), labelled.len());
    assert_eq!(roles.len(), labelled.len());
    for ((m, (id, source)), (role_id, role)) in labelled.iter().zip(&sources).zip(&roles) {
        assert_eq!((m.id.as_str(), m.id.as_str()), (*id, *role_id));
        assert!(
            source.starts_with("r-package-devel message ") && source.len() > 24,
            "{id}: {source}"
        );
        assert!(matches!(*role, "opening" | "reply"), "{id}: role {role}");
    }
    let distinct: HashSet<&str> = sources.iter().map(|s| s.1).collect();
    assert_eq!(distinct.len(), sources.len(), "a message appears twice");
    let role_count = |r: &str| roles.iter().filter(|(_, role)| *role == r).count();
    assert_eq!((role_count("opening"), role_count("reply")), set.roles);
    for (i, n) in Intent::ALL.iter().zip(set.intents) {
        let got = labelled.iter().filter(|m| m.intents.contains(i)).count();
        assert_eq!(got, n, "{}", i.as_str());
    }
    assert_eq!(
        labelled.iter().filter(|m| m.intents.is_empty()).count(),
        set.none
    );
    assert_eq!(labelled.iter().filter(|m| m.hostile).count(), set.hostile);
}

#[test]
fn list_sets_4_to_12_parse_labels_only_attributed_with_context() {
    check_list_set(&SET4);
    check_list_set(&SET5);
    check_list_set(&SET6);
    check_list_set(&SET7);
    check_list_set(&SET8);
    check_list_set(&SET9);
    check_list_set(&SET10);
    check_list_set(&SET11);
    check_list_set(&SET12);
    // Set 5 was drawn from what set 4 left.
    let sources = |tsv: &'static str| -> HashSet<&'static str> {
        tsv.lines()
            .skip(1)
            .filter_map(|l| l.split_once('\t').map(|p| p.1))
            .collect()
    };
    assert!(sources(SET4.sources).is_disjoint(&sources(SET5.sources)));
    assert!(sources(SET4.sources).is_disjoint(&sources(SET6.sources)));
    assert!(sources(SET5.sources).is_disjoint(&sources(SET6.sources)));
    for earlier in [&SET4, &SET5, &SET6] {
        assert!(sources(earlier.sources).is_disjoint(&sources(SET7.sources)));
    }
    for earlier in [&SET4, &SET5, &SET6, &SET7] {
        assert!(sources(earlier.sources).is_disjoint(&sources(SET8.sources)));
    }
    for earlier in [&SET4, &SET5, &SET6, &SET7, &SET8] {
        assert!(sources(earlier.sources).is_disjoint(&sources(SET9.sources)));
    }
    let sets = [
        &SET4, &SET5, &SET6, &SET7, &SET8, &SET9, &SET10, &SET11, &SET12,
    ];
    for (n, later) in sets.iter().enumerate().skip(6) {
        for earlier in &sets[..n] {
            assert!(sources(earlier.sources).is_disjoint(&sources(later.sources)));
        }
    }
}

/// FNV-1a-64 of every text, each followed by a NUL byte.
fn digest(set: &[eval::Labelled]) -> u64 {
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for m in set {
        assert!(!m.text.trim().is_empty(), "{}: empty text", m.id);
        for &b in m.text.as_bytes().iter().chain(&[0u8]) {
            digest ^= u64::from(b);
            digest = digest.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    digest
}

/// The texts made from the shared data (kith's mbox importer, then `real4_text`) are the ones
/// the labellers read: the digest of all 620, taken from the sampler's output when each set
/// was drawn.
#[test]
fn list_sets_4_to_12_texts_from_the_shared_data_are_the_ones_labelled() {
    let Some(dir) = shared_data() else { return };
    let set4 = list_sets::set4(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set4), 0x1b69_ab83_a52e_210c, "set 4");
    let set5 = list_sets::set5(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set5), 0xa871_e0bc_9813_883f, "set 5");
    let set6 = list_sets::set6(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set6), 0x1656_6a95_deb2_c60d, "set 6");
    let set7 = list_sets::set7(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set7), 0x13dd_a624_98e8_244b, "set 7");
    let set8 = list_sets::set8(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set8), 0x5eef_875d_0b07_f99a, "set 8");
    let set9 = list_sets::set9(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set9), 0x5608_fed5_08a0_2cad, "set 9");
    let set10 = list_sets::set10(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set10), DIGEST10, "set 10");
    let set11 = list_sets::set11(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set11), DIGEST11, "set 11");
    let set12 = list_sets::set12(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digest(&set12), DIGEST12, "set 12");
}

/// (class, first, second, both, κ) per class, as README.md's tables give them (`None`:
/// hostility).
type Agreement = [(Option<Intent>, usize, usize, usize, f64); 10];

/// README.md's agreement table of a set, recomputed from its two labellers' files: per class,
/// how many each gave, how many both, and Cohen's kappa (two decimals).
fn check_agreement(labels: &str, second: &str, table: &Agreement) {
    let first = eval::parse_labelled(labels).expect("labels parse");
    let mut other: Vec<(String, Vec<Intent>, bool)> = Vec::new();
    for (n, line) in second.lines().enumerate().skip(1) {
        let [id, intents, hostile] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("second labels line {}: expected 3 columns", n + 1)
        };
        let intents = intents
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Intent::parse(s).unwrap_or_else(|| panic!("line {}: {s}", n + 1)))
            .collect();
        assert!(matches!(hostile, "0" | "1"), "line {}", n + 1);
        other.push((id.to_string(), intents, hostile == "1"));
    }
    assert_eq!(other.len(), first.len());
    let kappa = |a: &[bool], b: &[bool]| -> f64 {
        let n = a.len() as f64;
        let agree = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n;
        let (pa, pb) = (
            a.iter().filter(|x| **x).count() as f64 / n,
            b.iter().filter(|x| **x).count() as f64 / n,
        );
        let chance = pa * pb + (1.0 - pa) * (1.0 - pb);
        if chance >= 1.0 {
            1.0
        } else {
            (agree - chance) / (1.0 - chance)
        }
    };
    let round = |x: f64| (x * 100.0).round() / 100.0;
    for &(class, n1, n2, both, k) in table {
        let (a, b): (Vec<bool>, Vec<bool>) = first
            .iter()
            .zip(&other)
            .map(|(m, s)| {
                assert_eq!(m.id, s.0);
                match class {
                    Some(i) => (m.intents.contains(&i), s.1.contains(&i)),
                    None => (m.hostile, s.2),
                }
            })
            .unzip();
        let name = class.map_or("hostile", |i| i.as_str());
        let got = (
            a.iter().filter(|x| **x).count(),
            b.iter().filter(|x| **x).count(),
            a.iter().zip(&b).filter(|(x, y)| **x && **y).count(),
        );
        assert_eq!(got, (n1, n2, both), "{name}");
        assert_eq!(round(kappa(&a, &b)), k, "{name}: kappa");
    }
}

#[test]
fn list_sets_4_to_10_second_labeller_agreement_is_the_readme_tables() {
    check_agreement(
        eval::REAL4_TSV,
        eval::REAL4_SECOND_TSV,
        &[
            (Some(Intent::Question), 305, 302, 301, 0.98),
            (Some(Intent::Answer), 296, 274, 274, 0.93),
            (Some(Intent::Thanks), 77, 80, 77, 0.98),
            (Some(Intent::BugReport), 67, 55, 52, 0.84),
            (Some(Intent::FeatureRequest), 30, 32, 30, 0.97),
            (Some(Intent::Complaint), 44, 47, 40, 0.87),
            (Some(Intent::Praise), 18, 20, 16, 0.84),
            (Some(Intent::Introduction), 1, 1, 1, 1.00),
            (Some(Intent::Announcement), 12, 11, 10, 0.87),
            (None, 2, 2, 2, 1.00),
        ],
    );
    check_agreement(
        eval::REAL5_TSV,
        eval::REAL5_SECOND_TSV,
        &[
            (Some(Intent::Question), 316, 310, 308, 0.97),
            (Some(Intent::Answer), 317, 307, 307, 0.97),
            (Some(Intent::Thanks), 85, 85, 84, 0.99),
            (Some(Intent::BugReport), 71, 67, 60, 0.85),
            (Some(Intent::FeatureRequest), 20, 20, 19, 0.95),
            (Some(Intent::Complaint), 33, 40, 31, 0.84),
            (Some(Intent::Praise), 27, 27, 24, 0.88),
            (Some(Intent::Introduction), 0, 0, 0, 1.00),
            (Some(Intent::Announcement), 11, 11, 11, 1.00),
            (None, 0, 0, 0, 1.00),
        ],
    );
    check_agreement(
        eval::REAL6_TSV,
        eval::REAL6_SECOND_TSV,
        &[
            (Some(Intent::Question), 321, 317, 312, 0.95),
            (Some(Intent::Answer), 336, 338, 334, 0.98),
            (Some(Intent::Thanks), 78, 78, 78, 1.00),
            (Some(Intent::BugReport), 52, 60, 48, 0.84),
            (Some(Intent::FeatureRequest), 17, 19, 16, 0.89),
            (Some(Intent::Complaint), 40, 41, 36, 0.88),
            (Some(Intent::Praise), 13, 15, 12, 0.85),
            (Some(Intent::Introduction), 0, 0, 0, 1.00),
            (Some(Intent::Announcement), 12, 12, 12, 1.00),
            (None, 0, 0, 0, 1.00),
        ],
    );
    check_agreement(
        eval::REAL7_TSV,
        eval::REAL7_SECOND_TSV,
        &[
            (Some(Intent::Question), 319, 321, 316, 0.97),
            (Some(Intent::Answer), 311, 313, 308, 0.97),
            (Some(Intent::Thanks), 72, 70, 69, 0.97),
            (Some(Intent::BugReport), 66, 63, 57, 0.87),
            (Some(Intent::FeatureRequest), 18, 16, 16, 0.94),
            (Some(Intent::Complaint), 33, 34, 32, 0.95),
            (Some(Intent::Praise), 21, 20, 19, 0.92),
            (Some(Intent::Introduction), 1, 1, 0, 0.00),
            (Some(Intent::Announcement), 11, 11, 11, 1.00),
            (None, 0, 0, 0, 1.00),
        ],
    );
    check_agreement(
        eval::REAL8_TSV,
        eval::REAL8_SECOND_TSV,
        &[
            (Some(Intent::Question), 330, 333, 326, 0.96),
            (Some(Intent::Answer), 326, 325, 325, 1.00),
            (Some(Intent::Thanks), 82, 78, 77, 0.96),
            (Some(Intent::BugReport), 72, 69, 62, 0.86),
            (Some(Intent::FeatureRequest), 23, 26, 23, 0.94),
            (Some(Intent::Complaint), 28, 26, 23, 0.85),
            (Some(Intent::Praise), 14, 14, 13, 0.93),
            (Some(Intent::Introduction), 1, 1, 1, 1.00),
            (Some(Intent::Announcement), 8, 7, 7, 0.93),
            (None, 0, 0, 0, 1.00),
        ],
    );
    check_agreement(
        eval::REAL9_TSV,
        eval::REAL9_SECOND_TSV,
        &[
            (Some(Intent::Question), 310, 312, 308, 0.98),
            (Some(Intent::Answer), 328, 328, 327, 0.99),
            (Some(Intent::Thanks), 74, 73, 73, 0.99),
            (Some(Intent::BugReport), 82, 79, 76, 0.94),
            (Some(Intent::FeatureRequest), 20, 21, 20, 0.97),
            (Some(Intent::Complaint), 24, 25, 24, 0.98),
            (Some(Intent::Praise), 18, 17, 17, 0.97),
            (Some(Intent::Introduction), 1, 1, 1, 1.00),
            (Some(Intent::Announcement), 8, 11, 8, 0.84),
            (None, 1, 1, 1, 1.00),
        ],
    );
    check_agreement(
        eval::REAL10_TSV,
        eval::REAL10_SECOND_TSV,
        &[
            (Some(Intent::Question), 320, 313, 311, 0.96),
            (Some(Intent::Answer), 315, 313, 312, 0.99),
            (Some(Intent::Thanks), 76, 77, 76, 0.99),
            (Some(Intent::BugReport), 68, 64, 58, 0.86),
            (Some(Intent::FeatureRequest), 18, 19, 18, 0.97),
            (Some(Intent::Complaint), 27, 28, 26, 0.94),
            (Some(Intent::Praise), 24, 21, 21, 0.93),
            (Some(Intent::Introduction), 1, 1, 1, 1.00),
            (Some(Intent::Announcement), 6, 6, 6, 1.00),
            (None, 0, 0, 0, 1.00),
        ],
    );
}

/// A list set's per-intent and hostility counts (texts from the shared data), or `None` when
/// the shared data is absent (skipped outside CI).
fn list_counts(
    load: fn(&std::path::Path) -> Result<Vec<eval::Labelled>, String>,
    context: &str,
) -> Option<(Vec<(Intent, Counts)>, Counts)> {
    let dir = shared_data()?;
    let set = load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let roles = eval::parse_context(context).expect("context file parses");
    Some(counts_of(set.iter(), &roles))
}

fn real4_counts() -> Option<(Vec<(Intent, Counts)>, Counts)> {
    list_counts(list_sets::set4, eval::REAL4_CONTEXT_TSV)
}

fn real5_counts() -> Option<(Vec<(Intent, Counts)>, Counts)> {
    list_counts(list_sets::set5, eval::REAL5_CONTEXT_TSV)
}

fn real6_counts() -> Option<(Vec<(Intent, Counts)>, Counts)> {
    list_counts(list_sets::set6, eval::REAL6_CONTEXT_TSV)
}

fn real7_counts() -> Option<(Vec<(Intent, Counts)>, Counts)> {
    list_counts(list_sets::set7, eval::REAL7_CONTEXT_TSV)
}

fn real8_counts() -> Option<(Vec<(Intent, Counts)>, Counts)> {
    list_counts(list_sets::set8, eval::REAL8_CONTEXT_TSV)
}

fn real9_counts() -> Option<(Vec<(Intent, Counts)>, Counts)> {
    list_counts(list_sets::set9, eval::REAL9_CONTEXT_TSV)
}

fn real10_counts() -> Option<(Vec<(Intent, Counts)>, Counts)> {
    list_counts(list_sets::set10, eval::REAL10_CONTEXT_TSV)
}

/// Set 4 was read once (commit "Real-message set 4, first reading": question P 0.91 R 0.48,
/// answer 0.88/0.75, thanks 0.86/0.65, bug report 0.29/0.09, feature request 1.00/0.03,
/// complaint 0.31/0.25, praise 0.05/0.06, 72 false introductions, 2 false announcements, 4
/// false hostility alarms) and is tuning data since. Its figures after the two list rounds
/// (e-mail furniture out of the prose, help asked without "?", suggestions as answers,
/// thanks with their object, "I'm …" introducing only with a name or role, commands said of
/// things; then hard-wrapped sentences joined, an opening's questions worded as one or not,
/// a reply's questions put to "you"), truncated to two decimals, are floors; the false
/// alarms of introduction, announcement and hostility are ceilings. Accepted: announcement
/// false alarms 2 -> 3 (a short reply's "are available" once its signature is gone).
#[test]
fn intent_real4_figures_do_not_regress() {
    let Some((per, host)) = real4_counts() else {
        return;
    };
    let floors: &[(Intent, f64, f64)] = &[
        // 257 of 286 predicted right, 257 of 305 found (MODEL_VERSION 10: one short reply's
        // wide-gap line is prose again, and its "how to" asks).
        (Intent::Question, 0.89, 0.84),
        // 257 of 299, 257 of 296.
        (Intent::Answer, 0.85, 0.86),
        // 64 of 74, 64 of 77.
        (Intent::Thanks, 0.86, 0.83),
    ];
    hold_floors(&per, floors, "real-message set 4");
    hold_ceilings(&per, &[(Intent::Introduction, 5)], "real-message set 4");
    assert_eq!(host.fp, 0, "false hostility alarms");
}

/// SPEC §9 on the bar, real-message set 10 (the mailing list, drawn after set 9 was read,
/// labelled blind to the rules and the model, read once after the learned intent model was
/// trained, each message in its structural role): precision and recall ≥ 0.80 for every
/// intent it has examples of, hostility precision ≥ 0.90.
#[test]
#[ignore = "not met on real-message set 10 (read once, docs/text-accuracy.md): \
            question P 0.89 R 0.81 (320 examples) and answer P 0.92 R 0.86 (315) meet it; \
            thanks P 0.79 R 0.82 (76), bug_report P 0.33 R 0.60 (68), feature_request \
            P 0.28 R 0.44 (18), complaint P 0.20 R 0.33 (27), praise P 0.25 R 0.17 (24), \
            announcement P 0.25 R 0.33 (6), introduction P 0.50 R 1.00 (1) do not; no \
            hostile message and no hostility false alarm"]
fn intent_precision_and_recall_on_real10_at_least_0_80() {
    let Some((per, host)) = real10_counts() else {
        return;
    };
    let measured: Vec<(Intent, Counts)> =
        per.into_iter().filter(|(_, c)| c.tp + c.fn_ > 0).collect();
    let short = below(&measured, 0.80, 0.80);
    assert!(
        short.is_empty(),
        "below 0.80 on real-message set 10: {short:?}"
    );
    assert!(
        host.fp == 0 || host.precision() >= 0.90,
        "hostility precision {:.2} on real-message set 10",
        host.precision()
    );
}

/// The figures reached on real-message set 10 at its one reading (commit "Real-message set
/// 10, first reading"; MODEL_VERSION 12, the learned model deciding bug report, feature
/// request, complaint, praise and announcement), truncated to two decimals, as floors; no
/// hostility false alarm. The rules alone (the model's file emptied) found on the same
/// messages bug report P 0.23 R 0.09, feature request none of 18, complaint P 0.10 R 0.19,
/// praise P 0.30 R 0.12, announcement none of 6.
#[test]
fn intent_real10_figures_do_not_regress() {
    let Some((per, host)) = real10_counts() else {
        return;
    };
    let floors: &[(Intent, f64, f64)] = &[
        // 260 of 292 predicted right, 260 of 320 found.
        (Intent::Question, 0.89, 0.81),
        // 271 of 295, 271 of 315.
        (Intent::Answer, 0.91, 0.86),
        // 62 of 78, 62 of 76.
        (Intent::Thanks, 0.79, 0.81),
        // 41 of 125, 41 of 68.
        (Intent::BugReport, 0.32, 0.60),
        // 8 of 29, 8 of 18.
        (Intent::FeatureRequest, 0.27, 0.44),
        // 9 of 46, 9 of 27.
        (Intent::Complaint, 0.19, 0.33),
        // 4 of 16, 4 of 24.
        (Intent::Praise, 0.25, 0.16),
        // 1 of 2, 1 of 1.
        (Intent::Introduction, 0.50, 1.00),
        // 2 of 8, 2 of 6.
        (Intent::Announcement, 0.25, 0.33),
    ];
    hold_floors(&per, floors, "real-message set 10");
    assert_eq!(host.fp, 0, "false hostility alarms");
}

/// Set 5 was read once (commit "Real-message set 5, first reading": question P 0.90 R 0.58,
/// answer 0.89/0.85, thanks 0.84/0.82, bug report 0.58/0.15, feature request 0.00/0.00,
/// complaint 0.17/0.21, praise 0.12/0.11, announcement 0.50/0.09, 6 false introductions, no
/// hostility false alarm) and is tuning data since. Its figures after the second list round,
/// truncated to two decimals, are floors; introduction, feature request and hostility false
/// alarms are ceilings. Accepted against the reading: thanks 0.84/0.82 -> 0.82/0.80, bug
/// report precision 0.58 -> 0.50, complaint 0.17/0.21 -> 0.13/0.18, one more false
/// introduction and feature request (joining hard-wrapped lines moves sentences; question
/// recall 0.58 -> 0.79 for it).
#[test]
fn intent_real5_figures_do_not_regress() {
    let Some((per, host)) = real5_counts() else {
        return;
    };
    let floors: &[(Intent, f64, f64)] = &[
        // 252 of 285 predicted right, 252 of 316 found.
        (Intent::Question, 0.88, 0.79),
        // 268 of 305, 268 of 317 since the fourth round (270 of 306 after the second: two
        // short replies that ask for help are questions now, and one more false alarm once a
        // prefatory introduction no longer hides a reply's answer).
        (Intent::Answer, 0.87, 0.84),
        // 68 of 82, 68 of 85.
        (Intent::Thanks, 0.82, 0.80),
    ];
    hold_floors(&per, floors, "real-message set 5");
    hold_ceilings(&per, &[(Intent::Introduction, 7)], "real-message set 5");
    assert_eq!(host.fp, 0, "false hostility alarms");
}

/// Set 6 was read once (commit "Real-message set 6, first reading": question P 0.92 R 0.77,
/// answer 0.94/0.87, thanks 0.83/0.83, bug report 0.20/0.08, feature request 0.33/0.06,
/// complaint 0.19/0.23, praise 0.08/0.08, announcement 0.25/0.08, 7 false introductions, 1
/// hostility false alarm) and is tuning data since. Its figures after the third list round
/// (a reply's question put in the first person or pleading for help asks; tool output lines
/// are not prose), truncated to two decimals, are floors; introduction, feature request and
/// hostility false alarms are ceilings.
#[test]
fn intent_real6_figures_do_not_regress() {
    let Some((per, host)) = real6_counts() else {
        return;
    };
    let floors: &[(Intent, f64, f64)] = &[
        // 256 of 285 predicted right, 256 of 321 found.
        (Intent::Question, 0.89, 0.79),
        // 291 of 310, 291 of 336.
        (Intent::Answer, 0.93, 0.86),
        // 65 of 78, 65 of 78.
        (Intent::Thanks, 0.83, 0.83),
    ];
    hold_floors(&per, floors, "real-message set 6");
    hold_ceilings(&per, &[(Intent::Introduction, 7)], "real-message set 6");
    assert_eq!(host.fp, 0, "false hostility alarms");
}

/// Set 7 was read once (commit "Real-message set 7, first reading": question P 0.89 R 0.78,
/// answer 0.90/0.86, thanks 0.82/0.78, bug report 0.54/0.20, feature request 0.00/0.00,
/// complaint 0.15/0.18, praise 0.10/0.05, announcement 0.00/0.00, 14 false introductions, no
/// hostility false alarm) and is tuning data since. Its figures after the fourth list round,
/// truncated to two decimals, are floors; introduction, feature request, announcement and
/// hostility false alarms are ceilings (2, 4, 2, 0).
#[test]
fn intent_real7_figures_do_not_regress() {
    let Some((per, host)) = real7_counts() else {
        return;
    };
    let floors: &[(Intent, f64, f64)] = &[
        // 249 of 280 predicted right, 249 of 319 found.
        (Intent::Question, 0.88, 0.78),
        // 268 of 298, 268 of 311.
        (Intent::Answer, 0.89, 0.86),
        // 56 of 68, 56 of 72.
        (Intent::Thanks, 0.82, 0.77),
    ];
    hold_floors(&per, floors, "real-message set 7");
    hold_ceilings(&per, &[(Intent::Introduction, 2)], "real-message set 7");
    assert_eq!(host.fp, 0, "false hostility alarms");
}

/// The figures reached on real-message set 8 at its one reading (commit "Real-message set 8,
/// first reading"; MODEL_VERSION 9), truncated to two decimals, as floors: question, answer
/// and thanks met the 0.80 bar there and must keep it. Praise (none found), introduction,
/// feature request and hostility hold their false alarms as ceilings (10 since the fifth
/// round, which took 7 praise false alarms off; 2, 1, 0). Set 8 is tuning data since.
#[test]
fn intent_real8_figures_do_not_regress() {
    let Some((per, host)) = real8_counts() else {
        return;
    };
    let floors: &[(Intent, f64, f64)] = &[
        // 271 of 314 predicted right, 271 of 330 found.
        (Intent::Question, 0.86, 0.82),
        // 269 of 295, 269 of 326.
        (Intent::Answer, 0.91, 0.82),
        // 66 of 76, 66 of 82.
        (Intent::Thanks, 0.86, 0.80),
        // 1 of 3, 1 of 1.
        (Intent::Introduction, 0.33, 1.00),
    ];
    hold_floors(&per, floors, "real-message set 8");
    hold_ceilings(&per, &[(Intent::Introduction, 2)], "real-message set 8");
    assert_eq!(host.fp, 0, "false hostility alarms");
}

/// The figures reached on real-message set 9 at its one reading (commit "Real-message set 9,
/// first reading"; MODEL_VERSION 11), truncated to two decimals, as floors: question, answer
/// and thanks met the 0.80 bar there and must keep it; no hostility false alarm. Set 9 is
/// tuning data (and training data of the learned model) since set 10's reading.
#[test]
fn intent_real9_figures_do_not_regress() {
    let Some((per, host)) = real9_counts() else {
        return;
    };
    let floors: &[(Intent, f64, f64)] = &[
        // 264 of 290 predicted right, 264 of 310 found.
        (Intent::Question, 0.91, 0.85),
        // 275 of 300, 275 of 328.
        (Intent::Answer, 0.91, 0.83),
        // 63 of 74, 63 of 74.
        (Intent::Thanks, 0.85, 0.85),
        // 1 of 4, 1 of 1.
        (Intent::Introduction, 0.25, 1.00),
    ];
    hold_floors(&per, floors, "real-message set 9");
    assert_eq!(host.fp, 0, "false hostility alarms");
}

/// Digests of sets 10 to 12's texts, taken from the sampler's output the labellers read.
const DIGEST10: u64 = 0x2a59_2c22_1aa6_b2cf;
const DIGEST11: u64 = 0xfcb6_23e0_3436_38d4;
const DIGEST12: u64 = 0xb1df_d4cc_63bf_d4e0;
