-- The signed evidence chain: each artifact of a task as a DSSE envelope (an in-toto Statement),
-- numbered from 1 in the order the workflow wrote it, each naming the digest of the one before.
-- Keyed by seq, not by artifact key: a key the workflow writes again (CI at the same head after a
-- human's retry) is a new link, while `artifacts` keeps its first payload as it always did.
CREATE TABLE evidence (
  task_id     text        NOT NULL,
  run_key     text        NOT NULL,
  seq         integer     NOT NULL CHECK (seq >= 1),
  key         text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('intent', 'receipt', 'verification')),
  step        text        NOT NULL,
  -- sha256 of the envelope's PAE (what was signed), `sha256:<hex>`.
  digest      text        NOT NULL,
  previous    text,
  envelope    jsonb       NOT NULL,
  -- It reached Postgres through the host's spool (the store was down when it was written).
  spooled     boolean     NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, run_key, seq)
);
