//! The member list at one watermark, prepared for fast filtering: a search index (every
//! member's lower-cased names, handles, e-mail addresses and platform ids in one buffer), each
//! sort order computed once on first use, and the filtered orders of recent queries kept within
//! a memory budget. A new watermark builds a new directory, so nothing here outlives the data
//! it was made from; tags are not data of the change sequence and are applied per request.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use kith_store::{MemberId, SourceId};

/// One member in the member list: names and identities from the store, first seen and last
/// participation from the analytics scope (team activity and bots left out).
#[derive(Debug, Clone)]
pub struct MemberEntry {
    pub id: MemberId,
    pub name: String,
    pub sources: Vec<SourceId>,
    pub first_seen: Option<i64>,
    pub last_active: Option<i64>,
    /// Counted participations up to as-of.
    pub participations: u32,
    pub team: bool,
    pub bot: bool,
}

/// The orders the list can be sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sort {
    /// Last participation, latest first (the default).
    Recent,
    /// Name, A to Z (case-insensitive).
    Name,
    /// Most participations first.
    Participations,
    /// First seen, newest first.
    Joined,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Recent, Sort::Name, Sort::Participations, Sort::Joined];

    /// Unknown names sort by the default.
    pub fn parse(s: &str) -> Sort {
        match s {
            "name" => Sort::Name,
            "participations" => Sort::Participations,
            "joined" => Sort::Joined,
            _ => Sort::Recent,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What the list is filtered by, checked and normalised (tags come separately: they are
/// read from the store on every request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MemberFilter {
    /// Lower-cased; a member matches when any of its texts contains it.
    pub needle: Option<String>,
    pub source: Option<SourceId>,
    /// First seen at or after / at or before (epoch seconds).
    pub joined_from: Option<i64>,
    pub joined_to: Option<i64>,
    /// Last participation within this many days of as-of.
    pub active_days: Option<i64>,
    /// Silent for at least this many days at as-of.
    pub silent_days: Option<i64>,
    /// List team members and bots too.
    pub team: bool,
}

/// A filter as closed ranges of the packed facts ("never" is `i64::MIN`, outside every range
/// that has a bound).
struct Bounds {
    first_seen: (i64, i64),
    last_active: (i64, i64),
    team: bool,
}

impl Bounds {
    fn of(f: &MemberFilter, as_of: i64) -> Bounds {
        let ago = |days: i64| as_of.saturating_sub(days.saturating_mul(86_400));
        let range = |lo: Option<i64>, hi: Option<i64>| {
            let any = lo.is_some() || hi.is_some();
            if any {
                (
                    lo.unwrap_or(i64::MIN).max(i64::MIN + 1),
                    hi.unwrap_or(i64::MAX),
                )
            } else {
                (i64::MIN, i64::MAX)
            }
        };
        Bounds {
            first_seen: range(f.joined_from, f.joined_to),
            // Active within d days: last participation at or after as-of minus d days; silent
            // for d days: at or before it.
            last_active: range(f.active_days.map(ago), f.silent_days.map(ago)),
            team: f.team,
        }
    }

    fn admit(&self, f: &Facts) -> bool {
        (self.team || !f.hidden)
            && (self.first_seen.0..=self.first_seen.1).contains(&f.first_seen)
            && (self.last_active.0..=self.last_active.1).contains(&f.last_active)
    }
}

/// One member order: positions in the directory, and each position's rank in the order.
#[derive(Debug)]
struct Order {
    seq: Vec<u32>,
    rank: Vec<u32>,
}

/// Filtered orders kept, at most this many queries...
const FOUND_QUERIES: usize = 64;
/// ...and this many positions in all (4 bytes each: 32 MiB).
const FOUND_POSITIONS: usize = 8 << 20;

/// A query of the list: its filters and its order.
type Query = (MemberFilter, Sort);

#[derive(Debug, Default)]
struct FoundCache {
    /// Each query's answer with when it was last used.
    entries: HashMap<Query, (u64, Arc<Vec<u32>>)>,
    positions: usize,
    tick: u64,
}

impl FoundCache {
    fn get(&mut self, key: &Query) -> Option<Arc<Vec<u32>>> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(key).map(|(used, found)| {
            *used = tick;
            Arc::clone(found)
        })
    }

    fn put(&mut self, key: Query, found: Arc<Vec<u32>>) {
        if found.len() > FOUND_POSITIONS {
            return;
        }
        // Least recently used first, until the new one fits.
        while self.entries.len() >= FOUND_QUERIES || self.positions + found.len() > FOUND_POSITIONS
        {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((_, gone)) = self.entries.remove(&oldest) {
                self.positions -= gone.len();
            }
        }
        self.tick += 1;
        self.positions += found.len();
        if let Some((_, old)) = self.entries.insert(key, (self.tick, found)) {
            self.positions -= old.len();
        }
    }
}

/// What the filters read of a member, packed (a filter reads every member: 24 bytes each,
/// in store order, rather than the whole entry through the sort permutation).
#[derive(Debug, Clone, Copy)]
struct Facts {
    /// `i64::MIN` when never seen / never participated.
    first_seen: i64,
    last_active: i64,
    /// Team member or bot: hidden unless asked for.
    hidden: bool,
}

/// The member list at one watermark.
#[derive(Debug)]
pub struct Directory {
    members: Vec<MemberEntry>,
    facts: Vec<Facts>,
    pub as_of: i64,
    position: HashMap<MemberId, u32>,
    /// Member `i`'s search text is `haystack[starts[i]..starts[i + 1]]`: lower-cased, one
    /// text per line.
    haystack: String,
    starts: Vec<usize>,
    orders: [OnceLock<Order>; 4],
    found: Mutex<FoundCache>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory::new(Vec::new(), 0)
    }
}

/// A member and the texts search looks in (names, handles, e-mail addresses, platform ids).
pub struct Searchable {
    pub entry: MemberEntry,
    pub texts: Vec<String>,
}

impl Directory {
    /// A directory of `members` (each with its search texts) as of `as_of`.
    pub fn new(members: Vec<Searchable>, as_of: i64) -> Directory {
        let mut haystack = String::new();
        let mut starts = Vec::with_capacity(members.len() + 1);
        let mut entries = Vec::with_capacity(members.len());
        let mut seen: Vec<String> = Vec::new();
        for m in members {
            starts.push(haystack.len());
            // The name first (the name order reads it there); each text once (the name is
            // usually also an identity's name), so that a search reads less.
            seen.clear();
            for t in std::iter::once(&m.entry.name).chain(&m.texts) {
                let lower = t.to_lowercase();
                if seen.contains(&lower) {
                    continue;
                }
                haystack.push_str(&lower);
                haystack.push('\n');
                seen.push(lower);
            }
            entries.push(m.entry);
        }
        starts.push(haystack.len());
        let position = entries
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id, i as u32))
            .collect();
        let facts = entries
            .iter()
            .map(|m| Facts {
                first_seen: m.first_seen.unwrap_or(i64::MIN),
                last_active: m.last_active.unwrap_or(i64::MIN),
                hidden: m.team || m.bot,
            })
            .collect();
        Directory {
            members: entries,
            facts,
            as_of,
            position,
            haystack,
            starts,
            orders: Default::default(),
            found: Mutex::default(),
        }
    }

    /// Every member, in store order.
    pub fn members(&self) -> &[MemberEntry] {
        &self.members
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The member with this id, if it is listed (not merged away, not anonymous).
    pub fn get(&self, id: MemberId) -> Option<&MemberEntry> {
        self.position
            .get(&id)
            .and_then(|&i| self.members.get(i as usize))
    }

    /// The member at a position of [`Directory::find`]'s answer.
    pub fn at(&self, position: u32) -> Option<&MemberEntry> {
        self.members.get(position as usize)
    }

    /// A member's name, or "member N" for one not listed.
    pub fn name_of(&self, id: MemberId) -> String {
        self.get(id)
            .map_or_else(|| format!("member {id}"), |m| m.name.clone())
    }

    fn order(&self, sort: Sort) -> &Order {
        self.orders[sort.index()].get_or_init(|| {
            let m = &self.members;
            let mut seq: Vec<u32> = (0..m.len() as u32).collect();
            let at = |i: &u32| &m[*i as usize];
            match sort {
                Sort::Recent => seq.sort_unstable_by(|a, b| {
                    at(b)
                        .last_active
                        .cmp(&at(a).last_active)
                        .then(at(a).id.cmp(&at(b).id))
                }),
                Sort::Name => {
                    // The lower-cased name starts each member's search text.
                    let name = |i: &u32| {
                        let text = &self.haystack[self.starts[*i as usize]..];
                        text.split('\n').next().unwrap_or("")
                    };
                    seq.sort_unstable_by(|a, b| name(a).cmp(name(b)).then(at(a).id.cmp(&at(b).id)))
                }
                Sort::Participations => seq.sort_unstable_by(|a, b| {
                    at(b)
                        .participations
                        .cmp(&at(a).participations)
                        .then(at(a).id.cmp(&at(b).id))
                }),
                Sort::Joined => seq.sort_unstable_by(|a, b| {
                    at(b)
                        .first_seen
                        .cmp(&at(a).first_seen)
                        .then(at(a).id.cmp(&at(b).id))
                }),
            }
            let mut rank = vec![0; seq.len()];
            for (r, &i) in seq.iter().enumerate() {
                rank[i as usize] = r as u32;
            }
            Order { seq, rank }
        })
    }

    /// Positions of the members whose search text contains `needle` (lower-cased), as a mask.
    fn search(&self, needle: &str) -> Vec<bool> {
        let mut hit = vec![false; self.members.len()];
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let hay = self.haystack.as_bytes();
        let mut from = 0;
        while let Some(found) = finder.find(&hay[from..]) {
            let at = from + found;
            // The member whose text holds the match: the last start at or before it.
            let i = self.starts.partition_point(|&s| s <= at) - 1;
            let end = self.starts[i + 1];
            if at + needle.len() <= end {
                hit[i] = true;
                from = end;
            } else {
                // A match across two members' texts is none; look on from the next member.
                from = at + 1;
            }
            if from >= hay.len() {
                break;
            }
        }
        hit
    }

    fn text_contains(&self, i: usize, needle: &str) -> bool {
        self.haystack[self.starts[i]..self.starts[i + 1]].contains(needle)
    }

    /// Which members pass `filter`, by position: one pass in store order over the packed
    /// facts, each filter turned into a range of first-seen and last-participation times.
    fn mask(&self, filter: &MemberFilter) -> Vec<bool> {
        let b = Bounds::of(filter, self.as_of);
        let mut keep = match filter.needle.as_deref() {
            Some(n) => self.search(n),
            None => vec![true; self.members.len()],
        };
        for (k, f) in keep.iter_mut().zip(&self.facts) {
            *k = *k && b.admit(f);
        }
        if let Some(source) = filter.source {
            for (k, m) in keep.iter_mut().zip(&self.members) {
                *k = *k && m.sources.contains(&source);
            }
        }
        keep
    }

    /// Whether member `i` passes every filter (the search text included).
    fn passes(&self, i: usize, filter: &MemberFilter) -> bool {
        Bounds::of(filter, self.as_of).admit(&self.facts[i])
            && filter
                .source
                .is_none_or(|s| self.members[i].sources.contains(&s))
            && filter
                .needle
                .as_deref()
                .is_none_or(|n| self.text_contains(i, n))
    }

    /// The positions of the members matching `filter` (and, when `tagged` is given, having
    /// one of those ids), in `sort` order. Without tags the answer is kept for the next
    /// request with the same filter; with tags only the tagged members are looked at.
    pub fn find(
        &self,
        filter: &MemberFilter,
        sort: Sort,
        tagged: Option<&HashSet<MemberId>>,
    ) -> Arc<Vec<u32>> {
        if let Some(tagged) = tagged {
            let order = self.order(sort);
            let mut found: Vec<u32> = tagged
                .iter()
                .filter_map(|id| self.position.get(id).copied())
                .filter(|&i| self.passes(i as usize, filter))
                .collect();
            found.sort_unstable_by_key(|&i| order.rank[i as usize]);
            return Arc::new(found);
        }
        let key = (filter.clone(), sort);
        if let Some(found) = self
            .found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return found;
        }
        let keep = self.mask(filter);
        let order = self.order(sort);
        let kept = keep.iter().filter(|k| **k).count();
        let found: Vec<u32> = if kept < keep.len() / 16 {
            // Few members pass (a search, say): sort them by rank rather than walk the order.
            let mut few: Vec<u32> = (0..keep.len() as u32)
                .filter(|&i| keep[i as usize])
                .collect();
            few.sort_unstable_by_key(|&i| order.rank[i as usize]);
            few
        } else {
            let mut all = Vec::with_capacity(kept);
            all.extend(order.seq.iter().copied().filter(|&i| keep[i as usize]));
            all
        };
        let found = Arc::new(found);
        self.found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, Arc::clone(&found));
        found
    }

    /// Positions held by the cache of filtered orders (4 bytes each).
    pub fn cached_positions(&self) -> usize {
        self.found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .positions
    }
}

/// Something that names a member: a [`MemberId`] or a store id.
pub trait AsMemberId {
    fn member_id(&self) -> MemberId;
}

impl AsMemberId for MemberId {
    fn member_id(&self) -> MemberId {
        *self
    }
}

impl AsMemberId for i64 {
    fn member_id(&self) -> MemberId {
        MemberId(*self)
    }
}

/// Member names by id, looked up in the directory (pages that name members use it instead of
/// copying every name into a map of their own on each request).
#[derive(Debug, Clone)]
pub struct Names(pub Arc<Directory>);

impl Names {
    pub fn get(&self, id: &impl AsMemberId) -> Option<&String> {
        self.0.get(id.member_id()).map(|m| &m.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, name: &str, last: Option<i64>, parts: u32, team: bool) -> MemberEntry {
        MemberEntry {
            id: MemberId(id),
            name: name.into(),
            sources: vec![SourceId(1)],
            first_seen: last.map(|l| l - 1_000),
            last_active: last,
            participations: parts,
            team,
            bot: false,
        }
    }

    fn dir() -> Directory {
        let d = 86_400;
        Directory::new(
            vec![
                Searchable {
                    entry: entry(1, "Ada", Some(10 * d), 3, false),
                    texts: vec!["ada@example.org".into(), "U01".into()],
                },
                Searchable {
                    entry: entry(2, "bob", Some(12 * d), 9, false),
                    texts: vec!["Bobby".into()],
                },
                Searchable {
                    entry: entry(3, "Carla", None, 0, false),
                    texts: vec![],
                },
                Searchable {
                    entry: entry(4, "Staff", Some(12 * d), 50, true),
                    texts: vec!["ada-team".into()],
                },
            ],
            12 * d,
        )
    }

    fn ids(d: &Directory, found: &[u32]) -> Vec<i64> {
        found.iter().map(|&i| d.at(i).unwrap().id.0).collect()
    }

    #[test]
    fn each_sort_order_breaks_ties_by_id_and_hides_the_team_by_default() {
        let d = dir();
        let f = MemberFilter::default();
        // Recent: bob (day 12) before Ada (day 10); Carla never participated, last; Staff is
        // team, hidden.
        assert_eq!(ids(&d, &d.find(&f, Sort::Recent, None)), [2, 1, 3]);
        // Name, case-insensitive: ada < bob < carla.
        assert_eq!(ids(&d, &d.find(&f, Sort::Name, None)), [1, 2, 3]);
        assert_eq!(ids(&d, &d.find(&f, Sort::Participations, None)), [2, 1, 3]);
        let all = MemberFilter {
            team: true,
            ..f.clone()
        };
        // Staff and bob both last active on day 12: the lower id first.
        assert_eq!(ids(&d, &d.find(&all, Sort::Recent, None)), [2, 4, 1, 3]);
    }

    #[test]
    fn search_finds_any_text_of_a_member_case_insensitively_and_never_across_members() {
        let d = dir();
        let q = |n: &str, team| MemberFilter {
            needle: Some(n.to_lowercase()),
            team,
            ..Default::default()
        };
        assert_eq!(ids(&d, &d.find(&q("ADA", false), Sort::Name, None)), [1]);
        assert_eq!(ids(&d, &d.find(&q("ada", true), Sort::Name, None)), [1, 4]);
        assert_eq!(ids(&d, &d.find(&q("u01", false), Sort::Name, None)), [1]);
        assert_eq!(ids(&d, &d.find(&q("bobby", false), Sort::Name, None)), [2]);
        // "u01\nbob" would only match across Ada's and bob's texts.
        assert!(d.find(&q("u01\nbob", false), Sort::Name, None).is_empty());
        assert!(d.find(&q("zed", false), Sort::Name, None).is_empty());
    }

    #[test]
    fn active_and_silent_days_count_back_from_as_of() {
        let d = dir();
        // As of day 12: bob was active 0 days ago, Ada 2 days ago.
        let active = MemberFilter {
            active_days: Some(1),
            ..Default::default()
        };
        assert_eq!(ids(&d, &d.find(&active, Sort::Recent, None)), [2]);
        let silent = MemberFilter {
            silent_days: Some(2),
            ..Default::default()
        };
        assert_eq!(ids(&d, &d.find(&silent, Sort::Recent, None)), [1]);
        // Any number of days is an answer, not an overflow: everyone who ever participated
        // was active within i64::MAX days, and nobody is silent that long.
        let ever = MemberFilter {
            active_days: Some(i64::MAX),
            ..Default::default()
        };
        assert_eq!(ids(&d, &d.find(&ever, Sort::Recent, None)), [2, 1]);
        let never = MemberFilter {
            silent_days: Some(i64::MAX),
            ..Default::default()
        };
        assert!(d.find(&never, Sort::Recent, None).is_empty());
    }

    #[test]
    fn tagged_members_keep_the_sort_order_and_the_other_filters() {
        let d = dir();
        let tagged: HashSet<MemberId> = [MemberId(1), MemberId(3), MemberId(4), MemberId(99)]
            .into_iter()
            .collect();
        let f = MemberFilter::default();
        // Staff is team (hidden), 99 is not listed; Ada (day 10) before Carla (never).
        assert_eq!(ids(&d, &d.find(&f, Sort::Recent, Some(&tagged))), [1, 3]);
        let f = MemberFilter {
            needle: Some("carla".into()),
            ..f
        };
        assert_eq!(ids(&d, &d.find(&f, Sort::Recent, Some(&tagged))), [3]);
    }

    #[test]
    fn a_repeated_query_is_answered_from_the_cache_within_its_budget() {
        let d = dir();
        let f = MemberFilter::default();
        let first = d.find(&f, Sort::Recent, None);
        let again = d.find(&f, Sort::Recent, None);
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same query is filtered once"
        );
        assert_eq!(d.cached_positions(), 3);
        let mut cache = FoundCache::default();
        for n in 0..FOUND_QUERIES + 5 {
            let key = (
                MemberFilter {
                    active_days: Some(n as i64),
                    ..Default::default()
                },
                Sort::Recent,
            );
            cache.put(key, Arc::new(vec![0; 10]));
        }
        assert_eq!(
            cache.entries.len(),
            FOUND_QUERIES,
            "at most this many queries"
        );
        assert_eq!(cache.positions, FOUND_QUERIES * 10);
        cache.put(
            (MemberFilter::default(), Sort::Name),
            Arc::new(vec![0; FOUND_POSITIONS - 5]),
        );
        assert!(
            cache.positions <= FOUND_POSITIONS,
            "within the position budget"
        );
    }
}
