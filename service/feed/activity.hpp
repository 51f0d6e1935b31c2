// Events this replica committed, counted per minute and per source over the last hour (kept in
// memory, lost on restart): the status page's "events per minute" charts, served as GET /activity.
#pragma once

#include "core/time.hpp"
#include "http/message.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace changefeed::feed {

class feed_notifier;

/// Per-minute counters in a ring of `k_minutes` buckets per source. Not thread-safe: use it on
/// the io_context thread (where pollers report their commits and handlers run).
class activity {
public:
    static constexpr std::size_t k_minutes = 60;

    /// Adds `events` committed for `source` at `at` (to the minute that holds `at`). Counts older
    /// than the hour before the newest minute seen are dropped as their bucket is reused.
    void record(std::string_view source, std::uint64_t events, time::time_point at);

    /// The last hour ending with the minute that holds `now`:
    /// `{"minute_start": <RFC 3339 of the oldest bucket>, "minutes": 60, "total": [60 counts],
    ///   "sources": [{"name": ..., "counts": [60 counts]}]}`, counts oldest first, sources in the
    /// order they first reported. The newest bucket is the minute in progress.
    [[nodiscard]] boost::json::object to_json(time::time_point now) const;

private:
    struct bucket {
        std::int64_t minute = -1;  ///< minutes since the epoch this bucket holds
        std::uint64_t count = 0;
    };
    struct series {
        std::string source;
        std::array<bucket, k_minutes> buckets{};
    };
    std::vector<series> series_;
};

/// GET /activity: `activity::to_json` plus `head_seq` (the outbox head this replica knows);
/// needs the feed token like /sources.
class activity_handler {
public:
    activity_handler(const activity& counts, const feed_notifier& notifier, std::vector<std::string> tokens);
    boost::asio::awaitable<http::response> operator()(const http::request& req) const;

private:
    const activity& counts_;
    const feed_notifier& notifier_;
    std::vector<std::string> tokens_;
};

}  // namespace changefeed::feed
