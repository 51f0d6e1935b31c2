-- The last state changefeed stored for a resource whose vendor gives only the new state (Pennylane
-- with `hydrate`), so an event's `changes` can be computed against it. Written in the transaction
-- of the events; a deleted resource has no row (its next sight is a first sight).
CREATE TABLE resource_states (
    source       text        NOT NULL,
    resource     text        NOT NULL,
    resource_id  text        NOT NULL,
    data         jsonb       NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, resource, resource_id)
);
