//! The write session: one transaction per import, batches merged set-based.
//!
//! A batch goes through these steps, each one statement (or a few) whatever the batch size:
//! 1. identities, channels and threads the session has not seen are looked up, and the missing
//!    ones created with `INSERT ... ON CONFLICT DO NOTHING RETURNING id` (a concurrent import
//!    that created the same row first wins; its row is read back);
//! 2. the activities are `COPY`ed (binary) into a temporary staging table;
//! 3. one `INSERT ... SELECT ... ON CONFLICT (source_id, ext_id) DO UPDATE ... WHERE the content
//!    hash differs RETURNING (xmax = 0)` stores them and says which were inserted and updated
//!    (rows not returned were already stored unchanged);
//! 4. replies waiting for an activity of the batch get their `reply_to_id`;
//! 5. `edit` and `delete` activities that were stored are applied to their targets;
//! 6. after the last round, posts that were stored with labels, or changed, give their threads
//!    their topics (`kith_store::topics_of`), in batch order ([`PgIngest::write_topics`]).
//!
//! `ON CONFLICT DO UPDATE` cannot touch one row twice in a statement, so a batch that repeats a
//! key with different content is split into rounds that each hold a key once (byte-identical
//! repeats are simply counted as unchanged).

use std::collections::{BTreeMap, HashMap};

use kith_model::Activity;
use kith_store::{AuditId, BatchOutcome, ImportAudit, Ingest, SourceId, StoreError, StoreResult};
use postgres::GenericClient;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use crate::pool::Conn;
use crate::sources::insert_audit;
use crate::{PgStore, col, count, current_xid, db_err, now_secs};

/// What the session knows of an identity: its id and what it last wrote on it.
#[derive(Clone)]
struct KnownIdentity {
    id: i64,
    name: Option<String>,
    handle: Option<String>,
    email: Option<String>,
    team: bool,
    bot: bool,
}

pub(crate) struct PgIngest<'s> {
    conn: Conn<'s>,
    /// This transaction's id: the `seq` of every row it writes.
    xid: i64,
    now: i64,
    /// Source name → (id, format), for sources ensured in this session.
    sources: HashMap<String, (i64, String)>,
    identities: HashMap<(i64, String), KnownIdentity>,
    channels: HashMap<(i64, String), i64>,
    threads: HashMap<(i64, String), i64>,
    staging: bool,
    finished: bool,
}

const STAGING: &str = "
CREATE TEMP TABLE kith_stage (
    ord          INTEGER NOT NULL,
    id           BIGINT NOT NULL,
    source_id    BIGINT NOT NULL,
    ext_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    ts           BIGINT NOT NULL,
    ts_micros    INTEGER NOT NULL,
    ts_offset    INTEGER NOT NULL,
    identity_id  BIGINT NOT NULL,
    channel_id   BIGINT,
    thread_id    BIGINT,
    reply_to_ext TEXT,
    to_ext       TEXT,
    text         TEXT,
    url          TEXT,
    attrs        TEXT,
    content_hash BIGINT NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE kith_stage_edits (
    ord       INTEGER NOT NULL,
    source_id BIGINT NOT NULL,
    target    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    text      TEXT
) ON COMMIT DROP;";

const COPY_STAGE: &str = "COPY kith_stage (ord, id, source_id, ext_id, kind, ts, ts_micros, ts_offset, identity_id, channel_id,
    thread_id, reply_to_ext, to_ext, text, url, attrs, content_hash) FROM STDIN (FORMAT binary)";

const STAGE_TYPES: [Type; 17] = [
    Type::INT4,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT4,
    Type::INT4,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
];

/// Stores the staged batch; counts what it inserted and updated, and queues the stored edits.
/// `$extra` adds columns to the counts' row.
macro_rules! upsert {
    ($extra:literal) => { concat!("
WITH up AS (
    INSERT INTO activities AS a (id, source_id, ext_id, kind, ts, ts_micros, ts_offset, identity_id, channel_id, thread_id,
                                 reply_to_ext, reply_to_id, to_ext, text, url, attrs, content_hash, deleted, seq)
    SELECT s.id, s.source_id, s.ext_id, s.kind, s.ts, s.ts_micros, s.ts_offset, s.identity_id, s.channel_id, s.thread_id,
           s.reply_to_ext, COALESCE(t.id, b.id), s.to_ext, s.text, s.url, s.attrs, s.content_hash, 0, $1
      FROM kith_stage s
      LEFT JOIN activities t ON t.source_id = s.source_id AND t.ext_id = s.reply_to_ext
      LEFT JOIN kith_stage b ON b.source_id = s.source_id AND b.ext_id = s.reply_to_ext
     ORDER BY s.ord
    ON CONFLICT (source_id, ext_id) DO UPDATE SET
        kind = EXCLUDED.kind, ts = EXCLUDED.ts, ts_micros = EXCLUDED.ts_micros, ts_offset = EXCLUDED.ts_offset,
        identity_id = EXCLUDED.identity_id, channel_id = EXCLUDED.channel_id, thread_id = EXCLUDED.thread_id,
        reply_to_ext = EXCLUDED.reply_to_ext, reply_to_id = EXCLUDED.reply_to_id, to_ext = EXCLUDED.to_ext,
        text = EXCLUDED.text, url = EXCLUDED.url, attrs = EXCLUDED.attrs, content_hash = EXCLUDED.content_hash,
        seq = EXCLUDED.seq
     WHERE a.content_hash <> EXCLUDED.content_hash
    RETURNING (a.xmax = 0) AS inserted, a.source_id, a.ext_id, a.kind, a.reply_to_ext, a.text
), edits AS (
    INSERT INTO kith_stage_edits (ord, source_id, target, kind, text)
    SELECT s.ord, up.source_id, up.reply_to_ext, up.kind, up.text
      FROM up JOIN kith_stage s ON s.source_id = up.source_id AND s.ext_id = up.ext_id
     WHERE up.kind IN ('edit', 'delete') AND up.reply_to_ext IS NOT NULL
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated,
       count(*) FILTER (WHERE kind IN ('edit', 'delete') AND reply_to_ext IS NOT NULL) AS edits",
       $extra, "
  FROM up") };
}

/// [`upsert!`] for a round without posts in threads (nothing said about topics).
const UPSERT: &str = upsert!("");

/// [`upsert!`] for a round with posts in threads (`$2`, their `ord`s; `$3`, whether each has
/// labels): also which of them give their thread its topics (`topic_ords`): those stored with
/// labels, and those updated (`kith_store::topics_of`).
const UPSERT_TOPICS: &str = upsert!(
    ",
       (SELECT array_agg(c.ord)
          FROM up
          JOIN kith_stage s ON s.source_id = up.source_id AND s.ext_id = up.ext_id
          JOIN unnest($2::integer[], $3::boolean[]) AS c (ord, labelled) ON c.ord = s.ord
         WHERE c.labelled OR NOT up.inserted) AS topic_ords"
);

/// Replies stored earlier whose target has just arrived. (Replies of the batch itself were
/// resolved on insert: the batch's rows get their ids before the insert, see [`PgIngest::stage`].)
const RESOLVE_REPLIES: &str = "
UPDATE activities a SET reply_to_id = t.id, seq = $1
  FROM kith_stage s
  JOIN activities t ON t.source_id = s.source_id AND t.ext_id = s.ext_id
 WHERE a.source_id = s.source_id AND a.reply_to_ext = s.ext_id
   AND a.reply_to_id IS NULL AND a.reply_to_ext IS NOT NULL";

/// Applies the stored edits and deletes of the batch to their targets: the latest edit's text
/// wins, any delete marks the target deleted.
const APPLY_EDITS: &str = "
WITH e AS (
    SELECT source_id, target,
           bool_or(kind = 'delete') AS del,
           (array_agg(text ORDER BY ord DESC) FILTER (WHERE kind = 'edit' AND text IS NOT NULL))[1] AS new_text
      FROM kith_stage_edits
     GROUP BY source_id, target
)
UPDATE activities t
   SET text = COALESCE(e.new_text, t.text),
       deleted = CASE WHEN e.del THEN 1 ELSE t.deleted END,
       seq = $1
  FROM e
 WHERE t.source_id = e.source_id AND t.ext_id = e.target";

impl PgStore {
    pub(crate) fn begin_ingest(&self) -> StoreResult<PgIngest<'_>> {
        let mut conn = self.pool.get()?;
        conn.batch_execute("BEGIN")
            .map_err(|e| db_err("starting an import transaction", e))?;
        let mut session = PgIngest {
            conn,
            xid: 0,
            now: now_secs(),
            sources: HashMap::new(),
            identities: HashMap::new(),
            channels: HashMap::new(),
            threads: HashMap::new(),
            staging: false,
            finished: false,
        };
        session.xid = current_xid(&mut *session.conn)?;
        Ok(session)
    }
}

/// One activity of a round, with what the session resolved for it.
struct Item<'a> {
    activity: &'a Activity,
    source: i64,
    hash: i64,
    /// Its place in the batch.
    index: usize,
    /// What it says about its thread's topics (`kith_store::topics_of`).
    topics: Option<Vec<String>>,
}

/// A post of the batch that gives its thread its topics: (its place in the batch, the thread,
/// the topics).
type TopicWrite<'r> = (usize, i64, &'r [String]);

impl PgIngest<'_> {
    fn source_id(&self, a: &Activity) -> StoreResult<i64> {
        self.sources
            .get(&a.source)
            .map(|(id, _)| *id)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "activity `{}` names source `{}`, which was not ensured in this import session",
                    a.id, a.source
                ))
            })
    }

    /// Stores a round; adds to `topics` the posts of the round that give their thread its topics.
    fn write_round<'r>(
        &mut self,
        items: &'r [Item<'_>],
        topics: &mut Vec<TopicWrite<'r>>,
    ) -> StoreResult<BatchOutcome> {
        let mut outcome = BatchOutcome::default();
        self.resolve_identities(items, &mut outcome)?;
        let channels: Vec<(i64, &str)> = items
            .iter()
            .filter_map(|it| it.activity.channel.as_deref().map(|c| (it.source, c)))
            .collect();
        resolve_places(
            &mut self.conn,
            "channels",
            &mut self.channels,
            &channels,
            self.xid,
        )?;
        let threads: Vec<(i64, &str)> = items
            .iter()
            .filter_map(|it| it.activity.thread.as_deref().map(|t| (it.source, t)))
            .collect();
        resolve_places(
            &mut self.conn,
            "threads",
            &mut self.threads,
            &threads,
            self.xid,
        )?;
        self.stage(items)?;

        // Posts in threads, the only activities that say anything about topics.
        let (ords, labelled): (Vec<i32>, Vec<bool>) = items
            .iter()
            .enumerate()
            .filter_map(|(ord, it)| {
                let topics = it.topics.as_ref()?;
                Some((i32::try_from(ord).unwrap_or(i32::MAX), !topics.is_empty()))
            })
            .unzip();
        let row = if ords.is_empty() {
            self.conn.query_one(UPSERT, &[&self.xid])
        } else {
            self.conn
                .query_one(UPSERT_TOPICS, &[&self.xid, &ords, &labelled])
        }
        .map_err(|e| db_err("storing a batch of activities", e))?;
        if !ords.is_empty() {
            let written: Option<Vec<i32>> = col(&row, "topic_ords")?;
            for ord in written.unwrap_or_default() {
                let it = usize::try_from(ord).ok().and_then(|i| items.get(i));
                let Some((it, Some(list), Some(ext))) =
                    it.map(|it| (it, it.topics.as_deref(), it.activity.thread.as_ref()))
                else {
                    continue;
                };
                let thread = self
                    .threads
                    .get(&(it.source, ext.clone()))
                    .copied()
                    .ok_or_else(|| {
                        StoreError::backend(
                            "storing thread topics",
                            format!(
                                "thread `{ext}` of activity `{}` was not resolved",
                                it.activity.id
                            ),
                        )
                    })?;
                topics.push((it.index, thread, list));
            }
        }
        outcome.inserted = count(col(&row, "inserted")?);
        outcome.updated = count(col(&row, "updated")?);
        outcome.unchanged = (items.len() as u64).saturating_sub(outcome.inserted + outcome.updated);
        let edits: i64 = col(&row, "edits")?;

        if outcome.inserted > 0 {
            self.conn
                .execute(RESOLVE_REPLIES, &[&self.xid])
                .map_err(|e| db_err("linking replies to the activities of a batch", e))?;
        }
        if edits > 0 {
            self.conn
                .execute(APPLY_EDITS, &[&self.xid])
                .map_err(|e| db_err("applying edits and deletions", e))?;
            self.conn
                .execute("TRUNCATE kith_stage_edits", &[])
                .map_err(|e| db_err("clearing the staged edits", e))?;
        }
        Ok(outcome)
    }

    /// Gives threads the topics of the batch's posts that were stored with labels or changed
    /// (`written`, [`Self::write_round`]), in batch order: the last post of a thread wins, as
    /// if each replaced the thread's topics in turn.
    fn write_topics(&mut self, mut written: Vec<TopicWrite<'_>>) -> StoreResult<()> {
        if written.is_empty() {
            return Ok(());
        }
        written.sort_unstable_by_key(|w| w.0);
        let mut last: BTreeMap<i64, &[String]> = BTreeMap::new();
        // A replacement with topics changes the thread whatever it had before.
        let mut labelled: Vec<i64> = Vec::new();
        for (_, thread, topics) in written {
            last.insert(thread, topics);
            if !topics.is_empty() {
                labelled.push(thread);
            }
        }
        labelled.sort_unstable();
        labelled.dedup();
        replace_topics(&mut *self.conn, &last, Some((self.xid, &labelled)))
    }

    /// Copies the round into the staging table.
    fn stage(&mut self, items: &[Item<'_>]) -> StoreResult<()> {
        if !self.staging {
            self.conn
                .batch_execute(STAGING)
                .map_err(|e| db_err("creating the staging tables", e))?;
            self.staging = true;
        } else {
            self.conn
                .batch_execute("TRUNCATE kith_stage")
                .map_err(|e| db_err("clearing the staging table", e))?;
        }
        let mut rows = Vec::with_capacity(items.len());
        for (ord, it) in items.iter().enumerate() {
            let a = it.activity;
            let identity = self
                .identities
                .get(&(it.source, identity_key(a)))
                .map(|k| k.id)
                .ok_or_else(|| {
                    StoreError::backend(
                        "staging a batch",
                        format!("identity of activity `{}` was not resolved", a.id),
                    )
                })?;
            let place = |map: &HashMap<(i64, String), i64>,
                         ext: &Option<String>,
                         what: &str|
             -> StoreResult<Option<i64>> {
                match ext {
                    None => Ok(None),
                    Some(ext) => map
                        .get(&(it.source, ext.clone()))
                        .copied()
                        .map(Some)
                        .ok_or_else(|| {
                            StoreError::backend(
                                "staging a batch",
                                format!("{what} `{ext}` of activity `{}` was not resolved", a.id),
                            )
                        }),
                }
            };
            let channel = place(&self.channels, &a.channel, "channel")?;
            let thread = place(&self.threads, &a.thread, "thread")?;
            let to = if a.to.is_empty() {
                None
            } else {
                Some(json(&a.to, a, "to")?)
            };
            let attrs = if a.attrs.is_empty() {
                None
            } else {
                Some(json(&a.attrs, a, "attrs")?)
            };
            let micros = i32::try_from(a.ts.micros).map_err(|_| {
                StoreError::Invalid(format!(
                    "activity `{}`: sub-second part {} is out of range",
                    a.id, a.ts.micros
                ))
            })?;
            rows.push(StageRow {
                ord: i32::try_from(ord).unwrap_or(i32::MAX),
                identity,
                channel,
                thread,
                to,
                attrs,
                micros,
                offset: i32::from(a.ts.offset_min),
            });
        }
        // Ids are taken up front, in batch order, so that a reply can point at a target of the
        // same batch on insert. Rows that turn out to be stored already leave their id unused.
        let n = items.len() as i64;
        let ids: Vec<i64> = self
            .conn
            .query(
                "SELECT nextval('activities_id_seq') AS id FROM generate_series(1, $1::bigint)",
                &[&n],
            )
            .map_err(|e| db_err("allocating activity ids", e))?
            .iter()
            .map(|r| col::<i64>(r, "id"))
            .collect::<StoreResult<_>>()?;
        let sink = self
            .conn
            .copy_in(COPY_STAGE)
            .map_err(|e| db_err("starting the COPY of a batch", e))?;
        let mut writer = BinaryCopyInWriter::new(sink, &STAGE_TYPES);
        for ((it, r), id) in items.iter().zip(&rows).zip(&ids) {
            let a = it.activity;
            let values: [&(dyn ToSql + Sync); 17] = [
                &r.ord,
                id,
                &it.source,
                &a.id,
                &a.kind.as_str(),
                &a.ts.secs,
                &r.micros,
                &r.offset,
                &r.identity,
                &r.channel,
                &r.thread,
                &a.reply_to,
                &r.to,
                &a.text,
                &a.url,
                &r.attrs,
                &it.hash,
            ];
            writer
                .write(&values)
                .map_err(|e| db_err(format!("copying activity `{}`", a.id), e))?;
        }
        writer
            .finish()
            .map_err(|e| db_err("finishing the COPY of a batch", e))?;
        // Temporary tables have no statistics: without them the planner may join the batch to
        // `activities` by scanning the whole table instead of probing its key index.
        self.conn
            .batch_execute("ANALYZE kith_stage")
            .map_err(|e| db_err("analysing the staged batch", e))?;
        Ok(())
    }

    /// Finds or creates the identity (and, for a new one, its member) of every activity, and
    /// records the latest name, handle and e-mail seen.
    fn resolve_identities(
        &mut self,
        items: &[Item<'_>],
        outcome: &mut BatchOutcome,
    ) -> StoreResult<()> {
        let mut misses: HashMap<(i64, String), NewIdentity> = HashMap::new();
        for it in items {
            let key = (it.source, identity_key(it.activity));
            if !self.identities.contains_key(&key) && !misses.contains_key(&key) {
                misses.insert(key.clone(), NewIdentity::of(it.activity));
            }
        }
        if !misses.is_empty() {
            let mut misses: Vec<((i64, String), NewIdentity)> = misses.into_iter().collect();
            // One lock order for every session: concurrent imports of one source cannot deadlock.
            misses.sort_by(|a, b| a.0.cmp(&b.0));
            self.create_identities(misses, outcome)?;
        }

        // The latest non-empty name, handle and e-mail (and platform hints) win.
        let mut dirty: HashMap<i64, KnownIdentity> = HashMap::new();
        for it in items {
            let Some(author) = &it.activity.author else {
                continue;
            };
            let Some(known) = self.identities.get_mut(&(it.source, author.id.clone())) else {
                continue;
            };
            let mut changed = false;
            for (slot, seen) in [
                (&mut known.name, &author.name),
                (&mut known.handle, &author.handle),
                (&mut known.email, &author.email),
            ] {
                if seen.is_some() && slot != seen {
                    slot.clone_from(seen);
                    changed = true;
                }
            }
            for (slot, seen) in [(&mut known.team, author.team), (&mut known.bot, author.bot)] {
                if let Some(seen) = seen
                    && *slot != seen
                {
                    *slot = seen;
                    changed = true;
                }
            }
            if changed {
                dirty.insert(known.id, known.clone());
            }
        }
        if !dirty.is_empty() {
            let mut dirty: Vec<KnownIdentity> = dirty.into_values().collect();
            dirty.sort_by_key(|k| k.id);
            let ids: Vec<i64> = dirty.iter().map(|k| k.id).collect();
            let names: Vec<Option<String>> = dirty.iter().map(|k| k.name.clone()).collect();
            let handles: Vec<Option<String>> = dirty.iter().map(|k| k.handle.clone()).collect();
            let emails: Vec<Option<String>> = dirty.iter().map(|k| k.email.clone()).collect();
            let teams: Vec<i16> = dirty.iter().map(|k| i16::from(k.team)).collect();
            let bots: Vec<i16> = dirty.iter().map(|k| i16::from(k.bot)).collect();
            self.conn
                .execute(
                    "WITH u AS (
                        UPDATE identities i
                           SET name = x.name, handle = x.handle, email = x.email, team = x.team, bot = x.bot, seq = $1
                          FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::smallint[])
                               AS x (id, name, handle, email, team, bot)
                         WHERE i.id = x.id
                        RETURNING i.member_id, COALESCE(i.name, i.handle) AS display_name)
                     UPDATE members m SET display_name = u.display_name, seq = $1
                       FROM u
                      WHERE m.id = u.member_id AND m.display_name IS NULL AND u.display_name IS NOT NULL",
                    &[&self.xid, &ids, &names, &handles, &emails, &teams, &bots],
                )
                .map_err(|e| db_err("updating the names seen on identities", e))?;
        }
        Ok(())
    }

    fn create_identities(
        &mut self,
        misses: Vec<((i64, String), NewIdentity)>,
        outcome: &mut BatchOutcome,
    ) -> StoreResult<()> {
        let sources: Vec<i64> = misses.iter().map(|((s, _), _)| *s).collect();
        let exts: Vec<&str> = misses.iter().map(|((_, e), _)| e.as_str()).collect();
        load_identities(&mut self.conn, &mut self.identities, &sources, &exts)?;
        let missing: Vec<&((i64, String), NewIdentity)> = misses
            .iter()
            .filter(|(k, _)| !self.identities.contains_key(k))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }

        // Members first (identities reference them), with ids taken up front so that each new
        // identity knows its member.
        let n = missing.len() as i64;
        let member_ids: Vec<i64> = self
            .conn
            .query(
                "SELECT nextval('members_id_seq') AS id FROM generate_series(1, $1::bigint)",
                &[&n],
            )
            .map_err(|e| db_err("allocating member ids", e))?
            .iter()
            .map(|r| col::<i64>(r, "id"))
            .collect::<StoreResult<_>>()?;
        let display: Vec<Option<&str>> = missing.iter().map(|(_, n)| n.display_name()).collect();
        let teams: Vec<i16> = missing.iter().map(|(_, n)| i16::from(n.team)).collect();
        let bots: Vec<i16> = missing.iter().map(|(_, n)| i16::from(n.bot)).collect();
        let anonymous: Vec<i16> = missing
            .iter()
            .map(|(_, n)| i16::from(n.anonymous))
            .collect();
        self.conn
            .execute(
                "INSERT INTO members (id, display_name, team, bot, anonymous, created_at, seq)
                 SELECT id, display_name, team, bot, anonymous, $6, $7
                   FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::smallint[], $5::smallint[])
                        AS x (id, display_name, team, bot, anonymous)",
                &[&member_ids, &display, &teams, &bots, &anonymous, &self.now, &self.xid],
            )
            .map_err(|e| db_err("creating members for new identities", e))?;

        let sources: Vec<i64> = missing.iter().map(|((s, _), _)| *s).collect();
        let exts: Vec<&str> = missing.iter().map(|((_, e), _)| e.as_str()).collect();
        let names: Vec<Option<&str>> = missing.iter().map(|(_, n)| n.name.as_deref()).collect();
        let handles: Vec<Option<&str>> = missing.iter().map(|(_, n)| n.handle.as_deref()).collect();
        let emails: Vec<Option<&str>> = missing.iter().map(|(_, n)| n.email.as_deref()).collect();
        let created = self
            .conn
            .query(
                "INSERT INTO identities (source_id, ext_id, name, handle, email, member_id, anonymous, team, bot, seq)
                 SELECT source_id, ext_id, name, handle, email, member_id, anonymous, team, bot, $10
                   FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                               $7::smallint[], $8::smallint[], $9::smallint[])
                        AS x (source_id, ext_id, name, handle, email, member_id, anonymous, team, bot)
                 ON CONFLICT (source_id, ext_id) DO NOTHING
                 RETURNING id, source_id, ext_id, member_id",
                &[&sources, &exts, &names, &handles, &emails, &member_ids, &anonymous, &teams, &bots, &self.xid],
            )
            .map_err(|e| db_err("creating identities", e))?;
        let by_key: HashMap<&(i64, String), &NewIdentity> =
            missing.iter().map(|(k, n)| (k, n)).collect();
        let mut used_members = std::collections::HashSet::new();
        for row in &created {
            let key = (col::<i64>(row, "source_id")?, col::<String>(row, "ext_id")?);
            let member: i64 = col(row, "member_id")?;
            used_members.insert(member);
            if let Some(new) = by_key.get(&key).copied() {
                outcome.identities_created += 1;
                outcome.members_created += 1;
                self.identities.insert(
                    key,
                    KnownIdentity {
                        id: col(row, "id")?,
                        name: new.name.clone(),
                        handle: new.handle.clone(),
                        email: new.email.clone(),
                        team: new.team,
                        bot: new.bot,
                    },
                );
            }
        }
        if created.len() < missing.len() {
            // A concurrent import created some of them first: drop our spare members, use theirs.
            let spare: Vec<i64> = member_ids
                .iter()
                .copied()
                .filter(|m| !used_members.contains(m))
                .collect();
            self.conn
                .execute("DELETE FROM members WHERE id = ANY($1)", &[&spare])
                .map_err(|e| db_err("removing members of identities created concurrently", e))?;
            let left: Vec<&((i64, String), NewIdentity)> = missing
                .into_iter()
                .filter(|(k, _)| !self.identities.contains_key(k))
                .collect();
            let sources: Vec<i64> = left.iter().map(|((s, _), _)| *s).collect();
            let exts: Vec<&str> = left.iter().map(|((_, e), _)| e.as_str()).collect();
            load_identities(&mut self.conn, &mut self.identities, &sources, &exts)?;
        }
        Ok(())
    }

    fn finish(&mut self, sql: &str, what: &str) -> StoreResult<()> {
        self.finished = true;
        if let Err(e) = self.conn.batch_execute(sql) {
            self.conn.discard();
            return Err(db_err(what, e));
        }
        Ok(())
    }
}

struct StageRow {
    ord: i32,
    identity: i64,
    channel: Option<i64>,
    thread: Option<i64>,
    to: Option<String>,
    attrs: Option<String>,
    micros: i32,
    offset: i32,
}

fn json<T: serde::Serialize + ?Sized>(value: &T, a: &Activity, field: &str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| {
        StoreError::Invalid(format!("activity `{}`: cannot encode `{field}`: {e}", a.id))
    })
}

/// The platform user id, or for author-less content a key of its own per activity.
fn identity_key(a: &Activity) -> String {
    match &a.author {
        Some(author) => author.id.clone(),
        None => format!("anon:{}", a.id),
    }
}

/// What a new identity and its member start with.
struct NewIdentity {
    name: Option<String>,
    handle: Option<String>,
    email: Option<String>,
    team: bool,
    bot: bool,
    anonymous: bool,
}

impl NewIdentity {
    fn of(a: &Activity) -> NewIdentity {
        match &a.author {
            Some(author) => NewIdentity {
                name: author.name.clone(),
                handle: author.handle.clone(),
                email: author.email.clone(),
                team: author.team == Some(true),
                bot: author.bot == Some(true),
                anonymous: false,
            },
            None => NewIdentity {
                name: None,
                handle: None,
                email: None,
                team: false,
                bot: false,
                anonymous: true,
            },
        }
    }

    fn display_name(&self) -> Option<&str> {
        self.name.as_deref().or(self.handle.as_deref())
    }
}

/// Reads identities by (source, platform id) into the cache.
fn load_identities(
    conn: &mut Conn<'_>,
    cache: &mut HashMap<(i64, String), KnownIdentity>,
    sources: &[i64],
    exts: &[&str],
) -> StoreResult<()> {
    let rows = conn
        .query(
            "SELECT i.id, i.source_id, i.ext_id, i.name, i.handle, i.email, i.team, i.bot
               FROM identities i
               JOIN unnest($1::bigint[], $2::text[]) AS x (source_id, ext_id)
                 ON i.source_id = x.source_id AND i.ext_id = x.ext_id",
            &[&sources, &exts],
        )
        .map_err(|e| db_err("looking up identities", e))?;
    for row in &rows {
        cache.insert(
            (col(row, "source_id")?, col(row, "ext_id")?),
            KnownIdentity {
                id: col(row, "id")?,
                name: col(row, "name")?,
                handle: col(row, "handle")?,
                email: col(row, "email")?,
                team: crate::flag(row, "team")?,
                bot: crate::flag(row, "bot")?,
            },
        );
    }
    Ok(())
}

/// Finds or creates channels or threads (`table`) by (source, platform id).
fn resolve_places(
    conn: &mut Conn<'_>,
    table: &str,
    cache: &mut HashMap<(i64, String), i64>,
    wanted: &[(i64, &str)],
    xid: i64,
) -> StoreResult<()> {
    let mut misses: Vec<(i64, &str)> = wanted
        .iter()
        .copied()
        .filter(|(s, e)| !cache.contains_key(&(*s, (*e).to_owned())))
        .collect();
    if misses.is_empty() {
        return Ok(());
    }
    misses.sort_unstable();
    misses.dedup();
    let load = |conn: &mut Conn<'_>,
                cache: &mut HashMap<(i64, String), i64>,
                sql: &str,
                misses: &[(i64, &str)],
                what: &str|
     -> StoreResult<()> {
        let sources: Vec<i64> = misses.iter().map(|(s, _)| *s).collect();
        let exts: Vec<&str> = misses.iter().map(|(_, e)| *e).collect();
        let rows = conn
            .query(sql, &[&sources, &exts, &xid])
            .map_err(|e| db_err(format!("{what} {table}"), e))?;
        for row in &rows {
            cache.insert(
                (col(row, "source_id")?, col(row, "ext_id")?),
                col(row, "id")?,
            );
        }
        Ok(())
    };
    let select = format!(
        "SELECT p.id, p.source_id, p.ext_id FROM {table} p
           JOIN unnest($1::bigint[], $2::text[]) AS x (source_id, ext_id)
             ON p.source_id = x.source_id AND p.ext_id = x.ext_id
          WHERE $3::bigint IS NOT NULL"
    );
    load(conn, cache, &select, &misses, "looking up")?;
    misses.retain(|(s, e)| !cache.contains_key(&(*s, (*e).to_owned())));
    if misses.is_empty() {
        return Ok(());
    }
    let insert = format!(
        "INSERT INTO {table} (source_id, ext_id, seq)
         SELECT source_id, ext_id, $3 FROM unnest($1::bigint[], $2::text[]) AS x (source_id, ext_id)
         ON CONFLICT (source_id, ext_id) DO NOTHING
         RETURNING id, source_id, ext_id"
    );
    load(conn, cache, &insert, &misses, "creating")?;
    misses.retain(|(s, e)| !cache.contains_key(&(*s, (*e).to_owned())));
    if !misses.is_empty() {
        // Created by a concurrent import between our look-up and insert.
        load(conn, cache, &select, &misses, "looking up")?;
    }
    Ok(())
}

impl Ingest for PgIngest<'_> {
    fn ensure_source(&mut self, name: &str, format: &str) -> StoreResult<SourceId> {
        kith_model::validate_source_name(name).map_err(StoreError::Invalid)?;
        if let Some((id, known)) = self.sources.get(name) {
            if known != format {
                return Err(format_conflict(name, known, format));
            }
            return Ok(SourceId(*id));
        }
        let select = "SELECT id, format FROM sources WHERE name = $1";
        let mut row = self
            .conn
            .query_opt(select, &[&name])
            .map_err(|e| db_err(format!("looking up source `{name}`"), e))?;
        if row.is_none() {
            let inserted = self
                .conn
                .query_opt(
                    "INSERT INTO sources (name, format, created_at, seq) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (name) DO NOTHING RETURNING id, format",
                    &[&name, &format, &self.now, &self.xid],
                )
                .map_err(|e| db_err(format!("creating source `{name}`"), e))?;
            row = match inserted {
                Some(r) => Some(r),
                None => self
                    .conn
                    .query_opt(select, &[&name])
                    .map_err(|e| db_err(format!("looking up source `{name}`"), e))?,
            };
        }
        let row = row.ok_or_else(|| {
            StoreError::backend(
                format!("creating source `{name}`"),
                "the source vanished while being created",
            )
        })?;
        let id: i64 = col(&row, "id")?;
        let known: String = col(&row, "format")?;
        if known != format {
            return Err(format_conflict(name, &known, format));
        }
        self.sources.insert(name.to_owned(), (id, known));
        Ok(SourceId(id))
    }

    fn write_hashed(&mut self, batch: &[Activity], hashes: &[u64]) -> StoreResult<BatchOutcome> {
        kith_store::check_hashes(batch, hashes)?;
        let mut outcome = BatchOutcome::default();
        // Split into rounds that hold each key once; byte-identical repeats are just unchanged.
        let mut rounds: Vec<Vec<Item<'_>>> = vec![Vec::with_capacity(batch.len())];
        let mut seen: HashMap<(i64, &str), (usize, i64)> = HashMap::with_capacity(batch.len());
        for (index, (a, &hash)) in batch.iter().zip(hashes).enumerate() {
            let source = self.source_id(a)?;
            let hash = hash as i64;
            let round = match seen.get_mut(&(source, a.id.as_str())) {
                None => {
                    seen.insert((source, a.id.as_str()), (0, hash));
                    0
                }
                Some((_, last)) if *last == hash => {
                    outcome.unchanged += 1;
                    continue;
                }
                Some((round, last)) => {
                    *round += 1;
                    *last = hash;
                    *round
                }
            };
            if rounds.len() <= round {
                rounds.push(Vec::new());
            }
            rounds[round].push(Item {
                activity: a,
                source,
                hash,
                index,
                topics: kith_store::topics_of(a),
            });
        }
        let mut topics = Vec::new();
        for round in rounds.iter().filter(|r| !r.is_empty()) {
            outcome += self.write_round(round, &mut topics)?;
        }
        self.write_topics(topics)?;
        Ok(outcome)
    }

    fn mark_inferred_threads(&mut self, source: &str, threads: &[String]) -> StoreResult<()> {
        let source_id = match self.sources.get(source) {
            Some((id, _)) => *id,
            None => {
                let row = self
                    .conn
                    .query_opt("SELECT id FROM sources WHERE name = $1", &[&source])
                    .map_err(|e| db_err(format!("looking up source `{source}`"), e))?
                    .ok_or_else(|| StoreError::NotFound(format!("source `{source}`")))?;
                col(&row, "id")?
            }
        };
        let mut threads: Vec<&str> = threads.iter().map(String::as_str).collect();
        threads.sort_unstable();
        threads.dedup();
        self.conn
            .execute(
                "INSERT INTO threads (source_id, ext_id, inferred, seq)
                 SELECT $1, ext_id, 1, $3 FROM unnest($2::text[]) AS x (ext_id)
                 ON CONFLICT (source_id, ext_id) DO UPDATE SET inferred = 1, seq = EXCLUDED.seq
                 WHERE threads.inferred <> 1",
                &[&source_id, &threads, &self.xid],
            )
            .map_err(|e| db_err(format!("marking inferred threads of source `{source}`"), e))?;
        Ok(())
    }

    fn commit(mut self: Box<Self>, audit: &ImportAudit) -> StoreResult<AuditId> {
        let id = insert_audit(&mut *self.conn, audit)?;
        self.finish("COMMIT", "committing the import")?;
        Ok(id)
    }

    fn rollback(mut self: Box<Self>) -> StoreResult<()> {
        self.finish("ROLLBACK", "rolling back the import")
    }
}

/// Replaces the topics of the threads of `topics` (each ascending, each once). With `seq` (the
/// writing transaction's id and the threads given topics by at least one of the replacements
/// this stands for), the threads are locked first (a concurrent import waits, then sees these
/// topics), and those whose topics changed move their change number to it, so that the change
/// stream reports them again: the ones that had topics, and the ones of `seq`'s list.
pub(crate) fn replace_topics<T: AsRef<[String]>>(
    client: &mut impl GenericClient,
    topics: &BTreeMap<i64, T>,
    seq: Option<(i64, &[i64])>,
) -> StoreResult<()> {
    let what = "replacing thread topics";
    let threads: Vec<i64> = topics.keys().copied().collect();
    match seq {
        None => client.execute(
            "DELETE FROM thread_topics WHERE thread_id = ANY($1)",
            &[&threads],
        ),
        Some((xid, labelled)) => client
            .execute(
                "SELECT id FROM threads WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
                &[&threads],
            )
            .and_then(|_| {
                client.execute(
                    "WITH gone AS (DELETE FROM thread_topics WHERE thread_id = ANY($1) RETURNING thread_id)
                     UPDATE threads SET seq = $3
                      WHERE id IN (SELECT thread_id FROM gone UNION SELECT unnest($2::bigint[]))",
                    &[&threads, &labelled, &xid],
                )
            }),
    }
    .map_err(|e| db_err(what, e))?;
    let (ids, names): (Vec<i64>, Vec<&str>) = topics
        .iter()
        .flat_map(|(thread, list)| list.as_ref().iter().map(move |t| (*thread, t.as_str())))
        .unzip();
    if !ids.is_empty() {
        client
            .execute(
                "INSERT INTO thread_topics (thread_id, topic)
                 SELECT thread_id, topic FROM unnest($1::bigint[], $2::text[]) AS x (thread_id, topic)",
                &[&ids, &names],
            )
            .map_err(|e| db_err(what, e))?;
    }
    Ok(())
}

fn format_conflict(name: &str, known: &str, wanted: &str) -> StoreError {
    StoreError::Conflict(format!(
        "source `{name}` exists with format `{known}`, not `{wanted}`; import with another --source name"
    ))
}

impl Drop for PgIngest<'_> {
    fn drop(&mut self) {
        if !self.finished && self.conn.batch_execute("ROLLBACK").is_err() {
            self.conn.discard();
        }
    }
}
