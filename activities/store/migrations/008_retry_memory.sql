-- The orchestrator's memory of its retries (issue #13): one row per failed attempt that was sent
-- back to the agent, keyed by the task's start and the attempt. `outcome` stays NULL until the
-- next attempt ends: fixed (it verified), failed_again, or escalated (a human was asked).
-- Prompt synthesis offers a hint that fixed the same class on overlapping paths in another task.
CREATE TABLE retry_memory (
  task_id     text        NOT NULL,
  run_key     text        NOT NULL DEFAULT '',
  repository  text        NOT NULL,
  attempt     integer     NOT NULL CHECK (attempt >= 1),
  kind        text        NOT NULL,
  -- sha256 of the normalized evidence: the same failure seen again has the same digest.
  digest      text        NOT NULL,
  paths       text[]      NOT NULL DEFAULT '{}',
  title       text        NOT NULL,
  injection   text        NOT NULL,
  outcome     text        CHECK (outcome IN ('fixed', 'failed_again', 'escalated')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  settled_at  timestamptz,
  PRIMARY KEY (task_id, run_key, attempt)
);
CREATE INDEX retry_memory_learned ON retry_memory (repository, kind) WHERE outcome = 'fixed';
CREATE INDEX retry_memory_paths ON retry_memory USING gin (paths);
