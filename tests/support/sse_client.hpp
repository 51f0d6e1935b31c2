// A streaming HTTP/1.1 client for Server-Sent Events in tests (127.0.0.1 only): sends one GET,
// reads the response head, then the (chunked) body one SSE item at a time; every read has a
// deadline, so a test never hangs.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace changefeed::test {

class sse_client {
public:
    /// One SSE item: an event (`id`, `event`, `data`) or a comment line (`comment` set).
    struct item {
        bool is_comment = false;
        std::string comment;  ///< the comment's text, without ':' and one leading space
        std::string id;
        std::string event;
        std::string data;
    };

    /// Connects, sends `GET target` with `Accept: text/event-stream` plus `headers`, and reads
    /// the response head. A response that is not a stream (an error) is read whole into body().
    /// Throws std::runtime_error when the head does not arrive within `timeout`.
    sse_client(unsigned short port, const std::string& target,
               const std::map<std::string, std::string>& headers = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~sse_client();
    sse_client(const sse_client&) = delete;
    sse_client& operator=(const sse_client&) = delete;

    [[nodiscard]] unsigned status() const;
    /// Lower-case header names.
    [[nodiscard]] const std::map<std::string, std::string>& headers() const;
    /// The body of a response that is not an event stream.
    [[nodiscard]] const std::string& body() const;

    /// The next item; nullopt once the stream has ended (final chunk, or the connection closed).
    /// Throws std::runtime_error when nothing complete arrives within `timeout`.
    std::optional<item> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Like next(), skipping comments.
    std::optional<item> next_event(std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::test
