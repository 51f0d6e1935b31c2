// The Precoro source end to end: webhook intake (auth, validation, size, coalescing, the database
// down), fetches and sweeps against the simulator, the persisted budget, a vendor pause, and
// several replicas.
#include "core/log.hpp"
#include "db/source_lease.hpp"
#include "resync_support.hpp"
#include "sim/precoro/precoro_simulator.hpp"
#include "sources/precoro/precoro_mapping.hpp"
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

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace changefeed {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using sim::precoro_simulator;
using notify = precoro_simulator::notify;
using test::eventually;

constexpr const char* k_secret = "test-webhook-secret-6f1d2c9a41";

std::string source_yaml(const std::string& base_url, const std::string& poll_interval,
                        const std::string& extra = "") {
    return "  - name: precoro\n"
           "    kind: precoro\n"
           "    base_url: \"" + base_url + "\"\n"
           "    token: \"sim-precoro-token\"\n"
           "    email: \"demo@example.com\"\n"
           "    webhook_secret: \"" + std::string(k_secret) + "\"\n"
           "    resources: [suppliers, purchaseorders, invoices]\n"
           "    per_page: 10\n"
           "    queue_check: 200ms\n"
           "    poll_interval: " + poll_interval + "\n" + extra;
}

std::string webhook_target(unsigned short port) {
    return "http://127.0.0.1:" + std::to_string(port) + "/webhooks/precoro?token=" + k_secret;
}

test::http_reply post_webhook(unsigned short port, const std::string& body,
                              const std::string& query = std::string("?token=") + k_secret,
                              const std::string& source = "precoro") {
    return test::http_request(port, "POST", "/webhooks/" + source + query,
                              {{"Content-Type", "application/json"}}, body);
}

std::string delivery(int type, std::int64_t id, int action, std::optional<std::string> idn = {}) {
    json::object o{{"id", id}, {"type", type}, {"action", action}};
    if (idn) {
        o["idn"] = std::stoll(*idn);
    }
    return json::serialize(o);
}

std::int64_t scalar(const std::string& url, const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    return tx.exec1(sql)[0].as<std::int64_t>();
}

std::int64_t queue_rows(const std::string& url) {
    return scalar(url, "SELECT count(*) FROM precoro_queue");
}

// The webhook deliveries GET /metrics counts for `result` (0 while the series is absent).
double deliveries_counted(const std::string& metrics, const std::string& result) {
    return test::metric_value(metrics, "changefeed_webhook_deliveries_total{source=\"precoro\",result=\"" +
                                           result + "\"}");
}

// True once the first sweep of every resource has finished (the last configured is invoices).
bool swept(unsigned short port, const test::request_headers& headers = {}) {
    auto status = test::source_status(port, "precoro", headers);
    const auto* checkpoint = status.if_contains("checkpoint");
    if (checkpoint == nullptr || !checkpoint->is_object()) {
        return false;
    }
    const auto* invoices = checkpoint->get_object().if_contains("invoices");
    return invoices != nullptr && invoices->is_object() && !invoices->at("last_sweep_at").is_null();
}

std::vector<json::object> precoro_events(unsigned short port, std::size_t count,
                                         std::chrono::seconds timeout = 20s) {
    return test::read_feed_until(port, count, timeout, "", 0, "&source=precoro").events;
}

// The event_id of an entity version as the simulator served it.
std::string version_event_id(const std::string& resource, std::int64_t id, const std::string& update_date) {
    auto t = time::parse_rfc3339(update_date, true);
    EXPECT_TRUE(t) << update_date;
    return core::make_event_id({"precoro", resource, std::to_string(id), sources::precoro::version_text(*t)});
}

std::vector<json::object> events_of(const std::vector<json::object>& events, std::int64_t id) {
    std::vector<json::object> out;
    for (const auto& e : events) {
        if (e.at("resource_id") == std::to_string(id).c_str()) {
            out.push_back(e);
        }
    }
    return out;
}

// Holds the source's lease the way another replica would, so this process never drains.
class foreign_holder {
public:
    explicit foreign_holder(const std::string& url) : conn_(std::make_unique<pqxx::connection>(url)) {
        pqxx::nontransaction tx(*conn_);
        tx.exec_params("SELECT pg_advisory_lock($1)", db::source_lock_key("precoro"));
    }
    void release() { conn_.reset(); }

private:
    std::unique_ptr<pqxx::connection> conn_;
};

// Log lines written while it lives.
class log_capture {
public:
    log_capture() {
        log::set_level(log::level::debug);
        log::set_sink([this](std::string_view line) {
            std::lock_guard lock(mutex_);
            text_.append(line);
        });
    }
    ~log_capture() {
        log::set_sink(nullptr);
        log::set_level(std::getenv("CHANGEFEED_TEST_LOG") != nullptr ? log::level::info : log::level::error);
    }
    std::string text() const {
        std::lock_guard lock(mutex_);
        return text_;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
};

class precoro_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_test_server()) {
            GTEST_SKIP() << "no test PostgreSQL";
        }
    }
    void TearDown() override {
        if (sim_) {
            EXPECT_TRUE(sim_->violations().empty())
                << "protocol violations: " << (sim_->violations().empty() ? "" : sim_->violations()[0]);
        }
    }

    void start_sim(precoro_simulator::options o = {}) {
        o.tick_resources.clear();
        sim_ = std::make_unique<precoro_simulator>(std::move(o));
        runner_ = std::make_unique<test::sim_runner>(*sim_);
    }

    std::unique_ptr<precoro_simulator> sim_;
    std::unique_ptr<test::sim_runner> runner_;
};

TEST_F(precoro_test, webhook_intake_authenticates_validates_and_stores_nothing_it_refuses) {
    test::scratch_database db;
    start_sim();
    log_capture logs;
    foreign_holder other_replica(db.url());
    test::running_service svc(test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "1h")));
    auto port = svc.port();
    auto good = delivery(2, 4711, 0, "5");

    // No token, a wrong one, one of another case or length: 401, nothing stored.
    const std::vector<std::string> refused{"",
                                           "?token=",
                                           "?token=wrong",
                                           "?token=TEST-WEBHOOK-SECRET-6F1D2C9A41",
                                           std::string("?token=") + k_secret + "x",
                                           std::string("?tokens=") + k_secret};
    for (const auto& query : refused) {
        auto r = post_webhook(port, good, query);
        EXPECT_EQ(r.status, 401u) << query;
        EXPECT_EQ(json::parse(r.body).at("error").at("code"), "unauthorized");
        EXPECT_EQ(r.body.find(k_secret), std::string::npos);
    }
    EXPECT_EQ(queue_rows(db.url()), 0);

    // Bodies that are not a delivery: 400 naming the problem.
    std::vector<std::pair<std::string, std::string>> bad{
        {"", "not JSON"},
        {"[]", "not a JSON object"},
        {R"({"type": 2, "action": 0})", "`id`"},
        {R"({"id": 1, "type": 12, "action": 0})", "`type`"},
        {R"({"id": 1, "type": 2, "action": 3})", "`action`"},
        {R"({"id": 1, "type": 2, "action": 1, "idn": [5]})", "`idn`"},
    };
    for (const auto& [body, named] : bad) {
        auto r = post_webhook(port, body);
        EXPECT_EQ(r.status, 400u) << body;
        auto message = std::string(json::parse(r.body).at("error").at("message").as_string());
        EXPECT_NE(message.find(named), std::string::npos) << message;
    }
    EXPECT_EQ(queue_rows(db.url()), 0);

    // Over 1 MiB: 413, nothing stored.
    std::string huge = R"({"id": 4711, "type": 2, "action": 0, "padding": ")" + std::string(1024 * 1024, 'x') + "\"}";
    EXPECT_EQ(post_webhook(port, huge).status, 413u);
    EXPECT_EQ(queue_rows(db.url()), 0);

    // Unknown sources and wrong methods.
    auto unknown = post_webhook(port, good, std::string("?token=") + k_secret, "nope");
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_EQ(json::parse(unknown.body).at("error").at("code"), "not_found");
    EXPECT_EQ(test::http_get(port, std::string("/webhooks/precoro?token=") + k_secret).status, 405u);

    // The right token: stored before the 200.
    auto ok = post_webhook(port, good);
    ASSERT_EQ(ok.status, 200u) << ok.body;
    EXPECT_EQ(json::parse(ok.body).at("status"), "accepted");
    EXPECT_EQ(queue_rows(db.url()), 1);
    // A type the source does not emit is acknowledged and dropped.
    auto ignored = post_webhook(port, delivery(6, 99, 1, "3"));
    EXPECT_EQ(json::parse(ignored.body).at("status"), "ignored");
    EXPECT_EQ(queue_rows(db.url()), 1);
    EXPECT_EQ(json::parse(post_webhook(port, good).body).at("status"), "duplicate");

    // Every delivery to the source is counted by outcome (an ignored type as accepted); the
    // unknown source is not (any name would become a label). The 413 is counted once its
    // answer is written, so it may trail the reply.
    std::string metrics;
    auto counted = [&] {
        metrics = test::http_get(port, "/metrics").body;
        return deliveries_counted(metrics, "too_large") == 1;
    };
    EXPECT_TRUE(eventually(counted)) << metrics;
    // Refused before routing, the 413 still counts under the webhook route.
    EXPECT_NE(metrics.find("changefeed_http_request_duration_seconds_count{route=\"/webhooks/{source}\","
                           "method=\"POST\",status=\"413\"} 1"),
              std::string::npos)
        << metrics;
    EXPECT_EQ(deliveries_counted(metrics, "unauthorized"), static_cast<double>(refused.size())) << metrics;
    EXPECT_EQ(deliveries_counted(metrics, "invalid"), static_cast<double>(bad.size())) << metrics;
    EXPECT_EQ(deliveries_counted(metrics, "accepted"), 2) << metrics;
    EXPECT_EQ(deliveries_counted(metrics, "duplicate"), 1) << metrics;
    EXPECT_EQ(deliveries_counted(metrics, "unavailable"), 0) << metrics;
    EXPECT_EQ(metrics.find("source=\"nope\""), std::string::npos) << metrics;

    EXPECT_EQ(logs.text().find(k_secret), std::string::npos) << "the webhook secret reached a log line";
    EXPECT_NE(logs.text().find("/webhooks/precoro"), std::string::npos);
}

TEST_F(precoro_test, repeated_deliveries_coalesce_into_one_fetch) {
    test::scratch_database db;
    start_sim();
    foreign_holder other_replica(db.url());
    test::running_service svc(test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "1h")));
    auto port = svc.port();
    // Created and changed before anyone fetched it: three deliveries, one entity.
    auto id = sim_->create("purchaseorders", notify::none);
    sim_->update("purchaseorders", id, notify::none);
    std::string idn(sim_->entities("purchaseorders").at(id).at("idn").as_string());

    EXPECT_EQ(json::parse(post_webhook(port, delivery(2, id, 1)).body).at("status"), "accepted");
    EXPECT_EQ(json::parse(post_webhook(port, delivery(2, id, 0, idn)).body).at("status"), "duplicate");
    EXPECT_EQ(json::parse(post_webhook(port, delivery(2, id, 1, idn)).body).at("status"), "duplicate");
    EXPECT_EQ(queue_rows(db.url()), 1);
    // The strongest action (create) and the idn survive.
    EXPECT_EQ(scalar(db.url(), "SELECT action FROM precoro_queue"), 0);
    EXPECT_EQ(scalar(db.url(), "SELECT deliveries FROM precoro_queue"), 3);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM precoro_queue WHERE idn = '" + idn + "'"), 1);
    EXPECT_TRUE(eventually([&] { return test::source_status(port, "precoro").at("holder") == false; }));

    // This replica takes over, fetches once, emits once.
    other_replica.release();
    ASSERT_TRUE(eventually([&] {
        return scalar(db.url(), "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                                " WHERE l.locktype = 'advisory' AND d.datname = current_database()") == 0;
    }));
    auto details_before = sim_->requests_of("detail");
    ASSERT_EQ(post_webhook(port, delivery(2, id, 1, idn)).status, 200u);  // also wakes the poller
    auto events = precoro_events(port, 1);
    ASSERT_EQ(events.size(), 1u);
    ASSERT_TRUE(eventually([&] { return queue_rows(db.url()) == 0; }));
    EXPECT_EQ(sim_->requests_of("detail") - details_before, 1u);
    auto versions = sim_->versions();
    const auto& e = events[0];
    EXPECT_EQ(e.at("event_id"), version_event_id("purchaseorders", id, versions.back().update_date).c_str());
    EXPECT_EQ(e.at("operation"), "insert");  // created and updated before the first fetch
    EXPECT_EQ(e.at("resource_id"), std::to_string(id).c_str());
    EXPECT_EQ(e.at("data"), json::value(sim_->entities("purchaseorders").at(id)));
    EXPECT_FALSE(e.contains("changes"));
}

TEST_F(precoro_test, concurrent_deliveries_are_each_stored_and_those_of_one_entity_coalesce) {
    test::scratch_database db;
    start_sim();
    foreign_holder other_replica(db.url());  // nothing is fetched: the queue keeps every row
    test::running_service svc(test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "1h")));
    auto port = svc.port();
    // Senders at once, so that deliveries share the writer's commits: each posts one delivery of
    // a shared supplier and one of its own.
    constexpr int k_senders = 8;
    constexpr std::int64_t k_shared = 500;
    std::vector<std::string> shared_status(k_senders), own_status(k_senders);
    {
        std::vector<std::thread> senders;
        for (int i = 0; i < k_senders; ++i) {
            senders.emplace_back([&, i] {
                auto status = [&](const std::string& body) {
                    return std::string(json::parse(post_webhook(port, body).body).at("status").as_string());
                };
                shared_status[i] = status(delivery(7, k_shared, i % 2));
                own_status[i] = status(delivery(7, 1000 + i, 1));
            });
        }
        for (auto& t : senders) {
            t.join();
        }
    }
    EXPECT_EQ(std::count(shared_status.begin(), shared_status.end(), "accepted"), 1);
    EXPECT_EQ(std::count(shared_status.begin(), shared_status.end(), "duplicate"), k_senders - 1);
    EXPECT_EQ(std::count(own_status.begin(), own_status.end(), "accepted"), k_senders);
    EXPECT_EQ(queue_rows(db.url()), k_senders + 1);
    EXPECT_EQ(scalar(db.url(), "SELECT deliveries FROM precoro_queue WHERE entity_id = 500"), k_senders);
    EXPECT_EQ(scalar(db.url(), "SELECT action FROM precoro_queue WHERE entity_id = 500"), 0);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM precoro_queue WHERE entity_id >= 1000 AND deliveries = 1"),
              k_senders);
}

TEST_F(precoro_test, the_database_down_answers_503_and_the_retried_delivery_is_stored_once) {
    test::scratch_database db;
    start_sim();
    test::running_service svc(test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "1h")));
    auto port = svc.port();
    ASSERT_TRUE(eventually([&] { return swept(port); }));
    auto id = sim_->create("invoices", notify::none);
    std::string idn(sim_->entities("invoices").at(id).at("idn").as_string());
    auto body = delivery(3, id, 0, idn);

    {
        pqxx::connection admin(test::test_server_url("postgres"));
        pqxx::nontransaction tx(admin);
        tx.exec0("ALTER DATABASE " + db.name() + " ALLOW_CONNECTIONS false");
        tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db.name() + "'");
    }
    for (int i = 0; i < 2; ++i) {
        auto r = post_webhook(port, body);
        EXPECT_EQ(r.status, 503u) << r.body;
        EXPECT_EQ(r.headers["retry-after"], "10");
        EXPECT_EQ(json::parse(r.body).at("error").at("code"), "unavailable");
    }
    EXPECT_EQ(deliveries_counted(test::http_get(port, "/metrics").body, "unavailable"), 2);
    {
        pqxx::connection admin(test::test_server_url("postgres"));
        pqxx::nontransaction tx(admin);
        tx.exec0("ALTER DATABASE " + db.name() + " ALLOW_CONNECTIONS true");
    }
    EXPECT_EQ(queue_rows(db.url()), 0);  // the refused attempts stored nothing
    // Each pooled connection the outage broke fails one request before it reconnects.
    ASSERT_TRUE(eventually([&] { return test::http_get(port, "/changes?since=0").status == 200; }));
    ASSERT_TRUE(eventually([&] {
        int ok = 0;
        for (int i = 0; i < 8; ++i) {
            ok += test::http_get(port, "/changes?since=0").status == 200 ? 1 : 0;
        }
        return ok == 8;
    }));

    // The sender retries: stored now, and once however often it is retried.
    test::http_reply r;
    ASSERT_TRUE(eventually([&] {
        r = post_webhook(port, body);
        return r.status == 200;
    }));
    auto again = post_webhook(port, body);
    EXPECT_EQ(again.status, 200u);
    auto events = precoro_events(port, 1);
    ASSERT_EQ(events.size(), 1u);
    ASSERT_TRUE(eventually([&] { return queue_rows(db.url()) == 0; }));
    auto all = precoro_events(port, 2, 1s);
    EXPECT_EQ(events_of(all, id).size(), 1u);
    EXPECT_EQ(events[0].at("event_id"),
              version_event_id("invoices", id, sim_->versions().back().update_date).c_str());
    EXPECT_EQ(events[0].at("operation"), "insert");
}

TEST_F(precoro_test, webhooks_are_fetched_and_sweeps_find_what_they_missed) {
    test::scratch_database db;
    start_sim();
    // History from before the start: only the first sweep can find it.
    std::vector<std::int64_t> old_suppliers;
    for (int i = 0; i < 23; ++i) {
        old_suppliers.push_back(sim_->create("suppliers", notify::none));
    }
    test::running_service svc(test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "2s")));
    auto port = svc.port();
    sim_->set_webhook_target(webhook_target(port));
    auto first = precoro_events(port, 23);
    ASSERT_EQ(first.size(), 23u);

    // Changes: announced once, twice, or never.
    auto po = sim_->create("purchaseorders", notify::once);
    auto inv = sim_->create("invoices", notify::twice);
    auto quiet = sim_->create("purchaseorders", notify::none);
    sim_->update("suppliers", old_suppliers[3], notify::none);
    sim_->update("suppliers", old_suppliers[4], notify::once);
    ASSERT_TRUE(sim_->wait_webhooks(10s));
    auto events = precoro_events(port, 23 + 5);
    ASSERT_EQ(events.size(), 28u);
    EXPECT_TRUE(test::duplicate_event_ids(events).empty());

    // Exactly the versions the simulator produced, each once.
    std::set<std::string> expected;
    for (const auto& v : sim_->versions()) {
        expected.insert(version_event_id(v.resource, v.id, v.update_date));
    }
    std::set<std::string> got;
    for (const auto& e : events) {
        got.insert(std::string(e.at("event_id").as_string()));
        EXPECT_EQ(e.at("source_kind"), "precoro");
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(events_of(events, po).at(0).at("operation"), "insert");
    EXPECT_EQ(events_of(events, inv).at(0).at("operation"), "insert");
    EXPECT_EQ(events_of(events, quiet).at(0).at("operation"), "insert");
    auto changed = events_of(events, old_suppliers[3]);
    ASSERT_EQ(changed.size(), 2u);
    EXPECT_EQ(changed[1].at("operation"), "update");
    ASSERT_TRUE(changed[1].contains("changes"));
    std::set<std::string> fields;
    for (const auto& c : changed[1].at("changes").as_array()) {
        fields.insert(std::string(c.at("field").as_string()));
    }
    EXPECT_EQ(fields, (std::set<std::string>{"/name", "/updateDate"}));
    EXPECT_EQ(changed[1].at("data"), json::value(sim_->entities("suppliers").at(old_suppliers[3])));

    // A deletion: the webhook's fetch answers 404, the event is a delete.
    sim_->remove("invoices", inv, notify::once);
    auto with_delete = precoro_events(port, 29);
    ASSERT_EQ(with_delete.size(), 29u);
    EXPECT_EQ(with_delete.back().at("operation"), "delete");
    EXPECT_EQ(with_delete.back().at("resource_id"), std::to_string(inv).c_str());
    EXPECT_TRUE(with_delete.back().at("data").is_null());
    // A repeated 404 is not a new event.
    sim_->renotify("invoices", inv);
    ASSERT_TRUE(sim_->wait_webhooks(10s));
    ASSERT_TRUE(eventually([&] { return queue_rows(db.url()) == 0; }));
    EXPECT_EQ(precoro_events(port, 30, 1s).size(), 29u);
    EXPECT_EQ(sim_->throttled(), 0u);
}

TEST_F(precoro_test, start_from_emits_no_older_version_though_the_overlap_lists_it) {
    test::scratch_database db;
    start_sim();
    std::mutex mutex;
    std::vector<std::string> supplier_sweeps;  // modifiedSince of each suppliers list request
    sim_->on_request([&](const http::request& req) {
        if (req.path == "/suppliers") {
            std::lock_guard lock(mutex);
            supplier_sweeps.emplace_back(req.query_param("modifiedSince").value_or("(none)"));
        }
    });
    auto sweeps = [&] {
        std::lock_guard lock(mutex);
        return supplier_sweeps;
    };
    sim_->create("suppliers", notify::none);
    auto changed = sim_->create("suppliers", notify::none);
    auto created = time::parse_rfc3339(sim_->versions().back().update_date, true);
    ASSERT_TRUE(created);
    // The start is a second after both creations; the update lands at or after it. Every sweep's
    // modifiedSince (the start, then the watermark, minus the 10-minute overlap) lists both.
    auto start = *created + 1s;
    sim_->update("suppliers", changed, notify::none);
    test::running_service svc(test::config_with_sources(
        db.url(), source_yaml(runner_->base_url(), "1s",
                              "    start_from: \"" + time::format_rfc3339(start) + "\"\n")));
    auto events = precoro_events(svc.port(), 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].at("resource_id"), std::to_string(changed).c_str());
    EXPECT_EQ(events[0].at("event_id"),
              version_event_id("suppliers", changed, sim_->versions().back().update_date).c_str());
    // Three sweeps of suppliers asked for (the third only after the second was committed): the
    // older supplier, listed by each, was never emitted.
    ASSERT_TRUE(eventually([&] { return sweeps().size() >= 3; }));
    EXPECT_EQ(sweeps().front(), sources::precoro::format_modified_since(start - 10min));
    auto all = test::http_get(svc.port(), "/changes?source=precoro&limit=100");
    ASSERT_EQ(all.status, 200u) << all.body;
    EXPECT_EQ(json::parse(all.body).at("changes").as_array().size(), 1u) << all.body;
}

TEST_F(precoro_test, one_version_reached_by_webhook_and_sweep_is_one_event) {
    test::scratch_database db;
    start_sim();
    test::running_service svc(test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "2s")));
    auto port = svc.port();
    sim_->set_webhook_target(webhook_target(port));

    // The sweep first: the webhook arrives after the event, its fetch finds nothing new.
    auto swept = sim_->create("suppliers", notify::none);
    ASSERT_EQ(precoro_events(port, 1).size(), 1u);
    auto details = sim_->requests_of("detail");
    sim_->renotify("suppliers", swept, 0);
    ASSERT_TRUE(sim_->wait_webhooks(10s));
    ASSERT_TRUE(eventually([&] { return sim_->requests_of("detail") > details && queue_rows(db.url()) == 0; }));

    // The webhook first: later sweeps list the same version again.
    auto hooked = sim_->create("purchaseorders", notify::once);
    ASSERT_EQ(precoro_events(port, 2).size(), 2u);
    auto lists = sim_->requests_of("list");
    ASSERT_TRUE(eventually([&] { return sim_->requests_of("list") >= lists + 6; }, 30s));  // two rounds

    auto events = precoro_events(port, 3, 1s);
    EXPECT_EQ(events.size(), 2u);
    EXPECT_EQ(events_of(events, swept).size(), 1u);
    EXPECT_EQ(events_of(events, hooked).size(), 1u);
    EXPECT_TRUE(test::duplicate_event_ids(events).empty());
}

TEST_F(precoro_test, every_replica_accepts_webhooks_and_the_holder_drains_them) {
    test::scratch_database db;
    start_sim();
    auto config = test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "1h"));
    test::running_service a(config);
    ASSERT_TRUE(eventually([&] { return test::source_status(a.port(), "precoro").at("holder") == true; }));
    test::running_service b(config);
    ASSERT_TRUE(eventually([&] { return test::source_status(b.port(), "precoro").at("holder") == false; }));

    // Delivered to the replica that does not poll: the holder finds it on its next look.
    auto id = sim_->create("invoices", notify::none);
    std::string idn(sim_->entities("invoices").at(id).at("idn").as_string());
    ASSERT_EQ(post_webhook(b.port(), delivery(3, id, 0, idn)).status, 200u);
    auto events = precoro_events(a.port(), 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].at("resource_id"), std::to_string(id).c_str());
    EXPECT_EQ(test::source_status(b.port(), "precoro").at("holder"), false);
}

TEST_F(precoro_test, the_days_budget_survives_a_restart) {
    test::scratch_database db;
    precoro_simulator::options o;
    o.windows = {{"Minute limiter", 300, 1min}, {"Hourly limiter", 1500, 1h}, {"Daily limiter", 10, 24h}};
    start_sim(o);
    auto yaml = source_yaml(runner_->base_url(), "1h",
                            "    rate_limit:\n"
                            "      - { limit: 300, window: 1m }\n"
                            "      - { limit: 1500, window: 1h }\n"
                            "      - { limit: 10, window: 1d }\n");
    auto deliver = [&](unsigned short port, int count) {
        for (int i = 0; i < count; ++i) {
            auto id = sim_->create("suppliers", notify::none);
            ASSERT_EQ(post_webhook(port, delivery(7, id, 0)).status, 200u);
        }
    };
    {
        // Three sweep pages and four fetches: 7 of the day's 10.
        test::running_service first(test::config_with_sources(db.url(), yaml));
        ASSERT_TRUE(eventually([&] { return swept(first.port()); }));
        deliver(first.port(), 4);
        ASSERT_EQ(precoro_events(first.port(), 4).size(), 4u);
        ASSERT_TRUE(eventually([&] { return queue_rows(db.url()) == 0; }));
        EXPECT_EQ(sim_->requests(), 7u);
    }
    test::running_service second(test::config_with_sources(db.url(), yaml));
    deliver(second.port(), 5);
    // Only three fit in what is left; two wait for tomorrow. (Had the restart forgotten the
    // first run's requests, the second would see budget left and drain the queue.)
    json::object status;
    ASSERT_TRUE(eventually([&] {
        status = test::source_status(second.port(), "precoro");
        return queue_rows(db.url()) == 2 && status.at("budget").at(2).at("remaining") == 0;
    })) << json::serialize(status);
    EXPECT_EQ(precoro_events(second.port(), 7).size(), 7u);
    EXPECT_EQ(sim_->requests(), 10u);
    EXPECT_EQ(sim_->throttled(), 0u);
    EXPECT_EQ(status.at("budget").at(2).at("limit"), 10);
}

TEST_F(precoro_test, a_daily_429_pauses_the_source_until_the_next_day_across_restarts) {
    test::scratch_database db;
    precoro_simulator::options o;
    // The tenant's key is shared with another integration: the vendor's day ends before ours.
    o.windows = {{"Minute limiter", 300, 1min}, {"Daily limiter", 4, 24h}};
    start_sim(o);
    auto yaml = source_yaml(runner_->base_url(), "1h");
    auto midnight = time::format_rfc3339(time::time_point(
        std::chrono::floor<std::chrono::days>(time::now()) + std::chrono::days(1)));
    {
        test::running_service first(test::config_with_sources(db.url(), yaml));
        ASSERT_TRUE(eventually([&] { return swept(first.port()); }));
        for (int i = 0; i < 2; ++i) {
            auto id = sim_->create("suppliers", notify::none);
            ASSERT_EQ(post_webhook(first.port(), delivery(7, id, 0)).status, 200u);
        }
        json::object status;
        ASSERT_TRUE(eventually([&] {
            status = test::source_status(first.port(), "precoro");
            return status.at("paused_until") == midnight.c_str();
        })) << json::serialize(status);
        EXPECT_EQ(status.at("paused_by"), "Daily limiter");
        EXPECT_EQ(sim_->throttled(), 1u);
        EXPECT_EQ(precoro_events(first.port(), 1).size(), 1u);
    }
    auto requests = sim_->requests();
    test::running_service second(test::config_with_sources(db.url(), yaml));
    json::object status;
    ASSERT_TRUE(eventually([&] {
        status = test::source_status(second.port(), "precoro");
        return status.at("paused_until") == midnight.c_str() && status.at("queue_depth") == 1;
    })) << json::serialize(status);
    EXPECT_EQ(sim_->requests(), requests);  // not one request before the vendor's time
}

TEST_F(precoro_test, a_delivery_accepted_just_before_a_kill_9_is_fetched_after_the_restart) {
    test::scratch_database db;
    start_sim();
    auto dir = std::filesystem::temp_directory_path() / ("precoro-kill-" + db.name());
    std::filesystem::create_directories(dir);
    auto config_path = (dir / "changefeed.yaml").string();
    {
        std::ofstream out(config_path);
        out << "listen: \"127.0.0.1:0\"\n"
            << "database_url: \"" << db.url() << "\"\n"
            << "feed:\n  tokens: []\n"
            << "sources:\n"
            << source_yaml(runner_->base_url(), "1h");
    }

    // Detail fetches of purchase orders hang at the vendor until released.
    struct gate_state {
        std::mutex m;
        std::condition_variable cv;
        bool blocking = true;
        bool fetching = false;
        bool released = false;
    };
    auto gate = std::make_shared<gate_state>();
    sim_->on_request([gate](const http::request& req) {
        if (req.path.rfind("/purchaseorders/", 0) != 0) {
            return;
        }
        std::unique_lock lock(gate->m);
        if (!gate->blocking) {
            return;
        }
        gate->fetching = true;
        gate->cv.notify_all();
        gate->cv.wait_for(lock, 30s, [&] { return gate->released; });
    });
    auto open_gate = [gate] {
        {
            std::lock_guard lock(gate->m);
            gate->blocking = false;
            gate->released = true;
        }
        gate->cv.notify_all();
    };

    auto serve = [&](const std::string& log) {
        return std::make_unique<test::child_process>(test::changefeed_binary(),
                                                     std::vector<std::string>{"serve", "--config", config_path},
                                                     (dir / log).string());
    };
    std::int64_t id = 0;
    {
        auto first = serve("first.log");
        auto port = test::wait_for_listening_port((dir / "first.log").string(), 30000);
        ASSERT_NE(port, 0) << "the first service did not start";
        ASSERT_TRUE(eventually([&] { return swept(port); }));
        id = sim_->create("purchaseorders", notify::none);
        std::string idn(sim_->entities("purchaseorders").at(id).at("idn").as_string());
        auto accepted = post_webhook(port, delivery(2, id, 0, idn));
        ASSERT_EQ(accepted.status, 200u) << accepted.body;
        bool fetching = false;
        {
            std::unique_lock lock(gate->m);
            fetching = gate->cv.wait_for(lock, 20s, [&] { return gate->fetching; });
        }
        if (!fetching) {
            open_gate();
            FAIL() << "the fetch never started";
        }
        // Killed while the fetch is in flight: nothing of it was committed.
        EXPECT_TRUE(first->signal(SIGKILL));
        EXPECT_EQ(first->wait(10000), 128 + SIGKILL);
        open_gate();
    }
    EXPECT_EQ(queue_rows(db.url()), 1);
    // The dead process's sessions (and its lease) are gone before the next one starts.
    ASSERT_TRUE(eventually([&] {
        pqxx::connection admin(test::test_server_url("postgres"));
        pqxx::nontransaction tx(admin);
        return tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", db.name())[0]
                   .as<int>() == 0;
    }));

    auto second = serve("second.log");
    auto port = test::wait_for_listening_port((dir / "second.log").string(), 30000);
    ASSERT_NE(port, 0) << "the second service did not start";
    auto events = precoro_events(port, 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].at("resource_id"), std::to_string(id).c_str());
    EXPECT_EQ(events[0].at("operation"), "insert");
    EXPECT_EQ(events[0].at("event_id"),
              version_event_id("purchaseorders", id, sim_->versions().back().update_date).c_str());
    ASSERT_TRUE(eventually([&] { return queue_rows(db.url()) == 0; }));
    EXPECT_EQ(precoro_events(port, 2, 1s).size(), 1u);
    second->signal(SIGTERM);
    EXPECT_EQ(second->wait(15000), 0);
    sim_->on_request(nullptr);
    std::filesystem::remove_all(dir);
}

TEST_F(precoro_test, keyed_arrays_report_per_element_changes) {
    test::scratch_database db;
    start_sim();
    test::running_service svc(test::config_with_sources(
        db.url(), source_yaml(runner_->base_url(), "1h", "    diff_array_keys: [\"/items=id\"]\n")));
    auto port = svc.port();
    sim_->set_webhook_target(webhook_target(port));
    auto po = sim_->create("purchaseorders", notify::once);
    ASSERT_EQ(precoro_events(port, 1).size(), 1u);
    sim_->update("purchaseorders", po, notify::once);  // line 2's qty 1 -> 2, moved first
    auto events = precoro_events(port, 2);
    ASSERT_EQ(events.size(), 2u);
    ASSERT_TRUE(events[1].contains("changes")) << json::serialize(events[1]);
    std::map<std::string, json::value> changed;
    for (const auto& c : events[1].at("changes").as_array()) {
        changed[std::string(c.at("field").as_string())] = c.at("new");
    }
    EXPECT_EQ(changed.count("/items"), 0u) << json::serialize(events[1].at("changes"));
    ASSERT_EQ(changed.count("/items/2/qty"), 1u) << json::serialize(events[1].at("changes"));
    EXPECT_EQ(changed.at("/items/2/qty"), 2);
    EXPECT_EQ(changed.count("/items/1/qty"), 0u);  // moved, not changed
    EXPECT_EQ(changed.count("/status"), 1u);
}

TEST_F(precoro_test, a_resync_held_back_by_the_budget_keeps_running) {
    test::scratch_database db;
    precoro_simulator::options o;
    o.windows = {{"Minute limiter", 300, 1min}, {"Hourly limiter", 1500, 1h}, {"Daily limiter", 10, 24h}};
    start_sim(o);
    const std::string token = "feed-token";
    // The first sweep takes three of the day's ten requests; then less than 80% is left, and
    // sweeps wait for tomorrow.
    test::running_service svc(test::config_with_sources(
        db.url(),
        source_yaml(runner_->base_url(), "1h",
                    "    sweep_reserve: 80\n"
                    "    rate_limit:\n"
                    "      - { limit: 300, window: 1m }\n"
                    "      - { limit: 1500, window: 1h }\n"
                    "      - { limit: 10, window: 1d }\n"),
        {token}));
    ASSERT_TRUE(eventually([&] { return swept(svc.port(), {{"Authorization", "Bearer " + token}}); }));
    auto started = test::post_resync(svc.port(), token, "precoro");
    ASSERT_EQ(started.status, 202u) << started.body;
    // Held-back steps (one per queue_check, each committed) neither end the resync nor count as
    // its pages.
    const test::request_headers auth{{"Authorization", "Bearer " + token}};
    auto waiting = test::await_source(
        svc.port(), "precoro",
        [](const json::object& s) { return s.at("sweeps_waiting_for_budget") == true; }, 20s, auth);
    ASSERT_EQ(waiting.at("sweeps_waiting_for_budget"), true) << json::serialize(waiting);
    for (int step = 0; step < 2; ++step) {
        auto before = waiting.at("last_success_at");
        auto committed = [&before](const json::object& s) { return s.at("last_success_at") != before; };
        waiting = test::await_source(svc.port(), "precoro", committed, 20s, auth);
        ASSERT_TRUE(committed(waiting)) << json::serialize(waiting);
    }
    auto progress = waiting.at("resync").as_object();
    EXPECT_EQ(progress.at("state"), "running") << json::serialize(progress);
    EXPECT_EQ(progress.at("pages").as_int64(), 0) << json::serialize(progress);
    EXPECT_EQ(progress.at("events").as_int64(), 0);
    EXPECT_EQ(sim_->requests(), 3u) << "no sweep ran on the budget kept for webhooks";
}

TEST_F(precoro_test, a_resync_sweeps_everything_again_without_duplicates) {
    test::scratch_database db;
    start_sim();
    std::size_t backlog = 0;
    for (const std::string resource : {"suppliers", "purchaseorders", "invoices"}) {
        for (int i = 0; i < 12; ++i, ++backlog) {
            sim_->create(resource, notify::none);
        }
    }
    const std::string token = "feed-token";
    // An hour between sweeps: after the first, only the resync lists anything.
    test::running_service svc(
        test::config_with_sources(db.url(), source_yaml(runner_->base_url(), "1h"), {token}));
    auto port = svc.port();
    auto first = test::read_feed_until(port, backlog, 30s, token);
    ASSERT_EQ(first.events.size(), backlog);

    // Created meanwhile, announced by no webhook: the resync's sweep finds them, once.
    auto quiet_po = sim_->create("purchaseorders", notify::none);
    auto quiet_supplier = sim_->create("suppliers", notify::none);
    auto lists = sim_->requests_of("list");
    auto started = test::post_resync(port, token, "precoro");
    ASSERT_EQ(started.status, 202u) << started.body;
    auto replay = test::await_resync(port, token, "precoro", test::resync_finished);
    test::expect_resync_done(replay);
    EXPECT_EQ(replay.at("events").as_int64(), 2);
    // Every resource listed from the start again (per_page 10: at least two pages each).
    EXPECT_GE(sim_->requests_of("list"), lists + 6);

    auto fresh = test::read_feed_until(port, 3, 3s, token, first.next_since);
    ASSERT_EQ(fresh.events.size(), 2u);
    std::set<std::string> ids;
    for (const auto& e : fresh.events) {
        ids.insert(std::string(e.at("resource_id").as_string()));
    }
    EXPECT_EQ(ids, (std::set<std::string>{std::to_string(quiet_po), std::to_string(quiet_supplier)}));
    auto stored = test::count_outbox(db.url(), "precoro");
    EXPECT_EQ(stored.rows, static_cast<std::int64_t>(backlog + 2));
    EXPECT_EQ(stored.distinct_ids, stored.rows);
}

}  // namespace
}  // namespace changefeed
