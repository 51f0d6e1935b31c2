// Outbound HTTP(S) for the source pollers: keep-alive connections per origin, TLS 1.2+ verified
// against the system store with SNI and host name checks, one deadline per request, a cap on the
// response size, and redirects treated as errors. Beast stays in client.cpp.
#pragma once

#include "http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace changefeed::http {

struct client_options {
    /// The whole exchange (resolve, connect, TLS handshake, write, read) must finish within this.
    std::chrono::milliseconds timeout{30000};
    /// A response body larger than this is an error (`too_large`), never an allocation.
    std::size_t max_response_bytes = 64 * 1024 * 1024;
    /// Idle keep-alive connections kept per origin (scheme, host, port).
    std::size_t max_idle_per_origin = 2;
    /// Extra trust anchors in PEM (tests); the system store is always used.
    std::string extra_ca_file;
    /// Sent as User-Agent (unless the request sets one).
    std::string user_agent = "changefeed/" CHANGEFEED_VERSION;
};

struct client_request {
    std::string method = "GET";
    std::string url;  ///< absolute: http(s)://host[:port]/path?query
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct client_response {
    unsigned status = 0;
    header_map headers;  ///< lower-case names
    std::string body;

    [[nodiscard]] std::optional<std::string_view> header(std::string_view lower_name) const;
};

enum class client_errc {
    bad_url,    ///< not an absolute http(s) URL
    resolve,    ///< the host name did not resolve
    connect,    ///< no TCP connection
    tls,        ///< handshake failed: certificate untrusted, wrong host, old protocol...
    timeout,    ///< the deadline passed
    io,         ///< the connection broke mid-exchange (reset, cut body)
    protocol,   ///< not a valid HTTP response
    too_large,  ///< the body exceeds max_response_bytes (or the header block is too large)
    redirect,   ///< a 3xx answer: the vendor URL is wrong, and following it could leak credentials
};

/// The message names the method and origin plus path (never the query, which may carry a
/// secret) and what failed.
class client_error : public std::runtime_error {
public:
    client_error(client_errc code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    [[nodiscard]] client_errc code() const { return code_; }

private:
    client_errc code_;
};

/// One client per source. Requests may run concurrently; each takes its own connection.
/// Keep the client alive until every send() has completed.
class client {
public:
    client(boost::asio::any_io_executor ex, client_options opts);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends `req` and returns the response, whatever its status except 3xx. Throws client_error.
    /// A reused keep-alive connection that the peer had closed is retried once on a new one.
    boost::asio::awaitable<client_response> send(client_request req);

    /// Drops every idle connection.
    void close_idle();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

/// "https://host:443/path" of `url` without query or userinfo, for messages and logs.
std::string redact_url(std::string_view url);

}  // namespace changefeed::http
