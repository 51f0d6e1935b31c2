// GET /changes as Server-Sent Events over real HTTP, against a real PostgreSQL: framing, resume,
// live events from this replica and from others, filters, heartbeats, errors before the stream,
// and shutdown.
#include "db/feed_repository.hpp"
#include "db/migrations.hpp"
#include "db/pg_pool.hpp"
#include "support/feed_server.hpp"
#include "support/http_client.hpp"
#include "support/outbox_events.hpp"
#include "support/pg_fixture.hpp"
#include "support/sse_client.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace changefeed::test {
namespace {

constexpr const char* k_token = "feed-token-for-sse-tests";

class feed_stream_test : public ::testing::Test {
protected:
    void SetUp() override {
        db::apply_migrations(db_.url());
        std::vector<core::change_event> events;
        for (int i = 1; i <= 25; ++i) {
            events.push_back(numbered_event(i, i <= 20 ? "alpha" : "beta", i % 5 == 0 ? "delete" : "update"));
        }
        append_as_other_replica(db_.url(), std::move(events));
        feed::feed_settings settings;
        settings.tokens = {k_token};
        settings.max_limit = 10;
        settings.heartbeat = std::chrono::milliseconds(200);
        server_ = std::make_unique<feed_server>(db_.url(), settings);
    }

    std::map<std::string, std::string> auth(std::map<std::string, std::string> more = {}) {
        more["Authorization"] = std::string("Bearer ") + k_token;
        return more;
    }

    std::unique_ptr<sse_client> stream(const std::string& target,
                                       std::map<std::string, std::string> headers = {}) {
        return std::make_unique<sse_client>(server_->port(), target, auth(std::move(headers)));
    }

    // The next event's seq, checking the frame: id = seq, event "change", data one JSON line.
    static std::int64_t next_seq(sse_client& s, std::string* source = nullptr) {
        auto item = s.next_event();
        if (!item) {
            ADD_FAILURE() << "the stream ended";
            return -1;
        }
        EXPECT_EQ(item->event, "change");
        EXPECT_EQ(item->data.find('\n'), std::string::npos);
        auto event = boost::json::parse(item->data).as_object();
        auto seq = event.at("seq").as_int64();
        EXPECT_EQ(item->id, std::to_string(seq));
        if (source != nullptr) {
            *source = std::string(event.at("source").as_string());
        }
        return seq;
    }

    scratch_database db_;
    std::unique_ptr<feed_server> server_;
};

TEST_F(feed_stream_test, streams_events_as_sse_frames) {
    auto s = stream("/changes?since=20");
    ASSERT_EQ(s->status(), 200u) << s->body();
    EXPECT_EQ(s->headers().at("content-type"), "text/event-stream");
    EXPECT_EQ(s->headers().at("cache-control"), "no-cache");
    for (std::int64_t expected = 21; expected <= 25; ++expected) {
        EXPECT_EQ(next_seq(*s), expected);
    }
}

TEST_F(feed_stream_test, limit_is_the_page_size_of_each_read) {
    auto s = stream("/changes?since=0&limit=2");
    ASSERT_EQ(s->status(), 200u);
    for (std::int64_t expected = 1; expected <= 25; ++expected) {
        ASSERT_EQ(next_seq(*s), expected);
    }
}

TEST_F(feed_stream_test, last_event_id_wins_over_since) {
    auto s = stream("/changes?since=3", {{"Last-Event-ID", "22"}});
    ASSERT_EQ(s->status(), 200u);
    EXPECT_EQ(next_seq(*s), 23);
    auto now = stream("/changes?since=now", {{"Last-Event-ID", "23"}});
    ASSERT_EQ(now->status(), 200u);
    EXPECT_EQ(next_seq(*now), 24);
}

TEST_F(feed_stream_test, since_now_streams_what_is_committed_later_here_and_elsewhere) {
    auto s = stream("/changes?since=now");
    ASSERT_EQ(s->status(), 200u);
    server_->append({numbered_event(100, "gamma", "insert")});  // this replica's writer
    std::string source;
    EXPECT_EQ(next_seq(*s, &source), 26);
    EXPECT_EQ(source, "gamma");
    append_as_other_replica(db_.url(), {numbered_event(101, "delta", "insert")});  // NOTIFY
    EXPECT_EQ(next_seq(*s, &source), 27);
    EXPECT_EQ(source, "delta");
}

TEST_F(feed_stream_test, filters_apply_to_the_stream) {
    auto s = stream("/changes?source=beta&operation=update");
    ASSERT_EQ(s->status(), 200u);
    for (std::int64_t expected : {21, 22, 23, 24}) {
        EXPECT_EQ(next_seq(*s), expected);
    }
    server_->append({numbered_event(200, "alpha", "update"), numbered_event(201, "beta", "delete"),
                     numbered_event(202, "beta", "update")});
    std::string source;
    EXPECT_EQ(next_seq(*s, &source), 28);
    EXPECT_EQ(source, "beta");
}

TEST_F(feed_stream_test, an_idle_stream_gets_comment_heartbeats) {
    auto s = stream("/changes?since=now");
    ASSERT_EQ(s->status(), 200u);
    auto item = s->next();
    ASSERT_TRUE(item);
    EXPECT_TRUE(item->is_comment);
    EXPECT_EQ(item->comment, "keep-alive");
}

TEST_F(feed_stream_test, errors_are_json_before_the_stream_starts) {
    auto json_error = [](sse_client& s, unsigned status, const std::string& code) {
        EXPECT_EQ(s.status(), status);
        EXPECT_EQ(s.headers().at("content-type"), "application/json");
        EXPECT_EQ(boost::json::parse(s.body()).at("error").at("code").as_string(), code) << s.body();
    };
    sse_client no_token(server_->port(), "/changes");
    json_error(no_token, 401, "unauthorized");
    auto bad_limit = stream("/changes?limit=11");
    json_error(*bad_limit, 400, "invalid_parameter");
    auto bad_id = stream("/changes", {{"Last-Event-ID", "abc"}});
    json_error(*bad_id, 400, "invalid_parameter");
    auto unknown = stream("/changes?consumer=nobody");
    json_error(*unknown, 404, "unknown_consumer");
    expire_through(db_.url(), 5);
    auto expired = stream("/changes?since=2");
    json_error(*expired, 410, "since_expired");
    EXPECT_EQ(boost::json::parse(expired->body()).at("error").at("oldest_available").as_int64(), 6);
}

TEST_F(feed_stream_test, a_consumer_offset_starts_the_stream) {
    auto put = http_request(server_->port(), "PUT", "/consumers/sse-reader/offset", auth(), R"({"seq": 20})");
    ASSERT_EQ(put.status, 200u) << put.body;
    auto s = stream("/changes?consumer=sse-reader");
    ASSERT_EQ(s->status(), 200u);
    EXPECT_EQ(next_seq(*s), 21);
}

TEST_F(feed_stream_test, shutdown_ends_the_streams) {
    auto first = stream("/changes?since=24");
    auto second = stream("/changes?since=now&source=nobody");
    ASSERT_EQ(first->status(), 200u);
    ASSERT_EQ(second->status(), 200u);
    EXPECT_EQ(next_seq(*first), 25);
    EXPECT_TRUE(server_->stop(std::chrono::seconds(10))) << "the server did not stop";
    // Each stream ends cleanly: heartbeats at most, then the end.
    for (auto* s : {first.get(), second.get()}) {
        std::optional<sse_client::item> item;
        int guard = 0;
        do {
            item = s->next();
        } while (item && item->is_comment && ++guard < 100);
        EXPECT_FALSE(item.has_value());
    }
}

}  // namespace
}  // namespace changefeed::test
