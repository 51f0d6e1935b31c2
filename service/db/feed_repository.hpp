// Reading the outbox as a feed, and retention. Blocking: call through pg_pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
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
    std::vector<std::int64_t> seqs;   ///< the seq of each event
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
/// Every batch notifies the outbox channel, so the replicas' feed caches learn the new floor.
std::size_t delete_expired(pqxx::connection_base& conn, std::chrono::seconds retention,
                           std::size_t batch_size = 10000);

/// One outbox row as the feed cache keeps it.
struct outbox_row {
    std::int64_t seq = 0;
    std::int64_t recorded_at_ms = 0;  ///< milliseconds since the epoch
    std::string source;
    std::string resource;
    std::string operation;
    std::string json;  ///< the serialized event, seq first (as in feed_page::events)
};

/// A read of every row after `after`, unfiltered, in one snapshot.
///
/// Because the outbox writer makes commit order equal seq order, the rows are final: no row with
/// a seq at or below `complete_to` can become visible later. So `rows` are exactly the rows that
/// will ever exist in (`after`, `complete_to`], less those retention deleted (seq <= `floor`).
struct tail_read {
    std::int64_t after = 0;
    std::int64_t complete_to = 0;  ///< >= after
    std::int64_t floor = 0;        ///< the retention floor of the snapshot
    std::vector<outbox_row> rows;  ///< in seq order
    bool full = false;             ///< `limit` rows came back: there may be more after them
    /// When `after` < `floor` (a since_expired answer): the oldest stored seq (or floor + 1);
    /// `rows` is then empty and `complete_to` = `floor`.
    std::int64_t oldest_available = 0;
};

/// Reads up to `limit` rows after `after` (-1: none, `after` and `complete_to` become the head).
tail_read read_tail(pqxx::connection_base& conn, std::int64_t after, std::uint32_t limit);

/// A consumer's stored position (SPEC section 5, consumer offsets).
struct consumer_offset {
    std::string name;
    std::int64_t seq = 0;
    std::string updated_at;  ///< RFC 3339 UTC, milliseconds
    bool expired = false;    ///< retention deleted events after seq (filled by list_consumers only)
};

/// The stored offset of `name`, if any.
std::optional<consumer_offset> read_consumer(pqxx::connection_base& conn, const std::string& name);

/// Outcome of store_consumer_offset.
struct offset_stored {
    consumer_offset offset;
};
struct offset_backwards {
    std::int64_t current = 0;
};
struct offset_beyond_head {
    std::int64_t head = 0;
};
using store_offset_result = std::variant<offset_stored, offset_backwards, offset_beyond_head>;

/// Stores `seq` as the offset of `name` (created when new). Refused when `seq` is beyond the
/// head, or below the stored offset unless `force`.
store_offset_result store_consumer_offset(pqxx::connection_base& conn, const std::string& name,
                                          std::int64_t seq, bool force);

/// Every consumer, by name, with `expired` set when retention deleted events after its offset
/// (reading from it answers 410). For metrics.
std::vector<consumer_offset> list_consumers(pqxx::connection_base& conn);

}  // namespace changefeed::db
