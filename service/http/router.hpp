// Routing table of the HTTP API: {method, path pattern} -> handler. Pure: no Beast, no sockets,
// so routes and their tests compile and run without a server.
#pragma once

#include "http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace changefeed::http {

/// A table of routes. Patterns are absolute paths whose segments are either literal text or a
/// `{name}` placeholder that matches one non-empty segment and is captured into
/// `request::path_params` (e.g. `/consumers/{name}/offset`).
///
/// Matching works on the percent-decoded `request::path`, segment by segment, and is exact
/// (a trailing slash is a segment of its own). Among the routes whose pattern matches the path
/// and whose method equals the request's, the most specific wins: at the first segment where two
/// patterns differ, a literal beats a placeholder. Unknown path: 404 `not_found`. Known path but
/// no route for the method: 405 `method_not_allowed` with an `Allow` header listing the methods of
/// every route that matches the path. `HEAD` is not derived from `GET`.
class router {
public:
    /// Adds a route. `method` is compared case-insensitively (stored upper-case).
    /// Throws std::invalid_argument for a pattern that does not start with '/', holds a malformed
    /// `{}` segment or a placeholder name used twice, or for a {method, pattern} already added.
    void add(std::string method, std::string pattern, handler h);

    /// Finds the route for `req`, sets `req.path_params` and awaits its handler.
    /// Returns the handler's response, or a JSON 404/405 (SPEC section 5 error shape).
    /// Throws whatever the handler throws (the server turns that into a 500).
    boost::asio::awaitable<response> dispatch(request req) const;

    /// The pattern of the route dispatch() would run for `method` on `path` (percent-decoded),
    /// "" when there is none: names the route of a request answered without its handler's
    /// response (a body refused before routing, a handler that threw).
    [[nodiscard]] std::string route_of(std::string_view method, std::string_view path) const;

private:
    struct segment {
        std::string text;  ///< literal text, or the placeholder name
        bool is_param = false;
    };
    struct route {
        std::string method;
        std::string pattern;
        std::vector<segment> segments;
        handler fn;
    };

    /// True when `r` matches `path_segments`.
    static bool matches(const route& r, const std::vector<std::string_view>& path_segments);
    /// True when `a` is strictly more specific than `b` (both matching the same path).
    static bool more_specific(const route& a, const route& b);
    /// The most specific route for `method` matching `path_segments`, or nullptr.
    const route* best_route(std::string_view method,
                            const std::vector<std::string_view>& path_segments) const;

    std::vector<route> routes_;
};

}  // namespace changefeed::http
