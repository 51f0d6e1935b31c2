#include "feed/feed_api.hpp"

#include "db/pg_pool.hpp"
#include "feed/consumers_handler.hpp"
#include "http/router.hpp"

namespace changefeed::feed {

namespace asio = boost::asio;

namespace {

reader_options reader_options_of(const feed_settings& s) {
    reader_options o;
    o.cache_bytes = s.cache_bytes;
    o.retention = s.retention;
    return o;
}

}  // namespace

feed_api::feed_api(db::pg_pool& pool, feed_notifier& commits, feed_settings settings)
    : pool_(pool), settings_(std::move(settings)),
      reader_(pool, commits, reader_options_of(settings_)) {}

void feed_api::add_routes(http::router& routes) {
    routes.add("GET", "/changes", changes_handler(pool_, reader_, memo_, settings_));
    consumers_handler consumers(pool_, settings_.tokens);
    routes.add("GET", "/consumers/{name}",
               [consumers](const http::request& req) { return consumers.get(req); });
    routes.add("PUT", "/consumers/{name}/offset",
               [consumers](const http::request& req) { return consumers.put_offset(req); });
}

asio::awaitable<void> feed_api::run() { return reader_.run(); }

void feed_api::stop() { reader_.stop(); }

asio::awaitable<std::vector<db::consumer_offset>> feed_api::consumers() {
    auto job = [](pqxx::connection_base& c) { return db::list_consumers(c); };
    auto list = co_await pool_.run(std::move(job));
    co_return list;
}

}  // namespace changefeed::feed
