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

/// Session-level lock that makes one replica the poller of a source ($1: key of the source).
inline constexpr std::string_view k_try_source_lock = "SELECT pg_try_advisory_lock($1)";
inline constexpr std::string_view k_source_unlock = "SELECT pg_advisory_unlock($1)";

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
