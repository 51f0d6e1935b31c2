// The status page's server side against a real PostgreSQL: GET / and its files as embedded, and
// GET /activity counting what a source committed (SPEC section 5 plus proto-docs/openapi.yaml).
#include "db/migrations.hpp"
#include "sim/pennylane/pennylane_simulator.hpp"
#include "support/eventually.hpp"
#include "support/feed_reader.hpp"
#include "support/http_client.hpp"
#include "support/pg_fixture.hpp"
#include "support/service_fixture.hpp"
#include "support/sim_runner.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>


namespace changefeed::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::map<std::string, std::string> k_auth{{"Authorization", "Bearer feed-token"}};

std::string header(const http_reply& r, const std::string& name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
}

std::int64_t sum(const json::value& counts) {
    std::int64_t n = 0;
    for (const auto& c : counts.as_array()) {
        n += c.to_number<std::int64_t>();
    }
    return n;
}

class status_page_test : public ::testing::Test {
protected:
    void SetUp() override { db::apply_migrations(db_.url()); }
    scratch_database db_;
};

TEST_F(status_page_test, serves_the_embedded_page_and_its_files_without_a_token) {
    running_service svc(config_with_sources(db_.url(), "", {"feed-token"}));

    auto page = http_get(svc.port(), "/");
    ASSERT_EQ(page.status, 200u);
    EXPECT_EQ(header(page, "content-type"), "text/html; charset=utf-8");
    EXPECT_NE(header(page, "content-security-policy").find("default-src 'none'"), std::string::npos);
    EXPECT_NE(page.body.find("<script src=\"/ui/status.js\""), std::string::npos);
    EXPECT_NE(page.body.find("/ui/status.css"), std::string::npos);

    auto script = http_get(svc.port(), "/ui/status.js");
    ASSERT_EQ(script.status, 200u);
    EXPECT_EQ(header(script, "content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(header(script, "x-content-type-options"), "nosniff");
    EXPECT_NE(script.body.find("Last-Event-ID"), std::string::npos);
    EXPECT_EQ(http_get(svc.port(), "/ui/status.css").status, 200u);

    auto missing = http_get(svc.port(), "/ui/missing.js");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(json::parse(missing.body).at("error").at("code"), "not_found");
    EXPECT_EQ(http_get(svc.port(), "/ui/index.html").status, 404u);  // the page is served at / only
    EXPECT_EQ(http_request(svc.port(), "POST", "/").status, 405u);
}

TEST_F(status_page_test, activity_counts_the_events_a_source_committed_and_needs_the_token) {
    sim::pennylane_simulator::options opts;
    opts.rate_limit = {1000, 5s};
    sim::pennylane_simulator sim(opts);
    sim.generate("suppliers", 30, time::now() - 10min, 1s, 1, 10);
    sim_runner runner(sim);
    auto sources = "  - name: pennylane\n"
                   "    kind: pennylane\n"
                   "    base_url: \"" + runner.base_url() + "\"\n"
                   "    token: \"sim-pennylane-token\"\n"
                   "    resources: [suppliers]\n"
                   "    rate_limit: [{limit: 1000, window: 5s}]\n";
    running_service svc(config_with_sources(db_.url(), sources, {"feed-token"}));
    auto feed = read_feed_until(svc.port(), 30, 30s, "feed-token");
    ASSERT_EQ(feed.events.size(), 30u);

    EXPECT_EQ(http_get(svc.port(), "/activity").status, 401u);
    // The poller reports a commit after the feed can already serve it: poll, with a deadline.
    json::object body;
    ASSERT_TRUE(eventually(
        [&] {
            auto reply = http_get(svc.port(), "/activity", k_auth);
            EXPECT_EQ(reply.status, 200u);
            body = reply.status == 200 ? json::parse(reply.body).as_object() : json::object{};
            return body.contains("total") && sum(body.at("total")) >= 30;
        },
        10s))
        << json::serialize(body);

    EXPECT_EQ(body.at("minutes"), 60);
    EXPECT_EQ(body.at("total").as_array().size(), 60u);
    EXPECT_EQ(sum(body.at("total")), 30);
    ASSERT_EQ(body.at("sources").as_array().size(), 1u);
    const auto& p = body.at("sources").as_array()[0];
    EXPECT_EQ(p.at("name"), "pennylane");
    EXPECT_EQ(sum(p.at("counts")), 30);
    EXPECT_EQ(body.at("head_seq").to_number<std::int64_t>(), feed.events.back().at("seq").to_number<std::int64_t>());
    auto start = time::parse_rfc3339(std::string(body.at("minute_start").as_string()));
    ASSERT_TRUE(start);
    EXPECT_LE(*start, time::now() - 59min);
}

}  // namespace
}  // namespace changefeed::test
