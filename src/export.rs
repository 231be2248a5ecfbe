//! Export sink: a hidden temporary directory, CSV files, manifest, SHA256SUMS and data dictionary, fsync and rename.
