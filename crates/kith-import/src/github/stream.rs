//! A saved API response is an array of objects (a page) or one object (`/pulls/<n>`). Arrays
//! are cut into their elements by a small scanner (strings, escapes and nesting only) and each
//! element is parsed on its own from a slice, so memory holds one object at a time, never the
//! page, and serde_json parses from memory (several times faster than byte by byte through a
//! reader).
//!
//! Positions are counted while scanning: an element knows the line it starts on, and a syntax
//! error inside it is reported at its place in the file.

use std::io::BufRead;

use serde_json::Value;

use crate::ImportError;
use crate::json_stream::Scanner;

/// Hands each top-level value (of an object, only the fields named in `keep`: the rest are
/// skipped without being built) to `each` with its index in the array (`None` for a top-level
/// value that is not an array) and the line it starts on. A syntax error is
/// [`ImportError::Malformed`] naming `file`, the line, the column and `expected`.
pub(super) fn each_value<R: BufRead>(
    reader: R,
    file: &str,
    expected: &str,
    keep: &[&str],
    each: &mut dyn FnMut(Option<usize>, u64, Value),
) -> Result<(), ImportError> {
    let mut s = Scanner::new(reader, file, expected);
    s.skip_bom()?;
    match s.skip_ws()? {
        None => return Err(s.error("the file is empty")),
        Some(b'[') => s.array(Some(keep), &mut |i, line, v| each(Some(i), line, v))?,
        Some(_) => {
            let (line, v) = s.value(Some(keep))?;
            each(None, line, v);
        }
    }
    s.end()
}
