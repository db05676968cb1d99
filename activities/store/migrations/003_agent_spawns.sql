-- Every agent spawn the host really performed, one row per task attempt. A re-run spawnAgent that
-- finds its attempt already running or finished does not count: `spawns` stays 1 unless an
-- attempt's session really was started twice (which the durability test asserts never happens).
CREATE TABLE agent_spawns (
  task_id     text        NOT NULL,
  attempt     integer     NOT NULL CHECK (attempt >= 1),
  agent       text        NOT NULL,
  session     text        NOT NULL,
  spawns      integer     NOT NULL DEFAULT 1 CHECK (spawns >= 1),
  -- When the attempt's current session started (the latest spawn).
  started_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, attempt)
);
