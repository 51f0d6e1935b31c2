// The outbox writer and the feed reader against a real PostgreSQL: exactly-once storage,
// atomic checkpoints, the ordered-append protocol of migration 0002, gap-freedom under concurrent
// writers, retention.
#include "db/feed_repository.hpp"
#include "db/migrations.hpp"
#include "db/outbox_writer.hpp"
#include "db/pg_pool.hpp"
#include "db/sql.hpp"
#include "support/eventually.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <future>
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

// The events as changefeed_outbox_append() takes them.
std::string payloads(const std::vector<core::change_event>& events) {
    boost::json::array out;
    for (const auto& e : events) {
        out.push_back(core::to_payload(e, "2026-11-20T09:15:04.870Z"));
    }
    return boost::json::serialize(out);
}

// One append call on `tx`; returns the first reserved seq.
std::int64_t append_sql(pqxx::transaction_base& tx, const std::vector<core::change_event>& events) {
    auto row = tx.exec_params1(std::string(sql::k_append), payloads(events),
                               "2026-11-20T09:15:04.870Z", "[]");
    return row[0].as<std::int64_t>();
}

// Waits, up to 20 s, until backend `pid` waits for an advisory lock.
bool waits_for_advisory_lock(pqxx::connection_base& observer, int pid) {
    return test::eventually([&] {
        pqxx::nontransaction tx(observer);
        return !tx.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND "
                               "wait_event_type = 'Lock' AND wait_event = 'advisory'",
                               pid)
                    .empty();
    });
}

bool still_running(std::future<std::int64_t>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::timeout;
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
        EXPECT_EQ(r1.stored, (std::vector<bool>{true, true, false}));
        append_request again;
        again.events = {make_event("b"), make_event("c")};
        auto r2 = co_await writer.append(std::move(again));
        EXPECT_EQ(r2.inserted, 1u);
        EXPECT_EQ(r2.duplicates, 1u);
        EXPECT_EQ(r2.stored, (std::vector<bool>{false, true}));
        writer.stop();
    }());
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), 3);
}

TEST_F(outbox_test, the_stored_payload_is_the_event_as_to_payload_renders_it) {
    auto full = make_event("full");
    full.resource_id = "quote\" backslash\\ newline\n tab\t ctrl\x01 \xc3\xa9";
    full.changes = boost::json::array{boost::json::object{{"field", "name"}, {"old", "a"}, {"new", "b\"c"}}};
    full.actor = boost::json::object{{"id", 7}, {"email", "x@example.com"}};
    full.data = boost::json::value(nullptr);
    full.snapshot = true;
    auto bare = make_event("bare");
    bare.upstream = boost::json::array{1, 2.5, "three", nullptr, false};
    asio::io_context ioc;
    outbox_writer writer(ioc.get_executor(), db_.url());
    asio::co_spawn(ioc, writer.run(), asio::detached);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        append_request req;
        req.events = {full, bare};
        co_await writer.append(std::move(req));
        writer.stop();
    }());
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    auto rows = tx.exec("SELECT payload::text, resource_id, to_char(recorded_at AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM outbox ORDER BY seq");
    ASSERT_EQ(rows.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& e = i == 0 ? full : bare;
        auto stored = boost::json::parse(rows[i][0].c_str()).as_object();
        auto recorded_at = std::string(stored.at("recorded_at").as_string());
        EXPECT_EQ(boost::json::value(stored), boost::json::value(core::to_payload(e, recorded_at)))
            << rows[i][0].c_str();
        EXPECT_EQ(rows[i][1].as<std::string>(), e.resource_id);
        EXPECT_EQ(rows[i][2].as<std::string>(), recorded_at) << "the column and the payload agree";
    }
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

// The ordered-append protocol itself, step by step on separate connections: an append reserved
// after another one cannot commit before that one has ended, even when appends in between fail
// before their turn or are cancelled while they wait for it.
TEST_F(outbox_test, an_append_commits_only_after_every_earlier_reservation_ended) {
    auto observer = open_connection(db_.url());
    // T1 reserves, inserts and stays open.
    auto c1 = open_connection(db_.url());
    pqxx::work t1(*c1);
    auto first1 = append_sql(t1, {make_event("t1a"), make_event("t1b")});
    // T2 fails in its insert, before its turn.
    {
        auto c2 = open_connection(db_.url());
        pqxx::nontransaction t2(*c2);
        auto bad = make_event("t2");
        bad.operation = "upsert";  // violates the CHECK constraint
        EXPECT_THROW(append_sql(t2, {bad}), pqxx::sql_error);
    }
    // T3 waits for T1, past the failed T2.
    auto c3 = open_connection(db_.url());
    auto t3 = std::async(std::launch::async, [&c3] {
        pqxx::nontransaction tx(*c3);
        return append_sql(tx, {make_event("t3")});
    });
    ASSERT_TRUE(waits_for_advisory_lock(*observer, c3->backendpid()));
    // T4 waits for T3; cancelling T3 must not let T4 overtake T1.
    auto c4 = open_connection(db_.url());
    auto t4 = std::async(std::launch::async, [&c4] {
        pqxx::nontransaction tx(*c4);
        return append_sql(tx, {make_event("t4")});
    });
    ASSERT_TRUE(waits_for_advisory_lock(*observer, c4->backendpid()));
    {
        pqxx::nontransaction tx(*observer);
        tx.exec_params("SELECT pg_cancel_backend($1)", c3->backendpid());
    }
    EXPECT_THROW(t3.get(), pqxx::sql_error);
    ASSERT_TRUE(waits_for_advisory_lock(*observer, c4->backendpid()));
    EXPECT_TRUE(still_running(t4));
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), 0);
    t1.commit();
    auto first4 = t4.get();
    EXPECT_GT(first4, first1 + 1);
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), 3);
    EXPECT_EQ(count("SELECT max(seq) FROM outbox"), first4);
}

// Whoever takes the outbox lock exclusively (the writer of migration 0001, a maintenance job)
// waits for the appends in flight and holds off new ones.
TEST_F(outbox_test, the_exclusive_outbox_lock_and_appends_exclude_each_other) {
    auto observer = open_connection(db_.url());
    auto holder = open_connection(db_.url());
    auto appender = open_connection(db_.url());
    {
        pqxx::work excl(*holder);
        excl.exec_params("SELECT pg_advisory_xact_lock($1)", sql::k_outbox_lock_key);
        auto blocked = std::async(std::launch::async, [&appender] {
            pqxx::nontransaction tx(*appender);
            return append_sql(tx, {make_event("a")});
        });
        ASSERT_TRUE(waits_for_advisory_lock(*observer, appender->backendpid()));
        EXPECT_TRUE(still_running(blocked));
        excl.commit();
        EXPECT_GT(blocked.get(), 0);
    }
    pqxx::work open_append(*appender);
    append_sql(open_append, {make_event("b")});
    auto excl = std::async(std::launch::async, [&holder] {
        pqxx::work tx(*holder);
        tx.exec_params("SELECT pg_advisory_xact_lock($1)", sql::k_outbox_lock_key);
        auto head = tx.exec1("SELECT coalesce(max(seq), 0) FROM outbox")[0].as<std::int64_t>();
        tx.commit();
        return head;
    });
    ASSERT_TRUE(waits_for_advisory_lock(*observer, holder->backendpid()));
    open_append.commit();
    EXPECT_EQ(excl.get(), 2) << "the exclusive holder sees the append it waited for";
}

TEST_F(outbox_test, one_batch_counts_shared_event_ids_and_keeps_the_last_checkpoint) {
    asio::io_context ioc;
    outbox_writer writer(ioc.get_executor(), db_.url());
    asio::co_spawn(ioc, writer.run(), asio::detached);
    test::run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        append_result first_result;
        // Queued together, before the writer loop runs again: one batch.
        auto first_task = [&]() -> asio::awaitable<void> {
            append_request req;
            req.events = {make_event("shared"), make_event("x")};
            req.checkpoints = {{"s1", "customers", boost::json::object{{"page", 1}}}};
            first_result = co_await writer.append(std::move(req));
        };
        asio::co_spawn(ex, first_task(), asio::detached);
        append_request second;
        second.events = {make_event("shared"), make_event("y")};
        second.checkpoints = {{"s1", "customers", boost::json::object{{"page", 2}}}};
        auto r2 = co_await writer.append(std::move(second));
        EXPECT_EQ(first_result.inserted, 2u);
        EXPECT_EQ(first_result.duplicates, 0u);
        EXPECT_EQ(r2.inserted, 1u);
        EXPECT_EQ(r2.duplicates, 1u);
        EXPECT_EQ(first_result.stored, (std::vector<bool>{true, true}));
        EXPECT_EQ(r2.stored, (std::vector<bool>{false, true}));
        EXPECT_EQ(r2.head_seq, first_result.head_seq);
        writer.stop();
    }());
    EXPECT_EQ(writer.commits(), 1u) << "both requests went in one transaction";
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), 3);
    EXPECT_EQ(count("SELECT (checkpoint->>'page')::int FROM source_checkpoints"), 2);
}

// Gap-freedom: 4 writers (as in 4 processes), each appending on two connections at once, append
// concurrently while a reader pages with `since` as fast as it can. Some requests fail inside their
// transaction (before or after their turn) and others repeat event ids, so seqs have holes and
// reservations end early. The reader must see every stored event exactly once, in seq order.
TEST_F(outbox_test, concurrent_writers_never_make_a_since_reader_skip) {
    constexpr int writers = 4;
    constexpr int rounds = 40;
    constexpr int producers = 4;
    std::atomic<int> writers_done{0};
    std::atomic<long long> expected{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            asio::io_context ioc;
            outbox_writer_options options;
            options.lanes = 2;
            options.spread = outbox_writer_options::spreading::always;
            outbox_writer writer(ioc.get_executor(), db_.url(), options);
            asio::co_spawn(ioc, writer.run(), asio::detached);
            int running = producers;
            // The index is a parameter: a coroutine lambda's captures die with the lambda object.
            auto produce = [&](int p) -> asio::awaitable<void> {
                for (int b = 0; b < rounds; ++b) {
                    auto key = "w" + std::to_string(w) + "p" + std::to_string(p) + "b" + std::to_string(b);
                    append_request req;
                    int events = 1 + (b + p) % 4;
                    for (int i = 0; i < events; ++i) {
                        req.events.push_back(make_event(key + "i" + std::to_string(i)));
                    }
                    // A repeated event burns a seq: holes must not matter.
                    req.events.push_back(make_event("w" + std::to_string(w) + "p" + std::to_string(p) + "b0i0"));
                    bool fails = b % 7 == 3;
                    if (fails && p % 2 == 0) {
                        req.events.back().operation = "upsert";  // fails before its turn
                    } else if (fails) {
                        req.extra = [](pqxx::dbtransaction& tx) { tx.exec0("SELECT 1/0"); };
                    }
                    try {
                        auto r = co_await writer.append(std::move(req));
                        expected += static_cast<long long>(r.inserted);
                        EXPECT_FALSE(fails);
                    } catch (const pqxx::sql_error&) {
                        EXPECT_TRUE(fails);
                    }
                }
                if (--running == 0) {
                    writer.stop();
                }
            };
            test::run_coro(ioc, [&]() -> asio::awaitable<void> {
                auto ex = co_await asio::this_coro::executor;
                for (int p = 1; p < producers; ++p) {
                    asio::co_spawn(ex, produce(p), asio::detached);
                }
                co_await produce(0);
            }(), std::chrono::seconds(120));
            // Let the writer loop see stop() and return.
            ioc.run_for(std::chrono::seconds(10));
            EXPECT_GT(writer.commits(), 0u);
            ++writers_done;
        });
    }
    auto conn = open_connection(db_.url());
    std::set<std::string> seen;
    std::int64_t since = 0;
    std::size_t reads = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
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
    EXPECT_EQ(static_cast<long long>(seen.size()), expected.load()) << "the reader missed events";
    EXPECT_EQ(count("SELECT count(*) FROM outbox"), expected.load());
    EXPECT_GT(expected.load(), writers * producers * rounds);
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
