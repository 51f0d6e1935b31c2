// Every SQL statement of the service, one constant each; values only ever travel as $n parameters.
#pragma once

#include <string_view>

namespace changefeed::db::sql {

/// Every outbox-appending transaction holds this advisory lock (shared, since migration 0002)
/// until it ends; taking it exclusively waits for every append in flight and holds off new ones.
inline constexpr long long k_outbox_lock_key = 0x6368616e67656602;

/// One round trip per group commit (migrations 0002 and 0007): reserves a seq range, inserts the
/// events of $1 (a JSON array of stored payloads, each with every outbox column's value), those
/// whose event_id is stored already skipped, waits until every earlier appender has ended, upserts the
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
/// The highest seq ever stored: the newest row's, or the retention floor once retention deleted
/// every row (the feed's head never moves back).
inline constexpr std::string_view k_head_seq = R"~(
SELECT greatest(coalesce((SELECT max(seq) FROM outbox), 0),
                (SELECT value FROM feed_state WHERE key = 'retention_floor'))
)~";

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

/// The columns of a source_resyncs row as resync_repository reads them (times as RFC 3339 text).
#define CHANGEFEED_RESYNC_COLUMNS                                                              \
    "source, state, to_char(from_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "  \
    "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "          \
    "claimed_at IS NOT NULL, "                                                                  \
    "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "         \
    "pages, events, error, "                                                                   \
    "to_char(position AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "            \
    "to_char(CASE WHEN state = 'running' AND claimed_at IS NOT NULL "                          \
    "AND position > first_position AND now() > position "                                      \
    "THEN now() + (now() - claimed_at) * (extract(epoch FROM now() - position)::float8 / "     \
    "extract(epoch FROM position - first_position)::float8) END "                              \
    "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/// $1 source, $2 from (NULL: all the vendor retains): starts a resync unless one is running;
/// returns the new row, or nothing when one is running.
inline constexpr std::string_view k_request_resync =
    "INSERT INTO source_resyncs AS r (source, state, from_at) VALUES ($1, 'running', $2) "
    "ON CONFLICT (source) DO UPDATE SET state = 'running', from_at = EXCLUDED.from_at, "
    "started_at = now(), claimed_at = NULL, finished_at = NULL, pages = 0, events = 0, "
    "error = NULL, first_position = NULL, position = NULL WHERE r.state <> 'running' RETURNING " CHANGEFEED_RESYNC_COLUMNS;

/// $1 source: wakes the replica holding it (its feed listener), in the request's transaction.
inline constexpr std::string_view k_notify_resync = "SELECT pg_notify('changefeed_resync', $1)";
inline constexpr std::string_view k_resync_channel = "changefeed_resync";

inline constexpr std::string_view k_select_resync =
    "SELECT " CHANGEFEED_RESYNC_COLUMNS " FROM source_resyncs WHERE source = $1";
inline constexpr std::string_view k_select_resyncs =
    "SELECT " CHANGEFEED_RESYNC_COLUMNS " FROM source_resyncs ORDER BY source";

/// The holder begins replaying: the source's checkpoints go in the same transaction.
inline constexpr std::string_view k_claim_resync =
    "UPDATE source_resyncs SET claimed_at = now() "
    "WHERE source = $1 AND state = 'running' AND claimed_at IS NULL";
inline constexpr std::string_view k_delete_checkpoints =
    "DELETE FROM source_checkpoints WHERE source = $1";

/// $1 source, $2 pages, $3 events, $4 done, $5 and $6 the oldest and newest occurred_at replayed
/// (NULL without events): progress, in the transaction of the replayed events.
inline constexpr std::string_view k_resync_progress =
    "UPDATE source_resyncs SET pages = pages + $2, events = events + $3, "
    "first_position = coalesce(first_position, $5::timestamptz), "
    "position = greatest(position, $6::timestamptz), "
    "state = CASE WHEN $4 THEN 'done' ELSE state END, "
    "finished_at = CASE WHEN $4 THEN now() ELSE finished_at END "
    "WHERE source = $1 AND state = 'running'";

/// $1 source, $2 why.
inline constexpr std::string_view k_fail_resync =
    "UPDATE source_resyncs SET state = 'failed', finished_at = now(), error = $2 "
    "WHERE source = $1 AND state = 'running'";

#undef CHANGEFEED_RESYNC_COLUMNS

// The ids of a page drive both statements below as the outer side of a nested loop (LATERAL with
// LIMIT 1 keeps the planner from turning it round): each id probes the primary key once, whatever
// the statistics say. Joins, IN and = ANY let a table last analyzed while nearly empty (a first
// backfill) be scanned once per page, or once per id: seconds per page at 10k rows.

/// $1 source, $2 resource, $3 a JSON array of resource ids: their stored states.
inline constexpr std::string_view k_select_resource_states = R"~(
SELECT s.resource_id, s.data::text
  FROM jsonb_array_elements_text($3::jsonb) AS i(id)
 CROSS JOIN LATERAL (SELECT resource_id, data FROM resource_states
                      WHERE source = $1 AND resource = $2 AND resource_id = i.id LIMIT 1) s
)~";

/// $1 source, $2 resource, $3 a JSON array of {id, data} with each id once: stores each data,
/// deleting the row where data is null (found by the id, deleted by its ctid; only the source's
/// holder writes its rows).
inline constexpr std::string_view k_store_resource_states = R"~(
WITH input AS (SELECT e->>'id' AS id, e->'data' AS data FROM jsonb_array_elements($3::jsonb) e),
gone AS (
  DELETE FROM resource_states
   WHERE ctid = ANY (ARRAY(
         SELECT s.ctid FROM input i
          CROSS JOIN LATERAL (SELECT ctid FROM resource_states
                               WHERE source = $1 AND resource = $2 AND resource_id = i.id LIMIT 1) s
          WHERE jsonb_typeof(i.data) = 'null'))
)
INSERT INTO resource_states (source, resource, resource_id, data)
SELECT $1, $2, id, data FROM input WHERE jsonb_typeof(data) <> 'null'
ON CONFLICT (source, resource, resource_id)
DO UPDATE SET data = EXCLUDED.data, updated_at = now()
)~";

// ---- Precoro (migrations/0004_precoro.sql) ----

/// Queues webhook deliveries, each coalescing with a waiting row of the same entity: create (0)
/// beats update (1), a newer idn replaces an older, and `version` takes a new number so that a
/// fetch already in flight leaves the row for another fetch. $1 source, $2 a JSON array of
/// {"t": type, "i": id, "a": action, "n": idn or null, "c": deliveries}, at most one per entity
/// (a statement cannot update a row twice). Returns type, id and whether the row is new.
inline constexpr std::string_view k_precoro_enqueue = R"~(
INSERT INTO precoro_queue AS q (source, entity_type, entity_id, action, idn, deliveries)
SELECT $1, u.t, u.i, u.a, u.n, u.c
  FROM jsonb_to_recordset($2::jsonb) AS u(t smallint, i bigint, a smallint, n text, c integer)
 ORDER BY u.t, u.i
ON CONFLICT (source, entity_type, entity_id) DO UPDATE
   SET action = least(q.action, EXCLUDED.action),
       idn = coalesce(EXCLUDED.idn, q.idn),
       version = nextval('precoro_queue_versions'),
       deliveries = q.deliveries + EXCLUDED.deliveries,
       updated_at = now(),
       attempts = 0, not_before = NULL, last_error = NULL
RETURNING entity_type, entity_id, (xmax = 0)
)~";

/// The queued entities due for a fetch, oldest delivery first. $1 source, $2 limit.
inline constexpr std::string_view k_precoro_queue_due = R"~(
SELECT entity_type, entity_id, action, idn, version, attempts
  FROM precoro_queue
 WHERE source = $1 AND (not_before IS NULL OR not_before <= now())
 ORDER BY received_at, entity_type, entity_id
 LIMIT $2
)~";

inline constexpr std::string_view k_precoro_queue_depth =
    "SELECT count(*) FROM precoro_queue WHERE source = $1";

/// Removes a fetched entity unless a delivery arrived since it was read. $1 source, $2 type,
/// $3 id, $4 version read.
inline constexpr std::string_view k_precoro_queue_done = R"~(
DELETE FROM precoro_queue
 WHERE source = $1 AND entity_type = $2 AND entity_id = $3 AND version = $4
)~";

/// A fetch the vendor refused: try again after $5 seconds. $1..$4 as k_precoro_queue_done,
/// $6 the error.
inline constexpr std::string_view k_precoro_queue_later = R"~(
UPDATE precoro_queue
   SET attempts = attempts + 1, not_before = now() + make_interval(secs => $5), last_error = $6
 WHERE source = $1 AND entity_type = $2 AND entity_id = $3 AND version = $4
)~";

/// $1 source, $2 resource, $3 ids as a PostgreSQL array literal ("{1,2,3}"); one primary-key
/// probe per id, as k_select_resource_states.
inline constexpr std::string_view k_precoro_entities = R"~(
SELECT s.entity_id, s.version, s.data::text, s.deleted
  FROM unnest($3::bigint[]) AS i(id)
 CROSS JOIN LATERAL (SELECT entity_id, version, data, deleted FROM precoro_entities
                      WHERE source = $1 AND resource = $2 AND entity_id = i.id LIMIT 1) s
)~";

/// $1 source, $2 resource, $3 id, $4 version, $5 data (JSON text or NULL), $6 deleted.
inline constexpr std::string_view k_precoro_entity_upsert = R"~(
INSERT INTO precoro_entities (source, resource, entity_id, version, data, deleted)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (source, resource, entity_id) DO UPDATE
   SET version = EXCLUDED.version, data = EXCLUDED.data, deleted = EXCLUDED.deleted,
       updated_at = now()
)~";

/// $1 source, $2 admission times as a PostgreSQL array literal of RFC 3339 texts.
inline constexpr std::string_view k_precoro_requests_add =
    "INSERT INTO precoro_requests (source, at) SELECT $1, unnest($2::timestamptz[])";

/// $1 source, $2 the start of the longest window (RFC 3339).
inline constexpr std::string_view k_precoro_requests_prune =
    "DELETE FROM precoro_requests WHERE source = $1 AND at <= $2::timestamptz";

/// Admission times (microseconds since the epoch) after $2, oldest first. $1 source.
inline constexpr std::string_view k_precoro_requests_since = R"~(
SELECT (extract(epoch FROM at) * 1000000)::bigint
  FROM precoro_requests
 WHERE source = $1 AND at > $2::timestamptz
 ORDER BY at
)~";

/// $1 source, $2 until (RFC 3339), $3 reason. A later pause extends, an earlier one does not shorten.
inline constexpr std::string_view k_precoro_pause_set = R"~(
INSERT INTO precoro_pause AS p (source, paused_until, reason) VALUES ($1, $2::timestamptz, $3)
ON CONFLICT (source) DO UPDATE
   SET paused_until = greatest(p.paused_until, EXCLUDED.paused_until), reason = EXCLUDED.reason
)~";

/// The pause still running at $2 (RFC 3339), in microseconds since the epoch. $1 source.
inline constexpr std::string_view k_precoro_pause_get = R"~(
SELECT (extract(epoch FROM paused_until) * 1000000)::bigint, reason
  FROM precoro_pause
 WHERE source = $1 AND paused_until > $2::timestamptz
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
