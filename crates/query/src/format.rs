//! Result formats, and encoders that turn a stream of record batches into bytes batch by batch.
//!
//! Every encoder writes into a shared buffer that is drained after each batch, so a response is
//! a sequence of chunks, one per batch, and the server never holds a whole result: JSON as one
//! array whose elements are written as they come, NDJSON, CSV (header once), the Arrow IPC
//! stream format (schema, then one message per batch), and Parquet (a row group every
//! [`PARQUET_ROW_GROUP_ROWS`] rows, footer at the end).

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::json::writer::{JsonArray, LineDelimited};
use datafusion::arrow::json::{Writer as JsonWriter, WriterBuilder as JsonWriterBuilder};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

use crate::QueryError;

/// Rows per Parquet row group in a result: big enough for good compression, small enough that
/// the encoder holds only a few MiB before a chunk goes out.
pub const PARQUET_ROW_GROUP_ROWS: usize = 65_536;

/// A result format a client can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON array of objects, every column present in every object (nulls explicit).
    #[default]
    Json,
    /// One JSON object per line.
    Ndjson,
    /// CSV with a header line; list columns are written as their text form.
    Csv,
    /// The Arrow IPC stream format.
    Arrow,
    /// A Parquet file.
    Parquet,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::Ndjson,
        Format::Csv,
        Format::Arrow,
        Format::Parquet,
    ];

    /// The format named `name` in a `format=` parameter.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" | "jsonlines" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            "arrow" | "ipc" | "arrows" => Some(Format::Arrow),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The first format an `Accept` header names, in the header's order; `None` when it names
    /// none of ours (`*/*` included), so the default applies.
    pub fn from_accept(accept: &str) -> Option<Format> {
        accept.split(',').find_map(|item| {
            let media = item.split(';').next().unwrap_or("").trim();
            Format::ALL.into_iter().find(|f| {
                f.media_types()
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(media))
            })
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::Arrow => "arrow",
            Format::Parquet => "parquet",
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        self.media_types()[0]
    }

    fn media_types(self) -> &'static [&'static str] {
        match self {
            Format::Json => &["application/json"],
            Format::Ndjson => &["application/x-ndjson", "application/jsonl"],
            Format::Csv => &["text/csv"],
            Format::Arrow => &[
                "application/vnd.apache.arrow.stream",
                "application/vnd.apache.arrow.file",
            ],
            Format::Parquet => &["application/vnd.apache.parquet", "application/x-parquet"],
        }
    }
}

/// A `Vec<u8>` the encoder writes into and the pump drains after each batch.
#[derive(Debug, Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> Bytes {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Bytes::from(std::mem::take(&mut *buf))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Writer {
    Json(JsonWriter<SharedBuf, JsonArray>),
    Ndjson(JsonWriter<SharedBuf, LineDelimited>),
    Csv(Box<datafusion::arrow::csv::Writer<SharedBuf>>),
    Arrow(StreamWriter<SharedBuf>),
    Parquet(Box<ArrowWriter<SharedBuf>>),
}

/// Encodes one result in one format, batch by batch.
pub struct Encoder {
    writer: Writer,
    buf: SharedBuf,
    schema: SchemaRef,
    /// Column types this format cannot (or should not) carry, and what to send instead.
    recast: Recast,
    /// Whether any batch was written; CSV writes its header with the first one.
    started: bool,
}

/// Maps a column type to the type sent instead, or `None` to send it as it is.
type Recast = fn(&DataType) -> Option<DataType>;

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for results of `schema`.
    pub fn new(format: Format, schema: &SchemaRef) -> Result<Self, QueryError> {
        let buf = SharedBuf::default();
        let recast = format.recast();
        let out_schema = recast_schema(schema, recast);
        let schema = &out_schema;
        let json = || JsonWriterBuilder::new().with_explicit_nulls(true);
        let writer = match format {
            Format::Json => Writer::Json(json().build(buf.clone())),
            Format::Ndjson => Writer::Ndjson(json().build(buf.clone())),
            Format::Csv => Writer::Csv(Box::new(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(buf.clone()),
            )),
            Format::Arrow => {
                Writer::Arrow(StreamWriter::try_new(buf.clone(), schema).map_err(internal)?)
            }
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP_ROWS))
                    .build();
                let writer = ArrowWriter::try_new(buf.clone(), Arc::clone(schema), Some(props))
                    .map_err(|e| QueryError::Internal(e.to_string()))?;
                Writer::Parquet(Box::new(writer))
            }
        };
        Ok(Encoder {
            writer,
            buf,
            schema: Arc::clone(schema),
            recast,
            started: false,
        })
    }

    /// Encodes `batch` and returns the bytes ready to send (possibly none, e.g. while Parquet
    /// fills a row group).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<Bytes, QueryError> {
        self.started = true;
        let batch = &recast_batch(batch, self.recast)?;
        match &mut self.writer {
            Writer::Json(w) => w.write(batch).map_err(client_or_internal)?,
            Writer::Ndjson(w) => w.write(batch).map_err(client_or_internal)?,
            Writer::Csv(w) => w.write(batch).map_err(client_or_internal)?,
            Writer::Arrow(w) => w.write(batch).map_err(internal)?,
            Writer::Parquet(w) => w
                .write(batch)
                .map_err(|e| QueryError::Internal(e.to_string()))?,
        }
        Ok(self.buf.take())
    }

    /// Ends the result (closing bracket, end-of-stream marker, Parquet footer) and returns the
    /// last bytes.
    pub fn finish(mut self) -> Result<Bytes, QueryError> {
        let mut head = Bytes::new();
        if !self.started {
            // An empty result still gets its CSV header, so readers see the columns.
            head = self.write(&RecordBatch::new_empty(Arc::clone(&self.schema)))?;
        }
        match &mut self.writer {
            Writer::Json(w) => w.finish().map_err(internal)?,
            Writer::Ndjson(w) => w.finish().map_err(internal)?,
            Writer::Csv(_) => {}
            Writer::Arrow(w) => w.finish().map_err(internal)?,
            Writer::Parquet(w) => {
                w.finish()
                    .map_err(|e| QueryError::Internal(e.to_string()))?;
            }
        }
        let tail = self.buf.take();
        if head.is_empty() {
            return Ok(tail);
        }
        Ok([head, tail].concat().into())
    }
}

impl Format {
    /// CSV cannot hold lists or structs: those go as their text form (`[a, b]`). Arrow IPC and
    /// Parquet results get plain strings instead of the engine's string views, which readers
    /// older than Arrow 16 (2024) cannot open.
    fn recast(self) -> Recast {
        match self {
            Format::Csv => |t| t.is_nested().then_some(DataType::Utf8),
            Format::Arrow | Format::Parquet => {
                |t| matches!(t, DataType::Utf8View).then_some(DataType::Utf8)
            }
            Format::Json | Format::Ndjson => |_| None,
        }
    }
}

fn recast_schema(schema: &SchemaRef, recast: Recast) -> SchemaRef {
    if !schema
        .fields()
        .iter()
        .any(|f| recast(f.data_type()).is_some())
    {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match recast(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn recast_batch(batch: &RecordBatch, recast: Recast) -> Result<RecordBatch, QueryError> {
    let schema = recast_schema(batch.schema_ref(), recast);
    if Arc::ptr_eq(&schema, batch.schema_ref()) {
        return Ok(batch.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            if field.data_type() == column.data_type() {
                Ok(Arc::clone(column))
            } else {
                cast(column, field.data_type()).map_err(client_or_internal)
            }
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(schema, columns).map_err(internal)
}

fn internal(err: ArrowError) -> QueryError {
    QueryError::Internal(err.to_string())
}

fn client_or_internal(err: ArrowError) -> QueryError {
    QueryError::from(datafusion::error::DataFusionError::ArrowError(
        Box::new(err),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, ListBuilder, StringBuilder};

    fn batch() -> RecordBatch {
        let mut tags = ListBuilder::new(StringBuilder::new());
        tags.values().append_value("a");
        tags.values().append_value("b");
        tags.append(true);
        tags.append(true);
        RecordBatch::try_from_iter([
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            ("tags", Arc::new(tags.finish()) as ArrayRef),
        ])
        .unwrap()
    }

    fn encode(format: Format, batches: &[RecordBatch]) -> Vec<u8> {
        encode_as(format, &batch().schema(), batches)
    }

    fn encode_as(format: Format, schema: &SchemaRef, batches: &[RecordBatch]) -> Vec<u8> {
        let mut enc = Encoder::new(format, schema).unwrap();
        let mut out = Vec::new();
        for b in batches {
            out.extend_from_slice(&enc.write(b).unwrap());
        }
        out.extend_from_slice(&enc.finish().unwrap());
        out
    }

    #[test]
    fn json_is_one_array_with_explicit_nulls_even_when_empty() {
        let text = String::from_utf8(encode(Format::Json, &[batch(), batch()])).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value.as_array().unwrap().len(), 4);
        assert_eq!(value[1]["n"], serde_json::Value::Null);
        assert_eq!(value[0]["tags"], serde_json::json!(["a", "b"]));
        assert_eq!(encode(Format::Json, &[]), b"[]");
        assert_eq!(encode(Format::Csv, &[]), b"n,tags\n");
    }

    #[test]
    fn csv_writes_the_header_once_and_lists_as_text() {
        let text = String::from_utf8(encode(Format::Csv, &[batch(), batch()])).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("n,")).count(), 1);
        assert_eq!(text.lines().count(), 5);
        assert!(text.contains("[a, b]"), "{text}");
    }

    #[test]
    fn arrow_and_parquet_results_carry_plain_strings_not_views() {
        let views = RecordBatch::try_from_iter([(
            "dsn",
            Arc::new(datafusion::arrow::array::StringViewArray::from(vec![
                "AC1", "AC2",
            ])) as ArrayRef,
        )])
        .unwrap();
        let bytes = encode_as(Format::Arrow, &views.schema(), std::slice::from_ref(&views));
        let reader =
            datafusion::arrow::ipc::reader::StreamReader::try_new(&bytes[..], None).unwrap();
        assert_eq!(reader.schema().field(0).data_type(), &DataType::Utf8);
        let read: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(read[0].num_rows(), 2);
        let csv = String::from_utf8(encode_as(Format::Csv, &views.schema(), &[views])).unwrap();
        assert_eq!(csv, "dsn\nAC1\nAC2\n");
    }

    #[test]
    fn formats_come_from_names_and_accept_headers() {
        assert_eq!(Format::from_name("JSONL"), Some(Format::Ndjson));
        assert_eq!(Format::from_name("xml"), None);
        let accept = "text/html;q=0.9, application/vnd.apache.arrow.stream, */*";
        assert_eq!(Format::from_accept(accept), Some(Format::Arrow));
        assert_eq!(Format::from_accept("*/*"), None);
    }
}
