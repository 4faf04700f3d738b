//! Lean Utf8 and primitive columns for the table builders' hot path.
//!
//! arrow's builders are general (any offset size, any `AsRef<str>`, `MutableBuffer` growth) and
//! their `append_value` is an out-of-line call per field; a DSS event appends some twenty fields,
//! so the table builders use these instead: a couple of `Vec` pushes that inline into
//! `TableBuilder::append`, turned into arrays without copying when the batch is taken.

use std::sync::Arc;

use arrow_array::{ArrayRef, ArrowPrimitiveType, PrimitiveArray, StringArray};
use arrow_buffer::{Buffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

#[derive(Debug)]
pub(crate) struct TextColumn {
    /// `rows + 1` offsets into `values`, starting at 0.
    offsets: Vec<i32>,
    values: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl TextColumn {
    pub(crate) fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        TextColumn {
            offsets,
            values: Vec::with_capacity(bytes),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    #[inline(always)]
    fn end(&self) -> i32 {
        // The same limit arrow's builder enforces: a 32-bit offset array holds under 2 GiB.
        i32::try_from(self.values.len()).expect("Utf8 column over 2 GiB")
    }

    #[inline(always)]
    pub(crate) fn append_value(&mut self, value: &str) {
        push_bytes(&mut self.values, value.as_bytes());
        let end = self.end();
        self.offsets.push(end);
        self.nulls.append_non_null();
    }

    #[inline(always)]
    pub(crate) fn append_option(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.append_value(value),
            None => {
                let end = self.end();
                self.offsets.push(end);
                self.nulls.append_null();
            }
        }
    }

    /// Takes the rows appended so far as an array; the column keeps the room it had (see
    /// `TakeColumn` in `rows`).
    pub(crate) fn take(&mut self) -> ArrayRef {
        let rows = self.offsets.capacity() - 1;
        let fresh = TextColumn::with_capacity(rows, self.values.capacity());
        let TextColumn {
            offsets,
            values,
            mut nulls,
        } = std::mem::replace(self, fresh);
        // SAFETY: `offsets` starts at 0 and only grows (each push is the length of `values`
        // after appending), so it is a valid offset buffer.
        let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) };
        // SAFETY: `values` is the concatenation of whole `&str`s and every offset is the end of
        // one, so each slice is valid UTF-8; `nulls` has one bit per row.
        let array = unsafe {
            StringArray::new_unchecked(offsets, Buffer::from_vec(values), nulls.finish())
        };
        Arc::new(array)
    }
}

/// `values.extend_from_slice(bytes)` without a call to `memcpy` for the short strings that
/// make up most fields (perf: the calls were ~7% of decoding): up to 64 bytes (uuids are 36)
/// are copied as two overlapping fixed-size chunks, which compile to a few register moves.
#[inline(always)]
fn push_bytes(values: &mut Vec<u8>, bytes: &[u8]) {
    const SHORT: usize = 64;
    let n = bytes.len();
    if !(4..=SHORT).contains(&n) {
        values.extend_from_slice(bytes);
        return;
    }
    values.reserve(SHORT);
    let len = values.len();
    let (src, dst) = (
        bytes.as_ptr(),
        values.spare_capacity_mut().as_mut_ptr().cast::<u8>(),
    );
    // SAFETY: `4 <= n <= 64`, so each chunk's two copies read `bytes[..k]` and `bytes[n-k..]`
    // with `k <= n`, and write the same ranges of the spare capacity, which is at least 64
    // bytes after `reserve`; together they cover `0..n`, so `len + n` bytes are initialised.
    unsafe {
        if n >= 32 {
            std::ptr::copy_nonoverlapping(src, dst, 32);
            std::ptr::copy_nonoverlapping(src.add(n - 32), dst.add(n - 32), 32);
        } else if n >= 16 {
            std::ptr::copy_nonoverlapping(src, dst, 16);
            std::ptr::copy_nonoverlapping(src.add(n - 16), dst.add(n - 16), 16);
        } else if n >= 8 {
            std::ptr::copy_nonoverlapping(src, dst, 8);
            std::ptr::copy_nonoverlapping(src.add(n - 8), dst.add(n - 8), 8);
        } else {
            std::ptr::copy_nonoverlapping(src, dst, 4);
            std::ptr::copy_nonoverlapping(src.add(n - 4), dst.add(n - 4), 4);
        }
        values.set_len(len + n);
    }
}

/// A nullable primitive column (integers, floats, timestamps with their time zone).
#[derive(Debug)]
pub(crate) struct ValueColumn<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    nulls: NullBufferBuilder,
    data_type: DataType,
}

impl<T: ArrowPrimitiveType> ValueColumn<T> {
    pub(crate) fn with_capacity(rows: usize, data_type: DataType) -> Self {
        ValueColumn {
            values: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
            data_type,
        }
    }

    #[inline(always)]
    pub(crate) fn append_value(&mut self, value: T::Native) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    #[inline(always)]
    pub(crate) fn append_option(&mut self, value: Option<T::Native>) {
        match value {
            Some(value) => self.append_value(value),
            None => {
                self.values.push(T::Native::default());
                self.nulls.append_null();
            }
        }
    }

    /// Takes the rows appended so far as an array; the column keeps the room it had.
    pub(crate) fn take(&mut self) -> ArrayRef {
        let rows = self.values.capacity();
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(rows));
        let nulls = self.nulls.finish();
        self.nulls = NullBufferBuilder::new(rows);
        Arc::new(
            PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
                .with_data_type(self.data_type.clone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn takes_values_and_nulls_and_stays_usable() {
        let mut column = TextColumn::with_capacity(2, 4);
        for round in 0..2 {
            column.append_value("é|Z");
            column.append_option(None);
            column.append_option(Some(""));
            let array = column.take();
            let array = array.as_any().downcast_ref::<StringArray>().unwrap();
            assert_eq!(array.len(), 3, "round {round}");
            assert_eq!(array.value(0), "é|Z");
            assert!(array.is_null(1));
            assert!(array.is_valid(2) && array.value(2).is_empty());
        }
    }

    #[test]
    fn short_copies_append_exactly_the_bytes() {
        let text: String = ('a'..='z').chain('A'..='Z').cycle().take(80).collect();
        let mut values = Vec::new();
        let mut expected = Vec::new();
        for n in 0..=text.len() {
            push_bytes(&mut values, &text.as_bytes()[..n]);
            expected.extend_from_slice(&text.as_bytes()[..n]);
            assert_eq!(values, expected, "{n}");
        }
    }

    #[test]
    fn primitive_column_keeps_its_type_and_nulls() {
        use arrow_array::types::TimestampMicrosecondType;
        let data_type = dss_lake_schema::timestamp_type();
        let mut column =
            ValueColumn::<TimestampMicrosecondType>::with_capacity(1, data_type.clone());
        for _ in 0..2 {
            column.append_option(Some(-5));
            column.append_option(None);
            let array = column.take();
            assert_eq!(array.data_type(), &data_type);
            assert_eq!(array.len(), 2);
            assert!(array.is_valid(0) && array.is_null(1));
        }
    }
}
