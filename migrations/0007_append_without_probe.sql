-- changefeed_outbox_append() of 0002, with one change: the events are first inserted without
-- ON CONFLICT. An ON CONFLICT insert probes the event_id index before inserting (a second descent
-- of a random-UUID index), takes a speculative-insertion lock and writes a confirm record per row;
-- a plain insert checks uniqueness in its one descent. Only a batch that holds a stored event_id
-- pays twice: the plain insert is rolled back to the block's start (up to that event's row, which
-- vacuum removes) and the batch is inserted again with ON CONFLICT DO NOTHING, keeping the seqs it
-- reserved. The exception block is a subtransaction, so an append uses two transaction ids instead
-- of one (anti-wraparound vacuums come twice as often at the same commit rate). The protocol
-- (locks, tickets, turns) is unchanged.
CREATE OR REPLACE FUNCTION changefeed_outbox_append(p_events jsonb, p_recorded_at timestamptz, p_checkpoints jsonb)
    RETURNS TABLE (first_seq bigint, inserted bigint[], insert_us bigint, function_us bigint)
    LANGUAGE plpgsql AS $fn$
DECLARE
    k_outbox  constant bigint  := 7163082334141769218;  -- K
    k_reserve constant bigint  := 7163082334141769219;  -- S
    k_ticket  constant integer := 1667658859;           -- class of the per-ticket keys
    n         constant integer := jsonb_array_length(p_events);
    started   constant timestamptz := clock_timestamp();
    ticket    bigint;
    w         bigint;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(k_outbox);

    PERFORM pg_advisory_lock(k_reserve);
    ticket := nextval('outbox_ticket_seq');
    PERFORM pg_advisory_xact_lock(k_ticket, (ticket % 2147483648)::integer);
    IF n > 0 THEN
        first_seq := nextval('outbox_seq_seq');
        IF n > 1 THEN
            PERFORM setval('outbox_seq_seq', first_seq + n - 1);
        END IF;
    END IF;
    PERFORM pg_advisory_unlock(k_reserve);

    IF n > 0 THEN
        BEGIN
            WITH stored AS (
                INSERT INTO outbox (seq, event_id, source, source_kind, resource, resource_id, operation,
                                    occurred_at, recorded_at, payload)
                SELECT first_seq + e.ord - 1, (e.v->>'event_id')::uuid, e.v->>'source',
                       e.v->>'source_kind', e.v->>'resource', e.v->>'resource_id', e.v->>'operation',
                       (e.v->>'occurred_at')::timestamptz, p_recorded_at, e.v
                  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(v, ord)
                RETURNING outbox.seq)
            SELECT array_agg(stored.seq ORDER BY stored.seq) INTO inserted FROM stored;
        EXCEPTION WHEN unique_violation THEN
            WITH stored AS (
                INSERT INTO outbox (seq, event_id, source, source_kind, resource, resource_id, operation,
                                    occurred_at, recorded_at, payload)
                SELECT first_seq + e.ord - 1, (e.v->>'event_id')::uuid, e.v->>'source',
                       e.v->>'source_kind', e.v->>'resource', e.v->>'resource_id', e.v->>'operation',
                       (e.v->>'occurred_at')::timestamptz, p_recorded_at, e.v
                  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(v, ord)
                ON CONFLICT (event_id) DO NOTHING
                RETURNING outbox.seq)
            SELECT array_agg(stored.seq ORDER BY stored.seq) INTO inserted FROM stored;
        END;
    END IF;
    insert_us := (extract(epoch FROM clock_timestamp() - started) * 1000000)::bigint;

    w := ticket - 1;
    WHILE w > 0 LOOP
        PERFORM pg_advisory_xact_lock_shared(k_ticket, (w % 2147483648)::integer);
        EXIT WHEN coalesce(pg_sequence_last_value('outbox_turn_seq'), 0) >= w;
        w := w - 1;
    END LOOP;
    PERFORM setval('outbox_turn_seq', ticket);

    IF jsonb_array_length(p_checkpoints) > 0 THEN
        INSERT INTO source_checkpoints (source, scope, checkpoint, updated_at)
        SELECT c->>'source', c->>'scope', c->'checkpoint', now()
          FROM jsonb_array_elements(p_checkpoints) AS c
        ON CONFLICT (source, scope)
            DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = EXCLUDED.updated_at;
    END IF;
    IF inserted IS NOT NULL THEN
        PERFORM pg_notify('changefeed_outbox', inserted[array_upper(inserted, 1)]::text);
    END IF;
    function_us := (extract(epoch FROM clock_timestamp() - started) * 1000000)::bigint;
    RETURN NEXT;
END
$fn$;
