// HTTP request and response as the application sees them: plain values, no Beast types, so handlers
// and their tests compile without Beast.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace changefeed::http {

/// Case-insensitive header lookup table (keys are stored lower-cased).
using header_map = std::map<std::string, std::string, std::less<>>;

struct request {
    std::string method;  ///< upper case: "GET", "POST", ...
    std::string target;  ///< as received: path plus query
    std::string path;    ///< percent-decoded path, without query
    std::vector<std::pair<std::string, std::string>> query;  ///< decoded, in order
    header_map headers;  ///< lower-case names
    std::string body;
    std::string remote;  ///< peer address, for logs
    std::map<std::string, std::string, std::less<>> path_params;  ///< `{name}` segments, set by the router

    /// First value of a query parameter, if present.
    [[nodiscard]] std::optional<std::string_view> query_param(std::string_view name) const;
    /// Header value by lower-case name, if present.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view lower_name) const;
};

/// Writes chunks of a streamed response (Server-Sent Events). Each write awaits the socket,
/// so a slow reader paces its producer instead of growing a buffer. Throws on a closed connection.
class stream_writer {
public:
    virtual ~stream_writer() = default;
    virtual boost::asio::awaitable<void> write(std::string chunk) = 0;
};

struct response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    /// When set, sent instead of `body`, without a copy: a body shared by several responses.
    std::shared_ptr<const std::string> shared_body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
    /// When set, the server sends the status and headers, then hands the connection to this
    /// function (chunked transfer) and closes the connection when it returns.
    std::function<boost::asio::awaitable<void>(stream_writer&)> stream;
    /// The route pattern that answered (`/consumers/{name}`), set by the router for metrics;
    /// empty for answers no route gave (unknown paths, malformed requests).
    std::string route;
};

/// The JSON error shape of SPEC section 5: {"error": {"code": ..., "message": ...}}.
response error_response(unsigned status, std::string_view code, std::string_view message);
/// A 200 (or other status) with a JSON body that is already serialized.
response json_response(std::string body, unsigned status = 200);

/// ASCII case-insensitive equality (header names and values, auth schemes).
bool iequals(std::string_view a, std::string_view b);
/// `s` with ASCII upper-case letters lowered (header names, media types, URL schemes).
std::string ascii_lower(std::string_view s);

using handler = std::function<boost::asio::awaitable<response>(const request&)>;

}  // namespace changefeed::http
