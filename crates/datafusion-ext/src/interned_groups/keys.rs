//! Dense ids for the values of one string key column, found by view before by bytes.

use std::mem::size_of;

use datafusion::arrow::array::{Array, StringViewArray};
use datafusion::arrow::buffer::Buffer;
use datafusion::common::{DataFusionError, HashMap, Result};

/// A view of at most this many bytes holds the whole string (Arrow's string view layout).
const MAX_INLINE_LEN: u32 = 12;

/// The distinct values of one key column seen so far, each with a dense id.
///
/// Equal views in one array always name equal strings, so a view is looked up before the bytes
/// are: an inline view is the string itself, and a view into a data buffer stays valid for as
/// long as the next batches share that buffer (a Parquet column chunk's dictionary page serves
/// all of its batches). Different views of equal strings still meet in `ids_by_value`. Batches
/// whose strings were copied one by one (after a repartition) repeat no view, so when a batch's
/// out-of-line views mostly missed, the next batch in other buffers goes straight to the bytes.
#[derive(Default)]
pub(crate) struct KeyColumn {
    ids_by_value: HashMap<Box<str>, u32>,
    null_id: Option<u32>,
    ids_by_inline_view: HashMap<u128, u32>,
    ids_by_buffer_view: HashMap<u128, u32>,
    /// The data buffers `ids_by_buffer_view` points into, held so they cannot be reused.
    buffers: Vec<Buffer>,
    skip_buffer_views: bool,
    buffer_view_lookups: usize,
    buffer_view_hits: usize,
    value_bytes: usize,
}

impl KeyColumn {
    /// The number of distinct values (null counts as one).
    pub(crate) fn len(&self) -> usize {
        self.ids_by_value.len() + usize::from(self.null_id.is_some())
    }

    /// Writes the id of each row's value to `ids` (cleared first).
    pub(crate) fn intern(&mut self, array: &StringViewArray, ids: &mut Vec<u32>) -> Result<()> {
        self.follow_buffers(array.data_buffers());
        ids.clear();
        ids.reserve(array.len());
        let nulls = array.nulls().filter(|nulls| nulls.null_count() > 0);
        // Neighbouring rows often repeat a value (one device's burst, one model's properties).
        let mut last: Option<(u128, u32)> = None;
        for (row, &view) in array.views().iter().enumerate() {
            if nulls.is_some_and(|nulls| nulls.is_null(row)) {
                ids.push(self.null_id()?);
                continue;
            }
            let id = match last {
                Some((last_view, id)) if last_view == view => id,
                _ => {
                    let id = self.id_of_view(array, row, view)?;
                    last = Some((view, id));
                    id
                }
            };
            ids.push(id);
        }
        Ok(())
    }

    /// Every value in id order (None for null), to build the key column of emitted groups.
    pub(crate) fn values_by_id(&self) -> Vec<Option<&str>> {
        let mut values = vec![None; self.len()];
        for (value, &id) in &self.ids_by_value {
            values[id as usize] = Some(value.as_ref());
        }
        values
    }

    /// Bytes held, for the query's memory reservation.
    pub(crate) fn size(&self) -> usize {
        let entry = size_of::<u128>() + size_of::<u32>() + 1;
        self.value_bytes
            + self.ids_by_value.capacity() * (size_of::<(Box<str>, u32)>() + 1)
            + (self.ids_by_inline_view.capacity() + self.ids_by_buffer_view.capacity()) * entry
    }

    fn id_of_view(&mut self, array: &StringViewArray, row: usize, view: u128) -> Result<u32> {
        let by_view = if (view as u32) <= MAX_INLINE_LEN {
            Some(&mut self.ids_by_inline_view)
        } else if self.skip_buffer_views {
            None
        } else {
            self.buffer_view_lookups += 1;
            Some(&mut self.ids_by_buffer_view)
        };
        if let Some(&id) = by_view.as_ref().and_then(|by_view| by_view.get(&view)) {
            self.buffer_view_hits += usize::from((view as u32) > MAX_INLINE_LEN);
            return Ok(id);
        }
        let value = array.value(row);
        let id = match self.ids_by_value.get(value) {
            Some(&id) => id,
            None => {
                let id = next_id(self.ids_by_value.len(), self.null_id)?;
                self.value_bytes += value.len();
                self.ids_by_value.insert(value.into(), id);
                id
            }
        };
        if let Some(by_view) = by_view {
            by_view.insert(view, id);
        }
        Ok(id)
    }

    fn null_id(&mut self) -> Result<u32> {
        if let Some(id) = self.null_id {
            return Ok(id);
        }
        let id = next_id(self.ids_by_value.len(), None)?;
        self.null_id = Some(id);
        Ok(id)
    }

    /// Forgets the views into buffers unless `buffers` are the ones they point into.
    fn follow_buffers(&mut self, buffers: &[Buffer]) {
        let same = buffers.len() == self.buffers.len()
            && buffers
                .iter()
                .zip(&self.buffers)
                .all(|(a, b)| a.as_ptr() == b.as_ptr() && a.len() == b.len());
        if same {
            self.skip_buffer_views = false;
        } else {
            // No lookups: the last batch skipped them too (or had only inline views).
            if self.buffer_view_lookups > 0 {
                self.skip_buffer_views = self.buffer_view_hits * 2 < self.buffer_view_lookups;
            }
            self.ids_by_buffer_view.clear();
            self.buffers = buffers.to_vec();
        }
        self.buffer_view_lookups = 0;
        self.buffer_view_hits = 0;
    }
}

/// The id after `values` distinct strings and, if seen, the null.
fn next_id(values: usize, null_id: Option<u32>) -> Result<u32> {
    u32::try_from(values + usize::from(null_id.is_some())).map_err(|_| {
        DataFusionError::ResourcesExhausted("more than 2^32 distinct group keys".to_owned())
    })
}
