// The consumer side of the feed, wired for the service: GET /changes (JSON, long poll, SSE), the
// consumer offsets, and the tail cache with its filler.
#pragma once

#include "db/feed_repository.hpp"
#include "feed/changes_handler.hpp"
#include "feed/feed_reader.hpp"
#include "feed/page_memo.hpp"

#include <boost/asio/awaitable.hpp>

#include <vector>

namespace changefeed::db {
class pg_pool;
}

namespace changefeed::http {
class router;
}

namespace changefeed::feed {

class feed_notifier;

class feed_api {
public:
    /// `commits` must be notified of this replica's commits and listen for the others'.
    feed_api(db::pg_pool& pool, feed_notifier& commits, feed_settings settings);

    /// GET /changes, GET /consumers/{name}, PUT /consumers/{name}/offset.
    void add_routes(http::router& routes);

    /// Keeps the tail cache filled until stop(). Does not throw.
    boost::asio::awaitable<void> run();
    /// Ends run() and answers pending long polls; event streams end when the server stops them.
    void stop();

    /// Every consumer with its offset and whether it fell behind retention (for /metrics).
    /// Throws on database errors.
    boost::asio::awaitable<std::vector<db::consumer_offset>> consumers();

    [[nodiscard]] feed_reader& reader() { return reader_; }

private:
    db::pg_pool& pool_;
    feed_settings settings_;
    feed_reader reader_;
    page_memo memo_;
};

}  // namespace changefeed::feed
