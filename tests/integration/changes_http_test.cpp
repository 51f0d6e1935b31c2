// GET /changes over real HTTP against the in-process service and a real PostgreSQL.
#include "db/migrations.hpp"
#include "db/outbox_writer.hpp"
#include "support/http_client.hpp"
#include "support/outbox_events.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/service_fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <future>

namespace changefeed::test {
namespace {

namespace asio = boost::asio;

constexpr const char* k_token = "feed-token-for-tests";

core::change_event make_event(int i, const std::string& source, const std::string& op) {
    core::change_event e;
    e.event_id = core::make_event_id({source, std::to_string(i)});
    e.source = source;
    e.source_kind = "pennylane";
    e.resource = i % 2 == 0 ? "customers" : "suppliers";
    e.resource_id = std::to_string(i);
    e.operation = op;
    e.occurred_at = "2026-11-20T09:15:02.123Z";
    e.upstream = boost::json::object{{"id", i}};
    return e;
}

// Appends events the way another replica would: its own writer, its own connection.
void append_events(const std::string& url, std::vector<core::change_event> events) {
    asio::io_context ioc;
    db::outbox_writer writer(ioc.get_executor(), url);
    asio::co_spawn(ioc, writer.run(), asio::detached);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        db::append_request req;
        req.events = std::move(events);
        co_await writer.append(std::move(req));
        writer.stop();
    }());
}

class changes_http_test : public ::testing::Test {
protected:
    void SetUp() override {
        db::apply_migrations(db_.url());
        std::vector<core::change_event> events;
        for (int i = 1; i <= 25; ++i) {
            events.push_back(make_event(i, i <= 20 ? "alpha" : "beta", i % 5 == 0 ? "delete" : "update"));
        }
        append_events(db_.url(), std::move(events));
        app::app_config cfg;
        cfg.database_url = db_.url();
        cfg.feed.tokens = {k_token};
        cfg.feed.max_limit = 10;
        service_ = std::make_unique<running_service>(cfg);
    }

    http_reply get(const std::string& target) {
        return http_get(service_->port(), target, {{"Authorization", std::string("Bearer ") + k_token}});
    }

    static boost::json::object body(const http_reply& r) { return boost::json::parse(r.body).as_object(); }

    scratch_database db_;
    std::unique_ptr<running_service> service_;
};

TEST_F(changes_http_test, pages_through_the_feed_with_next_since) {
    std::int64_t since = 0;
    std::vector<std::int64_t> seqs;
    for (int guard = 0; guard < 10; ++guard) {
        auto r = get("/changes?limit=10&since=" + std::to_string(since));
        ASSERT_EQ(r.status, 200u) << r.body;
        EXPECT_EQ(r.headers["content-type"], "application/json");
        auto b = body(r);
        for (const auto& e : b.at("changes").as_array()) {
            seqs.push_back(e.at("seq").as_int64());
            EXPECT_EQ(e.at("source_kind").as_string(), "pennylane");
        }
        since = b.at("next_since").as_int64();
        if (!b.at("has_more").as_bool()) {
            break;
        }
    }
    ASSERT_EQ(seqs.size(), 25u);
    for (std::size_t i = 1; i < seqs.size(); ++i) {
        EXPECT_LT(seqs[i - 1], seqs[i]);
    }
    auto beyond = body(get("/changes?since=" + std::to_string(since + 100)));
    EXPECT_TRUE(beyond.at("changes").as_array().empty());
    EXPECT_EQ(beyond.at("next_since").as_int64(), since + 100);
}

TEST_F(changes_http_test, filters_by_source_resource_and_operation) {
    auto b = body(get("/changes?limit=10&source=beta"));
    EXPECT_EQ(b.at("changes").as_array().size(), 5u);
    b = body(get("/changes?limit=10&source=alpha&operation=delete"));
    ASSERT_EQ(b.at("changes").as_array().size(), 4u);
    for (const auto& e : b.at("changes").as_array()) {
        EXPECT_EQ(e.at("operation").as_string(), "delete");
    }
    b = body(get("/changes?limit=10&resource=customers&source=beta"));
    EXPECT_EQ(b.at("changes").as_array().size(), 2u);
}

TEST_F(changes_http_test, bad_parameters_are_400_naming_the_parameter) {
    auto r = get("/changes?limit=11");
    EXPECT_EQ(r.status, 400u);
    auto err = body(r).at("error").as_object();
    EXPECT_EQ(err.at("code").as_string(), "invalid_parameter");
    EXPECT_NE(std::string(err.at("message").as_string()).find("limit"), std::string::npos);
    EXPECT_EQ(get("/changes?since=abc").status, 400u);
    EXPECT_EQ(get("/changes?wait=99").status, 400u);
}

TEST_F(changes_http_test, tokens_are_required) {
    EXPECT_EQ(http_get(service_->port(), "/changes").status, 401u);
    auto wrong = http_get(service_->port(), "/changes", {{"Authorization", "Bearer nope"}});
    EXPECT_EQ(wrong.status, 401u);
    EXPECT_EQ(body(wrong).at("error").at("code").as_string(), "unauthorized");
    EXPECT_EQ(wrong.body.find(k_token), std::string::npos);
    // The scheme is case-insensitive; another scheme carrying the token is still refused.
    auto with_scheme = [&](const std::string& scheme) {
        return http_get(service_->port(), "/changes", {{"Authorization", scheme + " " + k_token}}).status;
    };
    EXPECT_EQ(with_scheme("bearer"), 200u);
    EXPECT_EQ(with_scheme("BEARER"), 200u);
    EXPECT_EQ(with_scheme("Basic"), 401u);
    EXPECT_EQ(http_get(service_->port(), "/healthz").status, 200u);
    EXPECT_EQ(http_get(service_->port(), "/readyz").status, 200u);
}

TEST_F(changes_http_test, unknown_path_is_404_and_wrong_method_405_as_json) {
    auto r = get("/nope");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(body(r).at("error").at("code").as_string(), "not_found");
    r = http_request(service_->port(), "DELETE", "/changes");
    EXPECT_EQ(r.status, 405u);
    EXPECT_TRUE(body(r).at("error").is_object());
}

TEST_F(changes_http_test, since_behind_retention_is_410) {
    expire_through(db_.url(), 5);
    auto r = get("/changes?since=2");
    ASSERT_EQ(r.status, 410u);
    auto err = body(r).at("error").as_object();
    EXPECT_EQ(err.at("code").as_string(), "since_expired");
    EXPECT_EQ(err.at("oldest_available").as_int64(), 6);
    EXPECT_EQ(get("/changes?since=5").status, 200u);
}

TEST_F(changes_http_test, since_now_stays_at_the_head_when_retention_deleted_every_event) {
    expire_through(db_.url(), 25);
    auto r = get("/changes?since=now");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(body(r).at("next_since").as_int64(), 25);
    EXPECT_TRUE(body(r).at("changes").as_array().empty());
    EXPECT_EQ(get("/changes?since=25").status, 200u);
    EXPECT_EQ(get("/changes?since=24").status, 410u);
}

TEST_F(changes_http_test, long_poll_returns_when_another_writer_commits) {
    auto head = body(get("/changes?since=now")).at("next_since").as_int64();
    EXPECT_EQ(head, 25);
    auto waiting = std::async(std::launch::async, [&] {
        return get("/changes?wait=30&since=" + std::to_string(head));
    });
    // The reader is parked (no event yet); a commit from another connection must wake it.
    append_events(db_.url(), {make_event(100, "gamma", "insert")});
    auto r = waiting.get();
    ASSERT_EQ(r.status, 200u);
    auto changes = body(r).at("changes").as_array();
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].at("source").as_string(), "gamma");
}

}  // namespace
}  // namespace changefeed::test
