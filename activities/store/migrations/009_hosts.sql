-- The hosts that serve task queues (issue #15): each host worker writes its row every heartbeat
-- interval (its capacity and what it runs), and marks it stopped when it shuts down. `swarm
-- status` lists them; a host whose heartbeat is older than three intervals is gone.
CREATE TABLE hosts (
  host_id         text        PRIMARY KEY,
  task_queue      text        NOT NULL,
  max_agents      integer     NOT NULL CHECK (max_agents >= 0),
  live_agents     integer     NOT NULL CHECK (live_agents >= 0),
  free_memory_mb  integer     NOT NULL,
  heartbeat_ms    integer     NOT NULL CHECK (heartbeat_ms > 0),
  started_at      timestamptz NOT NULL,
  last_seen       timestamptz NOT NULL,
  stopped_at      timestamptz
);
