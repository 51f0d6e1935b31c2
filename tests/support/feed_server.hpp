// The consumer side of the feed alone, on its own io_context thread and 127.0.0.1:0: a pg_pool,
// a feed_notifier listening to the database, this "replica"'s outbox writer, feed::feed_api and
// an http::server. Unlike running_service it takes feed settings (a short SSE heartbeat) and
// shows the cache's statistics.
#pragma once

#include "core/change_event.hpp"
#include "feed/changes_handler.hpp"
#include "feed/feed_reader.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace changefeed::test {

class feed_server {
public:
    /// Applies the migrations, then serves. Throws when it cannot start.
    feed_server(const std::string& database_url, feed::feed_settings settings);
    /// Stops (if not yet) and joins the thread.
    ~feed_server();

    [[nodiscard]] unsigned short port() const;

    /// Appends `events` through this server's own writer and returns once they are committed
    /// (the in-process commit path). Throws on failure or after 30 s.
    void append(std::vector<core::change_event> events);

    /// Graceful stop (server and feed); true when run() returned within `limit`.
    bool stop(std::chrono::seconds limit = std::chrono::seconds(10));

    /// The feed reader's statistics (read on the server's thread).
    feed::reader_stats stats();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::test
