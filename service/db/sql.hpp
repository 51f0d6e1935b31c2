// Every SQL statement of the service, one constant each; values only ever travel as $n parameters.
#pragma once

#include <string_view>

namespace changefeed::db::sql {

/// Every outbox-appending transaction holds this advisory lock (shared, since migration 0002)
/// until it ends; taking it exclusively waits for every append in flight and holds off new ones.
inline constexpr long long k_outbox_lock_key = 0x6368616e67656602;

/// One round trip per group commit (migration 0002): reserves a seq range, inserts the events of
/// $1 (a JSON array of stored payloads, each with every outbox column's value) with
/// ON CONFLICT (event_id) DO NOTHING, waits until every earlier appender has ended, upserts the
/// checkpoints of $3 (a JSON array of {source, scope, checkpoint}, no (source, scope) twice) and
/// notifies `changefeed_outbox` with the highest stored seq. $2 is recorded_at.
/// Returns one row: the first reserved seq (event i of $1 got first_seq + i when it was stored),
/// the stored seqs in ascending order (NULL when none), and the time spent inserting and in the
/// whole call, in microseconds.
inline constexpr std::string_view k_append = R"~(
SELECT first_seq, inserted, insert_us, function_us
  FROM changefeed_outbox_append($1::jsonb, $2::timestamptz, $3::jsonb)
)~";

/// After a failed append: the reservation lock is a session lock, so make sure it is not kept.
inline constexpr std::string_view k_release_session_locks = "SELECT pg_advisory_unlock_all()";

inline constexpr std::string_view k_select_checkpoints =
    "SELECT scope, checkpoint::text FROM source_checkpoints WHERE source = $1";

/// Session-level lock that makes one replica the poller of a source ($1: key of the source).
inline constexpr std::string_view k_try_source_lock = "SELECT pg_try_advisory_lock($1)";
inline constexpr std::string_view k_source_unlock = "SELECT pg_advisory_unlock($1)";

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
