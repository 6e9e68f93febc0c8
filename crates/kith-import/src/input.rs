//! Inputs as users give them: a file, a folder, or a compressed file. Expanded into an ordered
//! list of files so that an import reads the same records in the same order every time.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{ImportError, ReadContext};

/// One file to read.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    /// Size on disk (compressed size for `.gz`), for progress.
    pub size: u64,
}

impl InputFile {
    /// The name used in messages and audits.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    pub fn is_gzip(&self) -> bool {
        self.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    }

    /// Opens the file, decompressing `.gz`; bytes read from disk are added to the context's
    /// progress counter.
    pub fn open(&self, ctx: &ReadContext) -> Result<Box<dyn BufRead + Send>, ImportError> {
        let file = File::open(&self.path).map_err(|e| ImportError::io(&self.path, e))?;
        let counted = Counted { inner: file, counter: Arc::clone(&ctx.bytes_read) };
        Ok(if self.is_gzip() {
            Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(counted)))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, counted))
        })
    }
}

struct Counted<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Expands paths into files: a file stands for itself; a folder stands for the files in it
/// (recursively) whose name `accept` takes, in name order. A path that does not exist, or a
/// folder with no such file, is an error naming it.
pub fn expand(paths: &[PathBuf], accept: &dyn Fn(&Path) -> bool) -> Result<Vec<InputFile>, ImportError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| ImportError::io(path, e))?;
        if meta.is_dir() {
            let before = out.len();
            walk(path, accept, &mut out)?;
            if out.len() == before {
                return Err(ImportError::Usage(format!("{}: the folder holds no file this format reads", path.display())));
            }
        } else {
            out.push(InputFile { path: path.clone(), size: meta.len() });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, accept: &dyn Fn(&Path) -> bool, out: &mut Vec<InputFile>) -> Result<(), ImportError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ImportError::io(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| ImportError::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta = entry.metadata().map_err(|e| ImportError::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, accept, out)?;
        } else if accept(&path) {
            out.push(InputFile { path, size: meta.len() });
        }
    }
    Ok(())
}
