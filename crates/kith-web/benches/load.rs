//! The web bar of SPEC §9: the overview page and the main API endpoints under 50 concurrent
//! clients on a generated community. Run with
//!
//! ```text
//! KITH_BENCH_ACTIVITIES=1000000 cargo bench -p kith-web --bench load
//! ```
//!
//! The community is generated once into `$CARGO_TARGET_DIR/bench-data/web-<N>.db` (default
//! target dir: the workspace's `target/`) and reused; `KITH_BENCH_DB=FILE` serves an existing
//! database instead (for example one made by `kith demo --no-serve --activities 10000000`).
//! `KITH_BENCH_PATHS` (comma-separated) replaces the list of endpoints measured; `{i}` in a path
//! becomes a number that differs on every request (`/api/v1/members?q={i}` searches for a new
//! text each time, so that no answer is reused). The server
//! runs in this process on a loopback port with its usual layers (authentication by session
//! cookie, metrics); 50 client threads each keep one HTTP/1.1 connection and send requests back
//! to back for `KITH_BENCH_SECONDS` (default 20) per endpoint, after one warm-up request (the
//! first computation of a selection is the cold path; the bar is the warm one). Prints p50,
//! p99, max and throughput as a Markdown table for docs/benchmarks.md.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kith_store::{Role, Store};

/// The allocator of the `kith` binary, whose server this bench stands in for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CLIENTS: usize = 50;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

fn database(activities: u64) -> PathBuf {
    if let Some(file) = std::env::var_os("KITH_BENCH_DB") {
        let path = PathBuf::from(file);
        assert!(
            path.exists(),
            "KITH_BENCH_DB: {} does not exist",
            path.display()
        );
        return path;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("bench-data");
    std::fs::create_dir_all(&dir).expect("a folder for bench data");
    let path = dir.join(format!("web-{activities}.db"));
    let done = dir.join(format!("web-{activities}.done"));
    if path.exists() && done.exists() {
        return path;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    eprintln!("generating {activities} activities into {}", path.display());
    let started = Instant::now();
    let store = kith_store_sqlite::SqliteStore::open(&path).expect("the bench database");
    let generator =
        kith_gen::generate(kith_gen::GenConfig::new(activities, 1)).expect("the generator");
    kith_import::ingest_records(
        &store,
        "demo",
        vec!["bench".into()],
        &Default::default(),
        &(),
        (activities, None),
        |sink| {
            for a in generator {
                sink.activity(a);
            }
            Ok(())
        },
    )
    .expect("generating the community");
    std::fs::write(&done, b"").expect("marking the data complete");
    eprintln!("generated in {:.0} s", started.elapsed().as_secs_f64());
    path
}

/// One request on a kept-alive connection; returns the status code.
fn request(stream: &mut TcpStream, path: &str, cookie: &str, buf: &mut Vec<u8>) -> u16 {
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nCookie: {cookie}\r\n\r\n"
    )
    .expect("sending a request");
    buf.clear();
    let mut chunk = [0u8; 65536];
    let header_end = loop {
        let n = stream.read(&mut chunk).expect("reading a response");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_lowercase();
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("responses carry Content-Length");
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).expect("reading a body");
        assert!(n > 0, "the body was cut");
        buf.extend_from_slice(&chunk[..n]);
    }
    status
}

struct Result_ {
    path: String,
    requests: usize,
    p50: f64,
    p99: f64,
    max: f64,
    per_second: f64,
}

fn load(addr: SocketAddr, path: &str, cookie: &str, seconds: u64) -> Result_ {
    // Warm-up: the first request computes (or reads) what the others share.
    let mut warm = TcpStream::connect(addr).expect("connecting");
    let mut buf = Vec::new();
    let started = Instant::now();
    let status = request(&mut warm, &path.replace("{i}", "0"), cookie, &mut buf);
    assert_eq!(
        status,
        200,
        "{path} answers 200: {}",
        String::from_utf8_lossy(&buf)
    );
    eprintln!(
        "{path}: warm-up {:.0} ms, {} bytes",
        started.elapsed().as_secs_f64() * 1000.0,
        buf.len()
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let began = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (path, cookie) = (path.to_owned(), cookie.to_owned());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connecting");
                s.set_nodelay(true).ok();
                let mut buf = Vec::with_capacity(1 << 16);
                let mut times = Vec::new();
                while Instant::now() < deadline {
                    let this = if path.contains("{i}") {
                        path.replace("{i}", &(1 + client + CLIENTS * times.len()).to_string())
                    } else {
                        path.clone()
                    };
                    let t = Instant::now();
                    let status = request(&mut s, &this, &cookie, &mut buf);
                    assert_eq!(status, 200);
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                times
            })
        })
        .collect();
    let mut all: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a client thread"))
        .collect();
    let wall = began.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let q = |p: f64| all[((p * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1];
    Result_ {
        path: path.to_owned(),
        requests: all.len(),
        p50: q(0.50),
        p99: q(0.99),
        max: all[all.len() - 1],
        per_second: all.len() as f64 / wall,
    }
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let activities = env_u64("KITH_BENCH_ACTIVITIES", 1_000_000);
    let seconds = env_u64("KITH_BENCH_SECONDS", 20);
    let path = database(activities);
    let store: Arc<dyn Store> =
        Arc::new(kith_store_sqlite::SqliteStore::open(&path).expect("opening the bench database"));
    let counts = store.counts().expect("counts");
    let built = Instant::now();
    let state = kith_web::AppState::new(Arc::clone(&store), false, kith_web::WebConfig::default())
        .expect("building the snapshot");
    let build_s = built.elapsed().as_secs_f64();
    let user = match store.user_credentials("bench").expect("reading accounts") {
        Some((u, _)) => u,
        None => store
            .create_user("bench", "not-a-password-hash", Role::Viewer)
            .expect("the bench account"),
    };
    let key = kith_web::auth::random_token();
    store
        .create_session(
            &kith_web::auth::secret_hash(&key),
            user.id,
            &kith_web::auth::random_token(),
            i64::MAX / 2,
        )
        .expect("a session");
    let cookie = format!("kith_session={key}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let listener = kith_web::bind("127.0.0.1:0".parse().expect("an address"))
                .await
                .expect("a port");
            tx.send(listener.local_addr().expect("the port"))
                .expect("handing over the port");
            let _ = kith_web::serve(state, listener).await;
        });
    });
    let addr = rx.recv().expect("the server's address");
    let mut results = Vec::new();
    let paths: Vec<String> = match std::env::var("KITH_BENCH_PATHS") {
        Ok(list) => list.split(',').map(|p| p.trim().to_owned()).collect(),
        Err(_) => [
            "/",
            "/api/v1/summary",
            "/api/v1/metrics",
            "/api/v1/members?limit=100",
            "/api/v1/needs-reply",
            "/members",
        ]
        .map(str::to_owned)
        .to_vec(),
    };
    for path in &paths {
        results.push(load(addr, path, &cookie, seconds));
    }
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    println!(
        "\n{} activities, {} members; snapshot built in {build_s:.1} s; {CLIENTS} clients, {seconds} s per endpoint; {} ({} cores)\n",
        counts.activities,
        counts.members,
        machine,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| endpoint | requests | p50 ms | p99 ms | max ms | requests/s |\n|---|---:|---:|---:|---:|---:|"
    );
    for r in &results {
        println!(
            "| `GET {}` | {} | {:.1} | {:.1} | {:.1} | {:.0} |",
            r.path, r.requests, r.p50, r.p99, r.max, r.per_second
        );
    }
}
