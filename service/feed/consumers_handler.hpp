// Consumer offsets (SPEC section 5): PUT /consumers/{name}/offset and GET /consumers/{name}, plus
// the pure parsing they need and the Prometheus lines for /metrics.
#pragma once

#include "db/feed_repository.hpp"
#include "http/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace changefeed::db {
class pg_pool;
}

namespace changefeed::feed {

/// `{"seq": N}` with N a non-negative integer (other members are ignored); else the message of
/// the 400 answer.
struct offset_body_error {
    std::string message;
};
std::variant<std::int64_t, offset_body_error> parse_offset_body(std::string_view body);

/// {"name": ..., "seq": ..., "updated_at": ...}
std::string consumer_json(const db::consumer_offset& offset);


/// The two routes. An offset beyond the head is 409 `offset_beyond_head` (it may be valid later
/// and is not a malformed request); backwards without `?force=true` is 409 `offset_backwards`.
/// Throws on database errors (a 500).
class consumers_handler {
public:
    consumers_handler(db::pg_pool& pool, std::vector<std::string> tokens);

    boost::asio::awaitable<http::response> get(const http::request& req) const;
    boost::asio::awaitable<http::response> put_offset(const http::request& req) const;

private:
    db::pg_pool& pool_;
    std::vector<std::string> tokens_;
};

}  // namespace changefeed::feed
