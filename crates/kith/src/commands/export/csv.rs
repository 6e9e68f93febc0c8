//! CSV tables (RFC 4180 quoting, `\n` line ends, a header row): text for people and
//! spreadsheets. Types become text: `1`/`0` for booleans, RFC 3339 for instants, an empty field
//! for a missing value.

use std::io::Write;

use super::WriteError;
use super::table::{Cell, Column, TableWriter};

pub struct CsvTable<W: Write> {
    out: W,
    /// The line being built, reused from row to row.
    line: String,
}

impl<W: Write> CsvTable<W> {
    /// Starts the table with its header row.
    pub fn new(mut out: W, columns: &[Column]) -> Result<CsvTable<W>, WriteError> {
        let header: Vec<&str> = columns.iter().map(|c| c.name).collect();
        writeln!(out, "{}", header.join(","))?;
        Ok(CsvTable {
            out,
            line: String::new(),
        })
    }
}

impl<W: Write> TableWriter for CsvTable<W> {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), WriteError> {
        use std::fmt::Write as _;
        self.line.clear();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            // Writing into a String cannot fail.
            let _ = match cell {
                Cell::Int(Some(v)) => write!(self.line, "{v}"),
                Cell::Bool(b) => write!(self.line, "{}", if *b { "1" } else { "0" }),
                Cell::Text(Some(s)) => {
                    push_field(&mut self.line, s);
                    Ok(())
                }
                Cell::Time(Some(t)) => write!(self.line, "{t}"),
                Cell::Int(None) | Cell::Text(None) | Cell::Time(None) => Ok(()),
            };
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), WriteError> {
        self.out.flush()?;
        Ok(())
    }
}

/// Appends a field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn push_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::export::table::{MEMBERS, THREADS};
    use kith_model::Timestamp;

    fn field(s: &str) -> String {
        let mut line = String::new();
        push_field(&mut line, s);
        line
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("crlf\r"), "\"crlf\r\"");
        assert_eq!(field("Привет, мир"), "\"Привет, мир\"");
    }

    #[test]
    fn rows_are_written_under_a_header_with_empty_fields_for_missing_values() {
        let mut out = Vec::new();
        let mut table = Box::new(CsvTable::new(&mut out, THREADS).unwrap());
        table
            .row(&[
                Cell::Int(Some(4)),
                Cell::Text(Some("forum")),
                Cell::Text(Some("t,1")),
                Cell::Bool(true),
                Cell::Text(Some(r#"["a","b"]"#)),
            ])
            .unwrap();
        table.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,source,thread,inferred,topics\n4,forum,\"t,1\",1,\"[\"\"a\"\",\"\"b\"\"]\"\n"
        );

        let mut out = Vec::new();
        let mut table = Box::new(CsvTable::new(&mut out, MEMBERS).unwrap());
        // 1,700,000,000 s after the epoch is 2023-11-14T22:13:20Z.
        table
            .row(&[
                Cell::Int(Some(1)),
                Cell::Text(None),
                Cell::Bool(false),
                Cell::Time(None),
                Cell::Bool(false),
                Cell::Bool(true),
                Cell::Int(None),
                Cell::Time(Some(Timestamp::from_secs(1_700_000_000))),
            ])
            .unwrap();
        table.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap().lines().nth(1),
            Some("1,,0,,0,1,,2023-11-14T22:13:20Z")
        );
    }
}
