// Consumer offsets through the whole service: PUT/GET /consumers, GET /changes?consumer=, and
// consumers behind retention.
#include "db/feed_repository.hpp"
#include "db/migrations.hpp"
#include "db/pg_pool.hpp"
#include "support/http_client.hpp"
#include "support/outbox_events.hpp"
#include "support/pg_fixture.hpp"
#include "support/service_fixture.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace changefeed::test {
namespace {

constexpr const char* k_token = "feed-token-for-offset-tests";

class consumer_offsets_test : public ::testing::Test {
protected:
    void SetUp() override {
        db::apply_migrations(db_.url());
        append_numbered(db_.url(), 25);
        app::app_config cfg;
        cfg.database_url = db_.url();
        cfg.feed.tokens = {k_token};
        cfg.feed.max_limit = 10;
        service_ = std::make_unique<running_service>(cfg);
    }

    std::map<std::string, std::string> auth() {
        return {{"Authorization", std::string("Bearer ") + k_token}};
    }
    http_reply get(const std::string& target) { return http_get(service_->port(), target, auth()); }
    http_reply put(const std::string& target, const std::string& body) {
        return http_request(service_->port(), "PUT", target, auth(), body);
    }
    static boost::json::object json(const http_reply& r) { return boost::json::parse(r.body).as_object(); }
    static std::string code(const http_reply& r) {
        return std::string(json(r).at("error").at("code").as_string());
    }

    scratch_database db_;
    std::unique_ptr<running_service> service_;
};

TEST_F(consumer_offsets_test, an_offset_moves_forward_and_reads_back) {
    auto r = put("/consumers/billing/offset", R"({"seq": 5})");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(json(r).at("seq").as_int64(), 5);
    r = put("/consumers/billing/offset", R"({"seq": 12})");
    ASSERT_EQ(r.status, 200u) << r.body;
    auto g = get("/consumers/billing");
    ASSERT_EQ(g.status, 200u) << g.body;
    auto body = json(g);
    EXPECT_EQ(body.at("name").as_string(), "billing");
    EXPECT_EQ(body.at("seq").as_int64(), 12);
    std::string updated_at(body.at("updated_at").as_string());
    EXPECT_EQ(updated_at.size(), 24u) << updated_at;  // 2026-11-20T09:15:02.123Z
    EXPECT_EQ(updated_at.back(), 'Z');
    EXPECT_EQ(put("/consumers/billing/offset", R"({"seq": 12})").status, 200u) << "same seq again";
}

TEST_F(consumer_offsets_test, moving_backwards_is_409_unless_forced) {
    ASSERT_EQ(put("/consumers/crm/offset", R"({"seq": 10})").status, 200u);
    auto r = put("/consumers/crm/offset", R"({"seq": 4})");
    EXPECT_EQ(r.status, 409u);
    EXPECT_EQ(code(r), "offset_backwards");
    EXPECT_EQ(json(r).at("error").at("current_seq").as_int64(), 10);
    EXPECT_EQ(json(get("/consumers/crm")).at("seq").as_int64(), 10);
    r = put("/consumers/crm/offset?force=true", R"({"seq": 4})");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(json(get("/consumers/crm")).at("seq").as_int64(), 4);
}

TEST_F(consumer_offsets_test, bad_names_bodies_and_offsets_beyond_the_head_are_refused) {
    EXPECT_EQ(get("/consumers/nobody").status, 404u);
    EXPECT_EQ(code(get("/consumers/nobody")), "unknown_consumer");
    EXPECT_EQ(code(get("/consumers/Bad.Name")), "invalid_parameter");
    EXPECT_EQ(put("/consumers/Bad.Name/offset", R"({"seq": 1})").status, 400u);
    EXPECT_EQ(put("/consumers/" + std::string(41, 'a') + "/offset", R"({"seq": 1})").status, 400u);
    for (const char* body : {"", "not json", "{}", R"({"seq": -1})", R"({"seq": "3"})", "[1]"}) {
        auto r = put("/consumers/ok/offset", body);
        EXPECT_EQ(r.status, 400u) << body;
        EXPECT_EQ(code(r), "invalid_body") << body;
    }
    EXPECT_EQ(put("/consumers/ok/offset?force=yes", R"({"seq": 1})").status, 400u);
    auto beyond = put("/consumers/ok/offset", R"({"seq": 26})");
    EXPECT_EQ(beyond.status, 409u);
    EXPECT_EQ(code(beyond), "offset_beyond_head");
    EXPECT_EQ(json(beyond).at("error").at("head").as_int64(), 25);
    EXPECT_EQ(get("/consumers/ok").status, 404u) << "nothing was stored";
    EXPECT_EQ(put("/consumers/ok/offset", R"({"seq": 25})").status, 200u);
    EXPECT_EQ(http_request(service_->port(), "GET", "/consumers/ok/offset").status, 405u);
}

TEST_F(consumer_offsets_test, a_feed_token_is_required) {
    EXPECT_EQ(http_request(service_->port(), "PUT", "/consumers/x/offset", {}, R"({"seq": 1})").status, 401u);
    EXPECT_EQ(http_get(service_->port(), "/consumers/x").status, 401u);
}

TEST_F(consumer_offsets_test, changes_reads_from_the_offset_without_moving_it) {
    ASSERT_EQ(put("/consumers/reader/offset", R"({"seq": 20})").status, 200u);
    for (int i = 0; i < 2; ++i) {
        auto r = get("/changes?consumer=reader&limit=10");
        ASSERT_EQ(r.status, 200u) << r.body;
        auto changes = json(r).at("changes").as_array();
        ASSERT_EQ(changes.size(), 5u);
        EXPECT_EQ(changes[0].at("seq").as_int64(), 21);
        EXPECT_EQ(json(r).at("next_since").as_int64(), 25);
    }
    EXPECT_EQ(json(get("/consumers/reader")).at("seq").as_int64(), 20);
    EXPECT_EQ(code(get("/changes?consumer=reader&since=3")), "invalid_parameter");
    auto unknown = get("/changes?consumer=nobody");
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_EQ(code(unknown), "unknown_consumer");
}

TEST_F(consumer_offsets_test, a_consumer_behind_retention_gets_410_and_shows_as_expired) {
    ASSERT_EQ(put("/consumers/slow/offset", R"({"seq": 2})").status, 200u);
    ASSERT_EQ(put("/consumers/fast/offset", R"({"seq": 20})").status, 200u);
    expire_through(db_.url(), 5);
    auto r = get("/changes?consumer=slow");
    EXPECT_EQ(r.status, 410u);
    EXPECT_EQ(code(r), "since_expired");
    EXPECT_EQ(get("/changes?consumer=fast").status, 200u);
    auto conn = db::open_connection(db_.url());
    auto list = db::list_consumers(*conn);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].name, "fast");
    EXPECT_FALSE(list[0].expired);
    EXPECT_EQ(list[1].name, "slow");
    EXPECT_TRUE(list[1].expired);
}

}  // namespace
}  // namespace changefeed::test
