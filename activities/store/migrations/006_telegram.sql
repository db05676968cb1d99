-- The Telegram notifier (activities/notify/telegram). The outbox holds one row per notification
-- event, keyed by the event (a retried notify activity inserts the same key and changes nothing);
-- a background sender drains it in order per chat, so no task ever waits on Telegram.
-- status: pending -> sending (recorded before the call goes out) -> sent | failed, or in_doubt:
-- a sendMessage whose process died after it went out and before its answer was recorded. An
-- in-doubt send is never repeated; the task's next event starts a fresh message with the whole state.
CREATE TABLE telegram_outbox (
  id           bigserial   PRIMARY KEY,
  chat_id      text        NOT NULL,
  event_key    text        NOT NULL,
  task_id      text        NOT NULL,
  event        text        NOT NULL,
  -- The notification itself: what the message says when the task's state cannot be read.
  notification jsonb       NOT NULL,
  status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'in_doubt', 'failed')),
  -- The call in flight while `sending`: a first sendMessage, or an editMessageText (repeatable).
  action       text        CHECK (action IN ('send', 'edit')),
  attempts     integer     NOT NULL DEFAULT 0,
  not_before   timestamptz NOT NULL DEFAULT now(),
  error        text,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  done_at      timestamptz,
  UNIQUE (chat_id, event_key)
);
CREATE INDEX telegram_outbox_open ON telegram_outbox (chat_id, id) WHERE status IN ('pending', 'sending');

-- The one message per task and chat that every event edits; message_id is NULL until a
-- sendMessage's answer is recorded (and again after an in-doubt send: the next event sends anew).
CREATE TABLE telegram_messages (
  chat_id     text        NOT NULL,
  task_id     text        NOT NULL,
  message_id  bigint,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chat_id, task_id)
);

-- What a button press means: callback_data carries only a token (Telegram allows 64 bytes), this
-- row the task, the PR head the message showed and the action. A press on an old message for an
-- older head therefore decides for that older head, which the workflow refuses.
CREATE TABLE telegram_buttons (
  token       text        PRIMARY KEY,
  task_id     text        NOT NULL,
  head_sha    text,
  action      text        NOT NULL CHECK (action IN ('approve', 'reject', 'retry')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
