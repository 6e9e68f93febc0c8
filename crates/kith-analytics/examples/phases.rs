use kith_analytics::{Params, Scope, Snapshot, registry};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .map(|s| s.split_whitespace().next().unwrap().parse().unwrap())
        .unwrap_or(0)
}
fn proc_cpu() -> f64 {
    // utime+stime of the whole process, in seconds
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

fn mem() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let g = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    format!("rss {} hwm {}", g("VmRSS:"), g("VmHWM:"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = &args[1];
    let reps: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(3);
    let only = args.get(3).cloned().unwrap_or_default();
    let store = kith_store_sqlite::SqliteStore::open(std::path::Path::new(db)).unwrap();
    let t = Instant::now();
    let snap = Snapshot::build(&store).unwrap();
    eprintln!(
        "build {:.3}s {} snapshot {:.1} MiB",
        t.elapsed().as_secs_f64(),
        mem(),
        snap.memory().total() as f64 / 1048576.0
    );
    let params = Params::default();
    let _ = cpu_ns();
    let mut rows: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    let mut rec = |name: &str, w: f64, c: f64| {
        if let Some(r) = rows.iter_mut().find(|r| r.0 == name) {
            r.1.push(w);
            r.2.push(c);
        } else {
            rows.push((name.to_owned(), vec![w], vec![c]));
        }
    };
    for _ in 0..reps {
        let (t, c) = (Instant::now(), proc_cpu());
        let scope = Scope::new(&snap, &params).unwrap();
        rec("scope", t.elapsed().as_secs_f64(), proc_cpu() - c);
        eprintln!("scope: {}", mem());
        let phases: [(&str, &dyn Fn()); 3] = [
            ("first_posts", &|| {
                std::hint::black_box(kith_analytics::threads::first_posts(&scope));
            }),
            ("levels", &|| {
                std::hint::black_box(kith_analytics::levels::timeline(&scope));
            }),
            ("network", &|| {
                std::hint::black_box(kith_analytics::network::network(&scope));
            }),
        ];
        for (name, f) in phases {
            if !only.is_empty() && !only.split(',').any(|o| o == name) {
                continue;
            }
            let (t, c) = (Instant::now(), proc_cpu());
            f();
            eprintln!("{name}: {}", mem());
            rec(name, t.elapsed().as_secs_f64(), proc_cpu() - c);
        }
        if only.is_empty() || only == "all" {
            for m in registry() {
                let (t, c) = (Instant::now(), proc_cpu());
                std::hint::black_box((m.compute)(&scope));
                rec(m.name, t.elapsed().as_secs_f64(), proc_cpu() - c);
            }
        }
        let (t, c) = (Instant::now(), proc_cpu());
        drop(scope);
        rec("drop", t.elapsed().as_secs_f64(), proc_cpu() - c);
    }
    let mut tw = 0.0;
    let mut tc = 0.0;
    for (name, w, c) in &rows {
        let mut w = w.clone();
        w.sort_by(f64::total_cmp);
        let mut c = c.clone();
        c.sort_by(f64::total_cmp);
        let (mw, mc) = (w[0], c[0]);
        tw += mw;
        tc += mc;
        println!("{name:24} {:8.1} ms wall {:8.0} ms cpu", mw * 1e3, mc * 1e3);
    }
    println!(
        "{:24} {:8.1} ms wall {:8.0} ms cpu",
        "total",
        tw * 1e3,
        tc * 1e3
    );
}
