//! Group indices from the key columns' dense ids.

use std::mem::size_of;

use datafusion::common::HashMap;

/// Bits of a group's packed key per key column: four columns fit a `u128`.
pub(super) const ID_BITS: usize = 32;

/// Most slots of the direct table (16 MiB of `u32`); more keys go to a hash map.
const MAX_TABLE_BITS: u32 = 22;

const EMPTY: u32 = u32::MAX;

/// Which group each combination of key ids belongs to, in the order groups were first seen.
///
/// Fleet keys have few distinct values (models, property names, a few thousand devices), so the
/// ids of a row usually address a slot of a direct table, every column's id in its own bit
/// field: no hashing, one load per row. The table is rebuilt wider as ids outgrow their fields,
/// and given up for a hash map when it would pass `MAX_TABLE_BITS`.
#[derive(Default)]
pub(super) struct GroupIndex {
    /// Each group's key ids, packed `ID_BITS` apart.
    packed_keys: Vec<u128>,
    table: Vec<u32>,
    /// Per key column, the shift and width of its bit field in a table slot.
    fields: Vec<(u32, u32)>,
    hashed: Option<HashMap<u128, u32>>,
    slots: Vec<usize>,
}

impl GroupIndex {
    pub(super) fn len(&self) -> usize {
        self.packed_keys.len()
    }

    pub(super) fn packed_keys(&self) -> &[u128] {
        &self.packed_keys
    }

    /// Writes the group of each row to `groups`; `row_ids[c]` holds the rows' ids in key column
    /// `c`, and `distinct[c]` how many ids that column has given out so far.
    pub(super) fn assign(
        &mut self,
        row_ids: &[Vec<u32>],
        distinct: &[usize],
        groups: &mut Vec<usize>,
    ) {
        groups.clear();
        if let [ids] = row_ids {
            // One key column: its ids are the groups, given out in the same first-seen order.
            for &id in ids {
                if id as usize == self.packed_keys.len() {
                    self.packed_keys.push(u128::from(id));
                }
                groups.push(id as usize);
            }
            return;
        }
        if self.hashed.is_none() && !self.fit_table(distinct) {
            self.hashed = Some(
                self.packed_keys
                    .iter()
                    .zip(0..)
                    .map(|(&k, g)| (k, g))
                    .collect(),
            );
            self.table = Vec::new();
        }
        let rows = row_ids.first().map_or(0, Vec::len);
        if let Some(hashed) = &mut self.hashed {
            for row in 0..rows {
                let packed = pack(row_ids, row);
                let next = self.packed_keys.len() as u32;
                let group = *hashed.entry(packed).or_insert_with(|| {
                    self.packed_keys.push(packed);
                    next
                });
                groups.push(group as usize);
            }
            return;
        }
        self.slots.clear();
        self.slots.resize(rows, 0);
        for (ids, &(shift, _)) in row_ids.iter().zip(&self.fields) {
            for (slot, &id) in self.slots.iter_mut().zip(ids) {
                *slot |= (id as usize) << shift;
            }
        }
        for (row, &slot) in self.slots.iter().enumerate() {
            let mut group = self.table[slot];
            if group == EMPTY {
                group = self.packed_keys.len() as u32;
                self.table[slot] = group;
                self.packed_keys.push(pack(row_ids, row));
            }
            groups.push(group as usize);
        }
    }

    /// Bytes held, for the query's memory reservation.
    pub(super) fn size(&self) -> usize {
        self.packed_keys.capacity() * size_of::<u128>()
            + self.table.capacity() * size_of::<u32>()
            + self.slots.capacity() * size_of::<usize>()
            + self
                .hashed
                .as_ref()
                .map_or(0, |h| h.capacity() * (size_of::<(u128, u32)>() + 1))
    }

    /// Makes every column's field wide enough for `distinct` ids; false if the table would pass
    /// `MAX_TABLE_BITS`.
    fn fit_table(&mut self, distinct: &[usize]) -> bool {
        let fits = self.fields.len() == distinct.len()
            && distinct
                .iter()
                .zip(&self.fields)
                .all(|(&n, &(_, bits))| n <= 1 << bits);
        if fits {
            return true;
        }
        let widths: Vec<u32> = distinct
            .iter()
            .map(|&n| n.max(2).next_power_of_two().trailing_zeros())
            .collect();
        if widths.iter().sum::<u32>() > MAX_TABLE_BITS {
            return false;
        }
        // The column with the most values takes the lowest bits: the few combinations of the
        // others then each cover one dense run of slots, which keeps the touched part small.
        let mut order: Vec<usize> = (0..distinct.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(distinct[c]));
        self.fields = vec![(0, 0); distinct.len()];
        let mut shift = 0;
        for c in order {
            self.fields[c] = (shift, widths[c]);
            shift += widths[c];
        }
        self.table = vec![EMPTY; 1 << shift];
        for (group, &packed) in self.packed_keys.iter().enumerate() {
            let slot = self
                .fields
                .iter()
                .enumerate()
                .fold(0, |slot, (c, &(shift, _))| {
                    slot | (unpack(packed, c) as usize) << shift
                });
            self.table[slot] = group as u32;
        }
        true
    }
}

/// Row `row`'s ids, packed `ID_BITS` apart.
fn pack(row_ids: &[Vec<u32>], row: usize) -> u128 {
    row_ids.iter().enumerate().fold(0, |packed, (c, ids)| {
        packed | u128::from(ids[row]) << (c * ID_BITS)
    })
}

/// Key column `column`'s id in a packed key.
pub(super) fn unpack(packed: u128, column: usize) -> u32 {
    (packed >> (column * ID_BITS)) as u32
}
