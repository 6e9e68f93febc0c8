//! Activity packs (schema v5): what a snapshot build reads of the activities, packed by
//! blocks of 4,096 ids into one compact blob each, so that a new process reads ten million
//! activities as a few thousand blobs instead of stepping SQLite through ten million rows
//! (the build's main cost: about 80 % of its CPU time went to SQLite's row machinery).
//!
//! A pack is a read cache of `activities`, never the truth: `Store::read_activities` returns
//! exactly what reading the rows returns, with or without packs. That rests on these
//! invariants:
//!
//! - A pack holds every row of its block as of the change counter `built_seq` it was written
//!   at, in id order (the analytic columns of `changes::ACTIVITY_VALUES`).
//! - Only whole blocks below the next activity id are packed. Ids are never taken twice (the
//!   source removal raises a floor, `schema::next_id`), so a packed block gains no rows later.
//! - Every later write to a row of a packed block stamps the row with a newer `seq` and sets
//!   `changed` (schema v2), which puts it in the partial index `activities_changed`: a block
//!   with such a row is *dirty*, and its rows are read from the table until it is packed
//!   again. Removing a source deletes rows outright, so it drops every pack.
//! - A pack written after a reader's watermark (`built_seq` at or above it) may hold rows the
//!   reader must not see yet; the reader reads that block's rows instead.
//!
//! Packs are made by [`read_blocks`] on a reader and written by [`write_blocks`] in a short
//! write transaction (`Store::pack_activities`), after imports and generation; a block
//! without a pack is simply read from the table.

use kith_model::Kind;
use kith_store::{ActivityFact, ActivityId, ChannelId, IdentityId, SourceId, StoreError};
use kith_store::{PackStats, StoreResult, ThreadId, Watermark};
use rusqlite::{Connection, params};

use crate::changes::{ACTIVITY_VALUES, addressees_into, decode_activity, empty_fact, rows_by_id};
use crate::error::Context;
use crate::raw::{RowValues, for_each_row};

/// Ids per block: `id >> BLOCK_SHIFT` is an activity's block.
pub(crate) const BLOCK_SHIFT: u32 = 12;
/// The first byte of a pack: its layout.
const FORMAT: u8 = 1;
/// Blocks packed per read and write transaction: the write lock is held for a few
/// milliseconds at a time, and the packs in memory stay small (about 80 KiB a block).
pub(crate) const BLOCKS_PER_TRANSACTION: i64 = 64;

/// Flags of a row's second byte.
const HAS_CHANNEL: u8 = 1;
const HAS_THREAD: u8 = 2;
const HAS_REPLY_TO: u8 = 4;
const HAS_TO: u8 = 8;
const DELETED: u8 = 16;

fn block_start(block: i64) -> i64 {
    block << BLOCK_SHIFT
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
    prev_ts: i64,
}

impl Packer {
    fn new(block: i64) -> Packer {
        Packer {
            data: Vec::new(),
            rows: 0,
            prev_id: block_start(block),
            prev_ts: 0,
        }
    }

    /// Appends a row of `ACTIVITY_VALUES`: id, source_id, kind, ts, identity_id, channel_id,
    /// thread_id, reply_to_id, deleted, to_ext.
    fn push(&mut self, row: &RowValues<'_>) -> StoreResult<()> {
        let id = row.int(0);
        let kind = row
            .text(2)
            .and_then(Kind::from_bytes)
            .ok_or_else(|| StoreError::Invalid(format!("activity {id}: unknown kind")))?;
        let (channel, thread, reply_to) = (row.opt_int(5), row.opt_int(6), row.opt_int(7));
        let to = row.text(9);
        let mut flags = 0u8;
        for (present, flag) in [
            (channel.is_some(), HAS_CHANNEL),
            (thread.is_some(), HAS_THREAD),
            (reply_to.is_some(), HAS_REPLY_TO),
            (to.is_some(), HAS_TO),
            (row.int(8) != 0, DELETED),
        ] {
            if present {
                flags |= flag;
            }
        }
        let ts = row.int(3);
        let out = &mut self.data;
        put_varint(out, zigzag(id.wrapping_sub(self.prev_id)));
        out.push(kind.code());
        out.push(flags);
        put_varint(out, zigzag(row.int(1)));
        put_varint(out, zigzag(ts.wrapping_sub(self.prev_ts)));
        put_varint(out, zigzag(row.int(4)));
        for v in [channel, thread].into_iter().flatten() {
            put_varint(out, zigzag(v));
        }
        if let Some(r) = reply_to {
            put_varint(out, zigzag(id.wrapping_sub(r)));
        }
        if let Some(to) = to {
            put_varint(out, to.len() as u64);
            out.extend_from_slice(to);
        }
        self.prev_id = id;
        self.prev_ts = ts;
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

// ---- decoding ------------------------------------------------------------------------------

/// A pack being read; every read is checked (a damaged pack is an error naming its block, never
/// a panic).
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    block: i64,
}

impl Reader<'_> {
    #[cold]
    fn corrupt(&self, what: &str) -> StoreError {
        StoreError::backend(
            "reading activity packs",
            format!(
                "the pack of block {} (activity ids {}..{}) is damaged: {what} at byte {}; \
                 `kith` reads the rows instead once the pack is dropped \
                 (DELETE FROM activity_packs)",
                self.block,
                block_start(self.block),
                block_start(self.block + 1),
                self.at
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
fn unpack(
    block: i64,
    data: &[u8],
    ids: &std::ops::Range<i64>,
    fact: &mut ActivityFact,
    sink: &mut dyn FnMut(&ActivityFact) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut r = Reader { data, at: 0, block };
    if r.byte()? != FORMAT {
        return Err(r.corrupt("an unknown layout"));
    }
    let rows = r.varint()?;
    let (mut id, mut ts) = (block_start(block), 0i64);
    for n in 0..rows {
        let next = id.wrapping_add(unzigzag(r.varint()?));
        // The first row may sit on the block's first id; each next one is above the last.
        let ordered = if n == 0 { next >= id } else { next > id };
        if !ordered || next >= block_start(block + 1) {
            return Err(r.corrupt("an id out of order or outside the block"));
        }
        id = next;
        let code = r.byte()?;
        let kind = Kind::from_code(code).ok_or_else(|| r.corrupt("an unknown kind"))?;
        let flags = r.byte()?;
        let source = unzigzag(r.varint()?);
        ts = ts.wrapping_add(unzigzag(r.varint()?));
        let identity = unzigzag(r.varint()?);
        let channel = if flags & HAS_CHANNEL != 0 {
            Some(unzigzag(r.varint()?))
        } else {
            None
        };
        let thread = if flags & HAS_THREAD != 0 {
            Some(unzigzag(r.varint()?))
        } else {
            None
        };
        let reply_to = if flags & HAS_REPLY_TO != 0 {
            Some(id.wrapping_sub(unzigzag(r.varint()?)))
        } else {
            None
        };
        if flags & HAS_TO != 0 {
            let n = r.varint()?;
            let json = r.bytes(n)?;
            addressees_into(json, &mut fact.to)
                .map_err(|e| StoreError::backend("reading activity packs", e))?;
        } else {
            fact.to.clear();
        }
        if !ids.contains(&id) {
            continue;
        }
        fact.id = ActivityId(id);
        fact.source = SourceId(source);
        fact.kind = kind;
        fact.ts = ts;
        fact.identity = IdentityId(identity);
        fact.channel = channel.map(ChannelId);
        fact.thread = thread.map(ThreadId);
        fact.reply_to = reply_to.map(ActivityId);
        fact.deleted = flags & DELETED != 0;
        sink(fact)?;
    }
    if r.at != data.len() {
        return Err(r.corrupt("bytes after the last row"));
    }
    Ok(())
}

// ---- which packs are good ------------------------------------------------------------------

/// The packs of blocks `blocks` with their `built_seq`, ascending by block.
fn directory(conn: &Connection, blocks: std::ops::Range<i64>) -> StoreResult<Vec<(i64, i64)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT block, built_seq FROM activity_packs WHERE block >= ?1 AND block < ?2 ORDER BY block",
        )
        .ctx("reading the activity packs")?;
    let rows = stmt
        .query_map(params![blocks.start, blocks.end], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ctx("reading the activity packs")?;
    rows.collect::<Result<_, _>>()
        .ctx("reading the activity packs")
}

/// The blocks among `packs` (ascending) with a row changed after the pack was written.
fn dirty_blocks(
    conn: &Connection,
    packs: &[(i64, i64)],
    ids: std::ops::Range<i64>,
) -> StoreResult<Vec<i64>> {
    let Some(oldest) = packs.iter().map(|p| p.1).min() else {
        return Ok(Vec::new());
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, seq FROM activities INDEXED BY activities_changed \
             WHERE changed = 1 AND seq > ?1 AND id >= ?2 AND id < ?3",
        )
        .ctx("finding activities changed since they were packed")?;
    let rows = stmt
        .query_map(params![oldest, ids.start, ids.end], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .ctx("finding activities changed since they were packed")?;
    let mut dirty = Vec::new();
    for row in rows {
        let (id, seq) = row.ctx("finding activities changed since they were packed")?;
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

/// `Store::read_activities`: the activities in `ids` stamped below `before`, in id order,
/// decoded into one reused fact: from the packs that hold them exactly, from the rows
/// elsewhere. Call inside a read transaction.
pub(crate) fn read_activities(
    conn: &Connection,
    ids: std::ops::Range<i64>,
    before: Watermark,
    sink: &mut dyn FnMut(&ActivityFact) -> StoreResult<()>,
) -> StoreResult<()> {
    if ids.start >= ids.end {
        return Ok(());
    }
    let blocks = (ids.start >> BLOCK_SHIFT)..((ids.end - 1) >> BLOCK_SHIFT) + 1;
    let mut packs = directory(conn, blocks)?;
    let dirty = dirty_blocks(conn, &packs, ids.clone())?;
    // Good packs: clean, and written before the reader's watermark.
    packs.retain(|&(block, built)| built < before.0 && dirty.binary_search(&block).is_err());
    let mut fact = empty_fact();
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

fn read_rows(
    conn: &Connection,
    ids: std::ops::Range<i64>,
    before: Watermark,
    fact: &mut ActivityFact,
    sink: &mut dyn FnMut(&ActivityFact) -> StoreResult<()>,
) -> StoreResult<()> {
    // Millions of rows, handed over inside SQLite's step (`rows_by_id`), in the scan's order.
    rows_by_id(
        conn,
        "reading activities",
        &format!(
            "SELECT kith_row({ACTIVITY_VALUES}) FROM activities NOT INDEXED \
             WHERE id >= ?1 AND id < ?2 AND seq < ?3"
        ),
        &[ids.start, ids.end, before.0],
        &mut |row| {
            decode_activity(row, fact)?;
            sink(fact)
        },
    )
}

/// The packs of `blocks` (each present), in block order.
fn read_packs(
    conn: &Connection,
    blocks: std::ops::Range<i64>,
    ids: &std::ops::Range<i64>,
    fact: &mut ActivityFact,
    sink: &mut dyn FnMut(&ActivityFact) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut expect = blocks.start;
    for_each_row(
        conn,
        "SELECT kith_row(block, data) FROM activity_packs NOT INDEXED WHERE block >= ?1 AND block < ?2",
        &[blocks.start, blocks.end],
        &mut |row| {
            let block = row.int(0);
            if block != expect {
                return Err(StoreError::backend(
                    "reading activity packs",
                    format!("pack of block {block} where block {expect} was expected"),
                ));
            }
            expect += 1;
            unpack(block, row.blob(1).unwrap_or_default(), ids, fact, sink)
        },
    )
    .ctx("reading activity packs")??;
    if expect != blocks.end {
        return Err(StoreError::backend(
            "reading activity packs",
            format!("the pack of block {expect} went missing during the read"),
        ));
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
        .ctx("packing activities")?;
    let Some(first) = first else {
        return Ok(0..0);
    };
    let next = crate::schema::next_id(conn, "activities")?;
    Ok((first >> BLOCK_SHIFT)..(next >> BLOCK_SHIFT))
}

/// The blocks of `blocks` that have no pack or a dirty one, ascending.
pub(crate) fn wanted_blocks(
    conn: &Connection,
    blocks: std::ops::Range<i64>,
) -> StoreResult<Vec<i64>> {
    let packs = directory(conn, blocks.clone())?;
    let dirty = dirty_blocks(
        conn,
        &packs,
        block_start(blocks.start)..block_start(blocks.end),
    )?;
    Ok(blocks
        .filter(|b| {
            packs.binary_search_by_key(b, |p| p.0).is_err() || dirty.binary_search(b).is_ok()
        })
        .collect())
}

/// Blocks packed from the rows of one read transaction, ready to write.
pub(crate) struct Packed {
    /// The change counter of the read: every row of these blocks is stamped at or below it.
    built: i64,
    /// (block, rows, pack), ascending by block.
    packs: Vec<(i64, u32, Vec<u8>)>,
}

/// Packs `blocks` (ascending) from their rows. Call inside a read transaction: the packs hold
/// the rows as that transaction sees them, stamped with its change counter.
pub(crate) fn read_blocks(conn: &Connection, blocks: &[i64]) -> StoreResult<Packed> {
    let built: i64 = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM kith_meta WHERE key = 'seq'",
            [],
            |r| r.get(0),
        )
        .ctx("packing activities")?;
    let mut packs = Vec::with_capacity(blocks.len());
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
            "reading activities to pack",
            &format!(
                "SELECT kith_row({ACTIVITY_VALUES}) FROM activities NOT INDEXED WHERE id >= ?1 AND id < ?2"
            ),
            &[block_start(start), block_start(end)],
            &mut |row| {
                let b = row.int(0) >> BLOCK_SHIFT;
                while block < b {
                    let done = std::mem::replace(&mut packer, Packer::new(block + 1));
                    packs.push((block, done.rows, done.finish()));
                    block += 1;
                }
                packer.push(row)
            },
        )?;
        while block < end {
            let done = std::mem::replace(&mut packer, Packer::new(block + 1));
            packs.push((block, done.rows, done.finish()));
            block += 1;
        }
    }
    Ok(Packed { built, packs })
}

/// Writes packs read by [`read_blocks`] in one short write transaction. Rows changed since
/// the read make their block dirty, as for any pack; rows removed since the read (a source's
/// removal, which leaves activity tombstones) would not, so then nothing is written (the next
/// packing reads again).
pub(crate) fn write_blocks(conn: &mut Connection, packed: Packed) -> StoreResult<PackStats> {
    let mut stats = PackStats::default();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .ctx("writing activity packs")?;
    let removed: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM tombstones WHERE seq > ?1 AND entity = 'activity')",
            [packed.built],
            |r| r.get(0),
        )
        .ctx("writing activity packs")?;
    if removed {
        return Ok(stats);
    }
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO activity_packs (block, built_seq, rows, data) VALUES (?1, ?2, ?3, ?4)",
            )
            .ctx("writing activity packs")?;
        for (block, rows, data) in &packed.packs {
            insert
                .execute(params![block, packed.built, rows, data])
                .ctx("writing activity packs")?;
            stats.blocks += 1;
            stats.rows += u64::from(*rows);
            stats.bytes += data.len() as u64;
        }
    }
    tx.commit().ctx("writing activity packs")?;
    Ok(stats)
}

/// Drops every pack (the rows they hold are being deleted). Call inside the write transaction.
pub(crate) fn drop_all(conn: &Connection) -> StoreResult<()> {
    conn.execute("DELETE FROM activity_packs", [])
        .ctx("dropping the activity packs")?;
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
            .read("test", |conn| read_blocks(conn, &[0, 1]))
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

    #[test]
    fn varints_and_zigzag_round_trip_at_the_limits() {
        for v in [0i64, 1, -1, 63, -64, 64, 1 << 40, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            put_varint(&mut out, zigzag(v));
            let mut r = Reader {
                data: &out,
                at: 0,
                block: 0,
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
