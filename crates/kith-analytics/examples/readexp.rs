use kith_store::Store;
use std::time::Instant;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn scan(db: &str, mmap: bool, cols: &str) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.execute_batch("PRAGMA cache_size = -32768;").unwrap();
    if mmap {
        conn.execute_batch("PRAGMA mmap_size = 8000000000;")
            .unwrap();
    }
    let (t, c) = (Instant::now(), cpu_ns());
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {cols} FROM activities WHERE id >= 0 AND seq >= 0 ORDER BY id"
        ))
        .unwrap();
    let w = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    let mut n = 0u64;
    let mut x = 0i64;
    while let Some(r) = rows.next().unwrap() {
        for i in 0..w {
            if let rusqlite::types::ValueRef::Integer(v) = r.get_ref(i).unwrap() {
                x ^= v;
            }
        }
        n += 1;
    }
    println!(
        "scan mmap={mmap} cols={cols}: {n} rows {:.3} s wall {:.3} s cpu ({x})",
        t.elapsed().as_secs_f64(),
        (cpu_ns() - c) as f64 / 1e9
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = &args[2];
    let all =
        "id, source_id, kind, ts, identity_id, channel_id, thread_id, reply_to_id, deleted, to_ext";
    match args[1].as_str() {
        "pack" => {
            for _ in 0..3 {
                scan(db, false, all);
                scan(
                    db,
                    false,
                    "id, source_id | (deleted << 20), kind, ts, identity_id, (coalesce(channel_id, -1) + 1) | ((coalesce(thread_id, -1) + 1) << 32), reply_to_id, to_ext",
                );
            }
        }
        "scan" => {
            scan(db, false, all);
            scan(db, true, all);
            scan(db, true, "id");
            scan(db, true, "id, ts");
            scan(db, true, "id, ts, identity_id");
            scan(db, true, "id, ts, identity_id, kind");
            scan(db, true, "id, ts, identity_id, kind, to_ext");
            scan(db, true, all);
        }
        "changes" => {
            let store = kith_store_sqlite::SqliteStore::open(std::path::Path::new(db)).unwrap();
            let (t, c) = (Instant::now(), cpu_ns());
            let mut n = 0u64;
            store
                .read_changes(kith_store::Watermark(0), &mut |ch| {
                    n += 1;
                    std::hint::black_box(ch);
                    Ok(())
                })
                .unwrap();
            println!(
                "read_changes: {n} changes {:.3} s wall {:.3} s cpu",
                t.elapsed().as_secs_f64(),
                (cpu_ns() - c) as f64 / 1e9
            );
        }
        "build" => {
            let store = kith_store_sqlite::SqliteStore::open(std::path::Path::new(db)).unwrap();
            let t = Instant::now();
            let s = kith_analytics::Snapshot::build(&store).unwrap();
            println!(
                "build {:.3} s wall; {} slots",
                t.elapsed().as_secs_f64(),
                s.live_activities()
            );
        }
        _ => {}
    }
}
