//! The compact in-memory copy of the activity log that every metric reads.
//!
//! Built through the store's bulk reads ([`Store::read_activities`] by id ranges on every core,
//! each followed by its text scores, and the entities' keys beside them) and refreshed through
//! [`Store::read_changes`], so it works on every backend. Store ids are mapped to dense indexes
//! once, on arrival; activities are kept as parallel columns
//! (struct of arrays) without any string. A merge moves identities, so it is an update of the
//! identity → member table, never a rewrite of activities.
//!
//! Memory per activity (measured by the scorecard bench, `Snapshot::memory`): 8 (store id) +
//! 8 (ts) + 1 (kind) + 1 (flags) + 4 (identity) + 4 (thread) + 4 (channel) + 2 (source) + 4
//! (reply-to) = 36 bytes, plus 8 per addressee (mentions), plus 5 once text scores exist
//! (1 flags + 2 sentiment + 2 intents), plus per thread, member and identity tables.

use std::collections::HashMap;

use kith_model::Kind;
use kith_store::{ActivityFact, Change, EntityKey, Store, StoreError, TextFact, Watermark};

use crate::AnalyticsError;

/// "None" for dense u32 references (thread, channel, reply-to, member).
pub const NONE: u32 = u32::MAX;

/// Activity flags.
pub const DELETED: u8 = 1;
/// Removed from the database (its source was deleted): a dead slot.
pub const REMOVED: u8 = 2;

/// Text flags (schema v4 scores, see [`Snapshot::text_flags`]).
/// The activity has a stored score.
pub const T_PRESENT: u8 = 1;
/// Its language is supported, so the numbers count.
pub const T_SCORED: u8 = 2;
/// Sentiment confidence ≥ [`CONFIDENT`].
pub const T_CONFIDENT: u8 = 4;
pub const T_HOSTILE: u8 = 8;

/// "Confident" sentiment: confidence ≥ 0.5, stored in ten-thousandths.
pub const CONFIDENT: i16 = 5_000;

/// Member flags.
pub const M_TEAM: u8 = 1;
pub const M_BOT: u8 = 2;
pub const M_ANONYMOUS: u8 = 4;
pub const M_REMOVED: u8 = 8;

/// A source as the snapshot knows it.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    pub store_id: i64,
    pub name: String,
    pub removed: bool,
}

/// A channel as the snapshot knows it (its platform id, for filters).
#[derive(Debug, Clone)]
pub struct ChannelEntry {
    pub store_id: i64,
    pub source: u16,
    pub ext_id: String,
    pub removed: bool,
}

/// A member's affiliation with an organisation (SPEC §2), times inclusive (`i64::MIN` /
/// `i64::MAX` when open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffiliationEntry {
    pub member: u32,
    /// Dense organisation id: an index into [`Snapshot::organisations`].
    pub organisation: u32,
    pub since: i64,
    pub until: i64,
    /// Whether `since` was given (an open start sorts below every dated one).
    pub dated: bool,
}

/// Maps a store id to a dense index, appending new ids.
///
/// Store ids come from sequences (SQLite `AUTOINCREMENT`, PostgreSQL identity columns), so
/// they are small and nearly dense: a direct table indexed by id is the fast path (4 bytes per
/// id up to the largest, no hashing); ids beyond [`DIRECT_LIMIT`] or far beyond the number of
/// entries go to a hash map.
#[derive(Debug, Default, Clone)]
struct DenseIds {
    direct: Vec<u32>,
    spill: HashMap<i64, u32>,
}

/// Largest id kept in the direct table (2^28: 1 GiB of table at worst, reached only with that
/// many rows).
const DIRECT_LIMIT: i64 = 1 << 28;

impl DenseIds {
    #[inline]
    fn get(&self, id: i64) -> Option<u32> {
        if (0..DIRECT_LIMIT).contains(&id) {
            match self.direct.get(id as usize) {
                Some(&i) if i != NONE => return Some(i),
                _ => {}
            }
        }
        self.spill.get(&id).copied()
    }

    /// The index of `id`, and whether it is new (then it is `len`).
    #[inline]
    fn get_or_insert(&mut self, id: i64, len: usize) -> (u32, bool) {
        if let Some(i) = self.get(id) {
            return (i, false);
        }
        let i = len as u32;
        // Direct while the table stays within twice the entries (plus slack): ids are dense.
        if (0..DIRECT_LIMIT).contains(&id) && (id as usize) < 2 * len + 1_000_000 {
            let at = id as usize;
            if at >= self.direct.len() {
                self.direct
                    .resize((at + 1).max(self.direct.len() * 3 / 2), NONE);
            }
            self.direct[at] = i;
        } else {
            self.spill.insert(id, i);
        }
        (i, true)
    }

    fn bytes(&self) -> usize {
        self.direct.capacity() * 4 + hash_bytes(&self.spill)
    }
}

/// A hash map's heap: key + value + one control byte per bucket, buckets = capacity × 8/7.
fn hash_bytes<K, V, S>(m: &HashMap<K, V, S>) -> usize {
    m.capacity() * (std::mem::size_of::<K>() + std::mem::size_of::<V>() + 1) * 8 / 7
}

/// What a refresh applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    pub changes: u64,
    pub activities_added: u64,
    pub activities_updated: u64,
    pub activities_removed: u64,
    pub identities_changed: u64,
    pub members_changed: u64,
    /// Text scores applied.
    pub texts_changed: u64,
}

/// The snapshot. Fields are crate-visible columns; metrics read them through [`crate::Scope`].
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// The store's watermark (`Watermark` has no `Default`; 0 is `Watermark::ZERO`).
    watermark: i64,

    // --- activities, struct of arrays, one slot per activity ever seen ---
    /// Store ids by slot. New ids arrive in ascending order, so this is sorted and a binary
    /// search finds a slot; only if an id arrives below the largest one (PostgreSQL writers
    /// committing out of order) does the snapshot switch to `unordered_ids`, a full map.
    pub(crate) ids: Vec<i64>,
    unordered_ids: Option<HashMap<i64, u32>>,
    pub(crate) ts: Vec<i64>,
    pub(crate) kind: Vec<u8>,
    pub(crate) flags: Vec<u8>,
    pub(crate) identity: Vec<u32>,
    pub(crate) thread: Vec<u32>,
    pub(crate) channel: Vec<u32>,
    pub(crate) source: Vec<u16>,
    pub(crate) reply_to: Vec<u32>,
    /// The member of each slot: its identity's member (`NONE`: unknown or removed), what
    /// [`Snapshot::member_of`] answers. Every pass over the slots reads a member per slot;
    /// from this column that is one read in slot order, not two lookups of which the
    /// second lands anywhere. Brought up to date at the end of every refresh
    /// (`update_members`).
    pub(crate) member: Vec<u32>,
    /// Every member's level events (SPEC §4.3): their live activities that are participation
    /// or presence, packed as ts × 16 + class (`levels::Class`), in that order, member by
    /// member: `level_events[level_event_start[m]..level_event_start[m + 1]]`. What counts
    /// for a report without source or channel filters is a prefix of each (the activities up
    /// to as-of, and for team members those before they joined the team), so the engagement
    /// levels read them here instead of gathering and sorting them per computation. Rebuilt
    /// at the end of a refresh that changed activities, identities or threads.
    pub(crate) level_events: Vec<i64>,
    pub(crate) level_event_start: Vec<u32>,
    level_events_stale: bool,
    /// What a report without source or channel filters, bots and team activity left out (the
    /// default), admits and counts, as-of aside: see [`DefaultScope`]. At the end of a refresh
    /// that only added activities, members and identities (and changed threads, channels,
    /// sources or text scores), extended over the new slots; after any other change (an
    /// activity updated or removed, a member's flags changed, an identity pointed elsewhere,
    /// anything removed), rebuilt.
    pub(crate) default_scope: DefaultScope,
    default_scope_stale: bool,
    /// Slots below `member.len()` whose identity this refresh changed.
    member_touched: Vec<u32>,
    /// The identities known when this refresh began, and whether one of them now points at
    /// another member (a merge, an unmerge, a removal): then every slot's member is redone.
    identities_before: usize,
    members_remapped: bool,
    /// Replies whose target had not arrived yet: (slot, target store id).
    pending_replies: Vec<(u32, i64)>,

    // --- text scores (kith-text, through the scoring pass), by slot; empty until the first
    // score arrives, then grown to the slots they reach (a slot beyond is unscored) ---
    /// `T_*` flags.
    pub(crate) text_flags: Vec<u8>,
    /// Sentiment in ten-thousandths.
    pub(crate) text_sentiment: Vec<i16>,
    /// Intent bit set (`kith_text::Intent::bit`).
    pub(crate) text_intents: Vec<u16>,
    /// Some live slot has a score (recomputed by a refresh that applied scores or removals).
    any_text: bool,

    // --- sources and channels ---
    source_ids: DenseIds,
    pub(crate) sources: Vec<SourceEntry>,
    channel_ids: DenseIds,
    pub(crate) channels: Vec<ChannelEntry>,

    // --- threads: the opening post (earliest live `post`, by time then id) ---
    thread_ids: DenseIds,
    pub(crate) thread_op: Vec<u32>,
    thread_store_id: Vec<i64>,
    threads_dirty: bool,
    /// Topics (the labels of threads' opening posts, `kith_store::topics_of`): names by dense
    /// topic id; the distinct sets of topics threads have (topic ids in name order), each
    /// once; and per thread its set (`NONE`: none; threads past the end have none). Empty for
    /// most communities; a forum where every thread is labelled keeps 4 bytes per thread,
    /// and a metric tallies per set, not per topic, while it passes over the messages.
    pub(crate) topic_names: Vec<String>,
    topic_ids: HashMap<String, u32>,
    pub(crate) topic_sets: Vec<Vec<u32>>,
    topic_set_ids: HashMap<Vec<u32>, u32>,
    thread_topic_set: Vec<u32>,

    // --- members and identities ---
    member_ids: DenseIds,
    pub(crate) member_store_id: Vec<i64>,
    pub(crate) member_flags: Vec<u8>,
    /// Activity at or after this instant is team activity (`i64::MAX`: never team,
    /// `i64::MIN`: team since always).
    pub(crate) team_since: Vec<i64>,
    identity_ids: DenseIds,
    pub(crate) identity_member: Vec<u32>,

    // --- affiliations (re-read whole when a member changed: adding one bumps its member) ---
    pub(crate) organisations: Vec<String>,
    /// Ordered by member, then in the store's order (affiliation id).
    pub(crate) affiliations: Vec<AffiliationEntry>,

    // --- addressees (`to`: reply targets, mentions) ---
    /// (slot, dense identity) sorted by slot; the identity is `NONE` while no identity of that
    /// platform user id has arrived.
    mentions: Vec<(u32, u32)>,
    /// Unresolved addressees: (slot, position among the slot's mentions, source, id hash).
    pending_mentions: Vec<(u32, u32, u16, u64)>,
    /// Identities by (source, hash of their platform user id): how addressees are resolved
    /// without keeping a string per identity. A 64-bit hash collision between two user ids
    /// of one source would merge their mentions; at a million ids its odds are below 1e-7.
    identity_by_ext: KeyMap<u32>,
    /// Slots updated during this refresh with their new addressees (applied at its end).
    mention_updates: Vec<(u32, Vec<(u16, u64)>)>,
}

impl Snapshot {
    /// A new snapshot of everything in the store, read on every core. The activity ids and
    /// a watermark come first; then, at the same time, the entities (their keys, applied as
    /// they are read) and the activities stamped below the watermark by id ranges, a few per
    /// core taken in turn by one reader per core (and by this thread once the entities are
    /// in), each written with its store ids into its own region of the columns, followed by
    /// the text scores of the same range; then each region's ids are turned into dense ones,
    /// the regions are closed up in id order, and the changes since the watermark (what was
    /// written meanwhile) are read as any refresh reads them.
    pub fn build(store: &dyn Store) -> Result<Snapshot, AnalyticsError> {
        let mut s = Snapshot::default();
        let (ids, mark) = store.activity_id_range()?;
        let span = ids.end.saturating_sub(ids.start).max(0);
        // Ids are nearly dense: a region per id range holds its rows whatever the gaps. Ids
        // spread too thin for that (more than 2^28 apart) are read as a change stream.
        if span > 1 << 28 {
            s.refresh(store)?;
            return Ok(s);
        }
        // More id ranges than cores, taken in turn by one reader per core (and by this thread
        // once the entities are in): a reader that finishes early takes the next range instead
        // of leaving its core idle while another reads on.
        let readers = crate::par::cores();
        let parts = (readers as i64 * RANGES_PER_CORE).min(span.max(1));
        let cut = |k: i64| ids.start + (span / parts) * k + (span % parts) * k / parts;
        let range = |k: i64| cut(k)..if k + 1 == parts { ids.end } else { cut(k + 1) };
        // Zeroed columns: the pages no row is written to are never touched.
        let mut cols = Owned::zeroed(span as usize);

        // The entities on this thread, the id ranges on their own threads at the same time
        // (then on this one too).
        // Only the entities' keys are read (no display names, no thread keys): decoding every
        // string of 1.7 M threads and 0.5 M members and identities cost 0.8 CPU-s at 10 M
        // activities, taken from the range readers.
        let queue = std::sync::Mutex::new(
            cols.regions(parts, |k| (range(k).end - range(k).start) as usize)
                .into_iter()
                .enumerate(),
        );
        // Ranges in order, each read by whichever reader takes it; `None` when none is left.
        let take_and_read = || {
            // Only `next` runs under the lock: it cannot be poisoned mid-update.
            let (k, region) = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .next()?;
            Some((k, Chunk::read(store, range(k as i64), mark, region)))
        };
        let read_ranges = || std::iter::from_fn(take_and_read).collect::<Vec<_>>();
        let (entities, chunks) = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..readers).map(|_| scope.spawn(read_ranges)).collect();
            let mut stats = RefreshStats::default();
            let mut failed = None;
            let read = store.read_entity_keys(&mut |key| {
                s.apply_entity(key, &mut stats).map_err(|e| {
                    failed = Some(e);
                    StoreError::Invalid("the snapshot stopped applying entities".into())
                })
            });
            // An apply error explains a read that stopped; report it first.
            let entities = match failed {
                Some(e) => Err(e),
                None => read.map_err(AnalyticsError::from),
            };
            let mut chunks = read_ranges();
            for h in handles {
                chunks.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            chunks.sort_unstable_by_key(|c| c.0);
            let chunks: Vec<Result<Chunk, AnalyticsError>> =
                chunks.into_iter().map(|c| c.1).collect();
            (entities, chunks)
        });
        drop(queue);
        let entities_mark = entities?;
        let mut chunks: Vec<Chunk> = chunks.into_iter().collect::<Result<_, _>>()?;

        // Store ids to dense ones, each region on its own thread.
        let lookups = Lookups {
            sources: &s.source_ids,
            identities: &s.identity_ids,
            channels: &s.channel_ids,
            threads: &s.thread_ids,
            identity_by_ext: &s.identity_by_ext,
        };
        std::thread::scope(|scope| {
            let regions = cols.regions(parts, |k| (range(k).end - range(k).start) as usize);
            for (chunk, region) in chunks.iter_mut().zip(regions) {
                let lookups = &lookups;
                scope.spawn(move || chunk.make_dense(lookups, region));
            }
        });
        cols.move_into(&mut s);

        // Close the regions up: each region's rows move down to follow the previous ones.
        let mut stats = RefreshStats::default();
        let mut targets = Vec::new();
        let mut deferred = Vec::new();
        let mut deferred_texts = Vec::new();
        let mut texts = 0usize;
        let mut len = 0usize;
        s.mentions
            .reserve_exact(chunks.iter().map(|c| c.mentions.len()).sum());
        for (k, chunk) in chunks.into_iter().enumerate() {
            let at = (cut(k as i64) - ids.start) as usize;
            s.close_up(at, len, &chunk);
            let base = len as u32;
            targets.extend(chunk.targets.iter().map(|&(slot, id)| (slot + base, id)));
            s.mentions
                .extend(chunk.mentions.iter().map(|&(slot, i)| (slot + base, i)));
            s.pending_mentions.extend(
                chunk
                    .pending_mentions
                    .iter()
                    .map(|&(slot, k, source, hash)| (slot + base, k, source, hash)),
            );
            len += chunk.len;
            for &post in &chunk.posts {
                let slot = post + base;
                s.offer_opening_post(s.thread[slot as usize], slot);
            }
            deferred.extend(chunk.deferred);
            deferred_texts.extend(chunk.deferred_texts);
            texts += chunk.texts;
        }
        s.truncate_activities(len);
        for (slot, target) in targets {
            match s.slot_of(target) {
                Some(t) => s.reply_to[slot as usize] = t,
                None => s.pending_replies.push((slot, target)),
            }
        }
        for fact in &deferred {
            s.upsert_activity(fact, &mut stats)?;
        }
        // Text columns stay empty until a first score arrives (as a refresh grows them).
        if texts == 0 {
            s.text_flags = Vec::new();
            s.text_sentiment = Vec::new();
            s.text_intents = Vec::new();
        }
        // Scores of activities that were not in their region: as the change stream applies
        // them (one of an activity the snapshot does not hold is moot).
        for fact in &deferred_texts {
            if let Some(slot) = s.slot_of(fact.activity.0) {
                texts += 1;
                s.set_text(slot as usize, fact);
            }
        }
        if texts > 0 {
            s.any_text = s
                .text_flags
                .iter()
                .zip(&s.flags)
                .any(|(&t, &f)| t & T_PRESENT != 0 && f & REMOVED == 0);
        }
        s.watermark = mark.0.min(entities_mark.0);
        s.read_affiliations(store)?;
        s.refresh(store)?;
        Ok(s)
    }

    /// Moves a chunk's rows, written from slot `at`, down to slot `to` (`to <= at`); its
    /// reply targets within the chunk become slots from `to`.
    fn close_up(&mut self, at: usize, to: usize, chunk: &Chunk) {
        let rows = at..at + chunk.len;
        if to != at {
            self.ids.copy_within(rows.clone(), to);
            self.ts.copy_within(rows.clone(), to);
            self.kind.copy_within(rows.clone(), to);
            self.flags.copy_within(rows.clone(), to);
            self.identity.copy_within(rows.clone(), to);
            self.thread.copy_within(rows.clone(), to);
            self.channel.copy_within(rows.clone(), to);
            self.source.copy_within(rows.clone(), to);
            self.reply_to.copy_within(rows.clone(), to);
            self.text_flags.copy_within(rows.clone(), to);
            self.text_sentiment.copy_within(rows.clone(), to);
            self.text_intents.copy_within(rows.clone(), to);
        }
        if to != 0 {
            for r in &mut self.reply_to[to..to + chunk.len] {
                if *r != NONE {
                    *r += to as u32;
                }
            }
        }
    }

    /// Keeps the first `n` activities of every column, giving back room beyond a quarter (a
    /// build leaves an eighth: `Owned::zeroed`).
    fn truncate_activities(&mut self, n: usize) {
        self.ids.truncate(n);
        self.ts.truncate(n);
        self.kind.truncate(n);
        self.flags.truncate(n);
        self.identity.truncate(n);
        self.thread.truncate(n);
        self.channel.truncate(n);
        self.source.truncate(n);
        self.reply_to.truncate(n);
        // Text columns are never longer than the others (they may be shorter, or empty).
        self.text_flags.truncate(n);
        self.text_sentiment.truncate(n);
        self.text_intents.truncate(n);
        if self.ts.capacity() > n + n / 4 + 4096 {
            self.shrink_activities();
        }
    }

    /// Room for `n` more activities in every column, exactly: columns grow by an eighth at a
    /// time (not doubled), so that a refresh of a large snapshot adds little memory.
    fn reserve_activities(&mut self, n: usize) {
        self.ids.reserve_exact(n);
        self.ts.reserve_exact(n);
        self.kind.reserve_exact(n);
        self.flags.reserve_exact(n);
        self.identity.reserve_exact(n);
        self.thread.reserve_exact(n);
        self.channel.reserve_exact(n);
        self.source.reserve_exact(n);
        self.reply_to.reserve_exact(n);
    }

    /// Gives back the columns' unused room beyond an eighth.
    fn shrink_activities(&mut self) {
        let n = self.ts.len() + self.ts.len() / 64;
        self.ids.shrink_to(n);
        self.ts.shrink_to(n);
        self.kind.shrink_to(n);
        self.flags.shrink_to(n);
        self.identity.shrink_to(n);
        self.thread.shrink_to(n);
        self.channel.shrink_to(n);
        self.source.shrink_to(n);
        self.reply_to.shrink_to(n);
        self.text_flags.shrink_to(n);
        self.text_sentiment.shrink_to(n);
        self.text_intents.shrink_to(n);
    }

    /// Applies every change since the last read (edits, deletions, merges, removals) and moves
    /// the watermark. Costs time in the number of changes, not in the size of the log (except
    /// for recomputing opening posts when a post was edited, deleted or removed, and every
    /// slot's member after a merge, an unmerge or an identity's removal: one pass on every
    /// core).
    pub fn refresh(&mut self, store: &dyn Store) -> Result<RefreshStats, AnalyticsError> {
        let applied = self.apply_changes(store);
        // Also after a failed read: the changes applied before it are in the columns.
        self.update_members();
        if std::mem::take(&mut self.level_events_stale)
            || self.level_event_start.len() != self.members() + 1
        {
            self.index_level_events();
        }
        if std::mem::take(&mut self.default_scope_stale) || !self.default_scope.is_prefix(self) {
            self.default_scope = DefaultScope::default();
        }
        if !self.default_scope.fits(self.slots(), self.members()) {
            let mut d = std::mem::take(&mut self.default_scope);
            d.extend(self);
            self.default_scope = d;
        }
        applied
    }

    fn apply_changes(&mut self, store: &dyn Store) -> Result<RefreshStats, AnalyticsError> {
        let first_read = self.watermark == 0;
        let since = Watermark(self.watermark);
        let (watermark, stats) = self.read_pipelined(|sink| store.read_changes(since, sink))?;
        self.watermark = watermark.0;
        if first_read || stats.members_changed > 0 {
            self.read_affiliations(store)?;
        }
        if stats.texts_changed > 0 || stats.activities_removed > 0 {
            self.any_text = self
                .text_flags
                .iter()
                .zip(&self.flags)
                .any(|(&t, &f)| t & T_PRESENT != 0 && f & REMOVED == 0);
        }
        self.resolve_pending_replies();
        self.apply_mention_updates();
        self.resolve_pending_mentions();
        if self.threads_dirty {
            self.recompute_opening_posts();
        }
        Ok(stats)
    }

    /// Reads the change stream on this thread and applies it on a second one: decoding rows is
    /// the store's work and applying them the snapshot's, and on a cold build of millions of
    /// activities each is about half of the time, so two cores nearly halve it. Changes travel
    /// in batches (emptied batches come back for reuse), in order.
    fn read_pipelined(
        &mut self,
        read: impl FnOnce(
            &mut dyn FnMut(Change) -> Result<(), StoreError>,
        ) -> Result<Watermark, StoreError>,
    ) -> Result<(Watermark, RefreshStats), AnalyticsError> {
        use std::sync::mpsc;
        const BATCH: usize = 4096;
        let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Change>>(8);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<Change>>();
        let this = &mut *self;
        std::thread::scope(|scope| {
            let applier = scope.spawn(move || -> Result<RefreshStats, AnalyticsError> {
                let mut stats = RefreshStats::default();
                for mut batch in full_rx {
                    for change in batch.drain(..) {
                        stats.changes += 1;
                        this.apply(change, &mut stats)?;
                    }
                    // The reader may have finished: then the batch is simply dropped.
                    let _ = empty_tx.send(batch);
                }
                Ok(stats)
            });
            let mut batch: Vec<Change> = Vec::with_capacity(BATCH);
            let sent = |batch: &mut Vec<Change>| -> Result<(), StoreError> {
                let next = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                full_tx
                    .send(std::mem::replace(batch, next))
                    // The applier stopped on an error; it is reported below.
                    .map_err(|_| {
                        StoreError::Invalid("the snapshot stopped applying changes".into())
                    })
            };
            let read = read(&mut |change| {
                batch.push(change);
                if batch.len() == BATCH {
                    sent(&mut batch)?;
                }
                Ok(())
            });
            let flushed = if batch.is_empty() {
                Ok(())
            } else {
                sent(&mut batch)
            };
            drop(full_tx);
            let applied = applier
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // An apply error explains a read that stopped; report it first.
            let stats = applied?;
            flushed?;
            Ok((read?, stats))
        })
    }

    pub fn watermark(&self) -> Watermark {
        Watermark(self.watermark)
    }

    /// Activity slots (removed ones included).
    pub fn slots(&self) -> usize {
        self.ts.len()
    }

    /// Live activities (neither deleted nor removed).
    pub fn live_activities(&self) -> usize {
        self.flags.iter().filter(|&&f| f == 0).count()
    }

    pub fn members(&self) -> usize {
        self.member_flags.len()
    }

    pub fn threads(&self) -> usize {
        self.thread_op.len()
    }

    /// Until when member `m`'s activity counts in a report (up to `as_of`; for a team member
    /// with team activity left out, until before they joined the team), or `None` if none of
    /// it does (a removed member, or a bot with bots left out). Without source or channel
    /// filters, what counts of `m`'s level events is the prefix up to this instant.
    #[inline]
    pub(crate) fn counted_until(
        &self,
        m: usize,
        as_of: i64,
        include_bots: bool,
        include_team: bool,
    ) -> Option<i64> {
        let flags = self.member_flags[m];
        if flags & M_REMOVED != 0 || (flags & M_BOT != 0 && !include_bots) {
            return None;
        }
        if flags & M_TEAM != 0 && !include_team {
            return Some(as_of.min(self.team_since[m].saturating_sub(1)));
        }
        Some(as_of)
    }

    /// The dense member of an activity slot (`NONE` if its identity is unknown).
    #[inline]
    pub fn member_of(&self, slot: usize) -> u32 {
        self.member[slot]
    }

    /// Rebuilds `level_events`: counted per member over the slots (a run per core), placed
    /// by each run into the places its counts reserve (disjoint), then each member's list put
    /// in order (most already are: slots come mostly in time order).
    fn index_level_events(&mut self) {
        // The old index goes first: a refresh holds one at a time.
        self.level_events = Vec::new();
        self.level_event_start = Vec::new();
        let n = self.slots();
        let members = self.members();
        let event_member = |slot: usize| -> Option<usize> {
            let m = self.member[slot];
            let k = self.kind[slot];
            (self.flags[slot] == 0
                && m != NONE
                && (crate::scope::is_participation(k) || crate::scope::is_presence(k)))
            .then_some(m as usize)
        };
        let cores = crate::par::cores();
        let per = n.div_ceil(cores).max(1);
        let parts: Vec<std::ops::Range<usize>> = (0..cores)
            .map(|i| (i * per).min(n)..((i + 1) * per).min(n))
            .collect();
        let counts: Vec<Vec<u32>> = std::thread::scope(|ts| {
            let handles: Vec<_> = parts
                .iter()
                .map(|r| {
                    let r = r.clone();
                    ts.spawn(move || {
                        let mut c = vec![0u32; members];
                        for slot in r {
                            if let Some(m) = event_member(slot) {
                                c[m] += 1;
                            }
                        }
                        c
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let mut start = vec![0u32; members + 1];
        let mut fills: Vec<Vec<u32>> = vec![Vec::with_capacity(members); counts.len()];
        let mut total = 0u32;
        for m in 0..members {
            start[m] = total;
            for (fill, c) in fills.iter_mut().zip(&counts) {
                fill.push(total);
                total += c[m];
            }
        }
        start[members] = total;
        drop(counts);
        let mut events = vec![0i64; total as usize];
        {
            let cells = crate::scope::atomic_cells(&mut events);
            let this = &*self;
            std::thread::scope(|ts| {
                for (r, mut fill) in parts.iter().cloned().zip(fills) {
                    ts.spawn(move || {
                        for slot in r {
                            if let Some(m) = event_member(slot) {
                                let class = crate::levels::fast_class(this, slot, m as u32);
                                let key = this.ts[slot].saturating_mul(16) | i64::from(class);
                                cells[fill[m] as usize]
                                    .store(key, std::sync::atomic::Ordering::Relaxed);
                                fill[m] += 1;
                            }
                        }
                    });
                }
            });
        }
        let per_run = members.div_ceil(cores).max(1);
        std::thread::scope(|ts| {
            let mut rest = &mut events[..];
            let mut done = 0usize;
            for lo in (0..members).step_by(per_run) {
                let hi = (lo + per_run).min(members);
                let end = start[hi] as usize;
                let (run, next) = std::mem::take(&mut rest).split_at_mut(end - done);
                rest = next;
                let (starts, base) = (&start[lo..=hi], done);
                ts.spawn(move || {
                    for w in starts.windows(2) {
                        let list = &mut run[w[0] as usize - base..w[1] as usize - base];
                        if !list.is_sorted() {
                            list.sort_unstable();
                        }
                    }
                });
                done = end;
            }
        });
        self.level_events = events;
        self.level_event_start = start;
    }

    /// The member of a slot from its identity: what the `member` column holds once a
    /// refresh has brought it up to date.
    fn member_by_identity(&self, slot: usize) -> u32 {
        self.identity_member_of(self.identity[slot])
    }

    /// Brings the `member` column up to date: every slot when an identity known before
    /// this refresh changed member, else the slots added and those whose identity changed.
    fn update_members(&mut self) {
        let n = self.identity.len();
        let from = if std::mem::take(&mut self.members_remapped) {
            0
        } else {
            self.member.len().min(n)
        };
        self.member.truncate(from);
        if self.member.capacity() < n {
            // Grown as the other columns grow: exactly at a build, by an eighth after.
            let more = (n - from).max(n / 8 + 4096);
            self.member.reserve_exact(more);
        }
        if n - from > 1 << 16 {
            let parts = crate::par::runs(n - from, 1 << 16, |run| {
                run.map(|i| self.member_by_identity(from + i))
                    .collect::<Vec<u32>>()
            });
            for part in parts {
                self.member.extend_from_slice(&part);
            }
        } else {
            for slot in from..n {
                let m = self.member_by_identity(slot);
                self.member.push(m);
            }
        }
        for slot in std::mem::take(&mut self.member_touched) {
            let slot = slot as usize;
            if slot < from {
                self.member[slot] = self.member_by_identity(slot);
            }
        }
        self.identities_before = self.identity_member.len();
    }

    /// The slot of a store activity id.
    pub fn slot_of(&self, id: i64) -> Option<u32> {
        match &self.unordered_ids {
            Some(map) => map.get(&id).copied(),
            None => position_of(&self.ids, id),
        }
    }

    /// The store id of a dense thread.
    pub fn thread_store_id(&self, thread: u32) -> i64 {
        self.thread_store_id
            .get(thread as usize)
            .copied()
            .unwrap_or(0)
    }

    /// The member store id of a dense member.
    pub fn member_store_id(&self, member: u32) -> Option<i64> {
        self.member_store_id.get(member as usize).copied()
    }

    /// Every (slot, dense identity) addressed by an activity (`to`: reply targets and
    /// mentions), sorted by slot; the identity is `NONE` while unknown.
    pub fn mentions(&self) -> &[(u32, u32)] {
        &self.mentions
    }

    /// The dense member of a dense identity (`NONE` if unknown or removed).
    #[inline]
    pub fn identity_member_of(&self, identity: u32) -> u32 {
        if identity == NONE {
            NONE
        } else {
            self.identity_member
                .get(identity as usize)
                .copied()
                .unwrap_or(NONE)
        }
    }

    /// Sources by dense index.
    pub fn sources(&self) -> &[SourceEntry] {
        &self.sources
    }

    pub fn channels(&self) -> &[ChannelEntry] {
        &self.channels
    }

    /// Earliest and latest live activity time.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let mut range: Option<(i64, i64)> = None;
        for (i, &t) in self.ts.iter().enumerate() {
            if self.flags[i] == 0 {
                range = Some(match range {
                    None => (t, t),
                    Some((a, b)) => (a.min(t), b.max(t)),
                });
            }
        }
        range
    }

    /// Organisation names by dense id.
    pub fn organisations(&self) -> &[String] {
        &self.organisations
    }

    /// Every affiliation, ordered by member.
    pub fn affiliations(&self) -> &[AffiliationEntry] {
        &self.affiliations
    }

    /// Re-reads the (small) affiliations table. Adding an affiliation bumps its member's change
    /// sequence and removing a member removes its affiliations, so a refresh that saw no member
    /// change has nothing to re-read.
    fn read_affiliations(&mut self, store: &dyn Store) -> Result<(), AnalyticsError> {
        let rows = store.affiliations()?;
        self.affiliations.clear();
        let mut names: HashMap<String, u32> = self
            .organisations
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        for (member, a) in rows {
            let Some(m) = self.member_ids.get(member.0) else {
                continue;
            };
            let next = names.len() as u32;
            let organisation = *names.entry(a.organisation.clone()).or_insert(next);
            if organisation == next {
                self.organisations.push(a.organisation);
            }
            self.affiliations.push(AffiliationEntry {
                member: m,
                organisation,
                since: a.since.unwrap_or(i64::MIN),
                until: a.until.unwrap_or(i64::MAX),
                dated: a.since.is_some(),
            });
        }
        // Stable: within a member, the store's order stays (ties are broken by it).
        self.affiliations.sort_by_key(|a| a.member);
        Ok(())
    }

    /// Heap bytes held, by capacity (what the allocator gave, not what is used). A build's
    /// activity columns hold room for an eighth more rows, counted here though the OS maps
    /// none of it until a refresh writes there.
    pub fn memory(&self) -> MemoryUse {
        fn v<T>(x: &Vec<T>) -> usize {
            x.capacity() * std::mem::size_of::<T>()
        }
        let activities = v(&self.ids)
            + v(&self.ts)
            + v(&self.kind)
            + v(&self.flags)
            + v(&self.identity)
            + v(&self.thread)
            + v(&self.channel)
            + v(&self.source)
            + v(&self.reply_to)
            + self.unordered_ids.as_ref().map_or(0, hash_bytes)
            + v(&self.pending_replies)
            + v(&self.mentions)
            + v(&self.pending_mentions)
            + v(&self.text_flags)
            + v(&self.text_sentiment)
            + v(&self.text_intents);
        let threads = self.thread_ids.bytes()
            + v(&self.thread_op)
            + v(&self.thread_store_id)
            + self
                .topic_names
                .iter()
                .map(|n| 2 * (n.capacity() + std::mem::size_of::<String>()) + 8)
                .sum::<usize>()
            + self
                .topic_sets
                .iter()
                .map(|t| 2 * (v(t) + std::mem::size_of::<Vec<u32>>()) + 8)
                .sum::<usize>()
            + v(&self.thread_topic_set);
        let members = self.member_ids.bytes()
            + v(&self.member_store_id)
            + v(&self.member_flags)
            + v(&self.team_since)
            + self.identity_ids.bytes()
            + v(&self.identity_member)
            + v(&self.member)
            + v(&self.level_events)
            + v(&self.level_event_start)
            + self.default_scope.bytes()
            + v(&self.affiliations)
            + self
                .organisations
                .iter()
                .map(|o| o.capacity() + 24)
                .sum::<usize>()
            + hash_bytes(&self.identity_by_ext);
        let places = self.source_ids.bytes()
            + self.channel_ids.bytes()
            + self
                .channels
                .iter()
                .map(|c| c.ext_id.capacity() + std::mem::size_of::<ChannelEntry>())
                .sum::<usize>()
            + self
                .sources
                .iter()
                .map(|s| s.name.capacity() + std::mem::size_of::<SourceEntry>())
                .sum::<usize>();
        MemoryUse {
            activities,
            threads,
            members,
            places,
        }
    }

    fn apply(&mut self, change: Change, stats: &mut RefreshStats) -> Result<(), AnalyticsError> {
        // Text scores and members' flags do not change level events (flags are read when a
        // report is computed); anything else may.
        if !matches!(change, Change::Text(_) | Change::Member(_)) {
            self.level_events_stale = true;
        }
        // What counts by default changes with members' flags (team, bot, removed), activities
        // updated or removed and identities pointed elsewhere (these three are marked where
        // they are applied), and with anything removed; not with new activities, members and
        // identities, threads, channels, sources or text scores.
        if !matches!(
            change,
            Change::Text(_)
                | Change::Activity(_)
                | Change::Member(_)
                | Change::Identity(_)
                | Change::Thread(_)
                | Change::Channel(_)
                | Change::Source(_)
        ) {
            self.default_scope_stale = true;
        }
        match change {
            Change::SourceRemoved(id) => {
                if let Some(s) = self.source_ids.get(id.0) {
                    self.sources[s as usize].removed = true;
                }
            }
            Change::ChannelRemoved(id) => {
                if let Some(c) = self.channel_ids.get(id.0) {
                    self.channels[c as usize].removed = true;
                }
            }
            Change::ThreadRemoved(_) => {
                // Its activities are removed with it; the opening posts are recomputed.
                self.threads_dirty = true;
            }
            Change::MemberRemoved(id) => {
                if let Some(m) = self.member_ids.get(id.0) {
                    self.member_flags[m as usize] |= M_REMOVED;
                }
            }
            Change::Source(_)
            | Change::Channel(_)
            | Change::Thread(_)
            | Change::Member(_)
            | Change::Identity(_) => {
                if let Some(key) = EntityKey::of(&change) {
                    self.apply_entity(key, stats)?;
                }
            }
            Change::IdentityRemoved(id) => {
                if let Some(i) = self.identity_ids.get(id.0) {
                    self.set_identity_member(i, NONE);
                }
            }
            Change::Activity(fact) => self.upsert_activity(&fact, stats)?,
            Change::Text(fact) => {
                // A score of an activity this snapshot never saw (removed meanwhile) is moot.
                if let Some(slot) = self.slot_of(fact.activity.0) {
                    stats.texts_changed += 1;
                    self.set_text(slot as usize, &fact);
                }
            }
            Change::ActivityRemoved(id) => {
                if let Some(slot) = self.slot_of(id.0) {
                    let slot = slot as usize;
                    if self.flags[slot] & REMOVED == 0 {
                        stats.activities_removed += 1;
                        if self.kind[slot] == Kind::Post.code() {
                            self.threads_dirty = true;
                        }
                    }
                    self.flags[slot] |= REMOVED;
                }
            }
        }
        Ok(())
    }

    /// A source, channel, thread, member or identity, new or changed.
    fn apply_entity(
        &mut self,
        key: EntityKey<'_>,
        stats: &mut RefreshStats,
    ) -> Result<(), AnalyticsError> {
        match key {
            EntityKey::Source { id, name } => {
                let s = self.source_slot(id.0)?;
                let e = &mut self.sources[s as usize];
                name.clone_into(&mut e.name);
                e.removed = false;
            }
            EntityKey::Channel { id, source, ext_id } => {
                let source = self.source_slot(source.0)?;
                let c = self.channel_slot(id.0);
                let e = &mut self.channels[c as usize];
                e.source = source;
                ext_id.clone_into(&mut e.ext_id);
                e.removed = false;
            }
            EntityKey::Thread { id, topics } => {
                let t = self.thread_slot(id.0);
                self.set_topics(t, topics);
            }
            EntityKey::Member {
                id,
                team,
                team_since,
                bot,
                anonymous,
            } => {
                stats.members_changed += 1;
                let known = self.member_flags.len();
                let m = self.member_slot(id.0) as usize;
                let before = (m < known).then(|| (self.member_flags[m], self.team_since[m]));
                let mut flags = 0;
                if team {
                    flags |= M_TEAM;
                }
                if bot {
                    flags |= M_BOT;
                }
                if anonymous {
                    flags |= M_ANONYMOUS;
                }
                self.member_flags[m] = flags;
                self.team_since[m] = if team {
                    team_since.unwrap_or(i64::MIN)
                } else {
                    i64::MAX
                };
                if before.is_some_and(|b| b != (self.member_flags[m], self.team_since[m])) {
                    self.default_scope_stale = true;
                }
            }
            EntityKey::Identity {
                id,
                member,
                source,
                ext_id,
            } => {
                stats.identities_changed += 1;
                let i = self.identity_slot(id.0);
                // A merge or unmerge is exactly this: the identity points at another member.
                let m = self.member_slot(member.0);
                self.set_identity_member(i, m);
                let source = self.source_slot(source.0)?;
                self.identity_by_ext.insert((source, ext_hash(ext_id)), i);
            }
        }
        Ok(())
    }

    fn upsert_activity(
        &mut self,
        fact: &ActivityFact,
        stats: &mut RefreshStats,
    ) -> Result<(), AnalyticsError> {
        let source = self.source_slot(fact.source.0)?;
        let identity = self.identity_slot(fact.identity.0);
        let channel = fact.channel.map_or(NONE, |c| self.channel_slot(c.0));
        let thread = fact.thread.map_or(NONE, |t| self.thread_slot(t.0));
        let reply_to = match fact.reply_to {
            None => NONE,
            Some(target) => match self.slot_of(target.0) {
                Some(slot) => slot,
                None => NONE,
            },
        };
        let flags = if fact.deleted { DELETED } else { 0 };
        let kind = fact.kind.code();
        let is_post = fact.kind == Kind::Post;

        // New ids arrive above every id seen so far (no search then).
        let existing =
            if self.unordered_ids.is_none() && self.ids.last().is_none_or(|&l| l < fact.id.0) {
                None
            } else {
                self.slot_of(fact.id.0)
            };
        let slot = match existing {
            Some(slot) => {
                let s = slot as usize;
                stats.activities_updated += 1;
                self.default_scope_stale = true;
                // An edited or deleted post may change which post opens its thread.
                if self.kind[s] == Kind::Post.code() || is_post {
                    self.threads_dirty = true;
                }
                self.ts[s] = fact.ts;
                self.kind[s] = kind;
                self.flags[s] = flags;
                if self.identity[s] != identity && s < self.member.len() {
                    self.member_touched.push(slot);
                }
                self.identity[s] = identity;
                self.thread[s] = thread;
                self.channel[s] = channel;
                self.source[s] = source;
                self.reply_to[s] = reply_to;
                slot
            }
            None => {
                stats.activities_added += 1;
                if self.ts.len() == self.ts.capacity() {
                    self.reserve_activities(self.ts.len() / 8 + 4096);
                }
                let slot = self.ts.len() as u32;
                if self.unordered_ids.is_none()
                    && self.ids.last().is_some_and(|&last| fact.id.0 < last)
                {
                    let map = self
                        .ids
                        .iter()
                        .enumerate()
                        .map(|(s, &id)| (id, s as u32))
                        .collect();
                    self.unordered_ids = Some(map);
                }
                if let Some(map) = &mut self.unordered_ids {
                    map.insert(fact.id.0, slot);
                }
                self.ids.push(fact.id.0);
                self.ts.push(fact.ts);
                self.kind.push(kind);
                self.flags.push(flags);
                self.identity.push(identity);
                self.thread.push(thread);
                self.channel.push(channel);
                self.source.push(source);
                self.reply_to.push(reply_to);
                if is_post && !fact.deleted && thread != NONE {
                    self.offer_opening_post(thread, slot);
                }
                slot
            }
        };
        if let Some(target) = fact.reply_to
            && reply_to == NONE
        {
            self.pending_replies.push((slot, target.0));
        }
        let keys: Vec<(u16, u64)> = fact.to.iter().map(|t| (source, ext_hash(t))).collect();
        if existing.is_some() {
            if !keys.is_empty() || self.has_mentions(slot) {
                self.mention_updates.push((slot, keys));
            }
        } else {
            for (k, key) in keys.into_iter().enumerate() {
                self.push_mention(slot, k as u32, key);
            }
        }
        Ok(())
    }

    fn push_mention(&mut self, slot: u32, position: u32, key: (u16, u64)) {
        let identity = self.identity_by_ext.get(&key).copied().unwrap_or(NONE);
        if identity == NONE {
            self.pending_mentions.push((slot, position, key.0, key.1));
        }
        self.mentions.push((slot, identity));
    }

    /// The range of `mentions` holding the slot's addressees.
    fn mention_range(&self, slot: u32) -> std::ops::Range<usize> {
        let a = self.mentions.partition_point(|m| m.0 < slot);
        let b = a + self.mentions[a..].partition_point(|m| m.0 == slot);
        a..b
    }

    fn has_mentions(&self, slot: u32) -> bool {
        !self.mention_range(slot).is_empty()
    }

    /// Replaces the addressees of activities updated in this refresh. Most updates (an edit
    /// of the text, a deletion) leave them as they were: then nothing moves.
    fn apply_mention_updates(&mut self) {
        if self.mention_updates.is_empty() {
            return;
        }
        let mut updates = std::mem::take(&mut self.mention_updates);
        // The latest update of a slot wins.
        updates.reverse();
        updates.sort_by_key(|u| u.0);
        updates.dedup_by_key(|u| u.0);
        let unchanged = |snap: &Snapshot, slot: u32, keys: &[(u16, u64)]| {
            let range = snap.mention_range(slot);
            range.len() == keys.len()
                && range.clone().zip(keys).all(|(i, key)| {
                    let now = snap.identity_by_ext.get(key).copied().unwrap_or(NONE);
                    now != NONE && snap.mentions[i].1 == now
                })
        };
        updates.retain(|(slot, keys)| !unchanged(self, *slot, keys));
        if updates.is_empty() {
            return;
        }
        let changed: std::collections::HashSet<u32> = updates.iter().map(|u| u.0).collect();
        self.mentions.retain(|m| !changed.contains(&m.0));
        self.pending_mentions.retain(|p| !changed.contains(&p.0));
        let kept = std::mem::take(&mut self.mentions);
        let mut merged = Vec::with_capacity(kept.len() + updates.len());
        let mut i = 0;
        for (slot, keys) in updates {
            while i < kept.len() && kept[i].0 < slot {
                merged.push(kept[i]);
                i += 1;
            }
            for (k, key) in keys.into_iter().enumerate() {
                let identity = self.identity_by_ext.get(&key).copied().unwrap_or(NONE);
                if identity == NONE {
                    self.pending_mentions.push((slot, k as u32, key.0, key.1));
                }
                merged.push((slot, identity));
            }
        }
        merged.extend_from_slice(&kept[i..]);
        self.mentions = merged;
    }

    /// Resolves addressees whose identity has arrived since.
    fn resolve_pending_mentions(&mut self) {
        if self.pending_mentions.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_mentions);
        for (slot, position, source, hash) in pending {
            match self.identity_by_ext.get(&(source, hash)).copied() {
                Some(identity) => {
                    let at = self.mention_range(slot).start + position as usize;
                    if let Some(m) = self.mentions.get_mut(at) {
                        m.1 = identity;
                    }
                }
                None => self.pending_mentions.push((slot, position, source, hash)),
            }
        }
    }

    fn set_text(&mut self, slot: usize, fact: &kith_store::TextFact) {
        if self.text_flags.len() <= slot {
            let n = self.ts.len().max(slot + 1);
            self.text_flags.resize(n, 0);
            self.text_sentiment.resize(n, 0);
            self.text_intents.resize(n, 0);
        }
        (
            self.text_flags[slot],
            self.text_sentiment[slot],
            self.text_intents[slot],
        ) = text_cells(fact);
    }

    /// The text flags of a slot (`T_*`; 0 when it has no score).
    #[inline]
    pub fn text_flags(&self, slot: usize) -> u8 {
        self.text_flags.get(slot).copied().unwrap_or(0)
    }

    /// The stored sentiment of a slot, in ten-thousandths (0 without a score).
    #[inline]
    pub fn text_sentiment(&self, slot: usize) -> i16 {
        self.text_sentiment.get(slot).copied().unwrap_or(0)
    }

    /// The intent bit set of a slot (0 without a score).
    #[inline]
    pub fn text_intents(&self, slot: usize) -> u16 {
        self.text_intents.get(slot).copied().unwrap_or(0)
    }

    /// Whether any activity still in the database has a stored text score (the scoring pass
    /// has run). Scores of removed activities are removed with them.
    pub fn has_text_scores(&self) -> bool {
        self.any_text
    }

    /// Keeps the earlier of the thread's current opening post and `slot`.
    fn offer_opening_post(&mut self, thread: u32, slot: u32) {
        let t = thread as usize;
        let current = self.thread_op[t];
        if current == NONE
            || (self.ts[slot as usize], self.ids_of(slot))
                < (self.ts[current as usize], self.ids_of(current))
        {
            self.thread_op[t] = slot;
        }
    }

    /// The store id of a slot.
    #[inline]
    pub(crate) fn ids_of(&self, slot: u32) -> i64 {
        self.ids[slot as usize]
    }

    fn recompute_opening_posts(&mut self) {
        self.thread_op.iter_mut().for_each(|op| *op = NONE);
        let post = Kind::Post.code();
        for slot in 0..self.ts.len() {
            if self.kind[slot] == post && self.flags[slot] == 0 && self.thread[slot] != NONE {
                self.offer_opening_post(self.thread[slot], slot as u32);
            }
        }
        self.threads_dirty = false;
    }

    fn resolve_pending_replies(&mut self) {
        if self.pending_replies.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_replies);
        for (slot, target) in pending {
            match self.slot_of(target) {
                Some(t) => self.reply_to[slot as usize] = t,
                None => self.pending_replies.push((slot, target)),
            }
        }
    }

    fn source_slot(&mut self, id: i64) -> Result<u16, AnalyticsError> {
        let (s, new) = self.source_ids.get_or_insert(id, self.sources.len());
        if new {
            if s > u32::from(u16::MAX - 1) {
                return Err(AnalyticsError::TooManySources);
            }
            self.sources.push(SourceEntry {
                store_id: id,
                name: String::new(),
                removed: false,
            });
        }
        Ok(s as u16)
    }

    fn channel_slot(&mut self, id: i64) -> u32 {
        let (c, new) = self.channel_ids.get_or_insert(id, self.channels.len());
        if new {
            self.channels.push(ChannelEntry {
                store_id: id,
                source: 0,
                ext_id: String::new(),
                removed: false,
            });
        }
        c
    }

    fn thread_slot(&mut self, id: i64) -> u32 {
        let (t, new) = self.thread_ids.get_or_insert(id, self.thread_op.len());
        if new {
            self.thread_op.push(NONE);
            self.thread_store_id.push(id);
        }
        t
    }

    /// Thread `t`'s topics, one per line (as `kith_store::ThreadRow::topics`).
    fn set_topics(&mut self, t: u32, topics: &str) {
        let t = t as usize;
        if topics.is_empty() {
            if let Some(set) = self.thread_topic_set.get_mut(t) {
                *set = NONE;
            }
            return;
        }
        let ids: Vec<u32> = topics
            .split('\n')
            .map(|name| match self.topic_ids.get(name) {
                Some(&id) => id,
                None => {
                    let id = self.topic_names.len() as u32;
                    self.topic_names.push(name.to_owned());
                    self.topic_ids.insert(name.to_owned(), id);
                    id
                }
            })
            .collect();
        let set = match self.topic_set_ids.get(&ids) {
            Some(&set) => set,
            None => {
                let set = self.topic_sets.len() as u32;
                self.topic_sets.push(ids.clone());
                self.topic_set_ids.insert(ids, set);
                set
            }
        };
        if self.thread_topic_set.len() <= t {
            self.thread_topic_set.resize(t + 1, NONE);
        }
        self.thread_topic_set[t] = set;
    }

    /// Some thread has (or had) topics.
    pub(crate) fn has_topics(&self) -> bool {
        !self.topic_sets.is_empty()
    }

    /// The topic set of thread `t` (an index into `topic_sets`; `NONE`: no topics).
    #[inline]
    pub(crate) fn topic_set_of(&self, t: u32) -> u32 {
        self.thread_topic_set
            .get(t as usize)
            .copied()
            .unwrap_or(NONE)
    }

    fn member_slot(&mut self, id: i64) -> u32 {
        let (m, new) = self.member_ids.get_or_insert(id, self.member_flags.len());
        if new {
            self.member_store_id.push(id);
            self.member_flags.push(0);
            self.team_since.push(i64::MAX);
        }
        m
    }

    /// Points identity `i` at member `m`; if the identity was known before this refresh and
    /// its member changes, the slots' members are all redone at the end of the refresh.
    fn set_identity_member(&mut self, i: u32, m: u32) {
        let cell = &mut self.identity_member[i as usize];
        if *cell != m {
            *cell = m;
            if (i as usize) < self.identities_before {
                self.members_remapped = true;
                self.default_scope_stale = true;
            }
        }
    }

    fn identity_slot(&mut self, id: i64) -> u32 {
        let (i, new) = self
            .identity_ids
            .get_or_insert(id, self.identity_member.len());
        if new {
            self.identity_member.push(NONE);
        }
        i
    }
}

/// The hash of a platform user id, for [`Snapshot::identity_by_ext`].
/// The position of `id` in ascending store ids. Store ids are nearly dense: the position is
/// usually at `id - first id`, or a little below it (gaps from removed rows); look there
/// before searching.
fn position_of(ids: &[i64], id: i64) -> Option<u32> {
    let first = *ids.first()?;
    let guess = usize::try_from(id.checked_sub(first)?).ok()?;
    // Without gaps the guess is the place (most replies at a cold build: no search at all).
    if ids.get(guess) == Some(&id) {
        return Some(guess as u32);
    }
    let end = guess.saturating_add(1).min(ids.len());
    let start = end.saturating_sub(64);
    let window = &ids[start..end];
    if window.first().is_some_and(|&x| x <= id) {
        let pos = start + window.partition_point(|&x| x < id);
        return (ids.get(pos) == Some(&id)).then_some(pos as u32);
    }
    let pos = ids[..start].partition_point(|&x| x < id);
    (ids.get(pos) == Some(&id)).then_some(pos as u32)
}

/// Id ranges per core of a first build. One per core left a core idle for up to a second at
/// 10 M activities (the reader whose range shared its core with the entities' reader, or held
/// more text scores, ended last); more ranges cost a little more moving of rows when the
/// ranges are closed up.
const RANGES_PER_CORE: i64 = 4;

/// The activity columns of a build, before they become the snapshot's.
struct Owned {
    ids: Vec<i64>,
    ts: Vec<i64>,
    kind: Vec<u8>,
    flags: Vec<u8>,
    identity: Vec<u32>,
    thread: Vec<u32>,
    channel: Vec<u32>,
    source: Vec<u16>,
    reply_to: Vec<u32>,
    text_flags: Vec<u8>,
    text_sentiment: Vec<i16>,
    text_intents: Vec<u16>,
}

impl Owned {
    /// `n` zeroed rows per column, with room for the growth a refresh adds (an eighth, as
    /// `Snapshot::reserve_activities` grows): zeroed memory from the OS is only mapped where
    /// it is written, so the room costs no resident memory, and the first refresh after a build
    /// appends in place instead of copying every column.
    fn zeroed(n: usize) -> Owned {
        fn column<T: Copy + Default>(n: usize) -> Vec<T> {
            let mut v = vec![T::default(); n + n / 8 + 4096];
            v.truncate(n);
            v
        }
        Owned {
            ids: column(n),
            ts: column(n),
            kind: column(n),
            flags: column(n),
            identity: column(n),
            thread: column(n),
            channel: column(n),
            source: column(n),
            reply_to: column(n),
            text_flags: column(n),
            text_sentiment: column(n),
            text_intents: column(n),
        }
    }

    /// `parts` regions, region `k` of `len(k)` rows.
    fn regions(&mut self, parts: i64, len: impl Fn(i64) -> usize) -> Vec<Columns<'_>> {
        let mut rest = Columns {
            ids: &mut self.ids,
            ts: &mut self.ts,
            kind: &mut self.kind,
            flags: &mut self.flags,
            identity: &mut self.identity,
            thread: &mut self.thread,
            channel: &mut self.channel,
            source: &mut self.source,
            reply_to: &mut self.reply_to,
            text_flags: &mut self.text_flags,
            text_sentiment: &mut self.text_sentiment,
            text_intents: &mut self.text_intents,
        };
        let mut out = Vec::new();
        for k in 0..parts {
            let n = len(k).min(rest.ids.len());
            let (region, next) = rest.split_at(n);
            out.push(region);
            rest = next;
        }
        out
    }

    fn move_into(self, s: &mut Snapshot) {
        s.ids = self.ids;
        s.ts = self.ts;
        s.kind = self.kind;
        s.flags = self.flags;
        s.identity = self.identity;
        s.thread = self.thread;
        s.channel = self.channel;
        s.source = self.source;
        s.reply_to = self.reply_to;
        s.text_flags = self.text_flags;
        s.text_sentiment = self.text_sentiment;
        s.text_intents = self.text_intents;
    }
}

/// A region of the activity columns, one slice per column.
struct Columns<'a> {
    ids: &'a mut [i64],
    ts: &'a mut [i64],
    kind: &'a mut [u8],
    flags: &'a mut [u8],
    identity: &'a mut [u32],
    thread: &'a mut [u32],
    channel: &'a mut [u32],
    source: &'a mut [u16],
    reply_to: &'a mut [u32],
    text_flags: &'a mut [u8],
    text_sentiment: &'a mut [i16],
    text_intents: &'a mut [u16],
}

impl<'a> Columns<'a> {
    /// The first `n` rows, and the rest.
    fn split_at(self, n: usize) -> (Columns<'a>, Columns<'a>) {
        let (ids, ids_rest) = self.ids.split_at_mut(n);
        let (ts, ts_rest) = self.ts.split_at_mut(n);
        let (kind, kind_rest) = self.kind.split_at_mut(n);
        let (flags, flags_rest) = self.flags.split_at_mut(n);
        let (identity, identity_rest) = self.identity.split_at_mut(n);
        let (thread, thread_rest) = self.thread.split_at_mut(n);
        let (channel, channel_rest) = self.channel.split_at_mut(n);
        let (source, source_rest) = self.source.split_at_mut(n);
        let (reply_to, reply_to_rest) = self.reply_to.split_at_mut(n);
        let (text_flags, text_flags_rest) = self.text_flags.split_at_mut(n);
        let (text_sentiment, text_sentiment_rest) = self.text_sentiment.split_at_mut(n);
        let (text_intents, text_intents_rest) = self.text_intents.split_at_mut(n);
        (
            Columns {
                ids,
                ts,
                kind,
                flags,
                identity,
                thread,
                channel,
                source,
                reply_to,
                text_flags,
                text_sentiment,
                text_intents,
            },
            Columns {
                ids: ids_rest,
                ts: ts_rest,
                kind: kind_rest,
                flags: flags_rest,
                identity: identity_rest,
                thread: thread_rest,
                channel: channel_rest,
                source: source_rest,
                reply_to: reply_to_rest,
                text_flags: text_flags_rest,
                text_sentiment: text_sentiment_rest,
                text_intents: text_intents_rest,
            },
        )
    }
}

/// The snapshot's dense ids, read-only while the regions are turned dense.
struct Lookups<'a> {
    sources: &'a DenseIds,
    identities: &'a DenseIds,
    channels: &'a DenseIds,
    threads: &'a DenseIds,
    identity_by_ext: &'a KeyMap<u32>,
}

/// What reading one id range into its region gave besides the columns: the rows written
/// (slots counted from the region's start), and what only the whole snapshot can settle.
#[derive(Default)]
struct Chunk {
    len: usize,
    /// Reply targets outside the region: (slot, store id), resolved once every region is in.
    targets: Vec<(u32, i64)>,
    /// (slot, dense identity) once dense; before, the identity is `NONE` and the hash of
    /// the platform user id waits in `hashes`.
    mentions: Vec<(u32, u32)>,
    hashes: Vec<u64>,
    pending_mentions: Vec<(u32, u32, u16, u64)>,
    /// Live posts in a thread: the candidates for opening posts.
    posts: Vec<u32>,
    /// Activities whose store ids do not fit the columns, or out of their range: applied
    /// one by one after the regions.
    deferred: Vec<ActivityFact>,
    /// Text scores written into the region.
    texts: usize,
    /// Text scores of activities not in the region (deferred ones, or ones stamped after
    /// the watermark): applied after the deferred activities, as a change would be.
    deferred_texts: Vec<TextFact>,
}

impl Chunk {
    fn read(
        store: &dyn Store,
        ids: std::ops::Range<i64>,
        before: Watermark,
        mut region: Columns<'_>,
    ) -> Result<Chunk, AnalyticsError> {
        let mut c = Chunk {
            // Addressees: about one per activity (reply targets); room is only reserved.
            mentions: Vec::with_capacity(region.ids.len()),
            hashes: Vec::with_capacity(region.ids.len()),
            ..Chunk::default()
        };
        store.read_activities(ids.clone(), before, &mut |fact| {
            c.push(&mut region, fact);
            Ok(())
        })?;
        // The scores of the same range, in activity id order: a cursor over the region's ids
        // (ascending) finds each one's slot. It steps forward, never back, so finding every
        // slot costs one pass over the region (two thirds of the activities have a score: the
        // next one is a slot or two on; a binary search from the cursor reached far ahead first).
        let mut at = 0usize;
        store.read_text_scores(ids, before, &mut |fact| {
            let id = fact.activity.0;
            while at < c.len && region.ids[at] < id {
                at += 1;
            }
            if at < c.len && region.ids[at] == id {
                (
                    region.text_flags[at],
                    region.text_sentiment[at],
                    region.text_intents[at],
                ) = text_cells(fact);
                c.texts += 1;
            } else {
                c.deferred_texts.push(*fact);
            }
            Ok(())
        })?;
        Ok(c)
    }

    /// Writes an activity with its store ids (source, identity, channel, thread), turned
    /// dense by [`Chunk::make_dense`] once the entities are in.
    fn push(&mut self, region: &mut Columns<'_>, fact: &ActivityFact) {
        let fits = |id: i64| u32::try_from(id).ok().filter(|&v| v != NONE);
        let optional = |id: Option<i64>| id.map_or(Some(NONE), fits);
        let slot = self.len;
        let (Ok(source), Some(identity), Some(channel), Some(thread), true) = (
            u16::try_from(fact.source.0),
            fits(fact.identity.0),
            optional(fact.channel.map(|c| c.0)),
            optional(fact.thread.map(|t| t.0)),
            slot < region.ids.len(),
        ) else {
            self.deferred.push(fact.clone());
            return;
        };
        let reply_to = match fact.reply_to {
            None => NONE,
            Some(target) => match position_of(&region.ids[..slot], target.0) {
                Some(t) => t,
                None => {
                    self.targets.push((slot as u32, target.0));
                    NONE
                }
            },
        };
        region.ids[slot] = fact.id.0;
        region.ts[slot] = fact.ts;
        region.kind[slot] = fact.kind.code();
        region.flags[slot] = if fact.deleted { DELETED } else { 0 };
        region.identity[slot] = identity;
        region.thread[slot] = thread;
        region.channel[slot] = channel;
        region.source[slot] = source;
        region.reply_to[slot] = reply_to;
        self.len += 1;
        let slot = slot as u32;
        if fact.kind == Kind::Post && !fact.deleted && thread != NONE {
            self.posts.push(slot);
        }
        for to in &fact.to {
            self.mentions.push((slot, NONE));
            self.hashes.push(ext_hash(to));
        }
    }

    /// Store ids to dense ids. A row naming a source, identity, channel or thread the
    /// entities did not bring was removed meanwhile with its source: it is a dead slot (the
    /// changes since the watermark bring its removal, or its new state).
    fn make_dense(&mut self, lookups: &Lookups<'_>, region: Columns<'_>) {
        let known = |map: &DenseIds, id: u32| {
            if id == NONE {
                Some(NONE)
            } else {
                map.get(i64::from(id))
            }
        };
        for slot in 0..self.len {
            match (
                lookups.sources.get(i64::from(region.source[slot])),
                lookups.identities.get(i64::from(region.identity[slot])),
                known(lookups.channels, region.channel[slot]),
                known(lookups.threads, region.thread[slot]),
            ) {
                (Some(source), Some(identity), Some(channel), Some(thread)) => {
                    region.source[slot] = source as u16;
                    region.identity[slot] = identity;
                    region.channel[slot] = channel;
                    region.thread[slot] = thread;
                }
                _ => {
                    region.flags[slot] |= REMOVED;
                    region.source[slot] = 0;
                    region.identity[slot] = NONE;
                    region.channel[slot] = NONE;
                    region.thread[slot] = NONE;
                }
            }
        }
        self.posts
            .retain(|&p| region.flags[p as usize] & REMOVED == 0);
        let mut position = 0u32;
        for j in 0..self.mentions.len() {
            let slot = self.mentions[j].0;
            position = if j > 0 && self.mentions[j - 1].0 == slot {
                position + 1
            } else {
                0
            };
            let key = (region.source[slot as usize], self.hashes[j]);
            let identity = lookups.identity_by_ext.get(&key).copied().unwrap_or(NONE);
            if identity == NONE {
                self.pending_mentions.push((slot, position, key.0, key.1));
            }
            self.mentions[j].1 = identity;
        }
        self.hashes = Vec::new();
    }
}

/// A text score as the snapshot keeps it: `T_*` flags, sentiment and intents (both 0 when
/// the message was not scored).
fn text_cells(fact: &TextFact) -> (u8, i16, u16) {
    let mut flags = T_PRESENT;
    if fact.scored {
        flags |= T_SCORED;
        if fact.confidence >= CONFIDENT {
            flags |= T_CONFIDENT;
        }
        if fact.hostile {
            flags |= T_HOSTILE;
        }
        (flags, fact.sentiment, fact.intents)
    } else {
        (flags, 0, 0)
    }
}

/// A platform user id's 64-bit hash (addressees are matched to identities by it): FNV-1a
/// over the bytes, then the SplitMix64 finaliser to spread them.
fn ext_hash(ext_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in ext_id.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Hashes the snapshot's `(source, hash)` keys: they are hashes already, so a multiply and a
/// shift mix them (no SipHash per addressee).
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type KeyMap<V> = HashMap<(u16, u64), V, std::hash::BuildHasherDefault<KeyHasher>>;

/// Heap bytes of a snapshot, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUse {
    pub activities: usize,
    pub threads: usize,
    pub members: usize,
    pub places: usize,
}

impl MemoryUse {
    pub fn total(&self) -> usize {
        self.activities + self.threads + self.members + self.places
    }
}

/// Per 64-slot word and per member, what a report without source or channel filters and with
/// bots and team activity left out (the default report) admits and counts, as-of aside: the
/// scope's pass over every slot (`Scope::new`) becomes a copy of these words, except for the
/// few words holding an activity after as-of, which it redoes slot by slot. Kept up to date
/// from the snapshot's columns at the end of every refresh (see `Snapshot::default_scope`).
#[derive(Debug, Default, Clone)]
pub(crate) struct DefaultScope {
    /// Live slots by a known member: what the scope admits up to as-of.
    pub(crate) live: Vec<u64>,
    /// Live slots whose author's activity counts by default: not a removed member, not a
    /// bot, not a team member at the time (at or after `team_since`).
    pub(crate) counted: Vec<u64>,
    /// Live replies and answers by members who are neither bots nor removed: the scope's
    /// candidates for responses.
    pub(crate) replies: Vec<u64>,
    /// The latest time of each word's live slots (`i64::MIN`: none).
    pub(crate) latest: Vec<i64>,
    /// Per member: the earliest time of their live slots, of any kind (`i64::MAX`: none).
    pub(crate) first_live: Vec<i64>,
    /// The slots these cover: `0..slots`.
    slots: usize,
}

impl DefaultScope {
    /// Whether this was built for a snapshot of `slots` slots and `members` members.
    pub(crate) fn fits(&self, slots: usize, members: usize) -> bool {
        self.slots == slots && self.first_live.len() == members
    }

    /// Whether these cover no more slots and members than `snap` has (what `extend` needs).
    fn is_prefix(&self, snap: &Snapshot) -> bool {
        self.slots <= snap.slots() && self.first_live.len() <= snap.members()
    }

    fn bytes(&self) -> usize {
        let v = |n: usize| n * 8;
        v(self.live.capacity())
            + v(self.counted.capacity())
            + v(self.replies.capacity())
            + v(self.latest.capacity())
            + v(self.first_live.capacity())
    }

    /// Extended over the slots and members `snap` has beyond those covered (all of them for
    /// an empty one): the words from the one holding the first slot not covered are redone
    /// from the columns, by runs of whole words, one per core (each run with its own earliest
    /// times per member, merged by minimum after).
    fn extend(&mut self, snap: &Snapshot) {
        let n = snap.slots();
        let words = n.div_ceil(64);
        let members = snap.members();
        let first_word = self.slots / 64;
        let (reply, answer) = (Kind::Reply.code(), Kind::Answer.code());
        let todo = words - first_word;
        let per_core = todo.div_ceil(crate::par::cores()).max(1);
        let runs = crate::par::runs(todo, per_core, |run| {
            let run = first_word + run.start..first_word + run.end;
            let mut live = vec![0u64; run.len()];
            let mut counted = vec![0u64; run.len()];
            let mut replies = vec![0u64; run.len()];
            let mut latest = vec![i64::MIN; run.len()];
            let mut first = vec![i64::MAX; members];
            for (i, w) in run.clone().enumerate() {
                for slot in w * 64..((w + 1) * 64).min(n) {
                    let m = snap.member[slot];
                    if snap.flags[slot] != 0 || m == NONE {
                        continue;
                    }
                    let bit = 1u64 << (slot % 64);
                    let ts = snap.ts[slot];
                    live[i] |= bit;
                    latest[i] = latest[i].max(ts);
                    let f = &mut first[m as usize];
                    *f = (*f).min(ts);
                    let flags = snap.member_flags[m as usize];
                    if flags & (M_REMOVED | M_BOT) != 0 {
                        continue;
                    }
                    let k = snap.kind[slot];
                    if k == reply || k == answer {
                        replies[i] |= bit;
                    }
                    if flags & M_TEAM == 0 || ts < snap.team_since[m as usize] {
                        counted[i] |= bit;
                    }
                }
            }
            (live, counted, replies, latest, first)
        });
        for v in [&mut self.live, &mut self.counted, &mut self.replies] {
            v.truncate(first_word);
            v.reserve(todo);
        }
        self.latest.truncate(first_word);
        self.latest.reserve(todo);
        self.first_live.resize(members, i64::MAX);
        for (live, counted, replies, latest, first) in runs {
            self.live.extend_from_slice(&live);
            self.counted.extend_from_slice(&counted);
            self.replies.extend_from_slice(&replies);
            self.latest.extend_from_slice(&latest);
            for (f, ts) in self.first_live.iter_mut().zip(first) {
                *f = (*f).min(ts);
            }
        }
        self.slots = n;
    }
}

#[cfg(test)]
mod tests {
    use kith_model::{Activity, Author, Kind, Timestamp};
    use kith_store::{MergeEvidence, Store, TextScores as _};

    use super::*;
    use crate::testkit::{member_of, write};

    fn post(source: &str, id: &str, who: &str, ts: i64) -> Activity {
        let mut a = Activity::new(
            source,
            id,
            Kind::Post,
            Timestamp::from_secs(ts),
            Some(Author::new(who)),
        );
        a.thread = Some(format!("t-{id}"));
        a
    }

    // The bulk build (entities, then activities by id ranges on several threads, then the
    // changes since) gives the snapshot that applying the change stream one change at a time
    // gives, on random communities with edits, deletions, merges and a removed source.
    #[test]
    fn a_bulk_build_equals_applying_the_change_stream() {
        use proptest::test_runner::{Config, TestCaseError, TestRunner};
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&crate::testkit::random_case(), |case| {
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let store = kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db"))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            crate::testkit::materialise(&case, &store);
            // Every other message scored, so that text scores are read too.
            let todo = store
                .texts_to_score(
                    kith_store::TextSelection {
                        model_version: 1,
                        all: true,
                    },
                    None,
                    10_000,
                )
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let scores: Vec<kith_store::TextScore> = todo
                .iter()
                .step_by(2)
                .map(|t| kith_store::TextScore {
                    activity: t.id,
                    activity_seq: t.seq,
                    model_version: 1,
                    language: "eng".into(),
                    scored: t.id.0 % 3 != 0,
                    sentiment: (t.id.0 % 20) as i16 * 500 - 5_000,
                    confidence: 9_000,
                    hostility: 0,
                    hostile: t.id.0 % 5 == 0,
                    intents: 1 << (t.id.0 % 9),
                })
                .collect();
            store
                .write_text_scores(&scores)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let bulk = Snapshot::build(&store).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut streamed = Snapshot::default();
            streamed
                .refresh(&store)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let same = |what: &str, a: String, b: String| {
                if a == b {
                    Ok(())
                } else {
                    Err(TestCaseError::fail(format!("{what}: {a} != {b}")))
                }
            };
            same(
                "ids",
                format!("{:?}", bulk.ids),
                format!("{:?}", streamed.ids),
            )?;
            same("ts", format!("{:?}", bulk.ts), format!("{:?}", streamed.ts))?;
            same(
                "kind",
                format!("{:?}", bulk.kind),
                format!("{:?}", streamed.kind),
            )?;
            same(
                "flags",
                format!("{:?}", bulk.flags),
                format!("{:?}", streamed.flags),
            )?;
            same(
                "identity",
                format!("{:?}", bulk.identity),
                format!("{:?}", streamed.identity),
            )?;
            same(
                "thread",
                format!("{:?}", bulk.thread),
                format!("{:?}", streamed.thread),
            )?;
            same(
                "channel",
                format!("{:?}", bulk.channel),
                format!("{:?}", streamed.channel),
            )?;
            same(
                "source",
                format!("{:?}", bulk.source),
                format!("{:?}", streamed.source),
            )?;
            same(
                "reply_to",
                format!("{:?}", bulk.reply_to),
                format!("{:?}", streamed.reply_to),
            )?;
            same(
                "thread_op",
                format!("{:?}", bulk.thread_op),
                format!("{:?}", streamed.thread_op),
            )?;
            same(
                "mentions",
                format!("{:?}", bulk.mentions),
                format!("{:?}", streamed.mentions),
            )?;
            same(
                "identity_member",
                format!("{:?}", bulk.identity_member),
                format!("{:?}", streamed.identity_member),
            )?;
            same(
                "member",
                format!("{:?}", bulk.member),
                format!("{:?}", streamed.member),
            )?;
            same(
                "level_events",
                format!("{:?} {:?}", bulk.level_event_start, bulk.level_events),
                format!(
                    "{:?} {:?}",
                    streamed.level_event_start, streamed.level_events
                ),
            )?;
            same(
                "member_flags",
                format!("{:?}", bulk.member_flags),
                format!("{:?}", streamed.member_flags),
            )?;
            same(
                "affiliations",
                format!("{:?}", bulk.affiliations),
                format!("{:?}", streamed.affiliations),
            )?;
            same(
                "text",
                format!(
                    "{:?} {:?} {:?} {}",
                    bulk.text_flags, bulk.text_sentiment, bulk.text_intents, bulk.any_text
                ),
                format!(
                    "{:?} {:?} {:?} {}",
                    streamed.text_flags,
                    streamed.text_sentiment,
                    streamed.text_intents,
                    streamed.any_text
                ),
            )?;
            same(
                "watermark",
                format!("{:?}", bulk.watermark),
                format!("{:?}", streamed.watermark),
            )
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    #[test]
    fn a_merge_remaps_identities_and_rewrites_no_activity() {
        let dir = tempfile::tempdir().unwrap();
        let store = kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap();
        write(
            &store,
            &[
                post("forum", "1", "ann", 100),
                post("chat", "2", "ann-chat", 200),
            ],
        );
        let mut snap = Snapshot::build(&store).unwrap();
        assert_ne!(snap.member_of(0), snap.member_of(1));
        let into = member_of(&store, "forum", "ann").unwrap();
        let from = member_of(&store, "chat", "ann-chat").unwrap();
        let evidence = MergeEvidence {
            reason: "same person".into(),
            score: 1.0,
            actor: "test".into(),
        };
        let record = store.merge_members(into, from, &evidence).unwrap();
        let stats = snap.refresh(&store).unwrap();
        assert_eq!(
            stats.activities_updated + stats.activities_added,
            0,
            "no activity is re-read for a merge"
        );
        assert_eq!(snap.member_of(0), snap.member_of(1));
        store.unmerge(record.id, "test").unwrap();
        snap.refresh(&store).unwrap();
        assert_ne!(
            snap.member_of(0),
            snap.member_of(1),
            "an unmerge moves the identity back"
        );
    }

    /// The `member` column follows every way a slot's member changes: an activity imported
    /// again under another author (that slot only), a new author's activity (appended), a
    /// merge (every slot); and the members' level events with it.
    #[test]
    fn the_member_column_follows_reimports_new_authors_and_merges() {
        let dir = tempfile::tempdir().unwrap();
        let store = kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap();
        write(
            &store,
            &[
                post("forum", "1", "ann", 100),
                post("forum", "2", "bob", 200),
            ],
        );
        let mut snap = Snapshot::build(&store).unwrap();
        let dense = |snap: &Snapshot, author: &str| {
            let id = member_of(&store, "forum", author).unwrap();
            snap.member_ids.get(id.0).unwrap()
        };
        let by_identity = |snap: &Snapshot| -> Vec<u32> {
            (0..snap.slots())
                .map(|s| snap.member_by_identity(s))
                .collect()
        };
        assert_eq!(snap.member, by_identity(&snap));
        // Post 1 again, now by bob; post 3 by a new author.
        write(
            &store,
            &[
                post("forum", "1", "bob", 100),
                post("forum", "3", "cara", 300),
            ],
        );
        snap.refresh(&store).unwrap();
        assert_eq!(snap.member_of(0), dense(&snap, "bob"));
        assert_eq!(snap.member_of(2), dense(&snap, "cara"));
        assert_eq!(snap.member, by_identity(&snap));
        let into = member_of(&store, "forum", "ann").unwrap();
        let from = member_of(&store, "forum", "bob").unwrap();
        let evidence = MergeEvidence {
            reason: "same person".into(),
            score: 1.0,
            actor: "test".into(),
        };
        store.merge_members(into, from, &evidence).unwrap();
        snap.refresh(&store).unwrap();
        assert_eq!(snap.member_of(0), snap.member_ids.get(into.0).unwrap());
        assert_eq!(snap.member_of(1), snap.member_ids.get(into.0).unwrap());
        assert_eq!(snap.member, by_identity(&snap));
        // The members' level events moved with them, as a new build has them.
        let fresh = Snapshot::build(&store).unwrap();
        assert_eq!(
            (&snap.level_event_start, &snap.level_events),
            (&fresh.level_event_start, &fresh.level_events)
        );
        let ann = snap.member_ids.get(into.0).unwrap() as usize;
        let (a, b) = (snap.level_event_start[ann], snap.level_event_start[ann + 1]);
        assert_eq!(b - a, 2, "posts 1 and 2, bob's before the merge");
    }

    #[test]
    fn deleting_a_source_removes_its_activities_and_reopens_threads() {
        let dir = tempfile::tempdir().unwrap();
        let store = kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap();
        write(
            &store,
            &[
                post("forum", "1", "ann", 100),
                post("chat", "2", "bob", 200),
            ],
        );
        let mut snap = Snapshot::build(&store).unwrap();
        assert_eq!(snap.live_activities(), 2);
        store.delete_source("chat").unwrap();
        let stats = snap.refresh(&store).unwrap();
        assert_eq!(stats.activities_removed, 1);
        assert_eq!(snap.live_activities(), 1);
        assert_eq!(
            snap.thread_op.iter().filter(|&&op| op != NONE).count(),
            1,
            "the removed post opens nothing"
        );
        assert!(snap.sources().iter().any(|s| s.name == "chat" && s.removed));
    }

    // Addressees resolve to identities whenever those arrive, follow edits of the activity,
    // and move with merges (they point at identities, not members).
    #[test]
    fn addressees_resolve_late_and_follow_edits() {
        let dir = tempfile::tempdir().unwrap();
        let store = kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap();
        let mut p = post("forum", "1", "ann", 100);
        p.to = vec!["bob".into(), "cat".into()];
        write(&store, &[p.clone(), post("forum", "2", "bob", 50)]);
        let mut snap = Snapshot::build(&store).unwrap();
        let members = |snap: &Snapshot| -> Vec<u32> {
            snap.mentions()
                .iter()
                .map(|&(_, i)| snap.identity_member_of(i))
                .collect()
        };
        // Slot 0 is ann's post, slot 1 bob's.
        let bob = snap.member_of(1);
        assert_eq!(snap.mentions().len(), 2);
        assert!(snap.mentions().iter().all(|m| m.0 == 0));
        assert_eq!(members(&snap), vec![bob, NONE], "cat has not acted yet");
        write(&store, &[post("forum", "3", "cat", 200)]);
        snap.refresh(&store).unwrap();
        let cat = snap.member_of(2);
        assert_eq!(
            members(&snap),
            vec![bob, cat],
            "cat resolves when she arrives"
        );
        p.to = vec!["cat".into()];
        write(&store, &[p]);
        snap.refresh(&store).unwrap();
        assert_eq!(members(&snap), vec![cat], "an edit replaces the addressees");
        let into = member_of(&store, "forum", "bob").unwrap();
        let from = member_of(&store, "forum", "cat").unwrap();
        let evidence = MergeEvidence {
            reason: "same person".into(),
            score: 1.0,
            actor: "test".into(),
        };
        store.merge_members(into, from, &evidence).unwrap();
        snap.refresh(&store).unwrap();
        assert_eq!(members(&snap), vec![bob], "a merge moves the addressee");
    }

    // Ids 10, 11, 15, 200, 201, then 300..400: a slot is found from its id's distance to the
    // first id, searching below it when rows were removed in between; ids in the gaps, below
    // the first and above the last are not found.
    #[test]
    fn slots_are_found_across_gaps_in_store_ids() {
        let mut snap = Snapshot::default();
        let mut stats = RefreshStats::default();
        let ids: Vec<i64> = [10, 11, 15, 200, 201].into_iter().chain(300..400).collect();
        for &id in &ids {
            let fact = kith_store::ActivityFact {
                id: kith_store::ActivityId(id),
                source: kith_store::SourceId(1),
                kind: Kind::Reply,
                ts: id,
                identity: kith_store::IdentityId(1),
                channel: None,
                thread: None,
                reply_to: None,
                to: Vec::new(),
                deleted: false,
            };
            snap.apply(Change::Activity(fact), &mut stats).unwrap();
        }
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(snap.slot_of(id), Some(slot as u32), "id {id}");
        }
        for id in [0, 9, 12, 16, 199, 202, 299, 400, i64::MAX, i64::MIN] {
            assert_eq!(snap.slot_of(id), None, "id {id}");
        }
        assert_eq!(stats.activities_added, ids.len() as u64);
    }

    #[test]
    fn late_ids_switch_to_a_map_and_stay_findable() {
        let mut snap = Snapshot::default();
        let mut stats = RefreshStats::default();
        for id in [5, 9, 7] {
            let fact = kith_store::ActivityFact {
                id: kith_store::ActivityId(id),
                source: kith_store::SourceId(1),
                kind: Kind::Post,
                ts: id * 10,
                identity: kith_store::IdentityId(1),
                channel: None,
                thread: None,
                reply_to: None,
                to: Vec::new(),
                deleted: false,
            };
            snap.apply(Change::Activity(fact), &mut stats).unwrap();
        }
        assert_eq!(
            [5, 9, 7].map(|id| snap.slot_of(id)),
            [Some(0), Some(1), Some(2)]
        );
        assert_eq!(snap.slot_of(6), None);
    }
}
