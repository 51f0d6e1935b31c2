-- Resyncs asked for through POST /sources/{name}/resync: one row per source, its latest resync.
-- Any replica records the request; the replica holding the source picks it up (claimed_at),
-- replays and records progress in the transactions that commit the replayed events.
CREATE TABLE source_resyncs (
    source       text        PRIMARY KEY,
    state        text        NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    from_at      timestamptz,            -- NULL: the oldest the vendor still retains
    started_at   timestamptz NOT NULL DEFAULT now(),
    claimed_at   timestamptz,            -- when the holder began replaying
    finished_at  timestamptz,
    pages        bigint      NOT NULL DEFAULT 0,
    events       bigint      NOT NULL DEFAULT 0,
    first_position timestamptz,          -- oldest occurred_at replayed in the first page
    position     timestamptz,            -- newest occurred_at replayed so far (for the ETA)
    error        text
);
