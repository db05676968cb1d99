-- Runs once, on the first start of the postgresql service (an empty data volume), as the
-- superuser, through psql: /docker-entrypoint-initdb.d/ in the official postgres image.
-- Temporal's auto-setup creates its own databases (temporal, temporal_visibility); this creates
-- the application's: a role that is not a superuser, and a database it owns. The app's
-- migrations run as that role on every start.
--
-- The password comes from the container's env (\getenv needs psql 15+), never from this file.
-- A data volume initialised earlier is not re-initialised: there, run these statements by hand.
\set ON_ERROR_STOP on
\getenv swarmflow_password SWARMFLOW_DB_PASSWORD
\if :{?swarmflow_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'SWARMFLOW_DB_PASSWORD is not set on the postgresql service'; END $$;
\endif

CREATE ROLE swarmflow LOGIN PASSWORD :'swarmflow_password';
CREATE DATABASE swarmflow OWNER swarmflow;
REVOKE ALL ON DATABASE swarmflow FROM PUBLIC;
