//! The geometry of an aggregate table with all its margins: cells addressed by one coordinate
//! per dimension, where the coordinate one past the last label is that dimension's TOTAL.

use std::collections::BTreeSet;

/// A table's shape. Index order is lexicographic with the first dimension most significant and
/// TOTAL after every label, which is also the order cells are published in.
#[derive(Clone, Debug)]
pub(super) struct Grid {
    pub dims: Vec<String>,
    pub labels: Vec<Vec<String>>,
    strides: Vec<usize>,
    len: usize,
}

/// The most cells a table may span, margins included: a few tens of bytes each while the gate
/// or the audit works on it.
pub(crate) const MAX_CELLS: usize = 1 << 22;

/// The `(dimension, label)` pairs of the dimensions a cell does not sum over.
pub(super) type Identity = Vec<(String, String)>;

/// A cell as shared across the tables of one population.
pub(super) type CellId<'a> = (&'a str, Identity);

/// One additive relation: the members along one dimension sum to the total.
pub(super) struct Line {
    pub total: usize,
    pub members: Vec<usize>,
}

impl Grid {
    /// `labels[d]` must be sorted and free of TOTAL. A few labels in each of many dimensions
    /// make a grid of (labels + 1)^dimensions cells: more than [`MAX_CELLS`] is refused, never
    /// allocated.
    pub fn new(dims: Vec<String>, labels: Vec<Vec<String>>) -> Result<Self, String> {
        let mut strides = vec![1usize; dims.len()];
        let mut len = 1usize;
        for d in (0..dims.len()).rev() {
            strides[d] = len;
            len = len
                .checked_mul(labels[d].len() + 1)
                .filter(|&n| n <= MAX_CELLS)
                .ok_or_else(|| {
                    format!(
                        "its {} dimensions with their totals span more than {MAX_CELLS} cells",
                        dims.len()
                    )
                })?;
        }
        Ok(Grid {
            dims,
            labels,
            strides,
            len,
        })
    }

    /// Labels per dimension, sorted, from cell keys (TOTAL excluded).
    pub fn labels_of<'a>(
        dims: usize,
        keys: impl Iterator<Item = &'a [String]>,
    ) -> Vec<Vec<String>> {
        let mut sets = vec![BTreeSet::new(); dims];
        for key in keys {
            for (set, label) in sets.iter_mut().zip(key) {
                if label != super::TOTAL {
                    set.insert(label.clone());
                }
            }
        }
        sets.into_iter().map(|s| s.into_iter().collect()).collect()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn total_coord(&self, d: usize) -> usize {
        self.labels[d].len()
    }

    pub fn coord(&self, index: usize, d: usize) -> usize {
        index / self.strides[d] % (self.labels[d].len() + 1)
    }

    /// `index` with dimension `d` moved to coordinate `to`.
    pub fn with(&self, index: usize, d: usize, to: usize) -> usize {
        index - self.coord(index, d) * self.strides[d] + to * self.strides[d]
    }

    /// The index of a key, or None if a label is unknown or the length is wrong.
    pub fn index_of(&self, key: &[String]) -> Option<usize> {
        if key.len() != self.dims.len() {
            return None;
        }
        let mut index = 0;
        for (d, label) in key.iter().enumerate() {
            let c = if label == super::TOTAL {
                self.total_coord(d)
            } else {
                self.labels[d].binary_search(label).ok()?
            };
            index += c * self.strides[d];
        }
        Some(index)
    }

    pub fn key(&self, index: usize) -> Vec<String> {
        (0..self.dims.len())
            .map(|d| {
                self.labels[d]
                    .get(self.coord(index, d))
                    .cloned()
                    .unwrap_or_else(|| super::TOTAL.to_string())
            })
            .collect()
    }

    /// `(dimension, label)` of the dimensions not summed over: what identifies the cell across
    /// tables of one population.
    pub fn identity(&self, index: usize) -> Identity {
        let mut id: Identity = (0..self.dims.len())
            .filter_map(|d| {
                let label = self.labels[d].get(self.coord(index, d))?;
                Some((self.dims[d].clone(), label.clone()))
            })
            .collect();
        id.sort();
        id
    }

    /// Every additive relation of the table, each line once.
    pub fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        for d in 0..self.dims.len() {
            let t = self.total_coord(d);
            for index in 0..self.len {
                if self.coord(index, d) == t {
                    lines.push(Line {
                        total: index,
                        members: (0..t).map(|c| self.with(index, d, c)).collect(),
                    });
                }
            }
        }
        lines
    }

    /// The cells that sum over a superset of `index`'s summed dimensions: its enclosing totals,
    /// itself excluded.
    pub fn enclosing(&self, index: usize) -> Vec<usize> {
        let open: Vec<usize> = (0..self.dims.len())
            .filter(|&d| self.coord(index, d) < self.total_coord(d))
            .collect();
        (1..1usize << open.len())
            .map(|mask| {
                open.iter()
                    .enumerate()
                    .filter(|(bit, _)| mask >> bit & 1 == 1)
                    .fold(index, |i, (_, &d)| self.with(i, d, self.total_coord(d)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::new(
            vec!["a".into(), "b".into()],
            vec![
                vec!["x".into(), "y".into()],
                vec!["p".into(), "q".into(), "r".into()],
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_grid_beyond_the_cap_is_refused_without_allocating() {
        let labels: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let dims: Vec<String> = (0..64).map(|d| format!("d{d}")).collect();
        let err = Grid::new(dims.clone(), vec![labels.clone(); 64]).unwrap_err();
        assert!(err.contains("64 dimensions"), "{err}");
        // 31^5 fits in usize but not under the cap.
        assert!(Grid::new(dims[..5].to_vec(), vec![labels; 5]).is_err());
    }

    #[test]
    fn keys_round_trip_and_totals_sort_last() {
        let g = grid();
        assert_eq!(g.len(), 12);
        let keys: Vec<Vec<String>> = (0..g.len()).map(|i| g.key(i)).collect();
        assert_eq!(keys[0], vec!["x", "p"]);
        assert_eq!(keys[3], vec!["x", "TOTAL"]);
        assert_eq!(keys[11], vec!["TOTAL", "TOTAL"]);
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(g.index_of(key), Some(i));
        }
        assert_eq!(g.index_of(&["z".to_string(), "p".to_string()]), None);
    }

    #[test]
    fn lines_cover_every_margin() {
        let g = grid();
        let lines = g.lines();
        // Along a: 4 lines (one per b coordinate), along b: 3 lines (one per a coordinate).
        assert_eq!(lines.len(), 7);
        assert!(
            lines
                .iter()
                .all(|l| (0..2).any(|d| g.coord(l.total, d) == g.total_coord(d)))
        );
        assert_eq!(g.enclosing(0).len(), 3);
        assert_eq!(g.enclosing(11).len(), 0);
        assert_eq!(g.identity(3), vec![("a".to_string(), "x".to_string())]);
    }
}
