// Reading the outbox as a feed, and retention. Blocking: call through pg_pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace changefeed::db {

struct feed_filter {
    std::vector<std::string> sources;
    std::vector<std::string> resources;
    std::vector<std::string> operations;
};

struct feed_query {
    std::int64_t since = 0;
    std::uint32_t limit = 100;
    feed_filter filter;
};

struct feed_page {
    std::vector<std::string> events;  ///< serialized events, seq first, in seq order
    std::int64_t next_since = 0;
    bool has_more = false;
};

/// Retention deleted events after the requested `since`.
struct since_expired {
    std::int64_t oldest_available = 0;  ///< seq of the oldest event still stored
};

/// Reads one page in a single repeatable-read snapshot (the retention check and the rows agree).
std::variant<feed_page, since_expired> read_feed(pqxx::connection_base& conn, const feed_query& q);

/// Highest seq stored (0 when empty).
std::int64_t read_head_seq(pqxx::connection_base& conn);

/// Deletes events recorded more than `retention` ago, in batches; returns how many were deleted.
std::size_t delete_expired(pqxx::connection_base& conn, std::chrono::seconds retention,
                           std::size_t batch_size = 10000);

}  // namespace changefeed::db
