// Precoro's tables (migrations/0004_precoro.sql): the webhook work queue, the last version emitted
// per entity, and the request budget's log. Blocking: call through pg_pool, or inside the
// outbox writer's transaction (the `tx` functions).
#pragma once

#include "core/time.hpp"
#include "sources/precoro/precoro_mapping.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
class dbtransaction;
}  // namespace pqxx

namespace changefeed::sources::precoro {

/// A row of the work queue.
struct queued_entity {
    int type = 0;
    std::int64_t id = 0;
    int action = 1;
    std::optional<std::string> idn;
    std::int64_t version = 0;  ///< new with every delivery (never reused)
    int attempts = 0;          ///< fetches the vendor refused so far
};

/// Queues (or coalesces) deliveries in one statement; for each, in order, true when no row of
/// its entity was waiting (of several deliveries of one entity, only the first can be).
std::vector<bool> enqueue(pqxx::dbtransaction& tx, const std::string& source,
                          const std::vector<delivery>& deliveries);

struct queue_snapshot {
    std::vector<queued_entity> due;  ///< oldest delivery first
    std::int64_t depth = 0;          ///< every row of the source, due or not
};
queue_snapshot read_queue(pqxx::connection_base& conn, const std::string& source, std::size_t limit);

/// The entity was fetched: its row goes, unless a delivery arrived since it was read.
void queue_done(pqxx::dbtransaction& tx, const std::string& source, const queued_entity& q);
/// The vendor refused the fetch: the row waits `delay` before the next try.
void queue_later(pqxx::dbtransaction& tx, const std::string& source, const queued_entity& q,
                 std::chrono::seconds delay, const std::string& error);

/// What was emitted of `ids` of `resource`, by id.
std::map<std::int64_t, known_entity> load_entities(pqxx::connection_base& conn, const std::string& source,
                                                   const std::string& resource,
                                                   const std::vector<std::int64_t>& ids);
void store_entity(pqxx::dbtransaction& tx, const std::string& source, const std::string& resource,
                  std::int64_t id, const known_entity& state);

/// The persisted budget of a source.
struct budget_record {
    std::vector<time::time_point> requests;  ///< oldest first
    std::optional<time::time_point> paused_until;
    std::string pause_reason;
};
/// Requests admitted after `since`, and a vendor pause still running at `now`.
budget_record load_budget(pqxx::connection_base& conn, const std::string& source,
                          time::time_point since, time::time_point now);
/// Records admitted requests (and a pause), and forgets requests at or before `prune_until`.
void save_budget(pqxx::connection_base& conn, const std::string& source,
                 const std::vector<time::time_point>& requests, time::time_point prune_until,
                 const std::optional<std::pair<time::time_point, std::string>>& pause);

}  // namespace changefeed::sources::precoro
