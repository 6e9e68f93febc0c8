//! `jsonl`: kith's own canonical activity format (SPEC §3, `docs/formats/jsonl.md`).
//!
//! Idempotency key: (`source`, `id`) exactly as written in the line. Lines carry their source;
//! `--source NAME` fills it where missing and lines naming another source are skipped
//! (reason `source mismatch`). A line that is not JSON stops the import (malformed file); a
//! line that is JSON but not a valid activity is skipped (reason `invalid record`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kith_model::Activity;
use kith_model::jsonl::JsonlReader;
use kith_store::Problem;

use crate::{ExportWriter, Format, ImportError, InputFile, ReadContext, RecordSink};

pub struct Jsonl;

impl Jsonl {
    fn read_file(
        &self,
        input: &InputFile,
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let file = input.display();
        let reader = input.open(ctx)?;
        let mut reader = JsonlReader::new(reader);
        while let Some((line, parsed)) = reader
            .next_record()
            .map_err(|e| ImportError::io(&input.path, e))?
        {
            let mut activity = match parsed {
                Ok(a) => a,
                Err(e) if e.malformed => {
                    return Err(ImportError::Malformed {
                        file,
                        line: e.line,
                        column: e.column,
                        message: format!("{}; expected one JSON object per line", e.message),
                    });
                }
                Err(e) => {
                    sink.skip(Problem {
                        file: file.clone(),
                        line,
                        location: None,
                        reason: "invalid record".into(),
                        message: e.message,
                    });
                    continue;
                }
            };
            match (&ctx.source, activity.source.is_empty()) {
                (Some(name), true) => activity.source.clone_from(name),
                (Some(name), false) if activity.source != *name => {
                    sink.skip(Problem {
                        file: file.clone(),
                        line,
                        location: None,
                        reason: "source mismatch".into(),
                        message: format!(
                            "the line's source `{}` differs from --source `{name}`",
                            activity.source
                        ),
                    });
                    continue;
                }
                (None, true) => {
                    sink.skip(Problem {
                        file: file.clone(),
                        line,
                        location: None,
                        reason: "invalid record".into(),
                        message: "the line has no `source` and no --source was given".into(),
                    });
                    continue;
                }
                _ => {}
            }
            sink.activity(activity);
        }
        Ok(())
    }
}

impl Format for Jsonl {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    fn summary(&self) -> &'static str {
        "kith's canonical activity format, one JSON object per line (.jsonl, .jsonl.gz)"
    }

    fn accepts(&self, relative: &str) -> bool {
        relative.ends_with(".jsonl")
            || relative.ends_with(".jsonl.gz")
            || relative.ends_with(".ndjson")
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        for input in inputs {
            self.read_file(input, ctx, sink)?;
        }
        Ok(())
    }
}

impl ExportWriter for Jsonl {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    /// One file, `activities.jsonl`.
    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
        let path = dir.join("activities.jsonl");
        let file = std::fs::File::create(&path).map_err(|e| ImportError::io(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        for activity in activities {
            kith_model::jsonl::write_line(&mut out, &activity, None)
                .map_err(|e| ImportError::io(&path, e))?;
        }
        out.flush().map_err(|e| ImportError::io(&path, e))?;
        Ok(path)
    }
}
