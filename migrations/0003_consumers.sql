-- Consumer offsets: the position a downstream consumer has processed up to, committed by the
-- consumer itself (PUT /consumers/{name}/offset) and read by GET /changes?consumer=<name>.
CREATE TABLE consumer_offsets (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,40}$'),
    seq         bigint      NOT NULL CHECK (seq >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
