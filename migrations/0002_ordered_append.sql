-- Appending to the outbox in one round trip, with several transactions inserting at once while
-- they still commit (become visible) in seq order, so a `seq > since` reader never skips a row.
--
-- Each appending transaction, inside changefeed_outbox_append():
--  1. takes advisory lock K (0x6368616e67656602) shared until it ends. Writers of the first
--     protocol (0001's writer held K exclusively for its whole transaction) and anything else that
--     must see no append in flight take K exclusively;
--  2. under the short session lock S (0x6368616e67656603), draws a ticket, locks the ticket's own
--     key exclusively until it ends, and reserves a contiguous seq range: tickets and seq ranges
--     are handed out in the same order, and every ticket's key is held before S is released;
--  3. inserts its events with seqs from its range: this is the slow part, and it runs in parallel
--     with other appenders;
--  4. waits for its turn: every transaction with a lower ticket has ended. It waits for the key of
--     ticket t-1; if that transaction ended without reaching its own turn (it failed or was
--     killed early), it goes on to t-2, and so on, until it reaches a ticket that did reach its turn
--     (outbox_turn_seq >= ticket), whose own wait covered everything below it. Advisory
--     transaction locks are released after the transaction is visible, so when the wait ends every
--     lower seq is either visible or never will be;
--  5. records its turn, writes the checkpoints, notifies listeners. The commit follows; the
--     caller may run more writes first (they run after the turn, so they cannot deadlock with a
--     later ticket's inserts).
-- Every nextval on outbox_seq_seq must happen under S (or under K held exclusively): an insert
-- that takes its seq from the column default elsewhere is not ordered against appenders.
CREATE SEQUENCE outbox_ticket_seq;
CREATE SEQUENCE outbox_turn_seq;

CREATE FUNCTION changefeed_outbox_append(p_events jsonb, p_recorded_at timestamptz, p_checkpoints jsonb)
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
