// GET /changes: the JSON feed with long poll (SPEC section 5).
#pragma once

#include "http/message.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace changefeed::db {
class pg_pool;
}

namespace changefeed::feed {

class feed_notifier;

struct feed_settings {
    std::vector<std::string> tokens;  ///< empty: no authentication
    std::uint32_t max_limit = 1000;
};

/// Checks `Authorization: Bearer <token>` against `tokens` in constant time; nullopt when allowed,
/// else the 401 response.
std::optional<http::response> check_feed_token(const http::request& req,
                                               const std::vector<std::string>& tokens);

class changes_handler {
public:
    changes_handler(db::pg_pool& pool, feed_notifier& notifier, feed_settings settings);
    boost::asio::awaitable<http::response> operator()(const http::request& req) const;

private:
    db::pg_pool& pool_;
    feed_notifier& notifier_;
    feed_settings settings_;
};

}  // namespace changefeed::feed
