-- Every step of a task leaves a verifiable artifact: intent -> receipt -> verification.
-- Keyed writes: an activity retried after a crash writes the same key and changes nothing.
CREATE TABLE artifacts (
  task_id     text        NOT NULL,
  key         text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('intent', 'receipt', 'verification')),
  step        text        NOT NULL,
  payload     jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, key)
);
CREATE INDEX artifacts_task_created ON artifacts (task_id, created_at);
