//! The bulk load's preparer. On a fresh database (no activities, identities, threads or
//! channels yet) taken by an exclusive session, everything an import brings is either new or
//! seen earlier in the same import. So the thread that parses can give channels, threads,
//! identities and members their ids, recognise repeated activities, find reply targets among
//! the activities it has seen, and build the JSON columns — all without the database — and the
//! writer's thread is left with the statements (SPEC §9 ingest rate).
//!
//! Ids come from [`Counters`], shared with the writer, so that whatever the writer still has
//! to create itself (author-less identities, and what the preparer forgot once its memory was
//! full) never takes an id the preparer handed out. The preparer's memory is bounded like the
//! writer's caches: once a map is emptied, what it no longer knows is left to the writer to
//! look up ([`Ref::Resolve`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kith_model::{Activity, Author};
use kith_store::{Prepare, Prepared};

use crate::ingest::{
    CACHE_LIMIT, CachedIdentity, HashMap, RECENT_LIMIT, key_hash, push_json_string,
};

/// The next free id of each table a session creates rows in.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) activity: AtomicI64,
    pub(crate) thread: AtomicI64,
    pub(crate) channel: AtomicI64,
    pub(crate) identity: AtomicI64,
    pub(crate) member: AtomicI64,
}

impl Counters {
    /// Takes the next id from `counter`.
    pub(crate) fn take(counter: &AtomicI64) -> i64 {
        counter.fetch_add(1, Ordering::Relaxed)
    }
}

/// How the writer gets a channel's or thread's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ref {
    /// Stored earlier in this session.
    Known(i64),
    /// New: the writer inserts it with this id.
    New(i64),
    /// The preparer does not know: the writer looks it up (and creates it if missing).
    Resolve,
}

/// How the writer gets an activity's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityRef {
    Known(i64),
    /// Known, and the activity brings newer name, handle, e-mail or hints: store them.
    Refresh(i64),
    /// New: the writer inserts the member and the identity with these ids.
    New {
        identity: i64,
        member: i64,
    },
    Resolve,
}

/// Where an activity's `reply_to` points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// An activity of this session (its id as the preparer gave it).
    Known(i64),
    /// Not stored yet: resolved at commit if it arrives.
    Later,
    /// The preparer forgot: the writer looks it up.
    Resolve,
}

/// What the writer does with the activity itself. Row ids are as the preparer gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowWrite {
    /// Insert with this id (a repeat the preparer no longer remembered ends as an update or
    /// unchanged, like any conflict).
    Insert(i64),
    /// A byte-identical repeat of the activity stored as this row.
    Unchanged(i64),
    /// A repeat with other content: update this row.
    Update(i64),
}

/// The preparer's decisions for one activity.
#[derive(Debug)]
pub(crate) struct RowPlan {
    pub(crate) identity: IdentityRef,
    pub(crate) channel: Option<Ref>,
    pub(crate) thread: Option<Ref>,
    pub(crate) reply_to: Option<Target>,
    pub(crate) write: RowWrite,
    pub(crate) to_json: Option<String>,
    pub(crate) attrs_json: Option<String>,
}

/// A batch's plan: `rows[i]` is for `activities[i]`.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) rows: Vec<RowPlan>,
}

/// A bounded name → value memory that knows whether it ever forgot anything. Names are held by
/// their 128-bit hash ([`key_hash`], as the activities are): 16 bytes and no allocation per
/// name, where a community of 500,000 members and 1.7 million threads keeps a million of each.
struct Memory<T> {
    map: HashMap<u128, T>,
    forgot: bool,
}

impl<T> Default for Memory<T> {
    fn default() -> Memory<T> {
        Memory {
            map: HashMap::default(),
            forgot: false,
        }
    }
}

impl<T> Memory<T> {
    fn remember(&mut self, key: &str, value: T) {
        if self.map.len() >= CACHE_LIMIT {
            self.map.clear();
            self.forgot = true;
        }
        self.map.insert(key_hash(key), value);
    }
}

/// What the preparer knows of one source's rows.
#[derive(Default)]
struct SourceMemory {
    channels: Memory<i64>,
    threads: Memory<i64>,
    identities: Memory<CachedIdentity>,
    /// Activities by the 128-bit hash of their platform id: (row id, content hash).
    activities: HashMap<u128, (i64, u64)>,
    activities_forgot: bool,
}

impl SourceMemory {
    fn place(memory: &mut Memory<i64>, counter: &AtomicI64, ext: &str) -> Ref {
        if let Some(&id) = memory.map.get(&key_hash(ext)) {
            return Ref::Known(id);
        }
        if memory.forgot {
            return Ref::Resolve;
        }
        let id = Counters::take(counter);
        memory.remember(ext, id);
        Ref::New(id)
    }

    fn identity(&mut self, counters: &Counters, author: &Author) -> IdentityRef {
        if let Some(seen) = self.identities.map.get_mut(&key_hash(&author.id)) {
            return if seen.is_refreshed_by(author) {
                seen.refresh(author);
                IdentityRef::Refresh(seen.id)
            } else {
                IdentityRef::Known(seen.id)
            };
        }
        if self.identities.forgot {
            return IdentityRef::Resolve;
        }
        let identity = Counters::take(&counters.identity);
        let member = Counters::take(&counters.member);
        self.identities
            .remember(&author.id, CachedIdentity::new(identity, author));
        IdentityRef::New { identity, member }
    }

    fn target(&self, ext: &str) -> Target {
        match self.activities.get(&key_hash(ext)) {
            Some(&(id, _)) => Target::Known(id),
            None if self.activities_forgot => Target::Resolve,
            None => Target::Later,
        }
    }

    fn write(&mut self, counters: &Counters, ext: &str, hash: u64) -> RowWrite {
        let key = key_hash(ext);
        if let Some((id, stored)) = self.activities.get_mut(&key) {
            return if *stored == hash {
                RowWrite::Unchanged(*id)
            } else {
                *stored = hash;
                RowWrite::Update(*id)
            };
        }
        if self.activities.len() >= RECENT_LIMIT {
            self.activities.clear();
            self.activities_forgot = true;
        }
        let id = Counters::take(&counters.activity);
        self.activities.insert(key, (id, hash));
        RowWrite::Insert(id)
    }
}

/// The preparer a bulk session hands out (see the module docs).
pub(crate) struct BulkPreparer {
    counters: Arc<Counters>,
    /// By source name; imports rarely carry more than a few sources.
    sources: Vec<(String, SourceMemory)>,
    last: usize,
}

impl BulkPreparer {
    pub(crate) fn new(counters: Arc<Counters>) -> BulkPreparer {
        BulkPreparer {
            counters,
            sources: Vec::new(),
            last: 0,
        }
    }

    fn source(&mut self, name: &str) -> usize {
        if self.sources.get(self.last).is_some_and(|(n, _)| n == name) {
            return self.last;
        }
        let at = match self.sources.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.sources
                    .push((name.to_owned(), SourceMemory::default()));
                self.sources.len() - 1
            }
        };
        self.last = at;
        at
    }

    /// Plans one activity; `attrs_json` is its attrs serialised, when the caller did that.
    fn plan(&mut self, a: &Activity, hash: u64, attrs_json: Option<Option<String>>) -> RowPlan {
        let at = self.source(&a.source);
        let counters = &*self.counters;
        let memory = &mut self.sources[at].1;
        let identity = match &a.author {
            Some(author) => memory.identity(counters, author),
            // Author-less content gets an identity of its own per activity: the writer's
            // (rare) path, which also finds it again on a repeat.
            None => IdentityRef::Resolve,
        };
        let channel = a
            .channel
            .as_deref()
            .map(|ext| SourceMemory::place(&mut memory.channels, &counters.channel, ext));
        let thread = a
            .thread
            .as_deref()
            .map(|ext| SourceMemory::place(&mut memory.threads, &counters.thread, ext));
        // Before the activity itself is remembered, as the writer's own path does.
        let reply_to = a.reply_to.as_deref().map(|ext| memory.target(ext));
        let write = memory.write(counters, &a.id, hash);
        let to_json = (!a.to.is_empty()).then(|| {
            let mut json = String::from("[");
            for (i, t) in a.to.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                push_json_string(&mut json, t);
            }
            json.push(']');
            json
        });
        let attrs_json = attrs_json.unwrap_or_else(|| attrs_json_of(a));
        RowPlan {
            identity,
            channel,
            thread,
            reply_to,
            write,
            to_json,
            attrs_json,
        }
    }

    /// Plans `batch` without taking it (the session's own `write` path).
    pub(crate) fn plan_batch(&mut self, batch: &[Activity], hashes: &[u64]) -> Plan {
        Plan {
            rows: batch
                .iter()
                .zip(hashes)
                .map(|(a, &h)| self.plan(a, h, None))
                .collect(),
        }
    }
}

/// The `attrs` column of `a`. A map of JSON values always serialises; were it ever not to,
/// the writer computes it again and reports the error.
fn attrs_json_of(a: &Activity) -> Option<String> {
    if a.attrs.is_empty() {
        None
    } else {
        serde_json::to_string(&a.attrs).ok()
    }
}

impl Prepare for BulkPreparer {
    fn prepare(&mut self, batch: Vec<Activity>) -> Prepared {
        // The attrs are serialised once, for the content hash and for the column.
        let mut hashes = Vec::with_capacity(batch.len());
        let mut rows = Vec::with_capacity(batch.len());
        for a in &batch {
            let attrs_json = attrs_json_of(a);
            let hash = match &attrs_json {
                Some(json) => a.content_hash_with_attrs(Some(json.as_bytes())),
                None if a.attrs.is_empty() => a.content_hash_with_attrs(None),
                None => a.content_hash(),
            };
            hashes.push(hash);
            rows.push(self.plan(a, hash, Some(attrs_json)));
        }
        let plan = Plan { rows };
        Prepared {
            activities: batch,
            hashes,
            plan: Some(Box::new(plan)),
        }
    }
}
