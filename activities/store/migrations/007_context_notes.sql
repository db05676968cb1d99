-- The business context vault (workflows/context/notes.ts): notes the orchestrator selects from
-- for a task's prompt. `search` is the full-text vector selection ranks by (title weighs most,
-- then tags, then the body); `source` is where an import read the note, so importing the same
-- file again updates its note instead of adding another.
-- array_to_string is only STABLE (it calls element output functions); on text[] it cannot vary,
-- and a generated column needs an IMMUTABLE expression.
CREATE FUNCTION context_words(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;

CREATE TABLE context_notes (
  id            text        PRIMARY KEY,
  kind          text        NOT NULL CHECK (kind IN ('customer', 'meeting', 'incident', 'decision', 'failure')),
  repository    text,
  customer      text,
  paths         text[]      NOT NULL DEFAULT '{}',
  tags          text[]      NOT NULL DEFAULT '{}',
  links         text[]      NOT NULL DEFAULT '{}',
  author        text,
  sensitivity   text        NOT NULL CHECK (sensitivity IN ('internal', 'confidential', 'restricted')),
  title         text        NOT NULL,
  body          text        NOT NULL,
  -- The distilled, PII-free rule that may reach an agent in place of a note above the execution tier.
  constraint_text text,
  source        text        UNIQUE,
  content_sha   text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  search        tsvector    GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A')
    || setweight(to_tsvector('english', context_words(tags)), 'B')
    || setweight(to_tsvector('english', body), 'C')
  ) STORED
);
CREATE INDEX context_notes_search ON context_notes USING GIN (search);
CREATE INDEX context_notes_repository ON context_notes (repository);
