#include "sim/precoro/precoro_simulator.hpp"

#include "support/run_coro.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace changefeed::sim {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class precoro_simulator_test : public ::testing::Test {
protected:
    void SetUp() override { sim_.install(routes_); }

    http::response get(std::string path, std::vector<std::pair<std::string, std::string>> query = {},
                       bool authenticated = true) {
        http::request req;
        req.method = "GET";
        req.path = std::move(path);
        req.target = req.path;
        req.query = std::move(query);
        if (authenticated) {
            req.headers["x-auth-token"] = "sim-precoro-token";
            req.headers["email"] = "demo@example.com";
        }
        http::response res;
        test::run_coro([&]() -> boost::asio::awaitable<void> {
            res = co_await routes_.dispatch(req);
        }());
        return res;
    }

    static json::object body(const http::response& res) { return json::parse(res.body).as_object(); }

    precoro_simulator sim_;
    http::router routes_;
};

TEST_F(precoro_simulator_test, needs_the_token_and_the_email) {
    EXPECT_EQ(get("/suppliers", {}, false).status, 401u);
    EXPECT_EQ(get("/suppliers").status, 200u);
    EXPECT_TRUE(sim_.violations().empty());
}

TEST_F(precoro_simulator_test, lists_by_modified_since_in_pages) {
    for (int i = 0; i < 25; ++i) {
        sim_.create("suppliers", precoro_simulator::notify::none);
    }
    auto first = body(get("/suppliers", {{"per_page", "20"}, {"page", "1"}}));
    EXPECT_EQ(first.at("data").as_array().size(), 20u);
    EXPECT_EQ(first.at("meta").at("pagination").at("has_next_page"), true);
    auto second = body(get("/suppliers", {{"per_page", "20"}, {"page", "2"}}));
    EXPECT_EQ(second.at("data").as_array().size(), 5u);
    EXPECT_EQ(second.at("meta").at("pagination").at("has_next_page"), false);

    auto later = time::now() + 1h;
    auto since = time::format_rfc3339(later).substr(0, 19);
    auto none = body(get("/suppliers", {{"modifiedSince", since}}));
    EXPECT_TRUE(none.at("data").as_array().empty());
    auto all = body(get("/suppliers", {{"modifiedSince", "2020-01-01T00:00:00"}, {"per_page", "50"}}));
    EXPECT_EQ(all.at("data").as_array().size(), 25u);
    EXPECT_TRUE(sim_.violations().empty());
}

TEST_F(precoro_simulator_test, older_tenants_answer_current_page_and_total_pages) {
    precoro_simulator::options o;
    o.legacy_pagination = true;
    precoro_simulator legacy(o);
    http::router routes;
    legacy.install(routes);
    for (int i = 0; i < 11; ++i) {
        legacy.create("invoices", precoro_simulator::notify::none);
    }
    http::request req;
    req.method = "GET";
    req.path = "/invoices";
    req.query = {{"per_page", "10"}, {"page", "2"}};
    req.headers["x-auth-token"] = "sim-precoro-token";
    req.headers["email"] = "demo@example.com";
    http::response res;
    test::run_coro([&]() -> boost::asio::awaitable<void> { res = co_await routes.dispatch(req); }());
    auto p = body(res).at("meta").at("pagination").as_object();
    EXPECT_EQ(p.at("current_page"), 2);
    EXPECT_EQ(p.at("total_pages"), 2);
    EXPECT_FALSE(p.contains("has_next_page"));
}

TEST_F(precoro_simulator_test, flags_parameters_the_vendor_refuses) {
    EXPECT_EQ(get("/suppliers", {{"per_page", "25"}}).status, 400u);
    EXPECT_EQ(get("/suppliers", {{"modifiedSince", "2026-05-01T10:00:00Z"}}).status, 400u);
    EXPECT_EQ(get("/suppliers", {{"page", "0"}}).status, 400u);
    EXPECT_EQ(get("/suppliers", {{"limit", "200"}}).status, 200u);  // ignored, but not documented
    EXPECT_EQ(sim_.violations().size(), 4u);
}

TEST_F(precoro_simulator_test, documents_are_read_by_idn) {
    auto id = sim_.create("purchaseorders", precoro_simulator::notify::none);
    auto po = sim_.entities("purchaseorders").at(id);
    std::string idn(po.at("idn").as_string());
    ASSERT_NE(idn, std::to_string(id));
    auto res = get("/purchaseorders/" + idn);
    ASSERT_EQ(res.status, 200u);
    EXPECT_EQ(body(res).at("id"), id);
    EXPECT_TRUE(sim_.violations().empty());

    EXPECT_EQ(get("/purchaseorders/" + std::to_string(id)).status, 404u);
    EXPECT_EQ(sim_.violations().size(), 1u);

    auto supplier = sim_.create("suppliers", precoro_simulator::notify::none);
    EXPECT_EQ(get("/suppliers/" + std::to_string(supplier)).status, 200u);
    sim_.remove("suppliers", supplier);
    EXPECT_EQ(get("/suppliers/" + std::to_string(supplier)).status, 404u);
}

TEST_F(precoro_simulator_test, versions_move_by_at_least_a_second) {
    auto id = sim_.create("invoices", precoro_simulator::notify::none);
    sim_.update("invoices", id, precoro_simulator::notify::none);
    sim_.update("invoices", id, precoro_simulator::notify::none);
    auto v = sim_.versions();
    ASSERT_EQ(v.size(), 3u);
    EXPECT_LT(v[0].update_date, v[1].update_date);
    EXPECT_LT(v[1].update_date, v[2].update_date);
    auto e = sim_.entities("invoices").at(id);
    EXPECT_EQ(e.at("updateDate"), v[2].update_date.c_str());
    EXPECT_NE(e.at("createDate"), e.at("updateDate"));
}

TEST_F(precoro_simulator_test, throttles_with_the_json_body_and_flags_an_early_retry) {
    sim_.set_windows({{"Minute limiter", 1000, 60s}, {"Daily limiter", 2, 24h * 1}});
    EXPECT_EQ(get("/suppliers").status, 200u);
    EXPECT_EQ(get("/suppliers").status, 200u);
    auto throttled = get("/suppliers");
    ASSERT_EQ(throttled.status, 429u);
    auto b = body(throttled);
    EXPECT_EQ(b.at("RateLimit-Type"), "Daily limiter");
    // The next UTC midnight, as "YYYY-MM-DD HH:MM:SS UTC".
    auto midnight = std::chrono::floor<std::chrono::days>(time::now()) + std::chrono::days(1);
    auto expected = time::format_rfc3339(time::time_point(midnight)).substr(0, 10) + " 00:00:00 UTC";
    EXPECT_EQ(b.at("RateLimit-Retry-After"), expected.c_str());
    EXPECT_EQ(sim_.throttled(), 1u);
    EXPECT_TRUE(sim_.violations().empty());
    EXPECT_EQ(get("/suppliers").status, 429u);  // asked again before the retry time
    EXPECT_EQ(sim_.violations().size(), 1u);
}

}  // namespace
}  // namespace changefeed::sim
