// The Pennylane source against its simulator and a real PostgreSQL: backlogs with ties across
// pages, hydration cost, 429 storms, refused cursors, the retention resync, /sources, and a
// kill -9 between pages.
#include "resync_support.hpp"

#include "core/json_diff.hpp"
#include "db/migrations.hpp"
#include "sim/pennylane/pennylane_simulator.hpp"
#include "support/child_process.hpp"
#include "support/eventually.hpp"
#include "support/feed_reader.hpp"
#include "support/http_client.hpp"
#include "support/metrics_text.hpp"
#include "support/pg_fixture.hpp"
#include "support/service_fixture.hpp"
#include "support/sim_runner.hpp"
#include "support/source_status.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <csignal>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <set>
#include <tuple>

namespace changefeed::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using sim::pennylane_simulator;

using change_identity = std::tuple<std::string, std::string, std::string, std::string>;

std::string source_yaml(const std::string& base_url, const std::string& extra = {},
                        const std::string& poll_interval = "60s") {
    return "  - name: pennylane\n"
           "    kind: pennylane\n"
           "    base_url: \"" + base_url + "\"\n"
           "    token: \"sim-pennylane-token\"\n"
           "    hydrate: true\n"
           "    poll_interval: " + poll_interval + "\n" + extra;
}

std::string fast_budget() { return "    rate_limit: [{limit: 1000, window: 5s}]\n"; }

// changefeed_events_total of the pennylane source's `resource` in a /metrics text, all operations.
double events_counted(const std::string& metrics, const std::string& resource) {
    double counted = 0;
    for (const char* op : {"insert", "update", "delete"}) {
        counted += metric_value(metrics, "changefeed_events_total{source=\"pennylane\",resource=\"" +
                                             resource + "\",operation=\"" + op + "\"}");
    }
    return counted;
}

// The data of each resource's last event in `events`, by resource_id (none after a delete).
std::map<std::string, json::value> last_data_by_id(const std::vector<json::object>& events) {
    std::map<std::string, json::value> last;
    for (const auto& e : events) {
        auto id = std::string(e.at("resource_id").as_string());
        if (e.at("data").is_null()) {
            last.erase(id);
        } else {
            last[id] = e.at("data");
        }
    }
    return last;
}

pennylane_simulator::options generous_sim() {
    pennylane_simulator::options o;
    o.rate_limit = {1000, 5s};
    return o;
}

// What the simulator's changelogs hold (within retention), as event identities.
std::multiset<change_identity> expected_changes(const pennylane_simulator& sim,
                                                const std::vector<std::string>& resources) {
    std::multiset<change_identity> out;
    auto oldest = time::now() - std::chrono::hours(24 * 28);
    for (const auto& r : resources) {
        for (const auto& c : sim.changelog(r)) {
            if (c.processed_at >= oldest) {
                out.emplace(r, std::to_string(c.id), c.operation, time::format_rfc3339(c.processed_at));
            }
        }
    }
    return out;
}

std::multiset<change_identity> received_changes(const std::vector<json::object>& events) {
    std::multiset<change_identity> out;
    for (const auto& e : events) {
        if (e.contains("snapshot")) {
            continue;
        }
        out.emplace(std::string(e.at("resource").as_string()), std::string(e.at("resource_id").as_string()),
                    std::string(e.at("operation").as_string()), std::string(e.at("occurred_at").as_string()));
    }
    return out;
}

std::size_t total(const std::multiset<change_identity>& s) { return s.size(); }

class pennylane_test : public ::testing::Test {
protected:
    void SetUp() override { db::apply_migrations(db_.url()); }
    scratch_database db_;
};

TEST_F(pennylane_test, a_backlog_with_ties_across_pages_arrives_exactly_once_and_hydrated) {
    pennylane_simulator sim(generous_sim());
    auto base = time::now() - 2h;
    sim.generate("customer_invoices", 3000, base, 250ms, 7, 1);
    // 1500 changes at one instant: the run spans two pages of 1000.
    sim.generate_tie("customer_invoices", 1500, base + 20min, 2);
    sim.generate("customer_invoices", 500, base + 30min, 100ms, 3, 3);
    sim.generate("suppliers", 500, base, 1s, 5, 4);
    sim_runner runner(sim);
    auto expected = expected_changes(sim, {"customer_invoices", "suppliers"});
    ASSERT_EQ(total(expected), 5500u);

    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() +
                                                     "    resources: [customer_invoices, suppliers]\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);
    auto requests = sim.requests_of("changelog") + sim.requests_of("list");

    EXPECT_EQ(received_changes(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_TRUE(sim.violations().empty()) << sim.violations().front();
    // At most 11 upstream requests per 1000 changes (a changelog page and ten `in` chunks),
    // plus the page per resource that finds nothing more.
    EXPECT_LE(requests, 11 * expected.size() / 1000 + 2) << requests << " requests";

    // Hydrated: the current record where it still exists, null where it is gone.
    auto invoices = sim.records("customer_invoices");
    std::size_t with_data = 0;
    for (const auto& e : feed.events) {
        if (e.at("resource") != "customer_invoices") {
            continue;
        }
        auto id = std::stoll(std::string(e.at("resource_id").as_string()));
        auto it = invoices.find(id);
        if (e.at("operation") == "delete" || it == invoices.end()) {
            EXPECT_TRUE(e.at("data").is_null()) << json::serialize(e);
        } else {
            EXPECT_EQ(e.at("data"), json::value(it->second)) << json::serialize(e);
            ++with_data;
        }
    }
    EXPECT_GT(with_data, 1000u);
}

TEST_F(pennylane_test, a_429_storm_is_ridden_out_without_a_protocol_violation) {
    pennylane_simulator::options o;
    o.rate_limit = {4, 1s};  // far below what the source is told it may send
    pennylane_simulator sim(o);
    sim.generate("products", 1200, time::now() - 1h, 1s, 1, 5);
    sim_runner runner(sim);
    auto expected = expected_changes(sim, {"products"});

    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), "    rate_limit: [{limit: 100, window: 1s}]\n"
                                                  "    resources: [products]\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 90s);

    EXPECT_EQ(received_changes(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_GT(sim.throttled(), 0u);
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << " violations, first: " << violations.front();
}

// A request waiting out a 429's Retry-After shows in /sources while it waits, not only once its
// retries run out: the vendor's window here is 20 s long, so the wait outlasts any scheduling.
TEST_F(pennylane_test, a_request_waiting_out_a_429_shows_in_sources) {
    pennylane_simulator::options o;
    o.rate_limit = {2, 20s};
    pennylane_simulator sim(o);
    sim.generate("suppliers", 30, time::now() - 10min, 1s, 1, 12);
    sim_runner runner(sim);
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    resources: [suppliers]\n"
                                                                  "    page_limit: 10\n")));
    auto shown = await_source(
        svc.port(), "pennylane",
        [](const json::object& s) { return last_error_of(s).find("answered 429") != std::string::npos; },
        15s);
    const auto& e = shown.at("last_error");
    ASSERT_TRUE(e.is_string()) << json::serialize(shown);
    EXPECT_NE(e.get_string().find("answered 429"), json::string::npos) << json::serialize(shown);
    EXPECT_EQ(shown.at("state"), "backing_off") << json::serialize(shown);
    EXPECT_EQ(e.get_string().find("sim-pennylane-token"), json::string::npos);
    EXPECT_GT(sim.throttled(), 0u);
    EXPECT_TRUE(sim.violations().empty());
}

TEST_F(pennylane_test, a_refused_cursor_restarts_from_the_watermark) {
    pennylane_simulator sim(generous_sim());
    sim.generate("customers", 900, time::now() - 1h, 200ms, 9, 6);
    std::atomic<int> cursor_requests{0};
    sim.on_request([&](const http::request& req) {
        if (req.path.find("/changelogs/") != std::string::npos && req.query_param("cursor") &&
            ++cursor_requests == 3) {
            sim.expire_cursors();  // the vendor's request session ended mid-walk
        }
    });
    sim_runner runner(sim);
    auto expected = expected_changes(sim, {"customers"});

    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    page_limit: 100\n"
                                                                    "    resources: [customers]\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);

    EXPECT_EQ(received_changes(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_EQ(sim.cursors_refused(), 1u);
    EXPECT_TRUE(sim.violations().empty());
}

// Stores a checkpoint as an earlier run would have left it.
void store_checkpoint(const std::string& url, const std::string& resource, time::time_point watermark) {
    pqxx::connection c(url);
    pqxx::work tx(c);
    json::object cp{{"watermark", time::format_rfc3339_us(watermark)},
                    {"floor", time::format_rfc3339_us(watermark - 1min)},
                    {"recent", json::array{}}};
    tx.exec_params("INSERT INTO source_checkpoints (source, scope, checkpoint) VALUES ($1, $2, $3::jsonb)",
                   "pennylane", resource, json::serialize(cp));
    tx.commit();
}

TEST_F(pennylane_test, a_watermark_beyond_retention_resyncs_through_the_list_endpoint) {
    pennylane_simulator::options o = generous_sim();
    o.retention = 2h;  // a short changelog memory, so the vendor's 422 path is taken too
    pennylane_simulator sim(o);
    sim.generate("customers", 200, time::now() - 5h, 10s, 1, 7);
    sim.generate("products", 150, time::now() - 5h, 10s, 1, 8);
    sim_runner runner(sim);
    // customers: older than the configured retention (the source notices by itself);
    // products: within it, but older than the vendor keeps (the vendor answers 422).
    store_checkpoint(db_.url(), "customers", time::now() - std::chrono::hours(24 * 40));
    store_checkpoint(db_.url(), "products", time::now() - 3h);
    auto customers = sim.records("customers");
    auto products = sim.records("products");

    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    resources: [customers, products]\n",
                               "1s")));
    auto feed = read_feed_until(svc.port(), customers.size() + products.size(), 60s);

    std::map<std::string, std::set<std::string>> snapshots;
    for (const auto& e : feed.events) {
        ASSERT_TRUE(e.contains("snapshot")) << json::serialize(e);
        EXPECT_EQ(e.at("operation"), "update");
        snapshots[std::string(e.at("resource").as_string())].insert(std::string(e.at("resource_id").as_string()));
        auto id = std::stoll(std::string(e.at("resource_id").as_string()));
        const auto& records = e.at("resource") == "customers" ? customers : products;
        EXPECT_EQ(e.at("data"), json::value(records.at(id)));
    }
    EXPECT_EQ(snapshots["customers"].size(), customers.size());
    EXPECT_EQ(snapshots["products"].size(), products.size());

    // After the listing the changelog resumes: a new change arrives as a change event.
    sim.generate("customers", 3, time::now(), 1ms, 1, 9);
    auto more = read_feed_until(svc.port(), 3, 30s, {}, feed.next_since);
    ASSERT_EQ(more.events.size(), 3u);
    for (const auto& e : more.events) {
        EXPECT_FALSE(e.contains("snapshot"));
        EXPECT_EQ(e.at("resource"), "customers");
    }
    EXPECT_TRUE(sim.violations().empty());
}

// Holds every simulator request while closed (so a resync stays running as long as a test needs).
class request_gate {
public:
    void close() {
        std::lock_guard lock(mutex_);
        open_ = false;
    }
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void pass() {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, 30s, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = true;
};

TEST_F(pennylane_test, a_resync_replays_without_duplicates_and_lists_what_the_changelog_lost) {
    pennylane_simulator sim(generous_sim());
    sim.generate("customers", 120, time::now() - 2h, 30s, 1, 21);
    request_gate gate;
    sim.on_request([&gate](const http::request&) { gate.pass(); });
    sim_runner runner(sim);
    const std::string token = "feed-token";
    const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + token},
                                                  {"Content-Type", "application/json"}};
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    resources: [customers]\n"),
        {token}));
    auto first = read_feed_until(svc.port(), 120, 60s, token);
    ASSERT_EQ(first.events.size(), 120u);

    EXPECT_EQ(http_request(svc.port(), "POST", "/sources/pennylane/resync").status, 401u);
    auto unknown = http_request(svc.port(), "POST", "/sources/nope/resync", auth);
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_NE(unknown.body.find("unknown_source"), std::string::npos) << unknown.body;
    for (const std::string body : {R"({"from":"yesterday"})", R"({"form":"2026-01-01T00:00:00Z"})",
                                   R"({"from":"2999-01-01T00:00:00Z"})", "[1]"}) {
        auto bad = http_request(svc.port(), "POST", "/sources/pennylane/resync", auth, body);
        EXPECT_EQ(bad.status, 400u) << body;
        EXPECT_NE(bad.body.find("invalid_body"), std::string::npos) << bad.body;
    }

    // A replay of the changelog from three hours back: while the vendor is held, it runs and a
    // second request is refused; once done, nothing new is in the feed.
    gate.close();
    auto from = time::format_rfc3339(time::now() - 3h);
    auto started = http_request(svc.port(), "POST", "/sources/pennylane/resync", auth,
                                R"({"from":")" + from + R"("})");
    ASSERT_EQ(started.status, 202u) << started.body;
    EXPECT_EQ(json::parse(started.body).at("resync").at("state"), "running");
    auto again = http_request(svc.port(), "POST", "/sources/pennylane/resync", auth);
    EXPECT_EQ(again.status, 409u);
    EXPECT_NE(again.body.find("resync_running"), std::string::npos) << again.body;
    await_resync(svc.port(), token, "pennylane", [](const json::object& r) { return r.at("state") == "running"; });
    gate.open();
    auto replay = await_resync(svc.port(), token, "pennylane", resync_finished);
    EXPECT_EQ(replay.at("state"), "done") << json::serialize(replay);
    EXPECT_EQ(replay.at("events").as_int64(), 120);
    EXPECT_GE(replay.at("pages").as_int64(), 1);
    EXPECT_TRUE(replay.at("finished_at").is_string());
    EXPECT_TRUE(replay.at("position").is_string());
    EXPECT_TRUE(replay.at("eta").is_null());
    auto after_replay = read_feed_until(svc.port(), 1, 1s, token, first.next_since);
    EXPECT_TRUE(after_replay.events.empty()) << json::serialize(after_replay.events.front());

    // From 40 days back the changelog cannot replay: current state is listed as snapshots.
    auto records = sim.records("customers");
    auto listed = http_request(svc.port(), "POST", "/sources/pennylane/resync", auth,
                               R"({"from":")" + time::format_rfc3339(time::now() - 24h * 40) + R"("})");
    ASSERT_EQ(listed.status, 202u) << listed.body;
    auto listing = await_resync(svc.port(), token, "pennylane", resync_finished);
    EXPECT_EQ(listing.at("state"), "done") << json::serialize(listing);
    auto snapshots = read_feed_until(svc.port(), records.size(), 30s, token, first.next_since);
    ASSERT_EQ(snapshots.events.size(), records.size());
    // Every listed record was hydrated by the first pass: its snapshot carries changes against
    // the state stored then (none differ: the vendor changed nothing since).
    auto hydrated = last_data_by_id(first.events);
    for (const auto& e : snapshots.events) {
        EXPECT_TRUE(e.contains("snapshot")) << json::serialize(e);
        EXPECT_EQ(e.at("operation"), "update");
        auto before = hydrated.find(std::string(e.at("resource_id").as_string()));
        ASSERT_NE(before, hydrated.end()) << json::serialize(e);
        ASSERT_TRUE(e.contains("changes")) << json::serialize(e);
        EXPECT_EQ(e.at("changes"), json::value(core::json_diff(before->second, e.at("data"))))
            << json::serialize(e);
    }
    auto everything = first.events;
    everything.insert(everything.end(), snapshots.events.begin(), snapshots.events.end());
    EXPECT_TRUE(duplicate_event_ids(everything).empty());
    EXPECT_TRUE(sim.violations().empty()) << sim.violations().front();
}

TEST_F(pennylane_test, a_start_beyond_retention_without_a_list_endpoint_reads_what_the_changelog_keeps) {
    pennylane_simulator sim(generous_sim());
    sim.generate("transactions", 30, time::now() - 2h, 1min, 1, 51);
    sim_runner runner(sim);
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    resources: [transactions]\n"
                                                  "    start_from: \"" +
                                                      time::format_rfc3339(time::now() - 24h * 40) + "\"\n")));
    // Transactions cannot be listed: the source reads the changelog from the oldest retained
    // entry instead (what lies before is lost, and logged), rather than trying to list forever.
    auto feed = read_feed_until(svc.port(), 30, 30s);
    ASSERT_EQ(feed.events.size(), 30u);
    for (const auto& e : feed.events) {
        EXPECT_EQ(e.at("resource"), "transactions");
        EXPECT_FALSE(e.contains("snapshot")) << json::serialize(e);
    }
    auto status = await_source(
        svc.port(), "pennylane",
        [](const json::object& s) { return s.at("checkpoint").at("transactions").at("watermark").is_string(); },
        10s);
    EXPECT_TRUE(status.at("checkpoint").at("transactions").at("watermark").is_string())
        << json::serialize(status);
    EXPECT_TRUE(sim.violations().empty()) << sim.violations().front();
}

TEST_F(pennylane_test, a_listing_diffs_against_stored_states_and_a_replay_counts_only_new_events) {
    pennylane_simulator sim(generous_sim());
    sim.generate("customers", 40, time::now() - 2h, 30s, 1, 41);
    sim_runner runner(sim);
    const std::string token = "feed-token";
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    resources: [customers]\n", "1h"),
        {token}));
    auto first = read_feed_until(svc.port(), 40, 60s, token);
    ASSERT_EQ(first.events.size(), 40u);
    auto hydrated = last_data_by_id(first.events);
    // Each finished resync has its own started_at: wait for the one just posted.
    auto await_next_resync = [&](const std::string& from) {
        auto before = source_status(svc.port(), "pennylane", {{"Authorization", "Bearer " + token}});
        auto previous = before.contains("resync") ? json::serialize(before.at("resync").at("started_at"))
                                                  : std::string();
        auto started = post_resync(svc.port(), token, "pennylane", from);
        EXPECT_EQ(started.status, 202u) << started.body;
        return await_resync(svc.port(), token, "pennylane", [&](const json::object& r) {
            return json::serialize(r.at("started_at")) != previous && resync_finished(r);
        });
    };

    // Changes the poller (asleep for an hour) has not read; a listing finds their records first.
    sim.generate("customers", 12, time::now() - 30min, 1s, 1, 42);
    auto listing = await_next_resync(time::format_rfc3339(time::now() - 24h * 40));
    EXPECT_EQ(listing.at("state"), "done") << json::serialize(listing);
    auto records = sim.records("customers");
    auto snapshots = read_feed_until(svc.port(), records.size(), 30s, token, first.next_since);
    ASSERT_EQ(snapshots.events.size(), records.size());
    std::size_t changed = 0;
    for (const auto& e : snapshots.events) {
        auto before = hydrated.find(std::string(e.at("resource_id").as_string()));
        if (before == hydrated.end()) {
            EXPECT_FALSE(e.contains("changes")) << "first sight: " << json::serialize(e);
            continue;
        }
        ASSERT_TRUE(e.contains("changes")) << json::serialize(e);
        EXPECT_EQ(e.at("changes"), json::value(core::json_diff(before->second, e.at("data"))))
            << json::serialize(e);
        changed += e.at("changes").as_array().empty() ? 0 : 1;
    }
    EXPECT_GT(changed, 0u) << "the new changes updated no record the first pass had hydrated";

    // A replay of the changelog: its first 40 entries are stored already, the 12 new ones are
    // not, and a page holds both. The metric counts what was stored, duplicates aside.
    auto replay = await_next_resync(time::format_rfc3339(time::now() - 3h));
    EXPECT_EQ(replay.at("state"), "done") << json::serialize(replay);
    auto page = http_get(svc.port(), "/changes?limit=1000&since=" + std::to_string(snapshots.next_since),
                         {{"Authorization", "Bearer " + token}});
    ASSERT_EQ(page.status, 200u) << page.body;
    EXPECT_EQ(json::parse(page.body).at("changes").as_array().size(), 12u) << page.body;
    // The resync's end commits with its last events; the metric follows once the commit returned.
    const double expected = static_cast<double>(40 + records.size() + 12);
    std::string text;
    EXPECT_TRUE(eventually([&] {
        text = http_get(svc.port(), "/metrics").body;
        return events_counted(text, "customers") == expected;
    })) << text;
}

TEST_F(pennylane_test, hydrated_events_carry_changes_against_the_state_stored_before) {
    pennylane_simulator sim(generous_sim());
    sim.generate("customers", 60, time::now() - 1h, 1s, 1, 31);
    sim_runner runner(sim);
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    resources: [customers]\n"
                                                  "    hydrate_chunk: 7\n"
                                                  "    page_limit: 25\n", "1s")));
    // Pages of 25: a page is committed while the next one is read, and its states must count.
    auto first = read_feed_until(svc.port(), 60, 60s);
    ASSERT_EQ(first.events.size(), 60u);
    sim.generate("customers", 40, time::now(), 1ms, 1, 32);
    auto second = read_feed_until(svc.port(), 40, 60s, {}, first.next_since);
    ASSERT_EQ(second.events.size(), 40u);

    // The model: in feed order, an event with data has changes against the data of the id's
    // previous event, none at the first sight or after a delete.
    std::map<std::string, json::value> last;
    std::size_t with_changes = 0;
    std::size_t nonempty = 0;
    auto all = first.events;
    all.insert(all.end(), second.events.begin(), second.events.end());
    for (const auto& e : all) {
        auto id = std::string(e.at("resource_id").as_string());
        const auto& data = e.at("data");
        if (data.is_null()) {
            EXPECT_FALSE(e.contains("changes")) << json::serialize(e);
            last.erase(id);
            continue;
        }
        if (auto before = last.find(id); before != last.end()) {
            ASSERT_TRUE(e.contains("changes")) << json::serialize(e);
            EXPECT_EQ(e.at("changes"), json::value(core::json_diff(before->second, data)))
                << json::serialize(e);
            ++with_changes;
            nonempty += e.at("changes").as_array().empty() ? 0 : 1;
        } else {
            EXPECT_FALSE(e.contains("changes")) << json::serialize(e);
        }
        last[id] = data;
    }
    EXPECT_GT(with_changes, 0u);
    EXPECT_GT(nonempty, 0u);
    for (const auto& e : second.events) {
        if (e.contains("changes")) {
            for (const auto& c : e.at("changes").as_array()) {
                EXPECT_EQ(c.at("field").as_string().front(), '/') << json::serialize(c);
            }
        }
    }
}

TEST_F(pennylane_test, sources_shows_state_checkpoint_counters_and_budget) {
    pennylane_simulator sim(generous_sim());
    sim.generate("suppliers", 30, time::now() - 10min, 1s, 1, 10);
    sim_runner runner(sim);
    running_service svc(config_with_sources(db_.url(), source_yaml(runner.base_url(), "    resources: [suppliers]\n"),
                                            {"feed-token"}));
    read_feed_until(svc.port(), 30, 30s, "feed-token");

    EXPECT_EQ(http_get(svc.port(), "/sources").status, 401u);
    auto reply = http_get(svc.port(), "/sources", {{"Authorization", "Bearer feed-token"}});
    ASSERT_EQ(reply.status, 200u);
    auto sources = json::parse(reply.body).at("sources").as_array();
    ASSERT_EQ(sources.size(), 1u);
    const auto& s = sources[0].as_object();
    EXPECT_EQ(s.at("name"), "pennylane");
    EXPECT_EQ(s.at("kind"), "pennylane");
    EXPECT_TRUE(s.at("state") == "idle" || s.at("state") == "polling") << s.at("state");
    EXPECT_TRUE(s.at("checkpoint").as_object().at("suppliers").as_object().at("watermark").is_string());
    EXPECT_TRUE(s.at("last_poll_at").is_string());
    EXPECT_TRUE(s.at("last_success_at").is_string());
    EXPECT_TRUE(s.at("last_error").is_null());
    EXPECT_TRUE(s.contains("next_poll_at"));
    EXPECT_EQ(s.at("events_total").as_int64(), 30);
    EXPECT_GE(s.at("requests_total").as_int64(), 2);
    const auto& budget = s.at("budget").as_array();
    ASSERT_EQ(budget.size(), 1u);
    EXPECT_EQ(budget[0].at("limit"), 25);
    EXPECT_EQ(budget[0].at("window"), "5s");
    EXPECT_LT(budget[0].at("remaining").as_int64(), 25);
    EXPECT_TRUE(budget[0].at("resets_at").is_string());
}

TEST_F(pennylane_test, metrics_show_events_requests_lag_budget_and_state) {
    pennylane_simulator sim(generous_sim());
    sim.generate("suppliers", 40, time::now() - 10min, 1s, 1, 12);
    sim_runner runner(sim);
    running_service svc(config_with_sources(db_.url(), source_yaml(runner.base_url(), "    resources: [suppliers]\n")));
    read_feed_until(svc.port(), 40, 30s);

    auto reply = http_get(svc.port(), "/metrics");
    ASSERT_EQ(reply.status, 200u);
    EXPECT_EQ(reply.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    const auto& text = reply.body;
    EXPECT_EQ(events_counted(text, "suppliers"), 40) << text;
    EXPECT_NE(text.find("changefeed_upstream_requests_total{source=\"pennylane\",status=\"200\"} "), std::string::npos);
    EXPECT_NE(text.find("changefeed_source_lag_seconds{source=\"pennylane\"} "), std::string::npos);
    EXPECT_NE(text.find("changefeed_rate_budget_remaining{source=\"pennylane\",window=\"5s\"} "), std::string::npos);
    EXPECT_NE(text.find("changefeed_outbox_head_seq 40\n"), std::string::npos) << text;
    EXPECT_NE(text.find("changefeed_http_request_duration_seconds_bucket{route=\"/changes\",method=\"GET\",status=\"200\",le=\"+Inf\"} "),
              std::string::npos);
    auto idle = text.find("changefeed_source_state{source=\"pennylane\",state=\"idle\"} 1");
    auto polling = text.find("changefeed_source_state{source=\"pennylane\",state=\"polling\"} 1");
    EXPECT_TRUE(idle != std::string::npos || polling != std::string::npos) << text;
}

TEST_F(pennylane_test, a_rejected_token_marks_the_source_failing_without_leaking_it) {
    pennylane_simulator sim(generous_sim());
    sim_runner runner(sim);
    auto yaml = source_yaml(runner.base_url(), "    resources: [suppliers]\n");
    yaml.replace(yaml.find("sim-pennylane-token"), 19, "wrong-token-4711");
    running_service svc(config_with_sources(db_.url(), yaml));
    auto s = await_source(
        svc.port(), "pennylane", [](const json::object& st) { return st.at("state") == "failing"; }, 10s);
    EXPECT_EQ(s.at("state"), "failing");
    auto error = last_error_of(s);
    EXPECT_NE(error.find("401"), std::string::npos) << error;
    EXPECT_EQ(error.find("wrong-token-4711"), std::string::npos) << error;
}

// The service as a child process, killed with SIGKILL while it walks the changelog.
TEST_F(pennylane_test, a_kill_between_pages_loses_and_duplicates_nothing) {
    pennylane_simulator sim(generous_sim());
    sim.generate("customer_invoices", 2500, time::now() - 1h, 100ms, 4, 11);
    std::atomic<int> victim{-1};
    std::atomic<int> changelog_requests{0};
    sim.on_request([&](const http::request& req) {
        if (req.path.find("/changelogs/") != std::string::npos && ++changelog_requests == 5) {
            int pid = victim.load();
            if (pid > 0) {
                ::kill(pid, SIGKILL);  // mid-walk: pages 1-4 were asked for, page 5 never answered
            }
        }
    });
    sim_runner runner(sim);
    auto expected = expected_changes(sim, {"customer_invoices"});

    auto dir = std::filesystem::temp_directory_path() / ("cf-kill-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto config_path = (dir / "config.yaml").string();
    {
        std::ofstream out(config_path);
        out << "listen: \"127.0.0.1:0\"\n"
            << "database_url: \"" << db_.url() << "\"\n"
            << "sources:\n"
            << source_yaml(runner.base_url(), fast_budget() + "    page_limit: 200\n"
                                                              "    resources: [customer_invoices]\n");
    }
    {
        child_process first(changefeed_binary(), {"serve", "--config", config_path}, (dir / "first.log").string());
        victim = first.pid();
        EXPECT_EQ(first.wait(60000), 128 + SIGKILL);
    }
    victim = -1;
    auto stored_before = [&] {
        pqxx::connection c(db_.url());
        pqxx::nontransaction tx(c);
        return tx.exec1("SELECT count(*) FROM outbox")[0].as<std::size_t>();
    }();
    EXPECT_GT(stored_before, 0u);
    EXPECT_LT(stored_before, expected.size());

    // Restart in-process and let it finish the walk.
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), fast_budget() + "    page_limit: 200\n"
                                                                    "    resources: [customer_invoices]\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);
    EXPECT_EQ(received_changes(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_TRUE(sim.violations().empty());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace changefeed::test
