// The outbox writer and the feed reader against a real PostgreSQL: exactly-once storage,
// atomic checkpoints, gap-freedom under concurrent writers, retention.
#include "db/feed_repository.hpp"
#include "db/migrations.hpp"
#include "db/outbox_writer.hpp"
#include "db/pg_pool.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <set>
#include <thread>

namespace changefeed::db {
namespace {

namespace asio = boost::asio;

core::change_event make_event(const std::string& key, const std::string& source = "s1") {
    core::change_event e;
    e.event_id = core::make_event_id({source, key});
    e.source = source;
    e.source_kind = "pennylane";
    e.resource = "customers";
    e.resource_id = key;
    e.operation = "update";
    e.occurred_at = "2026-11-20T09:15:02.123Z";
    e.upstream = boost::json::object{{"id", key}};
    return e;
}

class outbox_test : public ::testing::Test {
protected:
    void SetUp() override { apply_migrations(db_.url()); }

    long long count(const std::string& sql) {
        pqxx::connection c(db_.url());
        pqxx::work tx(c);
        return tx.exec1(sql)[0].as<long long>();
    }

    test::scratch_database db_;
};

TEST_F(outbox_test, migrations_are_recorded_and_idempotent) {
    EXPECT_TRUE(apply_migrations(db_.url()).empty());
    pqxx::connection c(db_.url());
    EXPECT_TRUE(migrations_applied(c));
}

TEST_F(outbox_test, concurrent_migrators_apply_each_migration_once) {
    test::scratch_database fresh;
    std::vector<std::thread> threads;
    std::atomic<int> applied{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] { applied += static_cast<int>(apply_migrations(fresh.url()).size()); });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(applied.load(), static_cast<int>(embedded_migrations().size()));
}

TEST_F(outbox_test, duplicate_event_ids_are_stored_once) {
    asio::io_context ioc;
    outbox_writer writer(ioc.get_executor(), db_.url());
    asio::co_spawn(ioc, writer.run(), asio::detached);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        append_request first;
        first.events = {make_event("a"), make_event("b"), make_event("a")};
        auto r1 = co_await writer.append(std::move(first));
        EXPECT_EQ(r1.inserted, 2u);
        EXPECT_EQ(r1.duplicates, 1u);
        append_request again;
        again.events = {make_event("b"), make_event("c")};
        auto r2 = co_await writer.append(std::move(again));
        EXPECT_EQ(r2.inserted, 1u);
        EXPECT_EQ(r2.duplicates, 1u);
        writer.stop();
    }());
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), 3);
}

TEST_F(outbox_test, events_and_checkpoints_commit_together_or_not_at_all) {
    asio::io_context ioc;
    outbox_writer writer(ioc.get_executor(), db_.url());
    asio::co_spawn(ioc, writer.run(), asio::detached);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        append_request good;
        good.events = {make_event("ok")};
        good.checkpoints = {{"s1", "customers", boost::json::object{{"watermark", 1}}}};
        append_request bad;
        bad.events = {make_event("lost")};
        bad.checkpoints = {{"s1", "suppliers", boost::json::object{{"watermark", 2}}}};
        bad.extra = [](pqxx::dbtransaction& tx) { tx.exec0("SELECT 1/0"); };
        // Both are pending at once: they share a group commit, yet only the bad one fails.
        auto ex = co_await asio::this_coro::executor;
        bool bad_failed = false;
        auto bad_task = [&]() -> asio::awaitable<void> {
            try {
                co_await writer.append(std::move(bad));
            } catch (const std::exception&) {
                bad_failed = true;
            }
        };
        asio::co_spawn(ex, bad_task(), asio::detached);
        auto r = co_await writer.append(std::move(good));
        EXPECT_EQ(r.inserted, 1u);
        EXPECT_TRUE(bad_failed);
        writer.stop();
    }());
    EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE resource_id = 'ok'"), 1);
    EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE resource_id = 'lost'"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM source_checkpoints WHERE scope = 'customers'"), 1);
    EXPECT_EQ(count("SELECT count(*) FROM source_checkpoints WHERE scope = 'suppliers'"), 0);
}

TEST_F(outbox_test, group_commit_batches_concurrent_producers) {
    asio::io_context ioc;
    outbox_writer writer(ioc.get_executor(), db_.url());
    asio::co_spawn(ioc, writer.run(), asio::detached);
    constexpr int producers = 64;
    int done = 0;
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        // The index is a parameter: a coroutine lambda's captures die with the lambda object.
        auto produce = [&](int p) -> asio::awaitable<void> {
            append_request req;
            req.events = {make_event("p" + std::to_string(p))};
            co_await writer.append(std::move(req));
            ++done;
        };
        for (int p = 0; p < producers; ++p) {
            asio::co_spawn(ex, produce(p), asio::detached);
        }
        append_request last;
        last.events = {make_event("last")};
        co_await writer.append(std::move(last));
        writer.stop();
    }());
    EXPECT_EQ(done, producers);
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), producers + 1);
    // 65 appends issued together cannot each have needed a commit of their own.
    EXPECT_LT(writer.commits(), static_cast<std::uint64_t>(producers));
}

// Gap-freedom: 4 writer processes' worth of connections append concurrently while a reader pages
// with `since` as fast as it can. The reader must see every event exactly once, in seq order.
TEST_F(outbox_test, concurrent_writers_never_make_a_since_reader_skip) {
    constexpr int writers = 4;
    constexpr int batches = 60;
    constexpr int per_batch = 5;
    std::atomic<int> writers_done{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            asio::io_context ioc;
            outbox_writer writer(ioc.get_executor(), db_.url());
            asio::co_spawn(ioc, writer.run(), asio::detached);
            test::run_coro(ioc, [&]() -> asio::awaitable<void> {
                for (int b = 0; b < batches; ++b) {
                    append_request req;
                    for (int i = 0; i < per_batch; ++i) {
                        req.events.push_back(make_event(
                            "w" + std::to_string(w) + "b" + std::to_string(b) + "i" + std::to_string(i)));
                    }
                    // A duplicate in every batch burns sequence numbers: holes must not matter.
                    req.events.push_back(make_event("w" + std::to_string(w) + "b0i0"));
                    co_await writer.append(std::move(req));
                }
                writer.stop();
            }(), std::chrono::seconds(120));
            ++writers_done;
        });
    }
    auto conn = open_connection(db_.url());
    std::set<std::string> seen;
    std::int64_t since = 0;
    std::size_t reads = 0;
    const std::size_t expected = writers * batches * per_batch;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (seen.size() < expected && std::chrono::steady_clock::now() < deadline) {
        bool all_done = writers_done.load() == writers;
        feed_query q;
        q.since = since;
        q.limit = 7;
        auto page = std::get<feed_page>(read_feed(*conn, q));
        ++reads;
        for (const auto& text : page.events) {
            auto ev = boost::json::parse(text).as_object();
            auto seq = ev.at("seq").as_int64();
            ASSERT_GT(seq, since) << "a seq at or below one already passed";
            since = seq;
            ASSERT_TRUE(seen.insert(std::string(ev.at("event_id").as_string())).second)
                << "event delivered twice";
        }
        EXPECT_EQ(page.next_since, since);
        if (all_done && page.events.empty()) {
            break;
        }
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(seen.size(), expected) << "the reader missed events";
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), static_cast<long long>(expected));
    EXPECT_GT(reads, 1u);
}

TEST_F(outbox_test, retention_raises_the_floor_and_expires_old_since) {
    {
        pqxx::connection c(db_.url());
        pqxx::work tx(c);
        for (int i = 0; i < 5; ++i) {
            tx.exec_params(
                "INSERT INTO outbox (event_id, source, source_kind, resource, resource_id, operation,"
                " occurred_at, recorded_at, payload) VALUES (gen_random_uuid(), 's', 'k', 'r', $1,"
                " 'insert', now(), now() - make_interval(days => $2), '{\"x\":1}')",
                std::to_string(i), i < 3 ? 40 : 0);
        }
        tx.commit();
    }
    auto conn = open_connection(db_.url());
    EXPECT_EQ(delete_expired(*conn, std::chrono::hours(24 * 30), 2), 3u);
    feed_query q;
    q.since = 1;
    auto expired = read_feed(*conn, q);
    ASSERT_TRUE(std::holds_alternative<since_expired>(expired));
    EXPECT_EQ(std::get<since_expired>(expired).oldest_available, 4);
    q.since = 3;
    auto page = std::get<feed_page>(read_feed(*conn, q));
    EXPECT_EQ(page.events.size(), 2u);
    EXPECT_EQ(page.next_since, 5);
    EXPECT_FALSE(page.has_more);
}

}  // namespace
}  // namespace changefeed::db
