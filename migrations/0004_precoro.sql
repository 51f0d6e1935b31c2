-- Precoro: the webhook work queue, the last known version of every entity, and the request
-- budget's log, so that neither a restart nor another replica resets the day's count.

-- One row per entity a webhook said changed, waiting for its fetch. Deliveries of the same entity
-- coalesce into one row; every delivery gives the row a new `version` (from a sequence, so a row
-- queued again after its fetch never repeats an old one), and a fetch that started before a
-- newer delivery does not delete that delivery's row.
CREATE SEQUENCE precoro_queue_versions;
CREATE TABLE precoro_queue (
    source       text        NOT NULL,
    entity_type  smallint    NOT NULL CHECK (entity_type BETWEEN 0 AND 11),
    entity_id    bigint      NOT NULL,
    action       smallint    NOT NULL CHECK (action IN (0, 1)),  -- the strongest delivered: create (0) wins
    idn          text,                                           -- the latest idn delivered
    version      bigint      NOT NULL DEFAULT nextval('precoro_queue_versions'),
    deliveries   integer     NOT NULL DEFAULT 1,
    received_at  timestamptz NOT NULL DEFAULT now(),             -- first delivery: drain order
    updated_at   timestamptz NOT NULL DEFAULT now(),             -- latest delivery
    attempts     integer     NOT NULL DEFAULT 0,                 -- fetches the vendor refused
    not_before   timestamptz,                                    -- retry after a refused fetch
    last_error   text,
    PRIMARY KEY (source, entity_type, entity_id)
);
CREATE INDEX precoro_queue_order ON precoro_queue (source, received_at);

-- The newest version of each entity emitted: dedupes the webhook and sweep paths, gives `changes`
-- its previous state and a delete its identity. `version` is the updateDate (RFC 3339 UTC, us).
CREATE TABLE precoro_entities (
    source      text        NOT NULL,
    resource    text        NOT NULL,
    entity_id   bigint      NOT NULL,
    version     text        NOT NULL,
    data        jsonb,                  -- null once deleted
    deleted     boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, resource, entity_id)
);

-- Admission time of every upstream request within the longest rate-limit window.
CREATE TABLE precoro_requests (
    source  text        NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX precoro_requests_source_at ON precoro_requests (source, at);

-- A pause the vendor ordered (a 429's RateLimit-Retry-After), kept across restarts.
CREATE TABLE precoro_pause (
    source        text        PRIMARY KEY,
    paused_until  timestamptz NOT NULL,
    reason        text        NOT NULL
);
