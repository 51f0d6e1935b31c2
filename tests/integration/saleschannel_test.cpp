// The sales-channel source against its simulator and a real PostgreSQL: a backlog with runs of
// equal createdAt longer than a page (grown `$limit`, then the walk by id), null createdAt rows
// and unknown event types; JSON encoding with Bearer auth; the 5 requests/s limit; and a kill -9
// between pages.
#include "db/migrations.hpp"
#include "resync_support.hpp"
#include "sim/saleschannel/saleschannel_simulator.hpp"
#include "support/feed_reader.hpp"
#include "support/http_client.hpp"
#include "support/pg_fixture.hpp"
#include "support/serve_child.hpp"
#include "support/service_fixture.hpp"
#include "support/sim_runner.hpp"
#include "support/source_status.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <set>

namespace changefeed::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using sim::saleschannel_simulator;

std::string source_yaml(const std::string& base_url, const std::string& extra = {}) {
    return "  - name: payments\n"
           "    kind: saleschannel\n"
           "    base_url: \"" + base_url + "\"\n"
           "    poll_interval: 60s\n" + extra;
}

std::string basic_auth_yaml() {
    return "    api_key_id: \"sim-puro-key-id\"\n"
           "    api_key_secret: \"sim-puro-passphrase\"\n";
}

std::string fast_budget() { return "    rate_limit: [{limit: 1000, window: 1s}]\n"; }

saleschannel_simulator::options generous_sim() {
    saleschannel_simulator::options o;
    o.rate_limit = {1000, 1s};
    return o;
}

std::multiset<std::string> expected_ids(const saleschannel_simulator& sim) {
    std::multiset<std::string> out;
    for (const auto& e : sim.events()) {
        out.insert(e.id);
    }
    return out;
}

std::multiset<std::string> received_ids(const std::vector<json::object>& events) {
    std::multiset<std::string> out;
    for (const auto& e : events) {
        out.insert(std::string(e.at("upstream").at("id").as_string()));
    }
    return out;
}

std::string first_or_none(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

class saleschannel_test : public ::testing::Test {
protected:
    void SetUp() override { db::apply_migrations(db_.url()); }
    scratch_database db_;
};

TEST_F(saleschannel_test, a_backlog_with_long_ties_nulls_and_unknown_types_arrives_exactly_once) {
    saleschannel_simulator sim(generous_sim());
    auto base = time::now() - 2h;
    sim.add_status_changes(300, base, 1s, 3, 1);
    // 250 at one instant: the page grows from 100 to 400. 1200 at one instant: more than the
    // largest $limit the vendor serves (500), so they are walked in id order.
    sim.add_status_changes(250, base + 10min, 0ms, 250, 2);
    sim.add_status_changes(1200, base + 11min, 0ms, 1200, 3);
    sim.add_null_created(3, base + 12min, 4);
    sim.add_unknown(8, base + 13min, 5);
    sim.add_status_changes(60, base + 14min, 500ms, 2, 6);
    sim_runner runner(sim);
    auto expected = expected_ids(sim);
    ASSERT_EQ(expected.size(), 1821u);

    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), basic_auth_yaml() + fast_budget())));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);

    EXPECT_EQ(received_ids(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
    EXPECT_EQ(sim.largest_limit(), 500);
    EXPECT_GT(sim.id_ordered_requests(), 0u);

    std::map<std::string, json::object> by_id;
    for (const auto& e : feed.events) {
        by_id[std::string(e.at("upstream").at("id").as_string())] = e;
    }
    std::size_t unknown = 0;
    std::size_t without_created = 0;
    for (const auto& row : sim.events()) {
        const auto& e = by_id.at(row.id);
        if (!row.created_at) {
            ++without_created;
            // occurred_at from eventAt where there is one.
            if (row.event_at) {
                EXPECT_EQ(e.at("occurred_at"), json::value(time::format_rfc3339(*row.event_at)));
            }
        }
        const auto* details = row.details.if_object();
        if (row.event_type == "TRANSACTION_STATUS_CHANGE" && details != nullptr &&
            details->contains("transactionId")) {
            EXPECT_EQ(e.at("resource"), "transactions");
            EXPECT_EQ(e.at("resource_id"), details->at("transactionId"));
            const auto& change = e.at("changes").at(0);
            EXPECT_EQ(change.at("field"), "status");
            EXPECT_EQ(change.at("new"), details->at("status"));
            auto old = details->if_contains("previousStatus");
            EXPECT_EQ(change.at("old"), old != nullptr ? *old : json::value(nullptr));
        } else {
            ++unknown;
            EXPECT_EQ(e.at("resource_id"), json::value(row.id));
            EXPECT_EQ(e.at("upstream").at("details"), row.details);
        }
    }
    EXPECT_EQ(unknown, 8u);
    EXPECT_EQ(without_created, 3u);

    auto sources = json::parse(http_get(svc.port(), "/sources").body);
    const auto& status = sources.at("sources").at(0);
    EXPECT_EQ(status.at("null_created_at"), 3) << json::serialize(status);
    EXPECT_FALSE(status.as_object().contains("tie_walk"));
}

TEST_F(saleschannel_test, json_encoding_with_a_bearer_token) {
    auto o = generous_sim();
    o.encoding = saleschannel_simulator::accepted_encoding::json;
    saleschannel_simulator sim(o);
    auto base = time::now() - 1h;
    sim.add_status_changes(150, base, 1s, 1, 7);
    sim.add_status_changes(120, base + 5min, 0ms, 120, 8);  // a full page at one instant
    sim_runner runner(sim);
    auto expected = expected_ids(sim);

    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), "    token: \"sim-puro-bearer-token\"\n"
                                                  "    query_encoding: json\n" + fast_budget())));
    auto feed = read_feed_until(svc.port(), expected.size(), 30s);

    EXPECT_EQ(received_ids(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
    EXPECT_EQ(sim.largest_limit(), 200);
}

TEST_F(saleschannel_test, the_vendor_rate_limit_is_ridden_out_without_a_violation) {
    saleschannel_simulator sim;  // 5 requests per second, as the vendor's default
    sim.add_status_changes(200, time::now() - 1h, 1s, 1, 9);
    sim_runner runner(sim);
    auto expected = expected_ids(sim);

    // Told it may send far more than the vendor takes: the vendor's 429s pace it.
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), basic_auth_yaml() +
                                                      "    page_limit: 20\n"
                                                      "    rate_limit: [{limit: 100, window: 1s}]\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 30s);

    EXPECT_EQ(received_ids(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_GT(sim.throttled(), 0u);
    // The throttled answers reach the metrics (counted per attempt by the shared client).
    auto metrics = http_get(svc.port(), "/metrics").body;
    EXPECT_NE(metrics.find("changefeed_upstream_requests_total{source=\"payments\",status=\"429\"} "),
              std::string::npos) << metrics;
    EXPECT_NE(metrics.find("changefeed_events_total{source=\"payments\",resource=\"transactions\","
                           "operation=\"update\"} "),
              std::string::npos) << metrics;
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
}

TEST_F(saleschannel_test, rejected_credentials_show_as_failing_without_the_secret) {
    saleschannel_simulator sim(generous_sim());
    sim.add_status_changes(5, time::now() - 1h, 1s, 1, 10);
    sim_runner runner(sim);

    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), "    api_key_id: \"sim-puro-key-id\"\n"
                                                  "    api_key_secret: \"wrong-passphrase-4711\"\n" +
                                                      fast_budget())));
    // The status is polled: no event is committed that could be awaited instead.
    auto status = await_source(svc.port(), "payments",
                               [](const json::object& s) { return s.at("state") == "failing"; }, 5s);
    ASSERT_EQ(status.at("state"), "failing") << json::serialize(status);
    auto error = std::string(status.at("last_error").as_string());
    EXPECT_NE(error.find("401"), std::string::npos) << error;
    EXPECT_NE(error.find("Unauthorized"), std::string::npos) << error;
    EXPECT_EQ(error.find("wrong-passphrase-4711"), std::string::npos) << error;
    EXPECT_TRUE(sim.violations().empty());
}

// The service as a child process, killed with SIGKILL while it reads the backlog.
TEST_F(saleschannel_test, a_kill_between_pages_loses_and_duplicates_nothing) {
    saleschannel_simulator sim(generous_sim());
    auto base = time::now() - 1h;
    sim.add_null_created(2, base, 11);
    sim.add_status_changes(400, base, 1s, 2, 12);
    sim.add_status_changes(700, base + 10min, 0ms, 700, 13);  // walked by id across the kill
    sim.add_status_changes(300, base + 11min, 1s, 3, 14);
    std::atomic<int> victim{-1};
    std::atomic<int> id_walk_requests{0};
    sim.on_request([&](const http::request& req) {
        // The third page of the walk: the walk's first pages were committed.
        if (req.target.find("%24orderBy%5Bid%5D") != std::string::npos && ++id_walk_requests == 3) {
            int pid = victim.load();
            if (pid > 0) {
                ::kill(pid, SIGKILL);
            }
        }
    });
    sim_runner runner(sim);
    auto expected = expected_ids(sim);
    auto yaml = source_yaml(runner.base_url(), basic_auth_yaml() + fast_budget());

    EXPECT_EQ(serve_until_ended(db_.url(), yaml, victim), 128 + SIGKILL);
    auto stored_before = stored_events(db_.url());
    EXPECT_GT(stored_before, 400u);
    EXPECT_LT(stored_before, expected.size());

    running_service svc(config_with_sources(db_.url(), yaml));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);
    EXPECT_EQ(received_ids(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
}

// The log is append-only and filtered by createdAt (gte), so a resync replays it from `from`.
TEST_F(saleschannel_test, a_resync_replays_the_log_from_created_at_without_duplicates) {
    saleschannel_simulator sim(generous_sim());
    auto base = std::chrono::floor<std::chrono::seconds>(time::now() - 2h);
    sim.add_status_changes(150, base, 20s, 1, 21);
    sim.add_status_changes(120, base + 1h, 0ms, 120, 22);  // more than a page at one instant
    std::mutex mutex;
    std::vector<std::optional<std::string>> asked;  // $filter[createdAt][gte] of every request
    sim.on_request([&](const http::request& req) {
        auto gte = req.query_param("$filter[createdAt][gte]");
        std::lock_guard lock(mutex);
        asked.emplace_back(gte ? std::optional<std::string>(*gte) : std::nullopt);
    });
    sim_runner runner(sim);
    const std::string token = "feed-token";
    // A poll interval of an hour: after the backlog only the resync reads the log.
    auto yaml = source_yaml(runner.base_url(), basic_auth_yaml() + fast_budget());
    yaml.replace(yaml.find("poll_interval: 60s"), 18, "poll_interval: 1h");
    running_service svc(config_with_sources(db_.url(), yaml, {token}));
    auto backlog_expected = expected_ids(sim);
    auto backlog = read_feed_until(svc.port(), backlog_expected.size(), 60s, token);
    ASSERT_EQ(received_ids(backlog.events), backlog_expected);

    sim.add_status_changes(7, time::now() - 2s, 100ms, 1, 23);  // recorded meanwhile
    auto expected = expected_ids(sim);
    auto from = base + 1h - 10s;
    std::int64_t replayed = 0;
    for (const auto& e : sim.events()) {
        replayed += e.created_at && *e.created_at >= from;
    }
    std::size_t asked_before = 0;
    {
        std::lock_guard lock(mutex);
        asked_before = asked.size();
    }
    auto started = post_resync(svc.port(), token, "payments", time::format_rfc3339(from));
    ASSERT_EQ(started.status, 202u) << started.body;
    auto replay = await_resync(svc.port(), token, "payments", resync_finished);
    expect_resync_done(replay);
    EXPECT_EQ(replay.at("events").as_int64(), replayed);

    auto fresh = read_feed_until(svc.port(), expected.size() - backlog_expected.size() + 1, 3s, token,
                                 backlog.next_since);
    auto all = backlog.events;
    all.insert(all.end(), fresh.events.begin(), fresh.events.end());
    EXPECT_EQ(received_ids(all), expected);
    EXPECT_TRUE(duplicate_event_ids(all).empty());
    auto stored = count_outbox(db_.url(), "payments");
    EXPECT_EQ(stored.rows, static_cast<std::int64_t>(expected.size()));
    EXPECT_EQ(stored.distinct_ids, stored.rows);
    {
        std::lock_guard lock(mutex);
        auto first = std::find_if(asked.begin() + static_cast<std::ptrdiff_t>(asked_before), asked.end(),
                                  [](const auto& gte) { return gte.has_value(); });
        ASSERT_NE(first, asked.end());
        EXPECT_EQ(time::parse_rfc3339(**first), from);
    }
    sim.on_request(nullptr);
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
}

}  // namespace
}  // namespace changefeed::test
