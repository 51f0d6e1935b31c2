// The feed's tail cache through the HTTP path: concurrent writers (this replica's and others')
// while readers page with `since` and stream; pages near the head served from memory; the
// retention floor reaching the cache.
#include "db/feed_repository.hpp"
#include "db/migrations.hpp"
#include "db/outbox_writer.hpp"
#include "db/pg_pool.hpp"
#include "support/eventually.hpp"
#include "support/feed_server.hpp"
#include "support/http_client.hpp"
#include "support/outbox_events.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/sse_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace changefeed::test {
namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

class feed_cache_http_test : public ::testing::Test {
protected:
    void SetUp() override { db::apply_migrations(db_.url()); }

    void start(std::uint32_t max_limit = 50) {
        feed::feed_settings settings;
        settings.max_limit = max_limit;
        server_ = std::make_unique<feed_server>(db_.url(), settings);
    }

    boost::json::object page(const std::string& target) {
        auto r = http_get(server_->port(), target);
        EXPECT_EQ(r.status, 200u) << r.body;
        return boost::json::parse(r.body).as_object();
    }

    // Bounded wait for the cache to learn rows up to `seq` (it does so asynchronously, after
    // the commit notification, and only while someone reads: this request is that reader).
    void await_cache_hi(std::int64_t seq) {
        (void)http_get(server_->port(), "/changes?since=" + std::to_string(seq));
        ASSERT_TRUE(eventually([&] { return server_->stats().hi >= seq; }))
            << "the cache did not learn the commit";
    }

    scratch_database db_;
    std::unique_ptr<feed_server> server_;
};

TEST_F(feed_cache_http_test, concurrent_writers_never_make_a_reader_skip) {
    start();
    constexpr int replicas = 4;
    constexpr int batches = 40;
    constexpr int per_batch = 5;
    const std::size_t expected = (replicas + 1) * batches * per_batch;
    auto batch_of = [](const std::string& who, int b, bool burn) {
        std::vector<core::change_event> events;
        for (int i = 0; i < per_batch; ++i) {
            events.push_back(numbered_event(b * per_batch + i, who, "update"));
        }
        if (burn && b > 0) {
            events.push_back(numbered_event(0, who, "update"));  // a duplicate burns a seq
        }
        return events;
    };
    std::atomic<int> writers_done{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < replicas; ++w) {
        threads.emplace_back([&, w] {
            // Another replica: its own writer, connection and NOTIFY.
            asio::io_context ioc;
            db::outbox_writer writer(ioc.get_executor(), db_.url());
            asio::co_spawn(ioc, writer.run(), asio::detached);
            auto task = [](db::outbox_writer& wr, std::string who, auto make) -> asio::awaitable<void> {
                for (int b = 0; b < batches; ++b) {
                    db::append_request req;
                    req.events = make(who, b, true);
                    co_await wr.append(std::move(req));
                }
                wr.stop();
            };
            run_coro(ioc, task(writer, "replica" + std::to_string(w), batch_of), std::chrono::seconds(120));
            ++writers_done;
        });
    }
    threads.emplace_back([&] {
        for (int b = 0; b < batches; ++b) {
            server_->append(batch_of("local", b, false));  // this replica's own commits
        }
        ++writers_done;
    });

    // An event stream reads alongside.
    std::vector<std::int64_t> streamed;
    std::string stream_error;
    std::thread streamer([&] {
        try {
            sse_client s(server_->port(), "/changes?since=0&limit=7");
            while (streamed.size() < expected) {
                auto item = s.next_event(std::chrono::seconds(30));
                if (!item) {
                    break;
                }
                streamed.push_back(std::stoll(item->id));
            }
        } catch (const std::exception& e) {
            stream_error = e.what();
        }
    });

    // A JSON reader pages with since as fast as it can.
    std::set<std::string> seen;
    std::int64_t since = 0;
    int empty_pages_after_done = 0;
    auto deadline = clock_type::now() + std::chrono::seconds(120);
    while (seen.size() < expected && clock_type::now() < deadline) {
        // Once every writer is done, wait for what another replica's NOTIFY has yet to bring.
        bool all_done = writers_done.load() == replicas + 1;
        auto body = page("/changes?limit=7&since=" + std::to_string(since) + (all_done ? "&wait=2" : ""));
        const auto& changes = body.at("changes").as_array();
        for (const auto& e : changes) {
            auto seq = e.at("seq").as_int64();
            ASSERT_GT(seq, since) << "a seq at or below one already passed";
            since = seq;
            ASSERT_TRUE(seen.insert(std::string(e.at("event_id").as_string())).second)
                << "event delivered twice";
        }
        ASSERT_EQ(body.at("next_since").as_int64(), since);
        if (all_done && changes.empty() && seen.size() < expected) {
            ++empty_pages_after_done;
            ASSERT_LT(empty_pages_after_done, 10) << "committed events never became visible";
        }
    }
    for (auto& t : threads) {
        t.join();
    }
    streamer.join();
    EXPECT_EQ(seen.size(), expected) << "the reader missed events";
    ASSERT_EQ(streamed.size(), expected) << "the stream missed events: " << stream_error;
    for (std::size_t i = 1; i < streamed.size(); ++i) {
        ASSERT_LT(streamed[i - 1], streamed[i]);
    }
    auto stats = server_->stats();
    EXPECT_GT(stats.hits, 0u) << "no page came from the cache";
}

TEST_F(feed_cache_http_test, pages_near_the_head_come_from_memory) {
    std::vector<core::change_event> events;
    for (int i = 1; i <= 30; ++i) {
        events.push_back(numbered_event(i, i % 3 == 0 ? "beta" : "alpha", "update"));
    }
    append_as_other_replica(db_.url(), std::move(events));
    start();
    server_->append({numbered_event(31, "beta", "insert")});
    await_cache_hi(31);
    // Wherever the filler started (before or after that commit), this page reaches the cache.
    ASSERT_EQ(page("/changes?since=20&limit=50").at("changes").as_array().size(), 11u);
    ASSERT_LE(server_->stats().lo, 20);
    auto before = server_->stats();
    for (int i = 0; i < 10; ++i) {
        auto body = page("/changes?since=31");
        EXPECT_TRUE(body.at("changes").as_array().empty());
        EXPECT_FALSE(body.at("has_more").as_bool());
    }
    auto body = page("/changes?since=30&source=beta");
    ASSERT_EQ(body.at("changes").as_array().size(), 1u);
    EXPECT_EQ(body.at("changes").as_array()[0].at("operation").as_string(), "insert");
    auto after = server_->stats();
    EXPECT_EQ(after.hits - before.hits, 11u);
    EXPECT_EQ(after.misses, before.misses);

    // Older pages come from the database, and an unfiltered one is kept for next time.
    body = page("/changes?since=10&limit=50");
    EXPECT_EQ(body.at("changes").as_array().size(), 21u);
    EXPECT_EQ(server_->stats().misses, after.misses + 1);
    body = page("/changes?since=15&source=beta&limit=3");
    auto changes = body.at("changes").as_array();
    ASSERT_EQ(changes.size(), 3u);
    EXPECT_EQ(changes[0].at("seq").as_int64(), 18);
    EXPECT_EQ(changes[2].at("seq").as_int64(), 24);
    EXPECT_TRUE(body.at("has_more").as_bool());
    EXPECT_EQ(server_->stats().misses, after.misses + 1);
}

TEST_F(feed_cache_http_test, a_shared_page_follows_the_cache) {
    append_numbered(db_.url(), 30);
    start();
    // The first read comes from the database and is kept; the next ones from memory, alike.
    auto first = http_get(server_->port(), "/changes?since=25&limit=10");
    auto second = http_get(server_->port(), "/changes?since=25&limit=10");
    auto third = http_get(server_->port(), "/changes?since=25&limit=10");
    EXPECT_EQ(first.body, second.body);
    EXPECT_EQ(second.body, third.body);
    EXPECT_EQ(boost::json::parse(third.body).at("changes").as_array().size(), 5u);
    server_->append({numbered_event(31, "alpha", "insert")});
    await_cache_hi(31);
    auto body = page("/changes?since=25&limit=10");
    auto changes = body.at("changes").as_array();
    ASSERT_EQ(changes.size(), 6u);
    EXPECT_EQ(changes[5].at("operation").as_string(), "insert");
    EXPECT_EQ(body.at("next_since").as_int64(), 31);
    body = page("/changes?since=25&limit=3");
    EXPECT_TRUE(body.at("has_more").as_bool());
}

TEST_F(feed_cache_http_test, events_are_compact_json_with_their_strings_intact) {
    auto e = numbered_event(1, "alpha", "update");
    const std::string tricky = "a, b: \"c\" \\ d ,: {\"x\": 1}";
    e.upstream = boost::json::object{{"note", tricky}, {"list", boost::json::array{1, "two, three"}}};
    append_as_other_replica(db_.url(), {e});
    start();
    auto from_db = http_get(server_->port(), "/changes?since=0");
    auto from_cache = http_get(server_->port(), "/changes?since=0");
    ASSERT_EQ(from_db.status, 200u);
    EXPECT_EQ(from_db.body, from_cache.body);
    EXPECT_GE(server_->stats().hits, 1u);
    auto event = boost::json::parse(from_db.body).at("changes").at(0).as_object();
    EXPECT_EQ(event.at("upstream").at("note").as_string(), tricky);
    EXPECT_EQ(event.at("upstream").at("list").at(1).as_string(), "two, three");
    EXPECT_EQ(event.at("source").as_string(), "alpha");
    // No blank outside strings.
    EXPECT_NE(from_db.body.find(R"("source":"alpha")"), std::string::npos) << from_db.body;
    EXPECT_NE(from_db.body.find(R"("list":[1,"two, three"])"), std::string::npos) << from_db.body;
}

TEST_F(feed_cache_http_test, a_cache_nobody_reads_rests_until_a_reader_comes) {
    start();
    for (int i = 1; i <= 5; ++i) {
        server_->append({numbered_event(i, "alpha", "update")});
    }
    EXPECT_EQ(server_->stats().cached_events, 0u) << "the filler followed a head nobody reads";
    EXPECT_EQ(server_->stats().hi, 0);

    // A long poll at the head wakes it: the next commit reaches the poller, from memory.
    std::thread poller([&] {
        auto r = http_get(server_->port(), "/changes?since=5&wait=20");
        EXPECT_EQ(r.status, 200u) << r.body;
        auto changes = boost::json::parse(r.body).at("changes").as_array();
        ASSERT_EQ(changes.size(), 1u) << r.body;
        EXPECT_EQ(changes[0].at("seq").as_int64(), 6);
    });
    EXPECT_TRUE(eventually([&] { return server_->stats().hi >= 5; }))
        << "the reader did not wake the filler";
    server_->append({numbered_event(6, "alpha", "insert")});
    poller.join();
    auto body = page("/changes?since=0&limit=50");
    EXPECT_EQ(body.at("changes").as_array().size(), 6u);
    EXPECT_EQ(body.at("next_since").as_int64(), 6);
}

TEST_F(feed_cache_http_test, the_retention_floor_reaches_the_cache) {
    append_numbered(db_.url(), 10);
    start();
    ASSERT_EQ(page("/changes?since=0&limit=50").at("changes").as_array().size(), 10u);
    ASSERT_EQ(server_->stats().lo, 0) << "the read was kept";
    expire_through(db_.url(), 4);
    // Retention notifies; the cache then drops the deleted rows and a since below answers 410.
    EXPECT_TRUE(eventually([&] { return server_->stats().lo >= 4; }));
    EXPECT_EQ(server_->stats().lo, 4);
    auto r = http_get(server_->port(), "/changes?since=2");
    EXPECT_EQ(r.status, 410u) << r.body;
    EXPECT_EQ(page("/changes?since=4").at("changes").as_array().size(), 6u);
}

}  // namespace
}  // namespace changefeed::test
