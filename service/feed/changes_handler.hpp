// GET /changes: the JSON feed with long poll, and Server-Sent Events (SPEC section 5).
#pragma once

#include "http/message.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace changefeed::db {
class pg_pool;
}

namespace changefeed::feed {

class feed_reader;
class page_memo;

struct feed_settings {
    std::vector<std::string> tokens;  ///< empty: no authentication
    std::uint32_t max_limit = 1000;
    /// Comment heartbeats of an idle event stream.
    std::chrono::milliseconds heartbeat = std::chrono::seconds(15);
    /// feed.retention (0: keep everything); the feed cache evicts rows well before it.
    std::chrono::milliseconds retention{0};
    /// Memory for the cached tail of the outbox.
    std::size_t cache_bytes = 16 * 1024 * 1024;
};

/// Checks `Authorization: Bearer <token>` against `tokens` in constant time; nullopt when allowed,
/// else the 401 response.
std::optional<http::response> check_feed_token(const http::request& req,
                                               const std::vector<std::string>& tokens);

/// True when the request asks for Server-Sent Events (`Accept` names text/event-stream).
bool wants_event_stream(const http::request& req);

/// GET /changes. 400, 401, 404 (unknown consumer) and 410 are JSON, also for an event stream,
/// whose first page is read before the stream starts. Throws on database errors (a 500).
class changes_handler {
public:
    changes_handler(db::pg_pool& pool, feed_reader& reader, page_memo& memo, feed_settings settings);
    boost::asio::awaitable<http::response> operator()(const http::request& req) const;

private:
    db::pg_pool& pool_;
    feed_reader& reader_;
    page_memo& memo_;
    feed_settings settings_;
};

}  // namespace changefeed::feed
