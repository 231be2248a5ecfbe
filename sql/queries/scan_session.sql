-- Settings for the scan's transaction only (SET LOCAL: they end with it).
-- One backend, no parallel workers: a scheduled batch job should take one core of the
-- database server, not all of them, and certanon needs the client's cores for its own work.
SET LOCAL max_parallel_workers_per_gather = 0;
-- JIT compiles the plan's expressions before the first row; a streaming scan does not win
-- that time back.
SET LOCAL jit = off;
-- Without parallel workers, enough memory that the joins' hash tables stay in one batch at
-- a few million certificates (the planner falls back to merge joins beyond that).
SET LOCAL work_mem = '64MB';
