//! Privacy gate: k-anonymity level search for microdata, primary and secondary cell suppression for tables.
