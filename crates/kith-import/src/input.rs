//! Inputs as users give them: a file, a folder, or the archive the platform ships (`.zip`;
//! `.gz` files are decompressed as they are read). Expanded into an ordered list of files so
//! that an import reads the same records in the same order every time, each file knowing the
//! folder it belongs to (formats such as Slack and Stack Exchange read a folder's layout).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{ImportError, ReadContext};

/// One file to read.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Where the file is on disk (inside a temporary folder for archive members).
    pub path: PathBuf,
    /// The folder the user gave (or the archive's contents, or a single file's folder).
    pub root: PathBuf,
    /// The path below `root`, with `/` separators: what layout-aware formats look at.
    pub relative: String,
    /// Size on disk (compressed size for `.gz`), for progress.
    pub size: u64,
    /// The name users see in messages and audits (`export.zip!/general/2015-06-12.json`).
    display: String,
    /// Keeps an archive's extraction folder alive while its files are read.
    _extracted: Option<Arc<tempfile::TempDir>>,
    /// The file's bytes when it lives in memory ([`InputFile::in_memory`]), not on disk.
    memory: Option<Arc<[u8]>>,
}

impl InputFile {
    /// A file on its own (for tests and formats that read one file).
    pub fn single(path: &Path) -> Result<InputFile, ImportError> {
        let meta = std::fs::metadata(path).map_err(|e| ImportError::io(path, e))?;
        Ok(InputFile {
            path: path.to_owned(),
            root: path.parent().map(Path::to_owned).unwrap_or_default(),
            relative: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: meta.len(),
            display: path.display().to_string(),
            _extracted: None,
            memory: None,
        })
    }

    /// A file held in memory, at `relative` below an unnamed root: lets the fuzz targets
    /// (`fuzz/`) drive a format's real `read` without touching the disk. A `.gz` name is
    /// decompressed as on disk.
    #[doc(hidden)]
    pub fn in_memory(relative: &str, bytes: impl Into<Arc<[u8]>>) -> InputFile {
        let bytes = bytes.into();
        InputFile {
            path: PathBuf::from(relative),
            root: PathBuf::new(),
            relative: relative.to_owned(),
            size: bytes.len() as u64,
            display: relative.to_owned(),
            _extracted: None,
            memory: Some(bytes),
        }
    }

    /// The name used in messages and audits.
    pub fn display(&self) -> String {
        self.display.clone()
    }

    /// The file name (last component of `relative`).
    pub fn file_name(&self) -> &str {
        self.relative.rsplit('/').next().unwrap_or(&self.relative)
    }

    pub fn is_gzip(&self) -> bool {
        self.path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    }

    /// Opens the file, decompressing `.gz`; bytes read from disk are added to the context's
    /// progress counter.
    pub fn open(&self, ctx: &ReadContext) -> Result<Box<dyn BufRead + Send>, ImportError> {
        let raw: Box<dyn Read + Send> = match &self.memory {
            Some(bytes) => Box::new(io::Cursor::new(Arc::clone(bytes))),
            None => Box::new(File::open(&self.path).map_err(|e| ImportError::io(&self.path, e))?),
        };
        let counted = Counted {
            inner: raw,
            counter: Arc::clone(&ctx.bytes_read),
        };
        Ok(if self.is_gzip() {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(counted),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, counted))
        })
    }

    /// Reads the whole file (decompressed) into memory: for small files such as `users.json`.
    pub fn read_all(&self, ctx: &ReadContext) -> Result<Vec<u8>, ImportError> {
        let mut buf = Vec::with_capacity(self.size as usize);
        self.open(ctx)?
            .read_to_end(&mut buf)
            .map_err(|e| ImportError::io(&self.path, e))?;
        Ok(buf)
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

fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Expands paths into files: a file stands for itself; a folder (or a `.zip` archive) stands
/// for the files in it, recursively, whose relative path `accept` takes, in path order. A path
/// that does not exist, or a folder with no such file, is an error naming it.
pub fn expand(
    paths: &[PathBuf],
    accept: &dyn Fn(&str) -> bool,
) -> Result<Vec<InputFile>, ImportError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| ImportError::io(path, e))?;
        let before = out.len();
        if meta.is_dir() {
            walk(
                path,
                path,
                "",
                &path.display().to_string(),
                None,
                accept,
                &mut out,
            )?;
        } else if is_zip(path) {
            let extracted = Arc::new(extract_zip(path)?);
            let root = extracted.path().to_owned();
            walk(
                &root,
                &root,
                "",
                &format!("{}!", path.display()),
                Some(&extracted),
                accept,
                &mut out,
            )?;
        } else {
            out.push(InputFile::single(path)?);
            continue;
        }
        if out.len() == before {
            return Err(ImportError::Usage(format!(
                "{}: holds no file this format reads",
                path.display()
            )));
        }
    }
    Ok(out)
}

fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    shown_root: &str,
    extracted: Option<&Arc<tempfile::TempDir>>,
    accept: &dyn Fn(&str) -> bool,
    out: &mut Vec<InputFile>,
) -> Result<(), ImportError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ImportError::io(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| ImportError::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = entry.metadata().map_err(|e| ImportError::io(&path, e))?;
        if meta.is_dir() {
            walk(root, &path, &relative, shown_root, extracted, accept, out)?;
        } else if accept(&relative) {
            out.push(InputFile {
                display: format!("{}/{relative}", shown_root.trim_end_matches('/')),
                path,
                root: root.to_owned(),
                relative,
                size: meta.len(),
                _extracted: extracted.cloned(),
                memory: None,
            });
        }
    }
    Ok(())
}

/// Unpacks a zip archive into a temporary folder (removed when the last file of it is dropped).
/// Member names that would escape the folder are refused.
fn extract_zip(path: &Path) -> Result<tempfile::TempDir, ImportError> {
    let malformed = |message: String| ImportError::Malformed {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        message,
    };
    let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| malformed(format!("not a readable zip archive: {e}")))?;
    let dir = tempfile::Builder::new()
        .prefix("kith-import-")
        .tempdir()
        .map_err(|e| ImportError::io(Path::new("<temporary folder>"), e))?;
    for i in 0..archive.len() {
        let mut member = archive
            .by_index(i)
            .map_err(|e| malformed(format!("member {i}: {e}")))?;
        let shown = member
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{i}"));
        let Some(name) = member.enclosed_name() else {
            return Err(malformed(format!("member `{shown}` has an unsafe path")));
        };
        let target = dir.path().join(name);
        if member.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| ImportError::io(&target, e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ImportError::io(parent, e))?;
        }
        let mut out = File::create(&target).map_err(|e| ImportError::io(&target, e))?;
        io::copy(&mut member, &mut out)
            .map_err(|e| malformed(format!("member `{shown}` cannot be unpacked: {e}")))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn folders_expand_in_path_order_with_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/2.json"), "x").unwrap();
        std::fs::write(dir.path().join("a.json"), "x").unwrap();
        std::fs::write(dir.path().join("skip.txt"), "x").unwrap();
        let files = expand(&[dir.path().to_owned()], &|p| p.ends_with(".json")).unwrap();
        let rel: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(rel, ["a.json", "b/2.json"]);
        assert_eq!(files[1].file_name(), "2.json");
        assert!(files[1].display().ends_with("/b/2.json"));
    }

    #[test]
    fn zip_archives_are_read_like_folders() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("export.zip");
        {
            let mut w = zip::ZipWriter::new(File::create(&zip_path).unwrap());
            let opts = zip::write::SimpleFileOptions::default();
            w.start_file("users.json", opts).unwrap();
            w.write_all(b"[]").unwrap();
            w.start_file("general/2015-06-12.json", opts).unwrap();
            w.write_all(b"[]").unwrap();
            w.finish().unwrap();
        }
        let files = expand(&[zip_path], &|_| true).unwrap();
        let rel: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(rel, ["general/2015-06-12.json", "users.json"]);
        assert!(
            files[0]
                .display()
                .ends_with("export.zip!/general/2015-06-12.json"),
            "{}",
            files[0].display()
        );
        assert_eq!(std::fs::read(&files[1].path).unwrap(), b"[]");
    }

    #[test]
    fn a_broken_archive_is_malformed_and_a_missing_path_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("broken.zip");
        std::fs::write(&zip_path, b"PK\x03\x04 not really").unwrap();
        assert!(matches!(
            expand(&[zip_path], &|_| true),
            Err(ImportError::Malformed { .. })
        ));
        let missing = dir.path().join("nope");
        let e = expand(&[missing], &|_| true).unwrap_err();
        assert!(e.to_string().contains("nope"));
    }
}
