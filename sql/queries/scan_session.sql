-- Settings for the scan's transaction only (SET LOCAL: they end with it).
-- One backend, no parallel workers: a scheduled batch job should take one core of the
-- database server, not all of them, and certanon needs the client's cores for its own work.
SET LOCAL max_parallel_workers_per_gather = 0;
-- JIT compiles the plan's expressions before the first row; a streaming scan does not win
-- that time back.
SET LOCAL jit = off;
-- Memory for the joins without parallel workers: the subscriber and ACME account hash tables
-- of about a million certificates fit, while the certificate-application join streams from
-- the indexes (merge join), so rows start to flow at once instead of after a hash table of
-- every application is built (measured on 1M: first row after 0.4 s, not 1.1 s; with 64MB
-- the planner builds that table). Beyond that size PostgreSQL splits hash joins into batches.
SET LOCAL work_mem = '32MB';
