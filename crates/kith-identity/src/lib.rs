//! Identity resolution (SPEC §4.3): which identities belong to the same person.
//!
//! Members are built from identities. This crate finds **merge candidates** between members,
//! each with its evidence and a score, and decides which merges are applied automatically
//! (score at or above a threshold) and which wait for a person to review them.
//!
//! Evidence rules (each scores 0..1; several rules combine as independent evidence,
//! `1 − Π(1 − s)`):
//!
//! | rule | matches | score |
//! |---|---|---|
//! | e-mail | the same e-mail address (case-insensitive) | 0.95 |
//! | GitHub no-reply | `123+login@users.noreply.github.com` and a GitHub identity or address with that login | 0.95 |
//! | obfuscated address | the same address after undoing obfuscation (`jane at example.org`, `jane sending from example.org`) and the lossy pipermail mangling (`a`, `s`, `n`, `.` → `@`; `l`, `i`, `f` → `|`, as in `j@ne @end|ng |rom ex@mp|e@org`; the same folding as the mbox importer's author ids), **and** the same display name | 0.90 |
//! | handle | the same handle (case-insensitive, ≥ 3 characters) on different sources | 0.60 |
//! | name | the same full name (≥ 2 words; Latin names compared case- and accent-insensitively, other scripts exactly) | 0.50 |
//!
//! Hard rule: two members that each have an identity in the **same source** (two different
//! user ids of one platform instance) are never merged automatically; a person may merge them
//! by hand. Bots and anonymous identities are never candidates. A key shared by more than
//! [`MAX_GROUP`] members (a role address, a common name) is ignored as evidence.
//!
//! Architecture invariant: no I/O. The caller reads identities from the store and applies the
//! merges this crate plans through `Store::merge_members`, which logs them reversibly.

use std::collections::{BTreeMap, HashMap, HashSet};

use kith_store::{IdentityRow, MemberId, SourceId};
use serde::Serialize;

/// Keys shared by more members than this are too common to be evidence.
pub const MAX_GROUP: usize = 20;

/// The default score at or above which merges are applied without review.
pub const DEFAULT_THRESHOLD: f64 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Email,
    GithubNoreply,
    ObfuscatedAddress,
    Handle,
    Name,
}

impl Rule {
    pub fn score(self) -> f64 {
        match self {
            Rule::Email | Rule::GithubNoreply => 0.95,
            Rule::ObfuscatedAddress => 0.90,
            Rule::Handle => 0.60,
            Rule::Name => 0.50,
        }
    }
}

/// One reason to think two members are one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub rule: Rule,
    /// What matched, for people: "same e-mail address ada@example.org".
    pub detail: String,
    pub score: f64,
}

/// Two members that may be one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The member that would remain (the older one) and the one merged into it.
    pub into: MemberId,
    pub from: MemberId,
    pub score: f64,
    pub evidence: Vec<Evidence>,
    /// Why this pair must not be merged automatically, if it must not.
    pub blocked: Option<String>,
}

impl Candidate {
    /// A one-line reason for the merge log.
    pub fn reason(&self) -> String {
        self.evidence
            .iter()
            .map(|e| e.detail.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Lowercased, trimmed address if it looks like one.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().trim_matches(['<', '>']).to_lowercase();
    let (local, domain) = e.split_once('@')?;
    (!local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !e.contains(char::is_whitespace))
    .then_some(e)
}

/// The login of a GitHub no-reply address (`123+login@users.noreply.github.com`).
pub fn github_noreply_login(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let local = e.strip_suffix("@users.noreply.github.com")?;
    let login = local.split_once('+').map_or(local, |(_, l)| l);
    (!login.is_empty()).then(|| login.to_owned())
}

/// An address key insensitive to obfuscation (`jane at example dot org`) and to the lossy
/// pipermail mangling, in which `a`, `s`, `n` and `.` may all have become `@` and `l`, `i`, `f`
/// may have become `|` (the mbox importer's author ids are built the same way). Built the same way from clean and mangled forms so that they meet.
pub fn address_key(address: &str) -> Option<String> {
    let mut a = address.trim().to_lowercase();
    // Pipermail first wrote `x at y`; later archives write `x sending from y`, itself mangled.
    for (from, to) in [
        (" sending from ", "@"),
        (" @end|ng |rom ", "@"),
        (" at ", "@"),
        (" dot ", "."),
        (" (at) ", "@"),
        ("(at)", "@"),
        (" [at] ", "@"),
        ("[at]", "@"),
    ] {
        a = a.replace(from, to);
    }
    let key: String = a
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            'a' | 's' | 'n' | '.' => '@',
            'l' | 'i' | 'f' => '|',
            c => c,
        })
        .collect();
    // At least something beside the mangled letters must remain to be evidence.
    (key.chars().filter(|c| !matches!(c, '@' | '|')).count() >= 4).then_some(key)
}

/// A name key: lowercase, punctuation removed, Latin accents folded, words in order. None for
/// single-word names (too ambiguous to be evidence).
pub fn name_key(name: &str) -> Option<String> {
    let folded: String = name
        .chars()
        .map(fold_latin)
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = folded.split_whitespace().collect();
    let latin = words
        .iter()
        .all(|w| w.chars().all(|c| c.is_ascii_alphanumeric()));
    if latin {
        (words.len() >= 2 && words.iter().map(|w| w.len()).sum::<usize>() >= 5)
            .then(|| words.join(" "))
    } else {
        // Other scripts: compared exactly (no transliteration); short names are too common.
        let joined: String = words.join(" ");
        (joined.chars().filter(|c| !c.is_whitespace()).count() >= 2
            && (words.len() >= 2 || joined.chars().count() >= 3))
            .then_some(joined)
    }
}

fn fold_latin(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        c => c,
    }
}

fn handle_key(handle: &str) -> Option<String> {
    let h = handle.trim().trim_start_matches('@').to_lowercase();
    (h.chars().count() >= 3).then_some(h)
}

/// Finds merge candidates among `identities` (all identities of the community), strongest
/// first. Deterministic: the same identities give the same candidates in the same order.
pub fn candidates(identities: &[IdentityRow]) -> Vec<Candidate> {
    find_candidates(identities, true)
}

/// The most weak evidence alone can score (handle and name together).
const WEAK_ONLY_MAX: f64 = 0.8;

/// [`candidates`], optionally without pairs that only weak rules (handle, name) support:
/// those can never reach an automatic threshold above [`WEAK_ONLY_MAX`], and in a large
/// community common names make them the bulk of the work. Weak evidence still adds to pairs
/// that a strong rule found.
fn find_candidates(identities: &[IdentityRow], weak_pairs: bool) -> Vec<Candidate> {
    let people: Vec<&IdentityRow> = identities
        .iter()
        .filter(|i| !i.anonymous && !i.bot)
        .collect();
    // Every (rule, key) an identity carries, sorted so that equal keys form runs: a group is a
    // run. Keys are held by a 128-bit hash of their text (a community of 500,000 members
    // carries about 2 million keys: 32 bytes each instead of a string each; two different keys
    // sharing a 128-bit hash will not happen in the life of the universe), and a group's text
    // is made again only for the groups found. An identity carries at most five keys (an
    // address or a no-reply login, an obfuscated address, its handle twice, a name): reserved
    // once, the vector is never copied to grow, and pages never written to are never taken.
    let mut keys: Vec<KeyEntry> = Vec::with_capacity(people.len() * 5);
    for (at, i) in people.iter().enumerate() {
        let person = at as u32;
        let mut push = |rule: Rule, from_email: bool, key: &str| {
            keys.push(KeyEntry {
                rule,
                hash: key_hash(key),
                member: i.member,
                person,
                from_email,
                address: from_email,
            });
        };
        for rule in RULES {
            if let Some(key) = key_text(rule, false, i) {
                push(rule, false, &key);
            }
            if rule == Rule::GithubNoreply
                && let Some(key) = key_text(rule, true, i)
            {
                push(rule, true, &key);
            }
        }
    }
    keys.sort_unstable_by(|x, y| {
        (x.rule, x.hash, x.member, x.person).cmp(&(y.rule, y.hash, y.member, y.person))
    });
    // One entry per member and key: the first identity (in input order) that carried it,
    // marked as an address if any of the member's entries for the key was one.
    keys.dedup_by(|later, first| {
        let same =
            later.rule == first.rule && later.hash == first.hash && later.member == first.member;
        if same {
            first.address |= later.address;
        }
        same
    });
    // The groups of two members or more (and at most MAX_GROUP) with their key's text, in rule
    // order (the strong rules first), then key order: the evidence a pair keeps for a rule is
    // that of its first key, so nothing depends on the hashes.
    let mut groups: Vec<(Rule, String, std::ops::Range<usize>)> = Vec::new();
    let mut at = 0;
    for run in keys.chunk_by(|x, y| x.rule == y.rule && x.hash == y.hash) {
        let range = at..at + run.len();
        at += run.len();
        if run.len() < 2 || run.len() > MAX_GROUP {
            continue;
        }
        let first = &run[0];
        if let Some(text) = key_text(first.rule, first.from_email, people[first.person as usize]) {
            groups.push((first.rule, text, range));
        }
    }
    groups.sort_unstable_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));

    let mut pairs: HashMap<(MemberId, MemberId), BTreeMap<Rule, Evidence>> = HashMap::new();
    for (rule, key, range) in &groups {
        let (rule, group) = (*rule, &keys[range.clone()]);
        let weak = matches!(rule, Rule::Handle | Rule::Name);
        for (x, a) in group.iter().enumerate() {
            for b in &group[x + 1..] {
                // A GitHub login is evidence between a no-reply address and an account.
                if rule == Rule::GithubNoreply && !a.address && !b.address {
                    continue;
                }
                let pair = (a.member, b.member);
                if weak && !weak_pairs && !pairs.contains_key(&pair) {
                    continue;
                }
                pairs
                    .entry(pair)
                    .or_default()
                    .entry(rule)
                    .or_insert_with(|| Evidence {
                        rule,
                        detail: detail(rule, key, people[a.person as usize]),
                        score: rule.score(),
                    });
            }
        }
    }

    // The handle rule only counts across sources.
    let involved: HashSet<MemberId> = pairs.keys().flat_map(|&(a, b)| [a, b]).collect();
    let accounts = Accounts::new(&people, |m| involved.contains(&m));
    let mut out: Vec<Candidate> = pairs
        .into_iter()
        .filter_map(|((a, b), mut evidence)| {
            let shared = accounts.shared_source(&[a], &[b]);
            if shared.is_some() {
                evidence.remove(&Rule::Handle);
            }
            if evidence.is_empty() {
                return None;
            }
            let evidence: Vec<Evidence> = evidence.into_values().collect();
            let score = 1.0 - evidence.iter().map(|e| 1.0 - e.score).product::<f64>();
            let blocked = shared.map(|s| {
                format!("both members have a different account in source #{s}: two user ids of one platform are never merged automatically")
            });
            Some(Candidate { into: a.min(b), from: a.max(b), score: (score * 1000.0).round() / 1000.0, evidence, blocked })
        })
        .collect();
    out.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.into.cmp(&y.into))
            .then(x.from.cmp(&y.from))
    });
    out
}

/// One key an identity carries for a rule, by its hash ([`key_text`] makes its text again).
#[derive(Clone, Copy)]
struct KeyEntry {
    rule: Rule,
    hash: [u64; 2],
    member: MemberId,
    /// The identity's index among the people considered.
    person: u32,
    /// A GitHub login read from the identity's no-reply address (not from its handle): which
    /// of the two the key's text is made from.
    from_email: bool,
    /// A GitHub login read from a no-reply address by any of the member's identities
    /// carrying this key.
    address: bool,
}

/// Every rule, for gathering an identity's keys.
const RULES: [Rule; 5] = [
    Rule::Email,
    Rule::GithubNoreply,
    Rule::ObfuscatedAddress,
    Rule::Handle,
    Rule::Name,
];

/// The key `i` carries for `rule`, if any. For [`Rule::GithubNoreply`], `from_email` picks the
/// login of a no-reply address over the handle (a GitHub identity's handle is its login, and
/// meets no-reply addresses); an address that is a no-reply one carries no e-mail key.
fn key_text(rule: Rule, from_email: bool, i: &IdentityRow) -> Option<String> {
    match rule {
        Rule::ObfuscatedAddress => {
            let k = address_key(address_of(i)?)?;
            let n = i.name.as_deref().and_then(name_key)?;
            Some(format!("{k}\u{0}{n}"))
        }
        Rule::GithubNoreply if from_email => github_noreply_login(i.email.as_deref()?),
        Rule::GithubNoreply | Rule::Handle => i.handle.as_deref().and_then(handle_key),
        Rule::Email => {
            let email = i.email.as_deref()?;
            if github_noreply_login(email).is_some() {
                None
            } else {
                normalize_email(email)
            }
        }
        Rule::Name => i.name.as_deref().and_then(name_key),
    }
}

/// A key's 128-bit hash, as two words (8-byte aligned): equal keys hash equally; it is never
/// stored.
fn key_hash(key: &str) -> [u64; 2] {
    let h = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
    [(h >> 64) as u64, h as u64]
}

/// The address an identity is known by: its e-mail, or an mbox author id, which is an address
/// key itself (`local at domain`, folded).
fn address_of(i: &IdentityRow) -> Option<&str> {
    i.email.as_deref().or_else(|| {
        (i.ext_id.contains('@') || i.ext_id.contains(" at ")).then_some(i.ext_id.as_str())
    })
}

/// What matched, for people to read.
fn detail(rule: Rule, key: &str, i: &IdentityRow) -> String {
    let name = i.name.as_deref().unwrap_or("");
    match rule {
        Rule::ObfuscatedAddress => {
            format!("address {} with name {name}", address_of(i).unwrap_or(""))
        }
        Rule::GithubNoreply => format!("GitHub login {key}"),
        Rule::Email => format!("same e-mail address {key}"),
        Rule::Handle => format!("same handle {key}"),
        Rule::Name => format!("same name {name}"),
    }
}

/// Which accounts (source, user id) members have: what the hard rule about two user ids of one
/// source is checked against. Kept for the members `wanted` (those in candidate pairs).
struct Accounts<'a> {
    of: HashMap<MemberId, Vec<(SourceId, &'a str)>>,
}

impl<'a> Accounts<'a> {
    fn new(people: &[&'a IdentityRow], wanted: impl Fn(MemberId) -> bool) -> Accounts<'a> {
        let mut of: HashMap<MemberId, Vec<(SourceId, &'a str)>> = HashMap::new();
        for i in people.iter().filter(|i| wanted(i.member)) {
            of.entry(i.member)
                .or_default()
                .push((i.source, i.ext_id.as_str()));
        }
        Accounts { of }
    }

    /// The smallest source in which the members of group `a` and those of group `b` have
    /// different sets of user ids (both having accounts there), if any.
    fn shared_source(&self, a: &[MemberId], b: &[MemberId]) -> Option<SourceId> {
        let collect = |group: &[MemberId]| {
            let mut v: Vec<(SourceId, &str)> = group
                .iter()
                .filter_map(|m| self.of.get(m))
                .flatten()
                .copied()
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let (va, vb) = (collect(a), collect(b));
        let ids = |v: &[(SourceId, &'a str)], s: SourceId| -> Vec<&'a str> {
            v.iter()
                .filter(|(x, _)| *x == s)
                .map(|(_, id)| *id)
                .collect()
        };
        let mut sources: Vec<SourceId> = va.iter().map(|(s, _)| *s).collect();
        sources.dedup();
        sources
            .into_iter()
            .find(|&s| vb.iter().any(|(x, _)| *x == s) && ids(&va, s) != ids(&vb, s))
    }
}

/// Which candidates to apply automatically: those scoring at or above `threshold` and not
/// blocked, in score order, skipping any that would put two user ids of one source into one
/// person through earlier merges of the same plan. The rest wait for review.
pub fn plan(
    candidates: &[Candidate],
    identities: &[IdentityRow],
    threshold: f64,
) -> (Vec<Candidate>, Vec<Candidate>) {
    let people: Vec<&IdentityRow> = identities
        .iter()
        .filter(|i| !i.anonymous && !i.bot)
        .collect();
    let involved: HashSet<MemberId> = candidates
        .iter()
        .filter(|c| c.score >= threshold && c.blocked.is_none())
        .flat_map(|c| [c.into, c.from])
        .collect();
    let accounts = Accounts::new(&people, |m| involved.contains(&m));
    // Union-find over the merges planned so far; each root knows the members it holds.
    let mut root: HashMap<MemberId, MemberId> = HashMap::new();
    let mut holds: HashMap<MemberId, Vec<MemberId>> = HashMap::new();
    fn find(root: &mut HashMap<MemberId, MemberId>, m: MemberId) -> MemberId {
        let mut r = m;
        while let Some(&p) = root.get(&r) {
            if p == r {
                break;
            }
            r = p;
        }
        root.insert(m, r);
        r
    }
    let (mut apply, mut review) = (Vec::new(), Vec::new());
    for c in candidates {
        if c.score < threshold || c.blocked.is_some() {
            review.push(c.clone());
            continue;
        }
        let (ra, rb) = (find(&mut root, c.into), find(&mut root, c.from));
        if ra == rb {
            continue;
        }
        let (into, from) = (ra.min(rb), ra.max(rb));
        let group = |holds: &HashMap<MemberId, Vec<MemberId>>, r: MemberId| {
            holds.get(&r).cloned().unwrap_or_else(|| vec![r])
        };
        let (gi, gf) = (group(&holds, into), group(&holds, from));
        if accounts.shared_source(&gi, &gf).is_some() {
            review.push(Candidate {
                blocked: Some(
                    "merging would join two user ids of one source through an earlier merge".into(),
                ),
                ..c.clone()
            });
            continue;
        }
        holds.remove(&from);
        holds.insert(into, gi.into_iter().chain(gf).collect());
        root.insert(from, into);
        apply.push(Candidate {
            into,
            from,
            ..c.clone()
        });
    }
    (apply, review)
}

#[cfg(test)]
mod tests;

/// What one resolution pass did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// Merges applied automatically (each logged in the store and reversible).
    pub applied: Vec<kith_store::MergeRecord>,
    /// Candidates waiting for a person: below the threshold, or blocked by a hard rule.
    pub review: Vec<Candidate>,
}

/// Whether an identity was added, changed (name, handle, e-mail, flags) or moved to another
/// member after `since`, and the store's position now: what [`resolve`] finds depends only on
/// the identities and the merge log, so where none changed since the last resolution there is
/// nothing new to resolve. A cheap read of what changed (no activity is read), the cost of the
/// entities written since `since`.
pub fn identities_changed_since(
    store: &dyn kith_store::Store,
    since: kith_store::Watermark,
) -> kith_store::StoreResult<(bool, kith_store::Watermark)> {
    let mut changed = false;
    let now = store.read_changes_except_activities(since, &mut |c| {
        changed |= matches!(
            c,
            kith_store::Change::Identity(_) | kith_store::Change::IdentityRemoved(_)
        );
        Ok(())
    })?;
    Ok((changed, now))
}

/// Finds candidates among the store's identities, applies those at or above `threshold`
/// (never a pair a person has already separated), and returns the rest for review.
pub fn resolve(
    store: &dyn kith_store::Store,
    threshold: f64,
) -> kith_store::StoreResult<Resolution> {
    let (apply, review) = proposals(store, threshold, false)?;
    let mut applied = Vec::with_capacity(apply.len());
    for c in apply {
        let evidence = kith_store::MergeEvidence {
            reason: c.reason(),
            score: c.score,
            actor: "auto".into(),
        };
        applied.push(store.merge_members(c.into, c.from, &evidence)?);
    }
    Ok(Resolution { applied, review })
}

/// What [`resolve`] would do, without doing it: (to apply, to review). With `all`, the review
/// list also holds pairs only weak evidence supports (what `kith members candidates` shows);
/// without, only pairs that could reach `threshold` are considered (what an import needs).
pub fn proposals(
    store: &dyn kith_store::Store,
    threshold: f64,
    all: bool,
) -> kith_store::StoreResult<(Vec<Candidate>, Vec<Candidate>)> {
    let identities = store.identities()?;
    // Pairs a person separated again stay separated unless a person merges them.
    let undone: HashSet<(MemberId, MemberId)> = store
        .merges()?
        .into_iter()
        .filter(|m| m.undone_at.is_some())
        .map(|m| (m.into.min(m.from), m.into.max(m.from)))
        .collect();
    // Automatic resolution after an import needs only pairs that can reach its threshold.
    let found: Vec<Candidate> = find_candidates(&identities, all || threshold <= WEAK_ONLY_MAX)
        .into_iter()
        .map(|c| {
            if c.blocked.is_none() && undone.contains(&(c.into, c.from)) {
                Candidate {
                    blocked: Some("a person undid an earlier merge of these members".into()),
                    ..c
                }
            } else {
                c
            }
        })
        .collect();
    Ok(plan(&found, &identities, threshold))
}
