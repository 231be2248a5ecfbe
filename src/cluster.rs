//! Embedded PostgreSQL: starts a throwaway cluster from the installed initdb/pg_ctl for the demo, the tests and the benchmark.
