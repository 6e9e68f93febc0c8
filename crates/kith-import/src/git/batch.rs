//! The history read on several cores, for a repository with a commit-graph file.
//!
//! Reading a history is inflating every commit object, and one `git rev-list --header` does
//! that on one core (half its time is zlib). With a commit-graph, `git rev-list --all` walks
//! the history without opening a commit, so the walk only lists the ids; `git cat-file --batch`
//! processes, one per core, inflate them. The ids are dealt to the processes in blocks of
//! [`BLOCK`], round-robin, and the reader takes the blocks back in the same order: commits
//! arrive exactly in the serial read's order. Each process has its own feeding thread, so a
//! process whose output waits for the reader never holds up the others (no deadlock whatever
//! the pipes' sizes); the ids waiting to be fed are the only memory that grows with the history
//! (41 bytes a commit, as Git's own walk holds far more).
//!
//! A commit object is its headers and its message as written; `log::parse_object` with
//! `Message::Raw` reads the message as `rev-list --header` would print it. A commit with an
//! `encoding` header other than UTF-8 is the one thing Git changes on the way out (it
//! re-encodes it): such a commit is read again through `rev-list --no-walk --header`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::log::{self, Message};

/// Commits per block dealt to one `cat-file` process: large enough that the reader switches
/// processes rarely, small enough that both start at once.
const BLOCK: usize = 256;

/// Whether the history at `dir` can be read by [`read`]: Git uses a commit-graph there
/// (a file, or a chain of them, and `core.commitGraph` is not off) and there are several
/// cores to read on. Returns the number of `cat-file` processes to run.
pub(crate) fn workers(dir: &Path, git: &dyn Fn(&[&str]) -> Option<String>) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        return None;
    }
    if git(&["config", "--type=bool", "--get", "core.commitGraph"]).as_deref() == Some("false") {
        return None;
    }
    let graph = [
        "objects/info/commit-graph",
        "objects/info/commit-graphs/commit-graph-chain",
    ]
    .iter()
    .filter_map(|p| git(&["rev-parse", "--git-path", p]))
    .any(|p| dir.join(p).is_file());
    graph.then_some(cores.min(4))
}

/// One commit as `cat-file --batch` gave it: its id and its object text.
pub(crate) struct Object {
    pub sha: String,
    pub text: Vec<u8>,
}

/// The running processes of one read.
pub(crate) struct Batch {
    walk: Child,
    readers: Vec<BufReader<ChildStdout>>,
    children: Vec<Child>,
    threads: Vec<JoinHandle<()>>,
    errors: Vec<JoinHandle<String>>,
}

impl Batch {
    /// Starts `rev-list` (with `rev_list_args`) and `workers` `cat-file --batch` processes.
    pub(crate) fn start(
        git: &dyn Fn() -> Command,
        rev_list_args: &[&str],
        workers: usize,
    ) -> std::io::Result<Batch> {
        let mut walk = git()
            .env("GIT_FLUSH", "0")
            .arg("rev-list")
            .args(rev_list_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut errors = vec![drain(walk.stderr.take())];
        let ids = walk.stdout.take().ok_or_else(broken)?;
        let mut children = Vec::with_capacity(workers);
        let mut readers = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers + 1);
        let mut senders = Vec::with_capacity(workers);
        for _ in 0..workers {
            let spawned = git()
                .args(["cat-file", "--batch", "--buffer"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) => {
                    stop(&mut walk, &mut children);
                    return Err(e);
                }
            };
            errors.push(drain(child.stderr.take()));
            let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                children.push(child);
                stop(&mut walk, &mut children);
                return Err(broken());
            };
            #[cfg(target_os = "linux")]
            let _ = rustix::pipe::fcntl_setpipe_size(&stdout, 1 << 20);
            readers.push(BufReader::with_capacity(1 << 20, stdout));
            children.push(child);
            let (tx, rx) = mpsc::channel::<Vec<u8>>();
            senders.push(tx);
            // The feeder: writes its blocks, then closes the process's input (it ends when
            // it has answered them all). A write error means the reader stopped: so do we.
            threads.push(std::thread::spawn(move || {
                for block in rx {
                    if stdin.write_all(&block).is_err() {
                        return;
                    }
                }
            }));
        }
        // The dealer: reads the ids and deals them out, block by block, round-robin.
        threads.push(std::thread::spawn(move || {
            let mut ids = BufReader::with_capacity(1 << 16, ids);
            let mut line = Vec::with_capacity(72);
            let mut block = Vec::with_capacity(BLOCK * 41);
            let mut in_block = 0;
            let mut next = 0;
            loop {
                line.clear();
                match ids.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                block.extend_from_slice(&line);
                in_block += 1;
                if in_block == BLOCK {
                    let full = std::mem::replace(&mut block, Vec::with_capacity(BLOCK * 41));
                    if senders[next].send(full).is_err() {
                        return;
                    }
                    next = (next + 1) % senders.len();
                    in_block = 0;
                }
            }
            if in_block > 0 {
                let _ = senders[next].send(block);
            }
        }));
        Ok(Batch {
            walk,
            readers,
            children,
            threads,
            errors,
        })
    }

    /// Calls `each` with every commit, in `rev-list` order. `Ok(Err(..))` says why the output
    /// is not what was asked for (an id Git could not read, or an object that is no commit).
    pub(crate) fn read(
        &mut self,
        each: &mut dyn FnMut(Object),
    ) -> std::io::Result<Result<u64, String>> {
        let mut count = 0u64;
        let mut header = Vec::with_capacity(128);
        let workers = self.readers.len();
        let mut turn = 0;
        'blocks: loop {
            let reader = &mut self.readers[turn];
            for _ in 0..BLOCK {
                header.clear();
                if reader.read_until(b'\n', &mut header)? == 0 {
                    // The end: an empty or short block is the last one (checked below).
                    break 'blocks;
                }
                let line = String::from_utf8_lossy(&header);
                let line = line.trim_end();
                let mut parts = line.split(' ');
                let (Some(sha), Some(kind), Some(size)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Ok(Err(format!("`git cat-file` could not read `{line}`")));
                };
                if kind != "commit" {
                    return Ok(Err(format!(
                        "`git rev-list` listed {sha}, which `git cat-file` reads as a {kind}"
                    )));
                }
                let Ok(size) = size.parse::<usize>() else {
                    return Ok(Err(format!("`git cat-file` printed `{line}`")));
                };
                let sha = sha.to_owned();
                let mut text = vec![0; size + 1];
                reader.read_exact(&mut text)?;
                if text.pop() != Some(b'\n') {
                    return Ok(Err(format!(
                        "the output of `git cat-file` is out of step after commit {sha}"
                    )));
                }
                each(Object { sha, text });
                count += 1;
            }
            turn = (turn + 1) % workers;
        }
        // Every process must be done: one with more to say means the blocks were out of step.
        for reader in &mut self.readers {
            if !reader.fill_buf()?.is_empty() {
                return Ok(Err(
                    "the outputs of `git cat-file` ended out of step".to_owned()
                ));
            }
        }
        Ok(Ok(count))
    }

    /// Stops everything (whatever `read` returned) and returns `rev-list`'s failure, if it
    /// failed, with what Git said.
    pub(crate) fn finish(mut self) -> std::io::Result<Option<String>> {
        // Closing the outputs first lets a process blocked writing them end.
        self.readers.clear();
        for child in &mut self.children {
            let _ = child.kill();
        }
        let walk = self.walk.wait()?;
        for child in &mut self.children {
            let _ = child.wait();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let said: Vec<String> = self
            .errors
            .drain(..)
            .map(|e| e.join().unwrap_or_default())
            .collect();
        Ok((!walk.success()).then(|| super::walk_failure(walk, &said[0])))
    }
}

/// Reads a commit whose object names a foreign `encoding` as `rev-list --header` prints it
/// (re-encoded to UTF-8); `None` when Git cannot.
pub(crate) fn reencoded(git: &dyn Fn() -> Command, sha: &str) -> Option<String> {
    let out = git()
        .args([
            "-c",
            "i18n.logOutputEncoding=UTF-8",
            "rev-list",
            "--no-walk",
            "--header",
            sha,
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let record = out.stdout.strip_suffix(b"\0").unwrap_or(&out.stdout);
    Some(String::from_utf8_lossy(record).into_owned())
}

/// Parses an object of [`Batch::read`] (`text` is its text as UTF-8).
pub(crate) fn parse<'a>(sha: &'a str, text: &'a str) -> log::Commit<'a> {
    log::parse_object(sha, text, Message::Raw)
}

/// Ends the processes started so far (a start that failed half way).
fn stop(walk: &mut Child, children: &mut [Child]) {
    for child in std::iter::once(walk).chain(children.iter_mut()) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A thread that reads `from` (a child's error output) to its end.
pub(super) fn drain<R: Read + Send + 'static>(from: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = from {
            let _ = r.read_to_string(&mut s);
        }
        s
    })
}

fn broken() -> std::io::Error {
    std::io::Error::other("git's output could not be read")
}
