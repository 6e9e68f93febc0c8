//! The first, straightforward implementation of candidate finding and planning (string keys in
//! ordered maps, account sets per member), kept as the oracle the faster one is checked against.

use std::collections::{BTreeMap, HashMap, HashSet};

use kith_store::{IdentityRow, MemberId, SourceId};

use crate::*;

pub fn reference_candidates(identities: &[IdentityRow], weak_pairs: bool) -> Vec<Candidate> {
    let people: Vec<&IdentityRow> = identities
        .iter()
        .filter(|i| !i.anonymous && !i.bot)
        .collect();
    // key → members carrying it, with the detail to show.
    let mut groups: BTreeMap<(Rule, String), BTreeMap<MemberId, String>> = BTreeMap::new();
    // (login, member) of every GitHub no-reply address.
    let mut from_address: HashSet<(String, MemberId)> = HashSet::new();
    let mut add = |rule: Rule, key: String, member: MemberId, detail: String| {
        groups
            .entry((rule, key))
            .or_default()
            .entry(member)
            .or_insert(detail);
    };
    for i in &people {
        // mbox author ids are address keys themselves (`local at domain`, folded).
        let address = i.email.as_deref().or_else(|| {
            (i.ext_id.contains('@') || i.ext_id.contains(" at ")).then_some(i.ext_id.as_str())
        });
        if let Some(address) = address
            && let (Some(k), Some(n)) = (address_key(address), i.name.as_deref().and_then(name_key))
        {
            add(
                Rule::ObfuscatedAddress,
                format!("{k}\u{0}{n}"),
                i.member,
                format!(
                    "address {address} with name {}",
                    i.name.as_deref().unwrap_or("")
                ),
            );
        }
        if let Some(email) = i.email.as_deref() {
            if let Some(login) = github_noreply_login(email) {
                from_address.insert((login.clone(), i.member));
                add(
                    Rule::GithubNoreply,
                    login.clone(),
                    i.member,
                    format!("GitHub login {login}"),
                );
            } else if let Some(e) = normalize_email(email) {
                add(
                    Rule::Email,
                    e.clone(),
                    i.member,
                    format!("same e-mail address {e}"),
                );
            }
        }
        if let Some(h) = i.handle.as_deref().and_then(handle_key) {
            add(
                Rule::Handle,
                h.clone(),
                i.member,
                format!("same handle {h}"),
            );
            // A GitHub identity's handle is its login: it meets no-reply addresses.
            add(
                Rule::GithubNoreply,
                h.clone(),
                i.member,
                format!("GitHub login {h}"),
            );
        }
        if let Some(n) = i.name.as_deref().and_then(name_key) {
            add(
                Rule::Name,
                n,
                i.member,
                format!("same name {}", i.name.as_deref().unwrap_or("")),
            );
        }
    }

    let mut pairs: HashMap<(MemberId, MemberId), BTreeMap<Rule, Evidence>> = HashMap::new();
    // Groups come in rule order: the strong rules (e-mail, no-reply, address) first.
    for ((rule, key), members) in &groups {
        if members.len() < 2 || members.len() > MAX_GROUP {
            continue;
        }
        let weak = matches!(rule, Rule::Handle | Rule::Name);
        let list: Vec<(&MemberId, &String)> = members.iter().collect();
        for (x, (a, detail)) in list.iter().enumerate() {
            for (b, _) in &list[x + 1..] {
                // A GitHub login is evidence between a no-reply address and an account.
                if *rule == Rule::GithubNoreply
                    && !from_address.contains(&(key.clone(), **a))
                    && !from_address.contains(&(key.clone(), **b))
                {
                    continue;
                }
                let evidence = Evidence {
                    rule: *rule,
                    detail: (*detail).clone(),
                    score: rule.score(),
                };
                if weak && !weak_pairs && !pairs.contains_key(&(**a, **b)) {
                    continue;
                }
                pairs
                    .entry((**a, **b))
                    .or_default()
                    .entry(*rule)
                    .or_insert(evidence);
            }
        }
    }

    // The handle rule only counts across sources.
    let sources = sources_by_member(&people);
    let mut out: Vec<Candidate> = pairs
        .into_iter()
        .filter_map(|((a, b), mut evidence)| {
            if evidence.contains_key(&Rule::Handle) && shared_source(&sources, a, b).is_some() {
                evidence.remove(&Rule::Handle);
            }
            if evidence.is_empty() {
                return None;
            }
            let evidence: Vec<Evidence> = evidence.into_values().collect();
            let score = 1.0 - evidence.iter().map(|e| 1.0 - e.score).product::<f64>();
            let blocked = shared_source(&sources, a, b).map(|s| {
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

fn sources_by_member(
    people: &[&IdentityRow],
) -> HashMap<MemberId, HashMap<SourceId, HashSet<String>>> {
    let mut m: HashMap<MemberId, HashMap<SourceId, HashSet<String>>> = HashMap::new();
    for i in people {
        m.entry(i.member)
            .or_default()
            .entry(i.source)
            .or_default()
            .insert(i.ext_id.clone());
    }
    m
}

type SourcesOf = HashMap<MemberId, HashMap<SourceId, HashSet<String>>>;

/// A source in which `a` and `b` have different user ids, if any.
fn shared_source(sources: &SourcesOf, a: MemberId, b: MemberId) -> Option<SourceId> {
    let (sa, sb) = (sources.get(&a)?, sources.get(&b)?);
    let mut shared: Vec<SourceId> = sa
        .iter()
        .filter(|(s, ids)| sb.get(s).is_some_and(|other| other != *ids))
        .map(|(s, _)| *s)
        .collect();
    shared.sort();
    shared.first().copied()
}

/// Which candidates to apply automatically: those scoring at or above `threshold` and not
/// blocked, in score order, skipping any that would put two user ids of one source into one
/// person through earlier merges of the same plan. The rest wait for review.
pub fn reference_plan(
    candidates: &[Candidate],
    identities: &[IdentityRow],
    threshold: f64,
) -> (Vec<Candidate>, Vec<Candidate>) {
    let people: Vec<&IdentityRow> = identities
        .iter()
        .filter(|i| !i.anonymous && !i.bot)
        .collect();
    let mut sources = sources_by_member(&people);
    let mut root: HashMap<MemberId, MemberId> = HashMap::new();
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
        if shared_source(&sources, into, from).is_some() {
            review.push(Candidate {
                blocked: Some(
                    "merging would join two user ids of one source through an earlier merge".into(),
                ),
                ..c.clone()
            });
            continue;
        }
        let moved = sources.remove(&from).unwrap_or_default();
        let target = sources.entry(into).or_default();
        for (s, ids) in moved {
            target.entry(s).or_default().extend(ids);
        }
        root.insert(from, into);
        apply.push(Candidate {
            into,
            from,
            ..c.clone()
        });
    }
    (apply, review)
}
