# syntax=docker/dockerfile:1
# The swarmflow worker image: both workers (orchestration + this host's queue) on an external
# Temporal (TEMPORAL_ADDRESS) and Postgres (DATABASE_URL). See docker-compose.yml.
# The workers run compiled (dist/, built in a stage of its own with the devDependencies); the
# workflow sources stay in the image, for the worker's workflow bundler.
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The compiler needs no package's install script (the agent CLIs' native binaries are not run here).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20.19-bookworm-slim

# git and tmux: host activities (worktrees, agent sessions). tini: PID 1 that forwards SIGTERM
# to node (which drains the workers) and reaps the orphans that tmux and git leave behind.
# Debian versions are not pinned: the archive drops superseded ones, which would break the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git tini tmux \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so that a source change reuses this layer. Nothing the app imports at run
# time is a devDependency (the Temporal SDK and its workflow bundler are dependencies).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The source stays owned by root: the app cannot rewrite its own code.
COPY . .
COPY --from=build /app/dist ./dist

# The state folder (stack.json for `swarm status`): the default one, inside /app, is not writable.
RUN install -d -o node -g node /var/lib/swarmflow
ENV SWARM_STATE_DIR=/var/lib/swarmflow

# The image's `node` user, by number so that a runtime (Kubernetes runAsNonRoot) can verify it.
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/workers/start.js"]
