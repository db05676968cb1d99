-- A task id started again after a run that did not merge keeps each start's records apart: run_key
-- is the first run id of that start's workflow chain ('' for tasks started before run keys).
ALTER TABLE artifacts ADD COLUMN run_key text NOT NULL DEFAULT '';
ALTER TABLE artifacts DROP CONSTRAINT artifacts_pkey, ADD PRIMARY KEY (task_id, run_key, key);
ALTER TABLE agent_spawns ADD COLUMN run_key text NOT NULL DEFAULT '';
ALTER TABLE agent_spawns DROP CONSTRAINT agent_spawns_pkey, ADD PRIMARY KEY (task_id, run_key, attempt);
