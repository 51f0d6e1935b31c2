// Every SQL statement of the service, one constant each; values only ever travel as $n parameters.
#pragma once

#include <string_view>

namespace changefeed::db::sql {

/// Held by every outbox-writing transaction until it commits: seq order == commit order.
inline constexpr long long k_outbox_lock_key = 0x6368616e67656602;
inline constexpr std::string_view k_lock_outbox = "SELECT pg_advisory_xact_lock($1)";

/// $1: JSON array of rows {event_id, source, source_kind, resource, resource_id, operation,
/// occurred_at, recorded_at, payload}, inserted in array order.
inline constexpr std::string_view k_insert_events = R"~(
INSERT INTO outbox (event_id, source, source_kind, resource, resource_id, operation,
                    occurred_at, recorded_at, payload)
SELECT (e->>'event_id')::uuid, e->>'source', e->>'source_kind', e->>'resource', e->>'resource_id',
       e->>'operation', (e->>'occurred_at')::timestamptz, (e->>'recorded_at')::timestamptz,
       e->'payload'
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, ord)
 ORDER BY ord
ON CONFLICT (event_id) DO NOTHING
RETURNING seq, event_id::text
)~";

inline constexpr std::string_view k_upsert_checkpoint = R"~(
INSERT INTO source_checkpoints (source, scope, checkpoint, updated_at)
VALUES ($1, $2, $3::jsonb, now())
ON CONFLICT (source, scope) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = now()
)~";

inline constexpr std::string_view k_select_checkpoints =
    "SELECT scope, checkpoint::text FROM source_checkpoints WHERE source = $1";

inline constexpr std::string_view k_notify_outbox = "SELECT pg_notify('changefeed_outbox', $1)";
inline constexpr std::string_view k_listen_outbox = "LISTEN changefeed_outbox";

inline constexpr std::string_view k_retention_floor =
    "SELECT value FROM feed_state WHERE key = 'retention_floor'";
inline constexpr std::string_view k_oldest_seq = "SELECT min(seq) FROM outbox";
inline constexpr std::string_view k_head_seq = "SELECT coalesce(max(seq), 0) FROM outbox";

/// $1 since, $2 sources, $3 resources, $4 operations (comma-joined, '' = any), $5 limit.
inline constexpr std::string_view k_read_feed = R"~(
SELECT seq, payload::text
  FROM outbox
 WHERE seq > $1
   AND ($2 = '' OR source = ANY (string_to_array($2, ',')))
   AND ($3 = '' OR resource = ANY (string_to_array($3, ',')))
   AND ($4 = '' OR operation = ANY (string_to_array($4, ',')))
 ORDER BY seq
 LIMIT $5
)~";

/// Highest seq recorded before now() - $1 seconds.
inline constexpr std::string_view k_retention_cutoff = R"~(
SELECT coalesce(max(seq), 0) FROM outbox WHERE recorded_at < now() - make_interval(secs => $1)
)~";

/// Deletes up to $2 of the oldest rows with seq <= $1; returns the highest seq deleted and the count.
inline constexpr std::string_view k_delete_expired = R"~(
WITH gone AS (
    DELETE FROM outbox
     WHERE seq IN (SELECT seq FROM outbox WHERE seq <= $1 ORDER BY seq LIMIT $2)
 RETURNING seq
)
SELECT coalesce(max(seq), 0), count(*) FROM gone
)~";

inline constexpr std::string_view k_raise_retention_floor = R"~(
UPDATE feed_state SET value = greatest(value, $1) WHERE key = 'retention_floor'
)~";

}  // namespace changefeed::db::sql

namespace changefeed::db::sql {

/// Rows after $1 for the feed cache, unfiltered, at most $2; recorded_at in epoch milliseconds.
inline constexpr std::string_view k_read_tail = R"~(
SELECT seq, (extract(epoch FROM recorded_at) * 1000)::bigint, source, resource, operation,
       payload::text
  FROM outbox
 WHERE seq > $1
 ORDER BY seq
 LIMIT $2
)~";

/// Tells every replica's feed cache that the retention floor moved (the payload is no head).
inline constexpr std::string_view k_notify_retention = "SELECT pg_notify('changefeed_outbox', '0')";

/// A consumer's offset: name, seq, updated_at (RFC 3339 UTC, milliseconds).
inline constexpr std::string_view k_select_consumer = R"~(
SELECT name, seq, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  FROM consumer_offsets
 WHERE name = $1
)~";

/// Highest seq a consumer may store: the head, or the retention floor when everything is gone.
inline constexpr std::string_view k_offset_ceiling = R"~(
SELECT greatest(coalesce((SELECT max(seq) FROM outbox), 0),
                (SELECT value FROM feed_state WHERE key = 'retention_floor'))
)~";

/// $1 name, $2 seq, $3 force: stores the offset unless it moves backwards without force; returns
/// the stored row, or nothing when refused.
inline constexpr std::string_view k_upsert_consumer = R"~(
INSERT INTO consumer_offsets AS c (name, seq, updated_at) VALUES ($1, $2, now())
ON CONFLICT (name) DO UPDATE SET seq = EXCLUDED.seq, updated_at = now()
 WHERE $3 OR c.seq <= EXCLUDED.seq
RETURNING name, seq, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
)~";

/// Every consumer with its offset and whether retention has deleted events after it.
inline constexpr std::string_view k_list_consumers = R"~(
SELECT c.name, c.seq, to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       c.seq < f.value
  FROM consumer_offsets c, feed_state f
 WHERE f.key = 'retention_floor'
 ORDER BY c.name
)~";

}  // namespace changefeed::db::sql
