//! Writes activities as a pipermail-style archive (`<year>-<Month>.txt`, one file per month):
//! what `kith demo --write-export mbox` produces for import benchmarks and tests. Posts,
//! replies and answers become messages; other kinds have no mail form and are left out.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, FixedOffset, Offset, TimeZone, Utc};
use kith_model::{Activity, Kind};

use crate::{ExportWriter, ImportError};

pub struct MboxWriter;

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl ExportWriter for MboxWriter {
    fn name(&self) -> &'static str {
        "mbox"
    }

    /// A folder of monthly pipermail `.txt` files; returns the folder.
    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
        let mut open: Option<(String, PathBuf, BufWriter<File>)> = None;
        let mut buf = String::with_capacity(4096);
        for a in activities {
            if !matches!(a.kind, Kind::Post | Kind::Reply | Kind::Answer) {
                continue;
            }
            let Some(utc) = Utc.timestamp_opt(a.ts.secs, 0).single() else {
                continue;
            };
            let month = format!("{}-{}", utc.year(), MONTH_NAMES[utc.month0() as usize % 12]);
            if open.as_ref().is_none_or(|(m, _, _)| *m != month) {
                if let Some((_, path, mut w)) = open.take() {
                    w.flush().map_err(|e| ImportError::io(&path, e))?;
                }
                let path = dir.join(format!("{month}.txt"));
                // Append: activities arrive in time order, but a month may come back.
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| ImportError::io(&path, e))?;
                open = Some((month, path, BufWriter::with_capacity(1 << 20, file)));
            }
            let Some((_, path, w)) = open.as_mut() else {
                continue;
            };
            buf.clear();
            message(&a, utc, &mut buf);
            w.write_all(buf.as_bytes())
                .map_err(|e| ImportError::io(path, e))?;
        }
        if let Some((_, path, mut w)) = open.take() {
            w.flush().map_err(|e| ImportError::io(&path, e))?;
        }
        Ok(dir.to_owned())
    }
}

/// Message ids cannot hold brackets or spaces.
fn msg_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_whitespace() || c == '<' || c == '>' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// One header line's worth of text (no line breaks).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn message(a: &Activity, utc: chrono::DateTime<Utc>, out: &mut String) {
    use std::fmt::Write as _;
    let address = a.author.as_ref().map(|au| {
        let email = au.email.clone().unwrap_or_else(|| {
            format!(
                "{}@example.invalid",
                au.id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    .collect::<String>()
            )
        });
        email.replacen('@', " at ", 1)
    });
    let _ = writeln!(
        out,
        "From {}  {}",
        address.as_deref().unwrap_or("MAILER-DAEMON"),
        utc.format("%a %b %e %H:%M:%S %Y")
    );
    if let (Some(address), Some(author)) = (&address, &a.author) {
        match author
            .name
            .as_deref()
            .map(one_line)
            .filter(|n| !n.is_empty())
        {
            Some(name) => {
                let _ = writeln!(out, "From: {address} ({})", name.replace(['(', ')'], ""));
            }
            None => {
                let _ = writeln!(out, "From: {address}");
            }
        }
    }
    let offset = FixedOffset::east_opt(i32::from(a.ts.offset_min) * 60).unwrap_or(Utc.fix());
    let local = utc.with_timezone(&offset);
    let _ = writeln!(out, "Date: {}", local.format("%a, %e %b %Y %H:%M:%S %z"));
    let subject = a
        .attrs
        .get("subject")
        .and_then(|v| v.as_str())
        .map(one_line)
        .unwrap_or_else(|| {
            let first: String = a
                .text
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            let first = one_line(&first);
            if a.reply_to.is_some() {
                format!("Re: {first}")
            } else {
                first
            }
        });
    let _ = writeln!(out, "Subject: {subject}");
    if let Some(parent) = &a.reply_to {
        let _ = writeln!(out, "In-Reply-To: <{}>", msg_id(parent));
        match a.thread.as_deref().filter(|t| t != parent && *t != a.id) {
            Some(root) => {
                let _ = writeln!(out, "References: <{}> <{}>", msg_id(root), msg_id(parent));
            }
            None => {
                let _ = writeln!(out, "References: <{}>", msg_id(parent));
            }
        }
    }
    let _ = writeln!(out, "Message-ID: <{}>", msg_id(&a.id));
    out.push('\n');
    for line in a.text.as_deref().unwrap_or("").lines() {
        // A body line that looks like an envelope would start a message: escape it (mboxrd).
        if super::envelope::envelope_sender(line.as_bytes()).is_some() {
            out.push('>');
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
}
