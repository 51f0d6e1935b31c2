-- The outbox: one row per change event, in feed order. Columns a relay (Debezium's outbox event
-- router) needs are plain columns; the event itself is `payload`.
CREATE TABLE outbox (
    seq          bigserial   PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    source       text        NOT NULL,
    source_kind  text        NOT NULL,
    resource     text        NOT NULL,
    resource_id  text        NOT NULL,
    operation    text        NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    payload      jsonb       NOT NULL
);
CREATE INDEX outbox_recorded_at ON outbox (recorded_at);

-- Per-source (and per-resource: `scope`) checkpoints, written in the transaction of their events.
CREATE TABLE source_checkpoints (
    source      text        NOT NULL,
    scope       text        NOT NULL DEFAULT '',
    checkpoint  jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, scope)
);

-- Feed bookkeeping: `retention_floor` is the highest seq retention has deleted.
CREATE TABLE feed_state (
    key    text   PRIMARY KEY,
    value  bigint NOT NULL
);
INSERT INTO feed_state (key, value) VALUES ('retention_floor', 0);
