// HTTP/1.1 server (Beast, C++20 coroutines) in front of a `router`. Beast stays in server.cpp.
#pragma once

#include "http/message.hpp"
#include "http/router.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <memory>
#include <string>

namespace changefeed::http {

struct server_options {
    /// Largest request header block; beyond it: 431 `header_too_large`, then close.
    std::size_t header_limit = 16 * 1024;
    /// Largest request body; beyond it: 413 `payload_too_large`, then close.
    std::size_t body_limit = 1024 * 1024;
    /// The whole request (from its first byte, or from accept for a new connection) must arrive
    /// within this, however slowly it trickles in (slowloris); otherwise the connection is closed.
    std::chrono::milliseconds read_timeout{30000};
    /// A keep-alive connection with no request for this long is closed.
    std::chrono::milliseconds idle_timeout{60000};
    /// Deadline of each response write (and of each chunk of a streamed response).
    std::chrono::milliseconds write_timeout{30000};
    /// Called once per answered request (server errors included) with the time from the request's
    /// first byte to the end of the response; for a stream, when the stream ends. Must not throw
    /// (an exception is logged and ignored). The request has no body.
    std::function<void(const request&, const response&, std::chrono::steady_clock::duration)>
        on_complete;
    /// The answer for an exception a handler threw, when it is not a bare 500 (e.g. 503 while
    /// the database is down); nullopt keeps the 500. Must not throw.
    std::function<std::optional<response>(const std::exception&)> answer_for;
};

/// Serves `routes` over HTTP/1.1 with keep-alive. Requests become `http::request` values (method
/// upper case, percent-decoded path, decoded query pairs, lower-case header names, remote
/// address). Errors the server produces itself use the JSON error shape: 400 `bad_request`
/// (unparsable request or target), 413, 431, and 500 `internal_error` when a handler throws
/// (the exception is logged, never sent). A response with `stream` set is sent with chunked
/// transfer encoding and the connection is closed when the stream ends.
///
/// Single-threaded: all members must be called on the thread that runs the executor.
/// Keep the server and `routes` alive until `run()` has returned.
class server {
public:
    server(boost::asio::any_io_executor ex, const router& routes, server_options opts);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens on `host_port`: a numeric IPv4/IPv6 address or "localhost" (127.0.0.1),
    /// then a port: "0.0.0.0:8080", "127.0.0.1:0", "[::1]:0". No DNS lookup.
    /// Throws std::runtime_error naming the address when it cannot be parsed or bound, or when
    /// already listening.
    void listen(const std::string& host_port);

    /// The bound port (the real one after listening on port 0); 0 before `listen`.
    unsigned short port() const;

    /// Accepts connections until `stop()`, then returns once the acceptor is closed and every
    /// session has finished. Cancelling this coroutine acts as `stop()`; a second cancellation
    /// also aborts in-flight requests. Throws std::logic_error when not listening.
    boost::asio::awaitable<void> run();

    /// Graceful shutdown: stops accepting, closes idle keep-alive connections and ends streamed
    /// responses (their handler is cancelled); requests in flight finish and get
    /// `Connection: close`. Does not throw.
    void stop();

private:
    struct impl;
    /// Shared with the accept loop and the sessions, which may outlive a misused server.
    std::shared_ptr<impl> impl_;
};

}  // namespace changefeed::http
