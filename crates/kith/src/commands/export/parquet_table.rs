//! Parquet tables for analysts (DuckDB, pandas, Spark): typed, nullable columns, Snappy
//! compression, written through the parquet crate's column writers (no Arrow). Rows are
//! buffered column by column and written out as a row group every [`ROW_GROUP_ROWS`] rows or
//! [`ROW_GROUP_BYTES`] of text, whichever comes first, so memory stays flat however many rows
//! stream through.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type};

use super::WriteError;
use super::table::{Cell, Column, ColumnType, TableWriter};

/// Rows per row group. Readers parallelise over row groups and skip them by their statistics;
/// 100,000 rows keeps both useful (DuckDB's own groups hold 122,880) and the buffers small.
pub const ROW_GROUP_ROWS: usize = 100_000;
/// Buffered text that closes a row group early (long messages), bounding memory per group.
pub const ROW_GROUP_BYTES: usize = 64 << 20;

pub struct ParquetTable<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    columns: Vec<ColumnBuffer>,
    rows: usize,
    bytes: usize,
    max_rows: usize,
    max_bytes: usize,
}

/// One column's values of the row group being collected.
struct ColumnBuffer {
    column: Column,
    values: Values,
    /// Definition levels of a nullable column: 1 for a value, 0 for a null. `None` for a
    /// required column.
    defs: Option<Vec<i16>>,
}

enum Values {
    /// INT64 columns: integers, and instants as microseconds since the epoch.
    Int(Vec<i64>),
    Bool(Vec<bool>),
    /// Text of the whole group back to back, and where each value ends.
    Bytes {
        data: Vec<u8>,
        ends: Vec<usize>,
    },
}

impl<W: Write + Send> ParquetTable<W> {
    /// Starts a file holding the table `name` with these columns.
    pub fn new(out: W, name: &str, columns: &[Column]) -> Result<ParquetTable<W>, WriteError> {
        Self::with_limits(out, name, columns, ROW_GROUP_ROWS, ROW_GROUP_BYTES)
    }

    /// [`ParquetTable::new`] with other row group bounds (tests use small ones).
    pub fn with_limits(
        out: W,
        name: &str,
        columns: &[Column],
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<ParquetTable<W>, WriteError> {
        let fields = columns
            .iter()
            .map(|c| field(c).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Type::group_type_builder("schema")
            .with_fields(fields)
            .build()?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(vec![
                KeyValue::new("kith.table".into(), name.to_owned()),
                KeyValue::new("kith.version".into(), env!("CARGO_PKG_VERSION").to_owned()),
            ]));
        for c in columns.iter().filter(|c| c.distinct) {
            props = props.set_column_dictionary_enabled(ColumnPath::from(c.name), false);
        }
        let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props.build()))?;
        let columns = columns
            .iter()
            .map(|&column| ColumnBuffer {
                column,
                values: match column.ty {
                    ColumnType::Int | ColumnType::Time => Values::Int(Vec::new()),
                    ColumnType::Bool => Values::Bool(Vec::new()),
                    ColumnType::Text | ColumnType::Json => Values::Bytes {
                        data: Vec::new(),
                        ends: Vec::new(),
                    },
                },
                defs: column.nullable.then(Vec::new),
            })
            .collect();
        Ok(ParquetTable {
            writer,
            columns,
            rows: 0,
            bytes: 0,
            max_rows: max_rows.max(1),
            max_bytes,
        })
    }

    /// Writes the buffered rows as one row group.
    fn write_row_group(&mut self) -> Result<(), WriteError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for buffer in &mut self.columns {
            let Some(mut writer) = group.next_column()? else {
                return Err(WriteError::Table(format!(
                    "the Parquet schema has no column for {}",
                    buffer.column.name
                )));
            };
            let defs = buffer.defs.as_deref();
            match &mut buffer.values {
                Values::Int(v) => {
                    writer.typed::<Int64Type>().write_batch(v, defs, None)?;
                    v.clear();
                }
                Values::Bool(v) => {
                    writer.typed::<BoolType>().write_batch(v, defs, None)?;
                    v.clear();
                }
                Values::Bytes { data, ends } => {
                    // One allocation for the group's text: each value is a slice of it.
                    let all = Bytes::from(std::mem::take(data));
                    let mut start = 0;
                    let values: Vec<ByteArray> = ends
                        .iter()
                        .map(|&end| {
                            let value = ByteArray::from(all.slice(start..end));
                            start = end;
                            value
                        })
                        .collect();
                    writer
                        .typed::<ByteArrayType>()
                        .write_batch(&values, defs, None)?;
                    ends.clear();
                }
            }
            writer.close()?;
            if let Some(d) = &mut buffer.defs {
                d.clear();
            }
        }
        group.close()?;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// The Parquet field of a column.
fn field(c: &Column) -> Result<Type, parquet::errors::ParquetError> {
    let (physical, logical) = match c.ty {
        ColumnType::Int => (PhysicalType::INT64, None),
        ColumnType::Bool => (PhysicalType::BOOLEAN, None),
        ColumnType::Text | ColumnType::Json => {
            (PhysicalType::BYTE_ARRAY, Some(LogicalType::String))
        }
        ColumnType::Time => (
            PhysicalType::INT64,
            Some(LogicalType::timestamp(true, TimeUnit::MICROS)),
        ),
    };
    Type::primitive_type_builder(c.name, physical)
        .with_repetition(if c.nullable {
            Repetition::OPTIONAL
        } else {
            Repetition::REQUIRED
        })
        .with_logical_type(logical)
        .build()
}

impl<W: Write + Send> TableWriter for ParquetTable<W> {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), WriteError> {
        if cells.len() != self.columns.len() {
            return Err(WriteError::Table(format!(
                "a row of {} cells for a table of {} columns",
                cells.len(),
                self.columns.len()
            )));
        }
        for (buffer, cell) in self.columns.iter_mut().zip(cells) {
            let column = &buffer.column;
            if !cell.fits(column) {
                return Err(WriteError::Table(format!(
                    "{cell:?} does not fit column {} ({:?}{})",
                    column.name,
                    column.ty,
                    if column.nullable { ", nullable" } else { "" }
                )));
            }
            let present = match (&mut buffer.values, *cell) {
                (Values::Int(v), Cell::Int(Some(x))) => {
                    v.push(x);
                    true
                }
                (Values::Int(v), Cell::Time(Some(t))) => {
                    let micros = t
                        .secs
                        .checked_mul(1_000_000)
                        .and_then(|us| us.checked_add(i64::from(t.micros)))
                        .ok_or_else(|| {
                            WriteError::Table(format!(
                                "column {}: {} s after the epoch is beyond a Parquet timestamp",
                                column.name, t.secs
                            ))
                        })?;
                    v.push(micros);
                    true
                }
                (Values::Bool(v), Cell::Bool(b)) => {
                    v.push(b);
                    true
                }
                (Values::Bytes { data, ends }, Cell::Text(Some(s))) => {
                    data.extend_from_slice(s.as_bytes());
                    ends.push(data.len());
                    self.bytes += s.len();
                    true
                }
                // A null: `fits` checked that the column is nullable.
                (_, Cell::Int(None) | Cell::Text(None) | Cell::Time(None)) => false,
                (_, cell) => {
                    return Err(WriteError::Table(format!(
                        "{cell:?} does not fit column {}",
                        column.name
                    )));
                }
            };
            if let Some(d) = &mut buffer.defs {
                d.push(i16::from(present));
            }
        }
        self.rows += 1;
        if self.rows >= self.max_rows || self.bytes >= self.max_bytes {
            self.write_row_group()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), WriteError> {
        self.write_row_group()?;
        // Writes the footer and flushes the destination.
        self.writer.close()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::export::table::{ACTIVITIES, THREADS};
    use kith_model::Timestamp;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    fn read(file: Vec<u8>) -> SerializedFileReader<Bytes> {
        SerializedFileReader::new(Bytes::from(file)).unwrap()
    }

    fn rows(reader: &SerializedFileReader<Bytes>) -> Vec<Vec<Field>> {
        reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| {
                r.unwrap()
                    .get_column_iter()
                    .map(|(_, f)| f.clone())
                    .collect()
            })
            .collect()
    }

    /// A thread row; the inferred one has topics.
    fn thread(id: i64, name: &str, inferred: bool) -> [Cell<'_>; 5] {
        [
            Cell::Int(Some(id)),
            Cell::Text(Some("forum")),
            Cell::Text(Some(name)),
            Cell::Bool(inferred),
            Cell::Text(inferred.then_some(r#"["x"]"#)),
        ]
    }

    #[test]
    fn rows_come_back_in_order_across_bounded_row_groups() {
        let mut file = Vec::new();
        let mut table = Box::new(
            ParquetTable::with_limits(&mut file, "threads", THREADS, 2, usize::MAX).unwrap(),
        );
        let names = ["t-1", "t-2", "t-3", "t-4", "t-5"];
        for (i, name) in names.iter().enumerate() {
            table.row(&thread(i as i64 + 1, name, i == 2)).unwrap();
        }
        table.finish().unwrap();
        let reader = read(file);
        // Five rows in groups of at most two: 2 + 2 + 1.
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [2, 2, 1]);
        let expected: Vec<Vec<Field>> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                vec![
                    Field::Long(i as i64 + 1),
                    Field::Str("forum".into()),
                    Field::Str((*name).into()),
                    Field::Bool(i == 2),
                    if i == 2 {
                        Field::Str(r#"["x"]"#.into())
                    } else {
                        Field::Null
                    },
                ]
            })
            .collect();
        assert_eq!(rows(&reader), expected);
        let meta = reader.metadata().file_metadata();
        let table_name = meta
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "kith.table"))
            .and_then(|k| k.value.clone());
        assert_eq!(table_name.as_deref(), Some("threads"));
    }

    #[test]
    fn long_text_closes_a_row_group_early() {
        let mut file = Vec::new();
        // 8 bytes of text per row ("forum" and "t-1": 5 + 3) against a bound of 16: the group
        // closes after the second row, which reaches 16.
        let mut table =
            Box::new(ParquetTable::with_limits(&mut file, "threads", THREADS, 100, 16).unwrap());
        for i in 1..=3 {
            table.row(&thread(i, &format!("t-{i}"), false)).unwrap();
        }
        table.finish().unwrap();
        let reader = read(file);
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [2, 1]);
        assert_eq!(rows(&reader).len(), 3);
    }

    #[test]
    fn an_empty_table_is_a_valid_file_with_its_columns_and_no_rows() {
        let mut file = Vec::new();
        let table = Box::new(ParquetTable::new(&mut file, "activities", ACTIVITIES).unwrap());
        table.finish().unwrap();
        let reader = read(file);
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
        assert_eq!(reader.metadata().num_row_groups(), 0);
        let schema = reader.metadata().file_metadata().schema_descr();
        let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
        let declared: Vec<&str> = ACTIVITIES.iter().map(|c| c.name).collect();
        assert_eq!(names, declared);
    }

    #[test]
    fn nulls_and_timestamps_are_typed() {
        use crate::commands::export::table::MEMBERS;
        let mut file = Vec::new();
        let mut table = Box::new(ParquetTable::new(&mut file, "members", MEMBERS).unwrap());
        // 2024-03-04T09:12:00.5+01:00 is 1,709,539,920.5 s after the epoch in UTC.
        let ts = Timestamp::parse_rfc3339("2024-03-04T09:12:00.5+01:00").unwrap();
        table
            .row(&[
                Cell::Int(Some(1)),
                Cell::Text(Some("Zoë 李")),
                Cell::Bool(true),
                Cell::Time(Some(ts)),
                Cell::Bool(false),
                Cell::Bool(false),
                Cell::Int(None),
                Cell::Time(Some(Timestamp::from_secs(0))),
            ])
            .unwrap();
        table
            .row(&[
                Cell::Int(Some(2)),
                Cell::Text(None),
                Cell::Bool(false),
                Cell::Time(None),
                Cell::Bool(false),
                Cell::Bool(true),
                Cell::Int(Some(1)),
                Cell::Time(Some(Timestamp::from_secs(-1))),
            ])
            .unwrap();
        table.finish().unwrap();
        let reader = read(file);
        assert_eq!(
            rows(&reader),
            [
                vec![
                    Field::Long(1),
                    Field::Str("Zoë 李".into()),
                    Field::Bool(true),
                    Field::TimestampMicros(1_709_539_920_500_000),
                    Field::Bool(false),
                    Field::Bool(false),
                    Field::Null,
                    Field::TimestampMicros(0),
                ],
                vec![
                    Field::Long(2),
                    Field::Null,
                    Field::Bool(false),
                    Field::Null,
                    Field::Bool(false),
                    Field::Bool(true),
                    Field::Long(1),
                    Field::TimestampMicros(-1_000_000),
                ],
            ]
        );
    }

    #[test]
    fn a_row_that_does_not_fit_is_an_error_not_a_panic() {
        let mut file = Vec::new();
        let mut table = ParquetTable::new(&mut file, "threads", THREADS).unwrap();
        // Missing value in a required column, wrong type, wrong width.
        assert!(
            table
                .row(&[
                    Cell::Int(None),
                    Cell::Text(Some("s")),
                    Cell::Text(Some("t")),
                    Cell::Bool(false)
                ])
                .is_err()
        );
        assert!(
            table
                .row(&[
                    Cell::Bool(true),
                    Cell::Text(Some("s")),
                    Cell::Text(Some("t")),
                    Cell::Bool(false)
                ])
                .is_err()
        );
        assert!(table.row(&[Cell::Int(Some(1))]).is_err());
    }
}
