//! Read packs (schema v5): what a snapshot build reads of the activities and of their text
//! scores, packed by blocks of 4,096 activity ids into one compact blob each, so that a new
//! process reads ten million activities as a few thousand blobs instead of stepping SQLite
//! through ten million rows (the build's main cost: about 80 % of its CPU time went to
//! SQLite's row machinery).
//!
//! A pack is a read cache of its table, never the truth: `Store::read_activities` and
//! `Store::read_text_scores` return exactly what reading the rows returns, with or without
//! packs. That rests on these invariants, for each packed table ([`ACTIVITIES`], [`TEXTS`]):
//!
//! - A pack holds every row of its block as of the change counter `built_seq` it was written
//!   at, in id order (the columns the bulk read decodes).
//! - Only whole blocks below the next activity id are packed. Ids are never taken twice (the
//!   source removal raises a floor, `schema::next_id`), so no activity joins a packed block.
//! - Every later write to a row of a packed block stamps the row with a newer `seq` and is
//!   found by an index: `activities_changed` for an activity changed after its insert (schema
//!   v2), `text_scores_seq` for any score written. A block with such a row is *dirty*: its
//!   rows are read from the table until it is packed again. Removing a source deletes rows
//!   outright, so it drops every pack, and packs read before a removal are not written after.
//! - A pack written after a reader's watermark (`built_seq` at or above it) may hold rows the
//!   reader must not see yet; the reader reads that block's rows instead.
//!
//! Packs are made by [`read_blocks`] on a reader and written by [`write_blocks`] in a short
//! write transaction (`Store::pack_for_reads`), after imports, scoring and generation; a
//! block without a pack is simply read from the table.

use kith_model::Kind;
use kith_store::{ActivityFact, ActivityId, ChannelId, IdentityId, SourceId, StoreError};
use kith_store::{PackStats, StoreResult, TextFact, ThreadId, Watermark};
use rusqlite::{Connection, params};

use crate::changes::{ACTIVITY_VALUES, TEXT_VALUES, addressees_into, decode_activity};
use crate::changes::{decode_text, empty_fact, rows_by_id};
use crate::error::Context;
use crate::raw::{RowValues, for_each_row};

/// Ids per block: `id >> BLOCK_SHIFT` is an activity's block.
pub(crate) const BLOCK_SHIFT: u32 = 12;
/// The first byte of a pack: its layout.
const FORMAT: u8 = 1;
/// Blocks packed per read and write transaction: the write lock is held for a few
/// milliseconds at a time, and the packs in memory stay small (about 80 KiB a block).
pub(crate) const BLOCKS_PER_TRANSACTION: usize = 64;

/// Flags of an activity's second byte.
const HAS_CHANNEL: u8 = 1;
const HAS_THREAD: u8 = 2;
const HAS_REPLY_TO: u8 = 4;
const HAS_TO: u8 = 8;
const DELETED: u8 = 16;
/// Flags of a text score's first byte.
const SCORED: u8 = 1;
const HOSTILE: u8 = 2;

fn block_start(block: i64) -> i64 {
    block << BLOCK_SHIFT
}

/// A table kept in packs, and how its packs are found and checked.
pub(crate) struct Table {
    /// The packs' table.
    packs: &'static str,
    /// The packed table, its activity id column, and the values a bulk read decodes (the
    /// id first).
    source: &'static str,
    id: &'static str,
    values: &'static str,
    /// `(id, seq)` of the rows written after `?1` with an id in `?2..?3`, through an index.
    changed: &'static str,
    /// What a read of it is called in errors.
    what: &'static str,
}

impl Table {
    /// `kith_row(values)` over the rows with an id in `?1..?2`, in id order; `extra` adds to
    /// the `WHERE`.
    fn rows(&self, extra: &str) -> String {
        format!(
            "SELECT kith_row({}) FROM {} NOT INDEXED WHERE {id} >= ?1 AND {id} < ?2{extra}",
            self.values,
            self.source,
            id = self.id
        )
    }
}

/// The activities: `changes::ACTIVITY_VALUES` of `activities`.
pub(crate) const ACTIVITIES: Table = Table {
    packs: "activity_packs",
    source: "activities",
    id: "id",
    values: ACTIVITY_VALUES,
    changed: "SELECT id, seq FROM activities INDEXED BY activities_changed \
              WHERE changed = 1 AND seq > ?1 AND id >= ?2 AND id < ?3",
    what: "reading activities",
};

/// The text scores: `changes::TEXT_VALUES` of `text_scores`.
pub(crate) const TEXTS: Table = Table {
    packs: "text_packs",
    source: "text_scores",
    id: "activity_id",
    values: TEXT_VALUES,
    changed: "SELECT activity_id, seq FROM text_scores INDEXED BY text_scores_seq \
              WHERE seq > ?1 AND activity_id >= ?2 AND activity_id < ?3",
    what: "reading text scores",
};

/// A fact a packed table's rows decode into.
pub(crate) trait Packed: Sized {
    /// Its table.
    const TABLE: &'static Table;
    /// A fact to decode into.
    fn empty() -> Self;
    /// Decodes a row of the table's values (the row read).
    fn from_row(row: &RowValues<'_>, into: &mut Self) -> StoreResult<()>;
    /// Appends what the pack keeps of a row, but its id. `prev` carries state between the
    /// rows of one pack (the previous time of an activity).
    fn encode(row: &RowValues<'_>, prev: &mut i64, out: &mut Vec<u8>) -> StoreResult<()>;
    /// Reads back what [`Packed::encode`] wrote for the row with id `id`.
    fn decode(r: &mut Reader<'_>, id: i64, prev: &mut i64, into: &mut Self) -> StoreResult<()>;
}

// ---- encoding ------------------------------------------------------------------------------

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

/// One pack being written: rows appended in id order.
struct Packer {
    data: Vec<u8>,
    rows: u32,
    prev_id: i64,
    prev: i64,
}

impl Packer {
    fn new(block: i64) -> Packer {
        Packer {
            data: Vec::new(),
            rows: 0,
            prev_id: block_start(block),
            prev: 0,
        }
    }

    fn push<P: Packed>(&mut self, row: &RowValues<'_>) -> StoreResult<()> {
        self.push_with(row.int(0), |prev, out| P::encode(row, prev, out))
    }

    /// Appends row `id` (above the last one): its id, then what `encode` writes.
    fn push_with(
        &mut self,
        id: i64,
        encode: impl FnOnce(&mut i64, &mut Vec<u8>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        put_varint(&mut self.data, zigzag(id.wrapping_sub(self.prev_id)));
        encode(&mut self.prev, &mut self.data)?;
        self.prev_id = id;
        self.rows += 1;
        Ok(())
    }

    fn finish(self) -> Vec<u8> {
        let mut blob = Vec::with_capacity(self.data.len() + 6);
        blob.push(FORMAT);
        put_varint(&mut blob, u64::from(self.rows));
        blob.extend_from_slice(&self.data);
        blob
    }
}

impl Packed for ActivityFact {
    const TABLE: &'static Table = &ACTIVITIES;

    fn empty() -> Self {
        empty_fact()
    }

    fn from_row(row: &RowValues<'_>, into: &mut Self) -> StoreResult<()> {
        decode_activity(row, into)
    }

    fn encode(row: &RowValues<'_>, prev_ts: &mut i64, out: &mut Vec<u8>) -> StoreResult<()> {
        let id = row.int(0);
        let kind = row
            .text(2)
            .and_then(Kind::from_bytes)
            .ok_or_else(|| StoreError::Invalid(format!("activity {id}: unknown kind")))?;
        let values = ActivityValues {
            id,
            source: row.int(1),
            kind,
            ts: row.int(3),
            identity: row.int(4),
            channel: row.opt_int(5),
            thread: row.opt_int(6),
            reply_to: row.opt_int(7),
            deleted: row.int(8) != 0,
            to: row.text(9),
        };
        encode_activity(&values, prev_ts, out);
        Ok(())
    }

    fn decode(r: &mut Reader<'_>, id: i64, prev_ts: &mut i64, f: &mut Self) -> StoreResult<()> {
        let code = r.byte()?;
        f.kind = Kind::from_code(code).ok_or_else(|| r.corrupt("an unknown kind"))?;
        let flags = r.byte()?;
        f.source = SourceId(unzigzag(r.varint()?));
        *prev_ts = prev_ts.wrapping_add(unzigzag(r.varint()?));
        f.ts = *prev_ts;
        f.identity = IdentityId(unzigzag(r.varint()?));
        f.channel = match flags & HAS_CHANNEL {
            0 => None,
            _ => Some(ChannelId(unzigzag(r.varint()?))),
        };
        f.thread = match flags & HAS_THREAD {
            0 => None,
            _ => Some(ThreadId(unzigzag(r.varint()?))),
        };
        f.reply_to = match flags & HAS_REPLY_TO {
            0 => None,
            _ => Some(ActivityId(id.wrapping_sub(unzigzag(r.varint()?)))),
        };
        if flags & HAS_TO != 0 {
            let n = r.varint()?;
            let json = r.bytes(n)?;
            addressees_into(json, &mut f.to)
                .map_err(|e| StoreError::backend("reading activity packs", e))?;
        } else {
            f.to.clear();
        }
        f.deleted = flags & DELETED != 0;
        f.id = ActivityId(id);
        Ok(())
    }
}

/// What an activity pack keeps of a row, as stored.
pub(crate) struct ActivityValues<'a> {
    pub(crate) id: i64,
    pub(crate) source: i64,
    pub(crate) kind: Kind,
    pub(crate) ts: i64,
    pub(crate) identity: i64,
    pub(crate) channel: Option<i64>,
    pub(crate) thread: Option<i64>,
    pub(crate) reply_to: Option<i64>,
    pub(crate) deleted: bool,
    /// `to_ext` as stored (JSON).
    pub(crate) to: Option<&'a [u8]>,
}

/// Kind, flags, source, time (from the previous row's), identity, then what is present:
/// channel, thread, reply target (from the row's id), addressees (as stored).
fn encode_activity(v: &ActivityValues<'_>, prev_ts: &mut i64, out: &mut Vec<u8>) {
    let mut flags = 0u8;
    for (present, flag) in [
        (v.channel.is_some(), HAS_CHANNEL),
        (v.thread.is_some(), HAS_THREAD),
        (v.reply_to.is_some(), HAS_REPLY_TO),
        (v.to.is_some(), HAS_TO),
        (v.deleted, DELETED),
    ] {
        if present {
            flags |= flag;
        }
    }
    out.push(v.kind.code());
    out.push(flags);
    put_varint(out, zigzag(v.source));
    put_varint(out, zigzag(v.ts.wrapping_sub(*prev_ts)));
    put_varint(out, zigzag(v.identity));
    for x in [v.channel, v.thread].into_iter().flatten() {
        put_varint(out, zigzag(x));
    }
    if let Some(r) = v.reply_to {
        put_varint(out, zigzag(v.id.wrapping_sub(r)));
    }
    if let Some(to) = v.to {
        put_varint(out, to.len() as u64);
        out.extend_from_slice(to);
    }
    *prev_ts = v.ts;
}

impl Packed for TextFact {
    const TABLE: &'static Table = &TEXTS;

    fn empty() -> Self {
        TextFact {
            activity: ActivityId(0),
            scored: false,
            sentiment: 0,
            confidence: 0,
            hostility: 0,
            hostile: false,
            intents: 0,
        }
    }

    fn from_row(row: &RowValues<'_>, into: &mut Self) -> StoreResult<()> {
        *into = decode_text(row)?;
        Ok(())
    }

    /// Flags (scored, hostile), sentiment, confidence, hostility, intents; checked as the
    /// row read checks them.
    fn encode(row: &RowValues<'_>, _: &mut i64, out: &mut Vec<u8>) -> StoreResult<()> {
        let t = decode_text(row)?;
        out.push((u8::from(t.scored) * SCORED) | (u8::from(t.hostile) * HOSTILE));
        for v in [t.sentiment, t.confidence, t.hostility] {
            put_varint(out, zigzag(i64::from(v)));
        }
        put_varint(out, u64::from(t.intents));
        Ok(())
    }

    fn decode(r: &mut Reader<'_>, id: i64, _: &mut i64, t: &mut Self) -> StoreResult<()> {
        let flags = r.byte()?;
        let mut small = || -> StoreResult<i16> {
            i16::try_from(unzigzag(r.varint()?)).map_err(|_| r.corrupt("a score out of range"))
        };
        let (sentiment, confidence, hostility) = (small()?, small()?, small()?);
        let intents = u16::try_from(r.varint()?).map_err(|_| r.corrupt("intents out of range"))?;
        *t = TextFact {
            activity: ActivityId(id),
            scored: flags & SCORED != 0,
            sentiment,
            confidence,
            hostility,
            hostile: flags & HOSTILE != 0,
            intents,
        };
        Ok(())
    }
}

// ---- decoding ------------------------------------------------------------------------------

/// A pack being read; every read is checked (a damaged pack is an error naming its block, never
/// a panic).
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    block: i64,
    table: &'static str,
}

impl Reader<'_> {
    #[cold]
    fn corrupt(&self, what: &str) -> StoreError {
        StoreError::backend(
            "reading packs",
            format!(
                "the {} pack of block {} (activity ids {}..{}) is damaged: {what} at byte {}; \
                 `kith` reads the rows instead once the pack is dropped \
                 (DELETE FROM {} WHERE block = {})",
                self.table,
                self.block,
                block_start(self.block),
                block_start(self.block + 1),
                self.at,
                self.table,
                self.block,
            ),
        )
    }

    fn byte(&mut self) -> StoreResult<u8> {
        let b = *self
            .data
            .get(self.at)
            .ok_or_else(|| self.corrupt("unexpected end"))?;
        self.at += 1;
        Ok(b)
    }

    #[inline]
    fn varint(&mut self) -> StoreResult<u64> {
        let rest = self.data.get(self.at..).unwrap_or_default();
        // Most values of a pack are one byte (deltas, small ids).
        if let Some(&b) = rest.first()
            && b < 0x80
        {
            self.at += 1;
            return Ok(u64::from(b));
        }
        let mut v = 0u64;
        for (i, &b) in rest.iter().take(10).enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.at += i + 1;
                return Ok(v);
            }
        }
        Err(self.corrupt(if rest.len() < 10 {
            "unexpected end"
        } else {
            "a number longer than 64 bits"
        }))
    }

    fn bytes(&mut self, n: u64) -> StoreResult<&[u8]> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| self.corrupt("a value past the end"))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }
}

/// Hands the rows of a pack with an id in `ids` to `sink`, in id order, decoded into `fact`.
fn unpack<P: Packed>(
    block: i64,
    data: &[u8],
    ids: &std::ops::Range<i64>,
    fact: &mut P,
    sink: &mut dyn FnMut(&P) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut r = Reader {
        data,
        at: 0,
        block,
        table: P::TABLE.packs,
    };
    if r.byte()? != FORMAT {
        return Err(r.corrupt("an unknown layout"));
    }
    let rows = r.varint()?;
    let (mut id, mut prev) = (block_start(block), 0i64);
    for n in 0..rows {
        let next = id.wrapping_add(unzigzag(r.varint()?));
        // The first row may sit on the block's first id; each next one is above the last.
        let ordered = if n == 0 { next >= id } else { next > id };
        if !ordered || next >= block_start(block + 1) {
            return Err(r.corrupt("an id out of order or outside the block"));
        }
        id = next;
        P::decode(&mut r, id, &mut prev, fact)?;
        if ids.contains(&id) {
            sink(fact)?;
        }
    }
    if r.at != data.len() {
        return Err(r.corrupt("bytes after the last row"));
    }
    Ok(())
}

// ---- which packs are good ------------------------------------------------------------------

/// The packs of `table` for blocks `blocks` with their `built_seq`, ascending by block.
fn directory(
    conn: &Connection,
    table: &Table,
    blocks: std::ops::Range<i64>,
) -> StoreResult<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT block, built_seq FROM {} WHERE block >= ?1 AND block < ?2 ORDER BY block",
        table.packs
    );
    let mut stmt = conn.prepare_cached(&sql).ctx("reading the packs")?;
    let rows = stmt
        .query_map(params![blocks.start, blocks.end], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ctx("reading the packs")?;
    rows.collect::<Result<_, _>>().ctx("reading the packs")
}

/// The blocks among `packs` (ascending) with a row written after the pack was.
fn dirty_blocks(
    conn: &Connection,
    table: &Table,
    packs: &[(i64, i64)],
    ids: std::ops::Range<i64>,
) -> StoreResult<Vec<i64>> {
    let Some(oldest) = packs.iter().map(|p| p.1).min() else {
        return Ok(Vec::new());
    };
    let what = "finding rows written since they were packed";
    let mut stmt = conn.prepare_cached(table.changed).ctx(what)?;
    let rows = stmt
        .query_map(params![oldest, ids.start, ids.end], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .ctx(what)?;
    let mut dirty = Vec::new();
    for row in rows {
        let (id, seq) = row.ctx(what)?;
        let block = id >> BLOCK_SHIFT;
        if let Ok(i) = packs.binary_search_by_key(&block, |p| p.0)
            && seq > packs[i].1
        {
            dirty.push(block);
        }
    }
    dirty.sort_unstable();
    dirty.dedup();
    Ok(dirty)
}

// ---- reading -------------------------------------------------------------------------------

/// `Store::read_activities`: the activities in `ids` stamped below `before`, in id order.
/// Call inside a read transaction.
pub(crate) fn read_activities(
    conn: &Connection,
    ids: std::ops::Range<i64>,
    before: Watermark,
    sink: &mut dyn FnMut(&ActivityFact) -> StoreResult<()>,
) -> StoreResult<()> {
    read(conn, ids, before, sink)
}

/// `Store::read_text_scores`: the scores of the activities in `ids` stamped below `before`,
/// in activity id order. Call inside a read transaction.
pub(crate) fn read_text_scores(
    conn: &Connection,
    ids: std::ops::Range<i64>,
    before: Watermark,
    sink: &mut dyn FnMut(&TextFact) -> StoreResult<()>,
) -> StoreResult<()> {
    read(conn, ids, before, sink)
}

/// The rows of `table` in `ids` stamped below `before`, in id order, decoded into one reused
/// fact: from the packs that hold them exactly, from the rows elsewhere.
fn read<P: Packed>(
    conn: &Connection,
    ids: std::ops::Range<i64>,
    before: Watermark,
    sink: &mut dyn FnMut(&P) -> StoreResult<()>,
) -> StoreResult<()> {
    if ids.start >= ids.end {
        return Ok(());
    }
    let table = P::TABLE;
    let blocks = (ids.start >> BLOCK_SHIFT)..((ids.end - 1) >> BLOCK_SHIFT) + 1;
    let mut packs = directory(conn, table, blocks)?;
    let dirty = dirty_blocks(conn, table, &packs, ids.clone())?;
    // Good packs: clean, and written before the reader's watermark.
    packs.retain(|&(block, built)| built < before.0 && dirty.binary_search(&block).is_err());
    let mut fact = P::empty();
    let mut at = ids.start;
    let mut i = 0;
    while at < ids.end {
        // The next run of good packs, and the rows before it.
        let run_start = packs
            .get(i)
            .map_or(ids.end, |p| block_start(p.0).max(ids.start));
        if at < run_start {
            read_rows(conn, at..run_start, before, &mut fact, sink)?;
        }
        if i == packs.len() {
            break;
        }
        let mut j = i + 1;
        while j < packs.len() && packs[j].0 == packs[j - 1].0 + 1 {
            j += 1;
        }
        let (first, last) = (packs[i].0, packs[j - 1].0);
        read_packs(conn, first..last + 1, &ids, &mut fact, sink)?;
        at = block_start(last + 1);
        i = j;
    }
    Ok(())
}

fn read_rows<P: Packed>(
    conn: &Connection,
    ids: std::ops::Range<i64>,
    before: Watermark,
    fact: &mut P,
    sink: &mut dyn FnMut(&P) -> StoreResult<()>,
) -> StoreResult<()> {
    // Millions of rows, handed over inside SQLite's step (`rows_by_id`), in the scan's order.
    rows_by_id(
        conn,
        P::TABLE.what,
        &P::TABLE.rows(" AND seq < ?3"),
        &[ids.start, ids.end, before.0],
        &mut |row| {
            P::from_row(row, fact)?;
            sink(fact)
        },
    )
}

/// The packs of `blocks` (each present), in block order.
fn read_packs<P: Packed>(
    conn: &Connection,
    blocks: std::ops::Range<i64>,
    ids: &std::ops::Range<i64>,
    fact: &mut P,
    sink: &mut dyn FnMut(&P) -> StoreResult<()>,
) -> StoreResult<()> {
    let table = P::TABLE;
    let mut expect = blocks.start;
    let sql = format!(
        "SELECT kith_row(block, data) FROM {} NOT INDEXED WHERE block >= ?1 AND block < ?2",
        table.packs
    );
    let bad = |detail: String| StoreError::backend("reading packs", detail);
    for_each_row(conn, &sql, &[blocks.start, blocks.end], &mut |row| {
        let block = row.int(0);
        if block != expect {
            return Err(bad(format!(
                "{} of block {block} where block {expect} was expected",
                table.packs
            )));
        }
        expect += 1;
        unpack(block, row.blob(1).unwrap_or_default(), ids, fact, sink)
    })
    .ctx("reading packs")??;
    if expect != blocks.end {
        return Err(bad(format!(
            "{} of block {expect} went missing during the read",
            table.packs
        )));
    }
    Ok(())
}

// ---- writing -------------------------------------------------------------------------------

/// The blocks [`read_blocks`] may pack: every whole block from the first activity's to the
/// last one below the next activity id (the last block is packed once the ids have moved past
/// it). Empty when there are no activities.
pub(crate) fn packable_blocks(conn: &Connection) -> StoreResult<std::ops::Range<i64>> {
    let first: Option<i64> = conn
        .query_row("SELECT min(id) FROM activities", [], |r| r.get(0))
        .ctx("packing")?;
    let Some(first) = first else {
        return Ok(0..0);
    };
    let next = crate::schema::next_id(conn, "activities")?;
    Ok((first >> BLOCK_SHIFT)..(next >> BLOCK_SHIFT))
}

/// The blocks of `blocks` whose `table` pack is missing or dirty, ascending.
pub(crate) fn wanted_blocks(
    conn: &Connection,
    table: &Table,
    blocks: std::ops::Range<i64>,
) -> StoreResult<Vec<i64>> {
    let packs = directory(conn, table, blocks.clone())?;
    let ids = block_start(blocks.start)..block_start(blocks.end);
    let dirty = dirty_blocks(conn, table, &packs, ids)?;
    Ok(blocks
        .filter(|b| {
            packs.binary_search_by_key(b, |p| p.0).is_err() || dirty.binary_search(b).is_ok()
        })
        .collect())
}

/// Blocks of one table packed from the rows of one read transaction, ready to write.
pub(crate) struct Packs {
    table: &'static Table,
    /// The change counter of the read: every row of these blocks is stamped at or below it.
    built: i64,
    /// (block, rows, pack), ascending by block.
    packs: Vec<(i64, u32, Vec<u8>)>,
}

/// Packs the rows of `P`'s table in `blocks` (ascending). Call inside a read transaction:
/// the packs hold the rows as that transaction sees them, stamped with its change counter.
pub(crate) fn read_blocks<P: Packed>(conn: &Connection, blocks: &[i64]) -> StoreResult<Packs> {
    let table = P::TABLE;
    let built: i64 = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM kith_meta WHERE key = 'seq'",
            [],
            |r| r.get(0),
        )
        .ctx("packing")?;
    let mut packs = Vec::with_capacity(blocks.len());
    let sql = table.rows("");
    // Runs of consecutive blocks, each read by one range scan.
    let mut rest = blocks;
    while let Some(&start) = rest.first() {
        let n = rest
            .iter()
            .zip(start..)
            .take_while(|(b, want)| **b == *want)
            .count();
        let end = start + n as i64;
        rest = &rest[n..];
        let mut block = start;
        let mut packer = Packer::new(block);
        rows_by_id(
            conn,
            table.what,
            &sql,
            &[block_start(start), block_start(end)],
            &mut |row| {
                let b = row.int(0) >> BLOCK_SHIFT;
                while block < b {
                    let done = std::mem::replace(&mut packer, Packer::new(block + 1));
                    packs.push((block, done.rows, done.finish()));
                    block += 1;
                }
                packer.push::<P>(row)
            },
        )?;
        while block < end {
            let done = std::mem::replace(&mut packer, Packer::new(block + 1));
            packs.push((block, done.rows, done.finish()));
            block += 1;
        }
    }
    Ok(Packs {
        table,
        built,
        packs,
    })
}

/// Writes packs read by [`read_blocks`] in one short write transaction. Rows written since
/// the read make their block dirty, as for any pack; rows removed since the read (a source's
/// removal, which leaves activity tombstones) would not, so then nothing is written (the next
/// packing reads again).
pub(crate) fn write_blocks(conn: &mut Connection, packed: Packs) -> StoreResult<PackStats> {
    let mut stats = PackStats::default();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .ctx("writing packs")?;
    let removed: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM tombstones WHERE seq > ?1 AND entity = 'activity')",
            [packed.built],
            |r| r.get(0),
        )
        .ctx("writing packs")?;
    if removed {
        return Ok(stats);
    }
    for (block, rows, data) in &packed.packs {
        insert_pack(&tx, packed.table, *block, packed.built, *rows, data)?;
        stats.blocks += 1;
        stats.rows += u64::from(*rows);
        stats.bytes += data.len() as u64;
    }
    tx.commit().ctx("writing packs")?;
    Ok(stats)
}

/// Writes (or replaces) the `table` pack of `block`, read at change number `built`.
fn insert_pack(
    conn: &Connection,
    table: &Table,
    block: i64,
    built: i64,
    rows: u32,
    data: &[u8],
) -> StoreResult<()> {
    let sql = format!(
        "INSERT OR REPLACE INTO {} (block, built_seq, rows, data) VALUES (?1, ?2, ?3, ?4)",
        table.packs
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params![block, built, rows, data]))
        .ctx("writing packs")?;
    Ok(())
}

/// Drops the activity packs of `blocks`.
fn drop_activity_packs(
    conn: &Connection,
    blocks: impl IntoIterator<Item = i64>,
) -> StoreResult<()> {
    let sql = format!("DELETE FROM {} WHERE block = ?1", ACTIVITIES.packs);
    let mut drop = conn.prepare_cached(&sql).ctx("writing packs")?;
    for block in blocks {
        drop.execute([block]).ctx("writing packs")?;
    }
    Ok(())
}

/// The activity packs a write session makes of the rows it inserts, whose values it has at
/// hand, so that an import does not read its rows back to pack them. Only blocks whose ids
/// all belong to the session are packed. The last [`SESSION_WINDOW`] blocks are kept as rows
/// and take the session's later changes to them (a row written again, a deletion, a reply
/// target found at commit); older blocks are written (in the session's transaction) and a
/// later change to one of their rows drops its pack at the end, to be packed from the rows by
/// `Store::pack_for_reads`. Ids that do not ascend turn it off and drop what it wrote: then
/// everything is left to `pack_for_reads`.
pub(crate) struct SessionPacks {
    /// The first block all of whose ids are the session's.
    first_block: i64,
    /// The blocks still taking changes, ascending, with their rows in id order.
    window: std::collections::VecDeque<(i64, Vec<SessionRow>)>,
    last_id: i64,
    written: Vec<i64>,
    tainted: Vec<i64>,
    off: bool,
}

/// Blocks a session keeps as rows before writing them (about 16 × 4,096 rows × 64 bytes).
const SESSION_WINDOW: usize = 16;

/// An activity row as [`ActivityValues`], owned.
struct SessionRow {
    id: i64,
    source: i64,
    kind: Kind,
    ts: i64,
    identity: i64,
    channel: Option<i64>,
    thread: Option<i64>,
    reply_to: Option<i64>,
    deleted: bool,
    to: Option<Box<[u8]>>,
}

impl SessionRow {
    fn new(v: &ActivityValues<'_>) -> SessionRow {
        SessionRow {
            id: v.id,
            source: v.source,
            kind: v.kind,
            ts: v.ts,
            identity: v.identity,
            channel: v.channel,
            thread: v.thread,
            reply_to: v.reply_to,
            deleted: v.deleted,
            to: v.to.map(Box::from),
        }
    }

    fn values(&self) -> ActivityValues<'_> {
        ActivityValues {
            id: self.id,
            source: self.source,
            kind: self.kind,
            ts: self.ts,
            identity: self.identity,
            channel: self.channel,
            thread: self.thread,
            reply_to: self.reply_to,
            deleted: self.deleted,
            to: self.to.as_deref(),
        }
    }
}

impl SessionPacks {
    /// For a session whose activity ids start at `first_activity`.
    pub(crate) fn new(first_activity: i64) -> SessionPacks {
        SessionPacks {
            first_block: (first_activity.saturating_add((1 << BLOCK_SHIFT) - 1)) >> BLOCK_SHIFT,
            window: std::collections::VecDeque::new(),
            last_id: i64::MIN,
            written: Vec::new(),
            tainted: Vec::new(),
            off: false,
        }
    }

    /// A row the session just inserted; `seq` stamps the packs written meanwhile.
    pub(crate) fn inserted(
        &mut self,
        conn: &Connection,
        seq: i64,
        row: &ActivityValues<'_>,
    ) -> StoreResult<()> {
        if self.off {
            return Ok(());
        }
        if row.id <= self.last_id {
            return self.turn_off(conn);
        }
        self.last_id = row.id;
        let block = row.id >> BLOCK_SHIFT;
        if block < self.first_block {
            return Ok(());
        }
        if self.window.back().is_none_or(|(b, _)| *b != block) {
            self.window
                .push_back((block, Vec::with_capacity(1 << BLOCK_SHIFT)));
            while self.window.len() > SESSION_WINDOW {
                self.write_first(conn, seq)?;
            }
        }
        if let Some((_, rows)) = self.window.back_mut() {
            rows.push(SessionRow::new(row));
        }
        Ok(())
    }

    /// The row `id` the session inserted, while its block takes changes.
    fn row(&mut self, id: i64) -> Option<&mut SessionRow> {
        let block = id >> BLOCK_SHIFT;
        let i = self.window.binary_search_by_key(&block, |(b, _)| *b).ok()?;
        let rows = &mut self.window[i].1;
        let j = rows.binary_search_by_key(&id, |r| r.id).ok()?;
        Some(&mut rows[j])
    }

    /// Row `values.id` written again with `values` (an update keeps the row's deletion mark).
    pub(crate) fn updated(&mut self, values: &ActivityValues<'_>) {
        match self.row(values.id) {
            Some(row) => {
                let deleted = row.deleted;
                *row = SessionRow::new(values);
                row.deleted = deleted;
            }
            None => self.changed(values.id),
        }
    }

    /// Row `id` marked deleted.
    pub(crate) fn deleted(&mut self, id: i64) {
        match self.row(id) {
            Some(row) => row.deleted = true,
            None => self.changed(id),
        }
    }

    /// Row `id` given its reply target `target`.
    pub(crate) fn replies_to(&mut self, id: i64, target: i64) {
        match self.row(id) {
            Some(row) => row.reply_to = Some(target),
            None => self.changed(id),
        }
    }

    /// Row `id` changed after its block was written (or outside the session's blocks).
    fn changed(&mut self, id: i64) {
        let block = id >> BLOCK_SHIFT;
        if !self.off && block >= self.first_block {
            self.tainted.push(block);
        }
    }

    /// At commit, with the next activity id (`schema::next_id`): writes the blocks kept that
    /// are whole, and drops the packs of blocks changed after they were written.
    pub(crate) fn finish(&mut self, conn: &Connection, seq: i64, next_id: i64) -> StoreResult<()> {
        if self.off {
            return Ok(());
        }
        while let Some(&(block, _)) = self.window.front() {
            if block_start(block + 1) > next_id {
                break;
            }
            self.write_first(conn, seq)?;
        }
        self.window.clear();
        self.tainted.sort_unstable();
        self.tainted.dedup();
        let written = &self.written;
        drop_activity_packs(
            conn,
            self.tainted
                .iter()
                .copied()
                .filter(|b| written.binary_search(b).is_ok()),
        )
    }

    /// Packs and writes the first block kept.
    fn write_first(&mut self, conn: &Connection, seq: i64) -> StoreResult<()> {
        let Some((block, rows)) = self.window.pop_front() else {
            return Ok(());
        };
        let mut packer = Packer::new(block);
        for row in &rows {
            packer.push_with(row.id, |prev, out| {
                encode_activity(&row.values(), prev, out);
                Ok(())
            })?;
        }
        let n = packer.rows;
        insert_pack(conn, &ACTIVITIES, block, seq, n, &packer.finish())?;
        self.written.push(block);
        Ok(())
    }

    fn turn_off(&mut self, conn: &Connection) -> StoreResult<()> {
        self.off = true;
        self.window.clear();
        drop_activity_packs(conn, self.written.drain(..))
    }
}

/// Drops every pack (the rows they hold are being deleted). Call inside the write transaction.
pub(crate) fn drop_all(conn: &Connection) -> StoreResult<()> {
    for table in [&ACTIVITIES, &TEXTS] {
        conn.execute(&format!("DELETE FROM {}", table.packs), [])
            .ctx("dropping the packs")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packs read before a source's removal are not written after it: their removed rows
    /// would not make them dirty.
    #[test]
    fn packs_read_before_a_removal_are_not_written_after_it() {
        use kith_model::{Activity, Author, Kind, Timestamp};
        use kith_store::{ImportAudit, Store};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("kith.db")).unwrap();
        let batch: Vec<Activity> = (0..9_000)
            .map(|i| {
                Activity::new(
                    "forum",
                    format!("p{i}"),
                    Kind::Post,
                    Timestamp::from_secs(1_700_000_000 + i),
                    Some(Author::new(format!("u{}", i % 13))),
                )
            })
            .collect();
        let mut session = store.ingest().unwrap();
        session.ensure_source("forum", "jsonl").unwrap();
        session.write(&batch).unwrap();
        session
            .commit(&ImportAudit::new("jsonl", vec![], 0))
            .unwrap();

        let packed = store
            .read("test", |conn| read_blocks::<ActivityFact>(conn, &[0, 1]))
            .unwrap();
        assert_eq!(packed.packs.len(), 2);
        store.delete_source("forum").unwrap();
        let mut writer = store.writer.lock().unwrap();
        assert_eq!(
            write_blocks(&mut writer, packed).unwrap(),
            PackStats::default()
        );
        let left: i64 = writer
            .query_row("SELECT count(*) FROM activity_packs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "nothing written");
    }

    /// An in-memory database with the activity packs' table alone.
    fn packs_table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE activity_packs (block INTEGER PRIMARY KEY, built_seq BIGINT NOT NULL, \
             rows INTEGER NOT NULL, data BLOB NOT NULL)",
        )
        .unwrap();
        conn
    }

    /// A reply `id` with nothing optional.
    fn row(id: i64) -> ActivityValues<'static> {
        ActivityValues {
            id,
            source: 1,
            kind: Kind::Reply,
            ts: 1_700_000_000 + id,
            identity: 1,
            channel: None,
            thread: None,
            reply_to: None,
            deleted: false,
            to: None,
        }
    }

    /// Ids that do not ascend turn a session's packing off and drop what it wrote.
    #[test]
    fn a_session_whose_ids_do_not_ascend_packs_nothing() {
        let conn = packs_table();
        let count = || -> i64 {
            conn.query_row("SELECT count(*) FROM activity_packs", [], |r| r.get(0))
                .unwrap()
        };
        let mut packs = SessionPacks::new(4_096);
        let end = block_start(SESSION_WINDOW as i64 + 1) + 10;
        for id in 4_096..end {
            packs.inserted(&conn, 7, &row(id)).unwrap();
        }
        assert_eq!(count(), 1, "block 1 written once the window moved past it");
        packs.inserted(&conn, 7, &row(5_000)).unwrap();
        assert_eq!(count(), 0, "dropped");
        packs.inserted(&conn, 7, &row(end + 1)).unwrap();
        packs.finish(&conn, 7, end + 100_000).unwrap();
        assert_eq!(count(), 0, "and off for the rest of the session");
    }

    /// Changes to rows of the blocks a session keeps are in their packs; a change to a
    /// block already written drops its pack at the end, as does a whole block's absence.
    #[test]
    fn a_session_patches_the_blocks_it_keeps_and_drops_those_it_wrote() {
        let conn = packs_table();
        let mut packs = SessionPacks::new(1);
        // Blocks 1 ..= WINDOW + 2 and a part of the next: blocks 1 and 2 are written.
        let end = block_start(SESSION_WINDOW as i64 + 3) + 10;
        for id in 1..end {
            packs.inserted(&conn, 7, &row(id)).unwrap();
        }
        packs.deleted(5_000); // block 1, written: dropped
        packs.deleted(block_start(5) + 1); // kept: patched
        let mut again = row(block_start(5) + 1);
        again.ts += 1;
        packs.updated(&again); // still deleted
        packs.replies_to(block_start(6) + 2, 3);
        let mut moved = row(block_start(7) + 3);
        moved.channel = Some(9);
        packs.updated(&moved);
        packs.finish(&conn, 7, end + 1).unwrap();
        let blocks: Vec<i64> = conn
            .prepare("SELECT block FROM activity_packs ORDER BY block")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<i64> = (2..=SESSION_WINDOW as i64 + 2).collect();
        assert_eq!(blocks, want, "block 1 dropped, the last one not whole");
        let mut facts = Vec::new();
        for block in [5, 6, 7] {
            let data: Vec<u8> = conn
                .query_row(
                    "SELECT data FROM activity_packs WHERE block = ?1",
                    [block],
                    |r| r.get(0),
                )
                .unwrap();
            let mut fact = empty_fact();
            unpack(block, &data, &(0..i64::MAX), &mut fact, &mut |f| {
                facts.push(f.clone());
                Ok(())
            })
            .unwrap();
        }
        let find = |id| facts.iter().find(|f| f.id.0 == id).unwrap();
        assert!(find(block_start(5) + 1).deleted);
        assert_eq!(find(block_start(5) + 1).ts, again.ts);
        assert!(!find(block_start(5) + 2).deleted);
        assert_eq!(find(block_start(6) + 2).reply_to, Some(ActivityId(3)));
        assert_eq!(find(block_start(7) + 3).channel, Some(ChannelId(9)));
        assert_eq!(find(block_start(7) + 4).channel, None);
    }

    #[test]
    fn varints_and_zigzag_round_trip_at_the_limits() {
        for v in [0i64, 1, -1, 63, -64, 64, 1 << 40, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            put_varint(&mut out, zigzag(v));
            let mut r = Reader {
                data: &out,
                at: 0,
                block: 0,
                table: "activity_packs",
            };
            assert_eq!(unzigzag(r.varint().unwrap()), v);
            assert_eq!(r.at, out.len());
        }
    }

    #[test]
    fn a_damaged_pack_is_an_error_naming_its_block_not_a_panic() {
        let mut fact = empty_fact();
        let ids = 0..i64::MAX;
        let mut sink = |_: &ActivityFact| Ok(());
        for data in [
            &[][..],
            &[9, 0][..],
            &[FORMAT, 1][..],
            &[FORMAT, 1, 2, 200][..],
            &[
                FORMAT, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ][..],
            &[FORMAT, 0, 7][..],
        ] {
            let e = unpack(3, data, &ids, &mut fact, &mut sink).unwrap_err();
            assert!(e.to_string().contains("block 3"), "{e}");
        }
        unpack(3, &[FORMAT, 0], &ids, &mut fact, &mut sink).unwrap();
    }
}
