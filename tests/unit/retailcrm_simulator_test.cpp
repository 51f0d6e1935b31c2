// The retailCRM simulator on 127.0.0.1: what it answers and what it counts as a violation, so
// that "no violations" in the source's tests means something.
#include "sim/retailcrm/retailcrm_simulator.hpp"
#include "support/http_client.hpp"
#include "support/sim_runner.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace changefeed::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using sim::retailcrm_simulator;

const std::map<std::string, std::string> k_own{{"X-API-KEY", "sim-retailcrm-key"}};
const std::map<std::string, std::string> k_other{{"X-API-KEY", "sim-retailcrm-other-key"}};

unsigned short port_of(const sim_runner& runner) {
    auto url = runner.base_url();
    return static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
}

json::object body_of(const http_reply& r) { return json::parse(r.body).as_object(); }

TEST(retailcrm_simulator, serves_history_after_since_id_with_the_pagination_envelope) {
    retailcrm_simulator sim;
    sim.generate("orders", 30, time::now() - 1h, 60s);
    auto stored = sim.history("orders");
    sim_runner runner(sim);
    auto port = port_of(runner);

    auto first = http_get(port, "/api/v5/orders/history?limit=20", k_own);
    ASSERT_EQ(first.status, 200u) << first.body;
    auto page = body_of(first);
    EXPECT_EQ(page.at("success"), true);
    const auto& history = page.at("history").as_array();
    ASSERT_EQ(history.size(), 20u);
    for (std::size_t i = 1; i < history.size(); ++i) {
        EXPECT_LT(history[i - 1].at("id").as_int64(), history[i].at("id").as_int64());
    }
    auto total = static_cast<std::int64_t>(stored.size());
    EXPECT_EQ(page.at("pagination"),
              json::value(json::object{{"limit", 20},
                                       {"totalCount", total},
                                       {"currentPage", 1},
                                       {"totalPageCount", (total + 19) / 20}}));

    // Strictly greater than sinceId; the key may also come as a parameter.
    auto since = stored[9].at("id").as_int64();
    auto rest = http_get(
        port, "/api/v5/orders/history?limit=100&apiKey=sim-retailcrm-key&filter%5BsinceId%5D=" +
                  std::to_string(since));
    ASSERT_EQ(rest.status, 200u) << rest.body;
    auto after = body_of(rest).at("history").as_array();
    ASSERT_EQ(after.size(), stored.size() - 10);
    EXPECT_EQ(after.front().at("id").as_int64(), stored[10].at("id").as_int64());
    EXPECT_TRUE(sim.violations().empty());
}

TEST(retailcrm_simulator, refuses_and_counts_what_breaks_the_rules) {
    retailcrm_simulator sim;
    sim.generate("tasks", 5, time::now() - 1h, 60s);
    sim_runner runner(sim);
    auto port = port_of(runner);

    auto missing = http_get(port, "/api/v5/tasks/history");
    EXPECT_EQ(missing.status, 400u);
    EXPECT_EQ(body_of(missing).at("errorMsg"), "\"apiKey\" is missing.");
    auto wrong = http_get(port, "/api/v5/tasks/history", {{"X-API-KEY", "nope"}});
    EXPECT_EQ(wrong.status, 403u);
    EXPECT_EQ(body_of(wrong).at("errorMsg"), "Wrong \"apiKey\" value.");
    EXPECT_TRUE(sim.violations().empty());  // credentials are not the protocol's business

    auto bad_limit = http_get(port, "/api/v5/tasks/history?limit=30", k_own);
    EXPECT_EQ(bad_limit.status, 400u);
    EXPECT_EQ(body_of(bad_limit).at("errorMsg"), "Validation error");
    EXPECT_TRUE(body_of(bad_limit).at("errors").as_object().contains("limit"));
    EXPECT_EQ(sim.violations().size(), 1u);

    auto bad_date =
        http_get(port, "/api/v5/tasks/history?filter%5BstartDate%5D=2024-05-01T00:00:00Z", k_own);
    EXPECT_EQ(bad_date.status, 400u);
    EXPECT_EQ(sim.violations().size(), 2u);

    auto both = http_get(
        port,
        "/api/v5/tasks/history?filter%5BsinceId%5D=1&filter%5BstartDate%5D=2024-05-01%2000:00:00",
        k_own);
    EXPECT_EQ(both.status, 200u);  // the vendor answers; we flag it all the same
    EXPECT_EQ(sim.violations().size(), 3u);

    auto paged = http_get(port, "/api/v5/tasks/history?page=2", k_own);
    EXPECT_EQ(paged.status, 200u);
    EXPECT_EQ(sim.violations().size(), 4u);

    auto unknown = http_get(port, "/api/v5/tasks/history?filter%5Bfoo%5D=1", k_own);
    EXPECT_EQ(unknown.status, 400u);
    EXPECT_EQ(sim.violations().size(), 5u);
}

TEST(retailcrm_simulator, throttles_with_429_and_503_pages) {
    retailcrm_simulator sim;
    sim_runner runner(sim);
    auto port = port_of(runner);

    sim.fail_next(503, 1);
    sim.fail_next(429, 1);
    auto unavailable = http_get(port, "/api/v5/orders/history", k_own);
    EXPECT_EQ(unavailable.status, 503u);
    EXPECT_EQ(unavailable.body.rfind("<html>", 0), 0u);
    auto throttled = http_get(port, "/api/v5/orders/history", k_own);
    EXPECT_EQ(throttled.status, 429u);
    EXPECT_EQ(body_of(throttled).at("success"), false);
    EXPECT_EQ(http_get(port, "/api/v5/orders/history", k_own).status, 200u);
    EXPECT_EQ(sim.unavailable(), 1u);
    EXPECT_EQ(sim.throttled(), 1u);

    // Beyond the account's budget: 429. Beyond the documented 10 a second: a violation too.
    // (Only when the burst really was that fast: these are wall-clock limits.)
    retailcrm_simulator burst_sim;
    burst_sim.set_rate_limit(2);
    sim_runner burst_runner(burst_sim);
    auto burst_port = port_of(burst_runner);
    auto started = std::chrono::steady_clock::now();
    std::vector<unsigned> statuses;
    for (int i = 0; i < 12; ++i) {
        statuses.push_back(http_get(burst_port, "/api/v5/customers/history", k_own).status);
    }
    auto took = std::chrono::steady_clock::now() - started;
    if (took < 900ms) {
        EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200u), 2);
        EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 429u), 10);
        EXPECT_FALSE(burst_sim.violations().empty());
    }
}

TEST(retailcrm_simulator, history_has_every_shape_and_api_key_current_is_relative) {
    retailcrm_simulator sim;
    for (const auto& r : retailcrm_simulator::resources()) {
        sim.generate(r, 200, time::now() - 10h, 60s);
    }
    sim_runner runner(sim);
    auto port = port_of(runner);

    auto orders =
        body_of(http_get(port, "/api/v5/orders/history?limit=250", k_own)).at("history").as_array();
    auto others = body_of(http_get(port, "/api/v5/orders/history?limit=250", k_other))
                      .at("history")
                      .as_array();
    ASSERT_EQ(orders.size(), others.size());
    std::size_t created = 0, named = 0, merges = 0, deletes = 0, removed = 0, cancels = 0, own = 0,
                users = 0, triggers = 0;
    for (std::size_t i = 0; i < orders.size(); ++i) {
        const auto& r = orders[i].as_object();
        const auto& o = r.at("order").as_object();
        EXPECT_TRUE(o.contains("id"));
        if (r.contains("created")) {
            ++created;
            EXPECT_TRUE(o.contains("number"));  // the snapshot
            named += r.contains("field");
            EXPECT_FALSE(r.contains("oldValue"));
        }
        if (r.contains("deleted")) {
            ++deletes;
            merges += r.contains("combinedTo");
        }
        if (r.contains("field") && !r.contains("newValue")) {
            ++removed;
        }
        if (r.contains("item")) {
            ++cancels;
            EXPECT_EQ(r.at("newValue").at("cancel"), true);
        }
        if (r.contains("apiKey")) {
            // What is ours for one key is someone else's for the other.
            auto mine = r.at("apiKey").at("current").as_bool();
            own += mine;
            EXPECT_NE(others[i].at("apiKey").at("current").as_bool(), mine);
        }
        users += r.at("source") == "user" && r.contains("user");
        triggers += r.at("source") == "code";
    }
    EXPECT_GT(created, 0u);
    EXPECT_GT(named, 0u);
    EXPECT_LT(named, created);
    EXPECT_GT(merges, 0u);
    EXPECT_GT(deletes, merges);
    EXPECT_GT(removed, 0u);
    EXPECT_GT(cancels, 0u);
    EXPECT_GT(own, 0u);
    EXPECT_GT(users, 0u);
    EXPECT_GT(triggers, 0u);

    // Pack history carries no apiKey; every method names its own entity.
    auto packs = body_of(http_get(port, "/api/v5/orders/packs/history?limit=250", k_own));
    for (const auto& r : packs.at("history").as_array()) {
        EXPECT_FALSE(r.as_object().contains("apiKey"));
        EXPECT_TRUE(r.as_object().contains("pack"));
    }
    EXPECT_TRUE(body_of(http_get(port, "/api/v5/customers-corporate/history", k_own))
                    .at("history")
                    .at(0)
                    .as_object()
                    .contains("customer"));
    EXPECT_TRUE(body_of(http_get(port, "/api/v5/tasks/history", k_own))
                    .at("history")
                    .at(0)
                    .as_object()
                    .contains("task"));
    EXPECT_TRUE(sim.violations().empty());
}

TEST(retailcrm_simulator, an_unknown_account_answers_an_html_page) {
    retailcrm_simulator sim;
    sim.set_account_exists(false);
    sim_runner runner(sim);
    auto reply = http_get(port_of(runner), "/api/v5/orders/history", k_own);
    EXPECT_EQ(reply.status, 404u);
    EXPECT_EQ(reply.body.rfind("<!DOCTYPE html>", 0), 0u);
}

}  // namespace
}  // namespace changefeed::test
