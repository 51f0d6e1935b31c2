#include "support/outbox_events.hpp"

#include "db/feed_repository.hpp"
#include "db/outbox_writer.hpp"
#include "db/pg_pool.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <pqxx/pqxx>

namespace changefeed::test {

namespace asio = boost::asio;

core::change_event numbered_event(int i, const std::string& source, const std::string& operation) {
    core::change_event e;
    e.event_id = core::make_event_id({source, std::to_string(i)});
    e.source = source;
    e.source_kind = "pennylane";
    e.resource = i % 2 == 0 ? "customers" : "suppliers";
    e.resource_id = std::to_string(i);
    e.operation = operation;
    e.occurred_at = "2026-11-20T09:15:02.123Z";
    e.upstream = boost::json::object{{"id", i}};
    return e;
}

void append_as_other_replica(const std::string& database_url, std::vector<core::change_event> events) {
    asio::io_context ioc;
    db::outbox_writer writer(ioc.get_executor(), database_url);
    asio::co_spawn(ioc, writer.run(), asio::detached);
    auto task = [](db::outbox_writer& w, std::vector<core::change_event> evs) -> asio::awaitable<void> {
        db::append_request req;
        req.events = std::move(evs);
        co_await w.append(std::move(req));
        w.stop();
    };
    run_coro(ioc, task(writer, std::move(events)), std::chrono::seconds(60));
}

void append_numbered(const std::string& database_url, int count, const std::string& source,
                     const std::string& operation) {
    std::vector<core::change_event> events;
    for (int i = 1; i <= count; ++i) {
        events.push_back(numbered_event(i, source, operation));
    }
    append_as_other_replica(database_url, std::move(events));
}

void expire_through(const std::string& database_url, std::int64_t seq) {
    auto conn = db::open_connection(database_url);
    {
        pqxx::work tx(*conn);
        tx.exec_params0("UPDATE outbox SET recorded_at = now() - interval '40 days' WHERE seq <= $1",
                        seq);
        tx.commit();
    }
    db::delete_expired(*conn, std::chrono::hours(24 * 30));
}

}  // namespace changefeed::test
