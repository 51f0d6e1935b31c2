// Resyncs of sources (POST /sources/{name}/resync): requested by any replica, replayed by the
// one holding the source. Blocking: call through pg_pool.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
class dbtransaction;
} // namespace pqxx

namespace changefeed::db {

struct resync_record {
    std::string source;
    std::string state;               ///< running, done, failed
    std::optional<std::string> from; ///< RFC 3339; nullopt: the oldest the vendor retains
    std::string started_at;
    bool claimed = false; ///< the holder has begun replaying
    std::optional<std::string> finished_at;
    std::int64_t pages = 0;
    std::int64_t events = 0;
    std::optional<std::string> error;
    std::optional<std::string> position;  ///< newest occurred_at replayed so far
    std::optional<std::string> eta;       ///< when the replay should reach the present (running)

    /// The `resync` object of GET /sources.
    [[nodiscard]] boost::json::object to_json() const;
};

/// Starts a resync of `source` from `from` (RFC 3339, or nullopt); nullopt when one is running.
/// The same transaction notifies channel changefeed_resync with the source's name, so the
/// replica holding it begins at once rather than at its next poll.
std::optional<resync_record> request_resync(pqxx::connection_base& conn,
                                            const std::string& source,
                                            const std::optional<std::string>& from);

std::optional<resync_record> read_resync(pqxx::connection_base& conn, const std::string& source);
std::vector<resync_record> read_resyncs(pqxx::connection_base& conn);

/// The holder begins a requested resync: deletes the source's checkpoints and marks the resync
/// claimed, in one transaction. False when there was nothing unclaimed to begin.
bool claim_resync(pqxx::connection_base& conn, const std::string& source);

/// Records replayed pages and events inside the transaction that commits them; `done` ends it.
/// `oldest` and `newest`: the occurred_at range of the replayed events (nullopt without events).
void record_resync_progress(pqxx::dbtransaction& tx, const std::string& source, std::int64_t pages,
                            std::int64_t events, bool done, const std::optional<std::string>& oldest,
                            const std::optional<std::string>& newest);

void fail_resync(pqxx::connection_base& conn, const std::string& source, const std::string& why);

} // namespace changefeed::db
