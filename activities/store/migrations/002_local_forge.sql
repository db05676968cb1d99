-- The local forge: a pull request is a row for a branch of a local git repository; CI verdicts
-- are kept per head SHA so a retried CI activity returns the stored verdict instead of re-running.
CREATE TABLE local_prs (
  repository  text        NOT NULL,
  number      integer     NOT NULL CHECK (number > 0),
  task_id     text        NOT NULL,
  branch      text        NOT NULL,
  base        text        NOT NULL,
  title       text        NOT NULL,
  body        text        NOT NULL,
  state       text        NOT NULL CHECK (state IN ('open', 'merged', 'closed')),
  -- The branch tip when the PR was last opened, updated or merged; live reads take it from the ref.
  head_sha    text        NOT NULL,
  -- Written just before the base ref moves, so a merge retried after a crash recognises its commit.
  merge_sha   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  merged_at   timestamptz,
  closed_at   timestamptz,
  PRIMARY KEY (repository, number)
);
-- One open PR per branch: ensurePr finds it instead of opening a second one.
CREATE UNIQUE INDEX local_prs_open_branch ON local_prs (repository, branch) WHERE state = 'open';

CREATE TABLE local_ci_verdicts (
  repository  text        NOT NULL,
  number      integer     NOT NULL,
  head_sha    text        NOT NULL,
  task_id     text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('passed', 'failed', 'no_checks')),
  checks      jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository, number, head_sha),
  FOREIGN KEY (repository, number) REFERENCES local_prs (repository, number)
);
