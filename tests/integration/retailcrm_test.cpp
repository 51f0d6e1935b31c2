// retailCRM end to end: the service polls the retailCRM simulator's five history methods into a
// real PostgreSQL. Every test asserts exactly-once delivery (the set of upstream history records
// equals the set of events, no event_id twice) and that the simulator saw no protocol violation.
#include "sim/retailcrm/retailcrm_simulator.hpp"
#include "resync_support.hpp"
#include "sources/retailcrm/account_zone.hpp"
#include "support/child_process.hpp"
#include "support/feed_reader.hpp"
#include "support/http_client.hpp"
#include "support/pg_fixture.hpp"
#include "support/service_fixture.hpp"
#include "support/sim_runner.hpp"
#include "support/source_status.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>

namespace changefeed::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using sim::retailcrm_simulator;

using record_key = std::pair<std::string, std::int64_t>;  // resource, history id

std::string
source_yaml(const std::string& name, const std::string& base_url, const std::string& extra) {
    return "  - name: " + name +
           "\n"
           "    kind: retailcrm\n"
           "    base_url: \"" +
           base_url +
           "\"\n"
           "    api_key: \"sim-retailcrm-key\"\n"
           "    poll_interval: 1s\n" +
           extra;
}

std::set<record_key> upstream_keys(const retailcrm_simulator& sim,
                                   const std::vector<std::string>& resources,
                                   bool without_own = false) {
    std::set<record_key> keys;
    for (const auto& r : resources) {
        for (const auto& record : sim.history(r)) {
            const auto* key = record.if_contains("apiKey");
            bool own = key != nullptr && key->as_object().at("current").as_bool();
            if (!(without_own && own)) {
                keys.insert({r, record.at("id").as_int64()});
            }
        }
    }
    return keys;
}

std::set<record_key> event_keys(const std::vector<json::object>& events) {
    std::set<record_key> keys;
    for (const auto& e : events) {
        keys.insert(
            {std::string(e.at("resource").as_string()), e.at("upstream").at("id").as_int64()});
    }
    return keys;
}

std::size_t count_own(const retailcrm_simulator& sim, const std::string& resource) {
    std::size_t n = 0;
    for (const auto& record : sim.history(resource)) {
        const auto* key = record.if_contains("apiKey");
        n += key != nullptr && key->as_object().at("current").as_bool() ? 1 : 0;
    }
    return n;
}

void expect_no_violations(const retailcrm_simulator& sim) {
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty())
        << violations.size() << " violations, first: " << violations.front();
}

// Each event says what its record says: operation, entity, account time, field change, actor.
void expect_faithful(const json::object& e, const sources::retailcrm::account_zone& zone) {
    const auto& up = e.at("upstream").as_object();
    auto flag = [&](const char* key) {
        const auto* v = up.if_contains(key);
        return v != nullptr && v->as_bool();
    };
    auto op = flag("created") ? "insert" : flag("deleted") ? "delete" : "update";
    EXPECT_EQ(e.at("operation"), op) << json::serialize(e);
    std::string resource(e.at("resource").as_string());
    auto entity = resource == "orders"         ? "order"
                  : resource == "orders_packs" ? "pack"
                  : resource == "tasks"        ? "task"
                                               : "customer";
    EXPECT_EQ(e.at("resource_id"), json::value(std::to_string(up.at(entity).at("id").as_int64())));
    auto local = sources::retailcrm::parse_local(up.at("createdAt").as_string());
    ASSERT_TRUE(local);
    EXPECT_EQ(e.at("occurred_at"),
              json::value(time::format_rfc3339(time::time_point{zone.to_utc(*local)})));
    if (const auto* field = up.if_contains("field")) {
        const auto& change = e.at("changes").at(0).as_object();
        EXPECT_EQ(change.at("field"), *field);
        const auto* new_value = up.if_contains("newValue");
        EXPECT_EQ(change.at("new"), new_value != nullptr ? *new_value : json::value(nullptr));
    } else {
        EXPECT_FALSE(e.contains("changes"));
    }
    if (const auto* key = up.if_contains("apiKey")) {
        EXPECT_EQ(e.at("actor").at("own_key"), key->at("current"));
    }
}

TEST(retailcrm_source, backlog_of_every_method_arrives_exactly_once_then_new_changes_follow) {
    scratch_database db;
    retailcrm_simulator::options opts;
    opts.timezone = "Europe/Moscow";
    retailcrm_simulator sim(opts);
    auto start = time::now() - 48h;
    const std::vector<std::string> all{"orders", "customers", "customers_corporate", "orders_packs",
                                       "tasks"};
    sim.generate("orders", 150, start, 60s);
    sim.generate("customers", 60, start, 60s);
    sim.generate("customers_corporate", 40, start, 60s);
    sim.generate("orders_packs", 30, start, 60s);
    sim.generate("tasks", 30, start, 60s);
    auto expected = upstream_keys(sim, all);
    ASSERT_GE(expected.size(), 310u);
    sim_runner runner(sim);

    running_service svc(config_with_sources(
        db.url(),
        source_yaml("crm", runner.base_url(),
                    "    resources: [orders, customers, customers_corporate, orders_packs, tasks]\n"
                    "    page_limit: 50\n"
                    "    timezone: Europe/Moscow\n")));
    auto backlog = read_feed_until(svc.port(), expected.size(), 30s);
    EXPECT_EQ(backlog.events.size(), expected.size());
    EXPECT_TRUE(duplicate_event_ids(backlog.events).empty());
    EXPECT_EQ(event_keys(backlog.events), expected);

    auto zone = std::get<sources::retailcrm::account_zone>(
        sources::retailcrm::account_zone::load("Europe/Moscow"));
    std::size_t own = 0, merges = 0, directories = 0, numbers = 0, booleans = 0;
    for (const auto& e : backlog.events) {
        expect_faithful(e, zone);
        EXPECT_EQ(e.at("source"), "crm");
        EXPECT_EQ(e.at("source_kind"), "retailcrm");
        const auto& up = e.at("upstream").as_object();
        own += e.contains("actor") && e.at("actor").as_object().contains("own_key") &&
               e.at("actor").at("own_key").as_bool();
        merges += up.contains("combinedTo");
        if (const auto* v = up.if_contains("newValue")) {
            directories += v->is_object() && v->as_object().contains("code");
            numbers += v->is_number();
            booleans += v->is_bool();
        }
    }
    // The backlog exercised what the mapping must keep.
    EXPECT_GT(own, 0u);
    EXPECT_GT(merges, 0u);
    EXPECT_GT(directories, 0u);
    EXPECT_GT(numbers, 0u);
    EXPECT_GT(booleans, 0u);

    // New changes arrive through sinceId.
    sim.generate("orders", 5, time::now(), 0s);
    sim.generate("tasks", 3, time::now(), 0s);
    auto fresh_expected = upstream_keys(sim, all);
    for (const auto& k : expected) {
        fresh_expected.erase(k);
    }
    auto fresh = read_feed_until(svc.port(), fresh_expected.size(), 30s, {}, backlog.next_since);
    EXPECT_EQ(event_keys(fresh.events), fresh_expected);
    EXPECT_EQ(fresh.events.size(), fresh_expected.size());

    // Every method started from the whole history, then went on by sinceId alone.
    std::set<std::string> started;
    for (const auto& r : sim.requests_seen()) {
        EXPECT_EQ(r.key, "sim-retailcrm-key");
        if (r.status != 200) {
            continue;
        }
        EXPECT_FALSE(r.page) << r.resource;
        EXPECT_FALSE(r.start_date) << r.resource;
        EXPECT_EQ(r.limit, 50);
        if (started.insert(r.resource).second) {
            EXPECT_FALSE(r.since_id) << r.resource;
        } else {
            EXPECT_TRUE(r.since_id) << r.resource;
        }
    }
    EXPECT_EQ(started.size(), all.size());
    expect_no_violations(sim);
}

TEST(retailcrm_source, throttling_503_and_429_back_off_and_lose_nothing) {
    scratch_database db;
    retailcrm_simulator::options opts;
    opts.rate_limit = 5;           // the account answers 429 beyond 5 requests a second
    opts.unavailable_rate = 0.15;  // and throttles with a 503 page now and then
    opts.seed = 7;
    retailcrm_simulator sim(opts);
    sim.generate("orders", 120, time::now() - 1h, 10s);
    sim.generate("customers", 30, time::now() - 1h, 10s);
    sim.fail_next(503, 1);
    sim.fail_next(429, 1);
    auto expected = upstream_keys(sim, {"orders", "customers"});
    sim_runner runner(sim);

    running_service svc(config_with_sources(
        db.url(), source_yaml("crm", runner.base_url(),
                              "    resources: [orders, customers]\n    page_limit: 50\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);
    EXPECT_EQ(feed.events.size(), expected.size());
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_EQ(event_keys(feed.events), expected);
    EXPECT_GT(sim.unavailable(), 0u);
    EXPECT_GT(sim.throttled(), 0u);
    expect_no_violations(sim);
}

TEST(retailcrm_source, own_changes_are_flagged_or_skipped_and_the_checkpoint_moves_past_them) {
    scratch_database db;
    retailcrm_simulator sim;
    auto start = time::now() - 2h;
    sim.generate("orders", 60, start, 10s);
    // The history ends with changes made through the service's own key.
    sim.generate("orders", 6, start + 1h, 1s, retailcrm_simulator::maker::own_key);
    auto all = upstream_keys(sim, {"orders"});
    auto others = upstream_keys(sim, {"orders"}, true);
    auto own = count_own(sim, "orders");
    ASSERT_EQ(all.size() - others.size(), own);
    ASSERT_GE(own, 6u);
    auto last_id = sim.history("orders").back().at("id").as_int64();
    sim_runner runner(sim);

    // Two sources on one key share its 10 requests a second.
    const std::string shared = "    resources: [orders]\n    page_limit: 20\n"
                               "    rate_limit: [{limit: 4, window: 1s}]\n";
    running_service svc(
        config_with_sources(db.url(), source_yaml("crm_all", runner.base_url(), shared) +
                                          source_yaml("crm_skip", runner.base_url(),
                                                      shared + "    skip_own_changes: true\n")));
    auto flagged = read_feed_until(svc.port(), all.size(), 30s, {}, 0, "&source=crm_all");
    EXPECT_EQ(event_keys(flagged.events), all);
    EXPECT_TRUE(duplicate_event_ids(flagged.events).empty());
    std::size_t flagged_own = 0;
    for (const auto& e : flagged.events) {
        const auto& actor = e.at("actor").as_object();
        if (actor.contains("own_key") && actor.at("own_key").as_bool()) {
            ++flagged_own;
            EXPECT_EQ(actor.at("type"), "api");
        }
    }
    EXPECT_EQ(flagged_own, own);

    // One more change by someone else: once it arrives, the skipping source is past our own.
    sim.generate("orders", 1, time::now(), 0s, retailcrm_simulator::maker::user);
    others.insert({"orders", sim.history("orders").back().at("id").as_int64()});
    auto skipped = read_feed_until(svc.port(), others.size(), 30s, {}, 0, "&source=crm_skip");
    EXPECT_EQ(event_keys(skipped.events), others);
    EXPECT_TRUE(duplicate_event_ids(skipped.events).empty());
    for (const auto& e : skipped.events) {
        const auto& actor = e.at("actor").as_object();
        EXPECT_FALSE(actor.contains("own_key") && actor.at("own_key").as_bool());
    }
    auto status = source_status(svc.port(), "crm_skip");
    EXPECT_GT(status.at("checkpoint").at("orders").at("since_id").as_int64(), last_id);
    EXPECT_EQ(status.at("own_changes_skipped").to_number<std::uint64_t>(), own);
    EXPECT_EQ(
        source_status(svc.port(), "crm_all").at("own_changes_skipped").to_number<std::uint64_t>(),
        0u);
    expect_no_violations(sim);
}

TEST(retailcrm_source, start_date_and_start_from_bootstrap_once_then_since_id) {
    scratch_database db;
    retailcrm_simulator sim;  // account time +03:00
    auto start = time::now() - 2h;
    sim.generate("orders", 60, start, 60s);
    sim.generate("customers", 20, start, 60s);
    auto orders = sim.history("orders");
    auto from = std::string(orders[orders.size() / 2].at("createdAt").as_string());
    std::set<record_key> expected;
    for (const auto& r : orders) {
        if (std::string_view(r.at("createdAt").as_string()) >= from) {
            expected.insert({"orders", r.at("id").as_int64()});
        }
    }
    ASSERT_LT(expected.size(), orders.size());
    ASSERT_GT(expected.size(), 20u);  // more than a page: the second request must use sinceId

    std::promise<void> customers_polled;
    std::atomic<bool> first_customers{true};
    sim.on_request([&](const http::request& req) {
        if (req.path == "/api/v5/customers/history" && first_customers.exchange(false)) {
            customers_polled.set_value();
        }
    });
    sim_runner runner(sim);
    const std::string slow = "    rate_limit: [{limit: 4, window: 1s}]\n    timezone: \"+03:00\"\n";
    running_service svc(config_with_sources(
        db.url(), source_yaml("crm_dated", runner.base_url(),
                              slow + "    resources: [orders]\n    start_date: \"" + from +
                                  "\"\n    page_limit: 20\n") +
                      source_yaml("crm_now", runner.base_url(),
                                  slow + "    resources: [customers]\n    start_from: now\n")));
    auto dated = read_feed_until(svc.port(), expected.size(), 30s, {}, 0, "&source=crm_dated");
    EXPECT_EQ(event_keys(dated.events), expected);
    EXPECT_TRUE(duplicate_event_ids(dated.events).empty());

    // `start_from: now` skips the backlog; what happens after the first poll arrives.
    ASSERT_EQ(customers_polled.get_future().wait_for(30s), std::future_status::ready);
    sim.generate("customers", 3, time::now(), 0s);
    auto customers = sim.history("customers");
    std::set<record_key> fresh;
    for (auto i = customers.size() - 3; i < customers.size(); ++i) {
        fresh.insert({"customers", customers[i].at("id").as_int64()});
    }
    auto now_events = read_feed_until(svc.port(), fresh.size(), 30s, {}, 0, "&source=crm_now");
    EXPECT_EQ(event_keys(now_events.events), fresh);

    // Per method: requests with the (pinned) startDate first, then sinceId alone, never both.
    std::map<std::string, std::vector<retailcrm_simulator::request_seen>> by_resource;
    for (const auto& r : sim.requests_seen()) {
        if (r.status == 200) {
            by_resource[r.resource].push_back(r);
        }
    }
    ASSERT_EQ(by_resource.size(), 2u);
    for (const auto& [resource, requests] : by_resource) {
        const auto& first_request = requests.front();
        ASSERT_TRUE(first_request.start_date) << resource;
        EXPECT_FALSE(first_request.since_id) << resource;
        bool by_since_id = false;
        for (const auto& r : requests) {
            if (r.since_id) {
                by_since_id = true;
                EXPECT_FALSE(r.start_date) << resource;
            } else {
                EXPECT_FALSE(by_since_id) << resource << ": back to startDate after sinceId";
                EXPECT_EQ(r.start_date, first_request.start_date) << resource;
            }
        }
        if (resource == "orders") {
            EXPECT_EQ(*first_request.start_date, from);
            EXPECT_TRUE(by_since_id);
        }
    }
    expect_no_violations(sim);
}

TEST(retailcrm_source, vendor_errors_become_last_error) {
    scratch_database db;
    retailcrm_simulator sim;
    sim.generate("orders", 5, time::now() - 1h, 10s);
    retailcrm_simulator gone;
    gone.set_account_exists(false);
    sim_runner runner(sim);
    sim_runner gone_runner(gone);

    auto wrong_key = source_yaml("crm_key", runner.base_url(), "    resources: [orders]\n");
    wrong_key.replace(wrong_key.find("sim-retailcrm-key"), std::string("sim-retailcrm-key").size(),
                      "not-the-key-0123");
    running_service svc(
        config_with_sources(db.url(), wrong_key + source_yaml("crm_gone", gone_runner.base_url(),
                                                              "    resources: [orders]\n")));

    auto has_error = [](const json::object& s) { return !last_error_of(s).empty(); };
    auto key_status = await_source(svc.port(), "crm_key", has_error, 15s);
    auto key_error = last_error_of(key_status);
    EXPECT_NE(key_error.find("answered 403: Wrong \"apiKey\" value."), std::string::npos)
        << key_error;
    EXPECT_EQ(key_error.find("not-the-key-0123"), std::string::npos) << key_error;
    EXPECT_EQ(key_status.at("state"), "failing");

    auto gone_status = await_source(svc.port(), "crm_gone", has_error, 15s);
    auto gone_error = last_error_of(gone_status);
    EXPECT_NE(gone_error.find("the retailCRM account does not exist (check base_url)"),
              std::string::npos)
        << gone_error;
    expect_no_violations(sim);
    expect_no_violations(gone);
}

// A hard stop between two pages: `changefeed serve` is killed (SIGKILL) from the simulator's
// request hook while it asks for the fourth page, then started again on the same database.
TEST(retailcrm_source, kill_between_pages_loses_and_duplicates_nothing) {
    scratch_database db;
    retailcrm_simulator sim;
    sim.generate("orders", 200, time::now() - 3h, 30s);
    auto expected = upstream_keys(sim, {"orders"});
    sim_runner runner(sim);
    // A replica without sources serves the feed the child processes write.
    running_service reader(config_with_sources(db.url(), ""));

    auto dir =
        std::filesystem::temp_directory_path() / ("retailcrm-kill-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto config_path = (dir / "changefeed.yaml").string();
    {
        std::ofstream out(config_path);
        out << "listen: \"127.0.0.1:0\"\n"
            << "database_url: \"" << db.url() << "\"\n"
            << "feed:\n  tokens: []\n"
            << "sources:\n"
            << source_yaml("crm", runner.base_url(),
                           "    resources: [orders]\n    page_limit: 20\n");
    }
    auto log_path = (dir / "serve.log").string();
    std::vector<std::string> args{"serve", "--config", config_path};

    auto stored_events = [&] {
        pqxx::connection c(db.url());
        pqxx::nontransaction tx(c);
        return tx.exec1("SELECT count(*) FROM outbox")[0].as<std::size_t>();
    };
    std::mutex mutex;
    std::vector<std::optional<std::int64_t>> asked;  // filter[sinceId] of each orders request
    std::size_t killed_at = 0;
    std::optional<std::size_t> stored_at_restart;
    std::atomic<child_process*> running{nullptr};
    std::promise<void> killed;
    sim.on_request([&](const http::request& req) {
        if (req.path != "/api/v5/orders/history") {
            return;
        }
        std::optional<std::int64_t> since;
        if (auto v = req.query_param("filter[sinceId]")) {
            since = std::stoll(std::string(*v));
        }
        std::lock_guard lock(mutex);
        asked.push_back(since);
        if (asked.size() == 4) {
            auto* child = running.load();
            ASSERT_NE(child, nullptr);
            child->signal(SIGKILL);
            EXPECT_EQ(child->wait(10000), 128 + SIGKILL);
            killed_at = asked.size();
            killed.set_value();
        } else if (killed_at != 0 && asked.size() == killed_at + 1) {
            // The restarted service has read its checkpoint and stored nothing yet.
            stored_at_restart = stored_events();
        }
    });

    auto first = std::make_unique<child_process>(changefeed_binary(), args, log_path);
    running = first.get();
    ASSERT_EQ(killed.get_future().wait_for(60s), std::future_status::ready)
        << "the child never asked for page 4";
    auto second = std::make_unique<child_process>(changefeed_binary(), args, log_path);
    running = second.get();
    auto feed = read_feed_until(reader.port(), expected.size(), 30s);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_EQ(event_keys(feed.events), expected);
    EXPECT_EQ(feed.events.size(), expected.size());

    // The restarted service went on from the committed checkpoint: pages 1-2 were committed
    // before page 4 was asked for, page 3 may have been in flight (the poller commits a page
    // while it fetches the next), page 4 was never answered. Exactly the records up to that
    // checkpoint were stored.
    {
        std::lock_guard lock(mutex);
        ASSERT_GT(asked.size(), killed_at);
        auto resumed = asked[killed_at];
        ASSERT_TRUE(resumed);
        EXPECT_TRUE(resumed == asked[2] || resumed == asked[3]) << *resumed;
        auto upto = std::count_if(expected.begin(), expected.end(),
                                  [&](const record_key& k) { return k.second <= *resumed; });
        ASSERT_TRUE(stored_at_restart);
        EXPECT_EQ(*stored_at_restart, static_cast<std::size_t>(upto));
    }
    EXPECT_TRUE(second->signal(SIGTERM));
    EXPECT_EQ(second->wait(15000), 0);
    sim.on_request(nullptr);
    expect_no_violations(sim);
    std::filesystem::remove_all(dir);
}

TEST(retailcrm_source, a_resync_replays_history_from_start_date_without_duplicates) {
    scratch_database db;
    retailcrm_simulator::options opts;
    opts.timezone = "Europe/Moscow";
    retailcrm_simulator sim(opts);
    auto start = std::chrono::floor<std::chrono::seconds>(time::now() - 3h);
    sim.generate("orders", 60, start, 60s);
    sim.generate("tasks", 20, start, 60s);
    sim_runner runner(sim);
    const std::string token = "feed-token";
    // A poll interval of an hour: after the backlog only the resync asks the vendor anything.
    // The start_date knob covers the whole history; the resync's `from` wins over it.
    auto yaml = source_yaml("crm", runner.base_url(),
                            "    resources: [orders, tasks]\n    page_limit: 20\n"
                            "    start_date: \"2000-01-01 00:00:00\"\n    timezone: Europe/Moscow\n");
    yaml.replace(yaml.find("poll_interval: 1s"), 17, "poll_interval: 1h");
    running_service svc(config_with_sources(db.url(), yaml, {token}));
    const std::vector<std::string> resources{"orders", "tasks"};
    auto backlog_keys = upstream_keys(sim, resources);
    auto backlog = read_feed_until(svc.port(), backlog_keys.size(), 30s, token);
    ASSERT_EQ(event_keys(backlog.events), backlog_keys);

    // Changes that arrive meanwhile come with the replay, once.
    sim.generate("orders", 4, time::now(), 0s);
    auto fresh_keys = upstream_keys(sim, resources);
    for (const auto& k : backlog_keys) {
        fresh_keys.erase(k);
    }
    ASSERT_FALSE(fresh_keys.empty());
    auto asked_before = sim.requests_seen().size();
    auto from = start + 30min + 30s;  // between two records
    auto started = post_resync(svc.port(), token, "crm", time::format_rfc3339(from));
    ASSERT_EQ(started.status, 202u) << started.body;
    EXPECT_EQ(post_resync(svc.port(), token, "other").status, 404u);
    auto replay = await_resync(svc.port(), token, "crm", resync_finished);
    expect_resync_done(replay);

    auto fresh = read_feed_until(svc.port(), fresh_keys.size() + 1, 3s, token, backlog.next_since);
    EXPECT_EQ(event_keys(fresh.events), fresh_keys);
    EXPECT_EQ(fresh.events.size(), fresh_keys.size());
    auto everything = backlog.events;
    everything.insert(everything.end(), fresh.events.begin(), fresh.events.end());
    EXPECT_EQ(replay.at("events").as_int64(), events_since(everything, from));
    auto stored = count_outbox(db.url(), "crm");
    EXPECT_EQ(stored.rows, static_cast<std::int64_t>(backlog_keys.size() + fresh_keys.size()));
    EXPECT_EQ(stored.distinct_ids, stored.rows);

    // Each method started again from filter[startDate] (no sinceId), then went on by sinceId.
    auto seen = sim.requests_seen();
    ASSERT_GT(seen.size(), asked_before);
    std::set<std::string> restarted;
    for (auto i = asked_before; i < seen.size(); ++i) {
        const auto& r = seen[i];
        if (r.status != 200) {
            continue;
        }
        if (restarted.insert(r.resource).second) {
            EXPECT_TRUE(r.start_date) << r.resource;
            EXPECT_FALSE(r.since_id) << r.resource;
        } else {
            // sinceId once a record was seen; a method with none since `from` keeps its startDate.
            EXPECT_NE(static_cast<bool>(r.since_id), static_cast<bool>(r.start_date)) << r.resource;
        }
    }
    EXPECT_EQ(restarted, std::set<std::string>(resources.begin(), resources.end()));
    expect_no_violations(sim);
}

TEST(retailcrm_source, a_resync_posted_to_another_replica_wakes_the_holder_at_once) {
    scratch_database db;
    retailcrm_simulator sim;
    sim.generate("orders", 30, time::now() - 1h, 60s);
    sim_runner runner(sim);
    const std::string token = "feed-token";
    auto yaml = source_yaml("crm", runner.base_url(), "    resources: [orders]\n");
    yaml.replace(yaml.find("poll_interval: 1s"), 17, "poll_interval: 1h");
    auto config = config_with_sources(db.url(), yaml, {token});
    auto holder_of = [&token](unsigned short port) {
        auto reply = http_get(port, "/sources", {{"Authorization", "Bearer " + token}});
        return reply.status == 200 &&
               json::parse(reply.body).at("sources").at(0).at("holder").as_bool();
    };
    auto expected = upstream_keys(sim, {"orders"});
    running_service a(config);
    auto backlog = read_feed_until(a.port(), expected.size(), 30s, token);
    ASSERT_EQ(event_keys(backlog.events), expected);
    ASSERT_TRUE(holder_of(a.port()));
    running_service b(config);
    // a holds the source's lease since its first poll; b, started second, cannot take it while
    // a's session lives (before its first lease check b does not hold it either).
    ASSERT_FALSE(holder_of(b.port()));
    ASSERT_TRUE(holder_of(a.port()));
    auto holder = a.port();
    auto other = b.port();

    // Posted to the replica that does not poll: the holder (asleep for an hour) begins it at
    // once, told through the database.
    auto started = post_resync(other, token, "crm");
    ASSERT_EQ(started.status, 202u) << started.body;
    auto replay = await_resync(other, token, "crm", resync_finished, 30s);
    expect_resync_done(replay);
    EXPECT_EQ(replay.at("events").as_int64(), static_cast<std::int64_t>(expected.size()));
    EXPECT_TRUE(holder_of(holder));
    EXPECT_FALSE(holder_of(other));
    auto stored = count_outbox(db.url(), "crm");
    EXPECT_EQ(stored.rows, static_cast<std::int64_t>(expected.size()));
    EXPECT_EQ(stored.distinct_ids, stored.rows);
    expect_no_violations(sim);
}

}  // namespace
}  // namespace changefeed::test
