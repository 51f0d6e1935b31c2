// The Struct source against its simulator and a real PostgreSQL: a backlog and a transaction
// that started early and committed late (also one whose commit becomes visible mid-walk), uids
// processed once across overlapping walks, the 5000-uid limit, field diffs with the 1000-key
// limit under configured parameter names, and a kill -9 between pages.
#include "db/migrations.hpp"
#include "resync_support.hpp"
#include "sim/struct/struct_simulator.hpp"
#include "support/feed_reader.hpp"
#include "support/http_client.hpp"
#include "support/pg_fixture.hpp"
#include "support/serve_child.hpp"
#include "support/service_fixture.hpp"
#include "support/sim_runner.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <tuple>

namespace changefeed::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using sim::struct_simulator;

// TransactionUid, EntityType, EntityId, RevisionNo
using revision_identity = std::tuple<std::string, std::string, std::string, std::int64_t>;

std::string source_yaml(const std::string& base_url, const std::string& extra = {}) {
    return "  - name: pim\n"
           "    kind: struct\n"
           "    base_url: \"" + base_url + "\"\n"
           "    api_key: \"sim-struct-api-key\"\n"
           "    rate_limit: [{limit: 10000, window: 1s}]\n" + extra;
}

std::multiset<revision_identity> expected_revisions(const struct_simulator& sim) {
    std::multiset<revision_identity> out;
    for (const auto& r : sim.revisions()) {
        out.emplace(r.transaction_uid, r.entity_type, r.entity_id, r.revision_no);
    }
    return out;
}

std::multiset<revision_identity> received_revisions(const std::vector<json::object>& events) {
    std::multiset<revision_identity> out;
    for (const auto& e : events) {
        const auto& c = e.at("upstream").at("ChangedEntity");
        out.emplace(std::string(c.at("TransactionUid").as_string()),
                    std::string(c.at("EntityType").as_string()),
                    std::string(c.at("EntityId").as_string()), c.at("RevisionNo").as_int64());
    }
    return out;
}

std::string first_or_none(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

class struct_test : public ::testing::Test {
protected:
    void SetUp() override { db::apply_migrations(db_.url()); }
    scratch_database db_;
};

TEST_F(struct_test, a_backlog_and_a_late_commit_arrive_once_and_no_uid_is_processed_twice) {
    struct_simulator sim;
    auto now = time::now();
    sim.commit_transactions(450, now - 2h, 10s, 1);
    auto last_commit = now - 2h + 449 * 10s;
    // Started before everything else; invisible to the search until it commits.
    auto slow = sim.begin_transaction(now - 3h, 2);
    sim_runner runner(sim);
    auto backlog = expected_revisions(sim);

    running_service svc(config_with_sources(db_.url(), source_yaml(runner.base_url(),
                                                                   "    poll_interval: 100ms\n")));
    auto first = read_feed_until(svc.port(), backlog.size(), 60s);
    ASSERT_EQ(received_revisions(first.events), backlog);

    // It commits now, stamped a minute before the newest commit already served (its commit
    // became visible late), and it is listed among the oldest (by StartTimestamp).
    sim.commit_pending(slow, last_commit - 1min);
    sim.commit_transactions(20, now - 10s, 100ms, 3);
    auto expected = expected_revisions(sim);
    auto rest = read_feed_until(svc.port(), expected.size() - backlog.size(), 60s, {},
                                first.next_since);
    auto all = first.events;
    all.insert(all.end(), rest.events.begin(), rest.events.end());

    EXPECT_EQ(received_revisions(all), expected);
    EXPECT_TRUE(duplicate_event_ids(all).empty());
    bool slow_seen = std::any_of(rest.events.begin(), rest.events.end(), [&](const json::object& e) {
        return e.at("upstream").at("Transaction").at("Uid") == json::value(slow);
    });
    EXPECT_TRUE(slow_seen);
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
    // Overlapping walks list the same transactions again; none was looked up twice.
    auto lookups = sim.changed_entity_lookups();
    EXPECT_EQ(lookups.size(), 471u);
    for (const auto& [uid, count] : lookups) {
        EXPECT_EQ(count, 1u) << uid;
    }
    EXPECT_GE(sim.requests_of("search"), 6u);  // the backlog's 5 pages, then overlapping walks

    // The event shape of SPEC section 4.
    const auto& e = all.front();
    EXPECT_EQ(e.at("source_kind"), "struct");
    EXPECT_TRUE(e.at("resource") == "products" || e.at("resource") == "variants" ||
                e.at("resource") == "categories" || e.at("resource") == "globallistvalues");
    EXPECT_EQ(e.at("resource_id"), e.at("upstream").at("ChangedEntity").at("EntityId"));
    EXPECT_FALSE(e.contains("changes"));  // field_diffs is off
}

TEST_F(struct_test, a_commit_visible_in_the_middle_of_a_walk_is_not_lost) {
    struct_simulator sim;
    auto now = time::now();
    sim.commit_transactions(450, now - 2h, 10s, 5);
    // Started before everything else, so listed on page 1; it commits while page 3 is asked
    // for, stamped long before the newest commit (beyond the overlap): only a walk that reads
    // page 1 again can see it.
    auto slow = sim.begin_transaction(now - 3h, 6);
    std::atomic<int> searches{0};
    sim.on_request([&](const http::request& req) {
        if (req.path == "/v1/transactions/search" && ++searches == 3) {
            sim.commit_pending(slow, now - 2h + 5s);
        }
    });
    sim_runner runner(sim);

    running_service svc(config_with_sources(db_.url(), source_yaml(runner.base_url())));
    auto feed = read_feed_until(svc.port(), expected_revisions(sim).size(), 60s);
    auto expected = expected_revisions(sim);  // now with the slow transaction's revisions
    if (feed.events.size() < expected.size()) {
        auto rest = read_feed_until(svc.port(), expected.size() - feed.events.size(), 60s, {},
                                    feed.next_since);
        feed.events.insert(feed.events.end(), rest.events.begin(), rest.events.end());
    }

    EXPECT_EQ(received_revisions(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    auto lookups = sim.changed_entity_lookups();
    EXPECT_EQ(lookups.count(slow), 1u);
    EXPECT_EQ(lookups.size(), 451u);
    for (const auto& [uid, count] : lookups) {
        EXPECT_EQ(count, 1u) << uid;  // the walk read again skips what it processed
    }
    auto status = json::parse(http_get(svc.port(), "/sources").body).at("sources").at(0);
    EXPECT_GE(status.at("walk_restarts").as_int64(), 1) << json::serialize(status);
    EXPECT_EQ(status.at("uncommitted_skipped"), 0);
    auto metrics = http_get(svc.port(), "/metrics").body;
    EXPECT_NE(metrics.find("changefeed_upstream_requests_total{source=\"pim\",status=\"200\"} "),
              std::string::npos) << metrics;
    EXPECT_NE(metrics.find("changefeed_events_total{source=\"pim\",resource=\"products\","),
              std::string::npos) << metrics;
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
}

TEST_F(struct_test, a_page_of_more_than_5000_transactions_is_looked_up_in_batches) {
    struct_simulator::options o;
    o.page_size = 6000;
    struct_simulator sim(o);
    sim.commit_transactions(5200, time::now() - 3h, 1s, 4, 1);
    sim_runner runner(sim);
    auto expected = expected_revisions(sim);

    running_service svc(config_with_sources(db_.url(), source_yaml(runner.base_url(),
                                                                   "    page_size: 6000\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);

    EXPECT_EQ(received_revisions(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
    EXPECT_EQ(sim.largest_uid_batch(), 5000u);
    EXPECT_EQ(sim.requests_of("changedentities"), 2u);
}

TEST_F(struct_test, field_diffs_under_configured_parameter_names) {
    struct_simulator::options o;
    o.param_page = "pageNumber";
    o.param_committed_after = "from";
    o.param_committed_before = "to";
    struct_simulator sim(o);
    auto now = time::now();
    sim.commit_transactions(60, now - 1h, 20s, 5, 3);
    sim.bulk_transaction(1100, now - 30min, 6);  // one import: more revision keys than a batch
    sim.commit_transactions(30, now - 20min, 20s, 7, 3);
    sim_runner runner(sim);
    auto expected = expected_revisions(sim);

    running_service svc(config_with_sources(db_.url(), source_yaml(runner.base_url(),
                                                                   "    field_diffs: true\n"
                                                                   "    param_page: pageNumber\n"
                                                                   "    param_committed_after: from\n"
                                                                   "    param_committed_before: to\n")));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);

    EXPECT_EQ(received_revisions(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
    EXPECT_EQ(sim.largest_key_batch(), 1000u);

    std::size_t inserts = 0;
    std::size_t updates = 0;
    for (const auto& e : feed.events) {
        const auto& op = e.at("operation");
        const auto& types = e.at("upstream").at("DataTypes").as_array();
        if (op == "delete") {
            EXPECT_FALSE(e.contains("changes")) << json::serialize(e);
            continue;
        }
        const auto& changes = e.at("changes").as_array();
        ASSERT_FALSE(changes.empty()) << json::serialize(e);
        EXPECT_EQ(changes.size(), types.size()) << json::serialize(e);
        for (const auto& c : changes) {
            EXPECT_TRUE(c.at("field").is_string());
            if (op == "insert") {
                EXPECT_TRUE(c.at("old").is_null()) << json::serialize(e);
            }
            EXPECT_NE(c.at("new"), c.at("old")) << json::serialize(e);
        }
        ++(op == "insert" ? inserts : updates);
    }
    EXPECT_GE(inserts, 1100u);
    EXPECT_GT(updates, 0u);
}

// The service as a child process, killed with SIGKILL while it reads the backlog.
TEST_F(struct_test, a_kill_between_pages_loses_and_duplicates_nothing) {
    struct_simulator sim;
    sim.commit_transactions(600, time::now() - 2h, 5s, 8);
    std::atomic<int> victim{-1};
    std::atomic<int> lookups{0};
    sim.on_request([&](const http::request& req) {
        // Page 4 was searched; its changed entities are never answered.
        if (req.path == "/v1/transactions/batch/changedentities" && ++lookups == 4) {
            int pid = victim.load();
            if (pid > 0) {
                ::kill(pid, SIGKILL);
            }
        }
    });
    sim_runner runner(sim);
    auto expected = expected_revisions(sim);
    auto yaml = source_yaml(runner.base_url());

    EXPECT_EQ(serve_until_ended(db_.url(), yaml, victim), 128 + SIGKILL);
    auto stored_before = stored_events(db_.url());
    EXPECT_GT(stored_before, 0u);
    EXPECT_LT(stored_before, expected.size());

    running_service svc(config_with_sources(db_.url(), yaml));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);
    EXPECT_EQ(received_revisions(feed.events), expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
    // Only the page whose lookup was cut off is looked up again, and the page before it when
    // its commit was still in flight (the poller commits a page while it fetches the next).
    std::size_t twice = 0;
    for (const auto& [uid, count] : sim.changed_entity_lookups()) {
        EXPECT_LE(count, 2u) << uid;
        twice += count == 2 ? 1 : 0;
    }
    EXPECT_LE(twice, 200u);
}

TEST_F(struct_test, a_resync_replays_from_committed_after_without_duplicates) {
    struct_simulator sim;
    auto now = time::now();
    sim.commit_transactions(120, now - 2h, 30s, 11);
    std::mutex mutex;
    std::vector<std::optional<std::string>> searched;  // committedAfter of every search
    sim.on_request([&](const http::request& req) {
        if (req.path == "/v1/transactions/search") {
            auto after = req.query_param("committedAfter");
            std::lock_guard lock(mutex);
            searched.emplace_back(after ? std::optional<std::string>(*after) : std::nullopt);
        }
    });
    sim_runner runner(sim);
    const std::string token = "feed-token";
    running_service svc(config_with_sources(
        db_.url(), source_yaml(runner.base_url(), "    poll_interval: 1h\n"), {token}));
    auto backlog_expected = expected_revisions(sim);
    auto backlog = read_feed_until(svc.port(), backlog_expected.size(), 60s, token);
    ASSERT_EQ(received_revisions(backlog.events), backlog_expected);

    // Committed meanwhile: the replay brings it, once.
    sim.commit_transactions(5, time::now() - 5s, 100ms, 12);
    auto expected = expected_revisions(sim);
    std::size_t searched_before = 0;
    {
        std::lock_guard lock(mutex);
        searched_before = searched.size();
    }
    auto from = time::format_rfc3339(now - 1h - 15s);  // between two commits
    auto started = post_resync(svc.port(), token, "pim", from);
    ASSERT_EQ(started.status, 202u) << started.body;
    auto replay = await_resync(svc.port(), token, "pim", resync_finished);
    expect_resync_done(replay);

    auto fresh = read_feed_until(svc.port(), expected.size() - backlog_expected.size() + 1, 3s, token,
                                 backlog.next_since);
    auto all = backlog.events;
    all.insert(all.end(), fresh.events.begin(), fresh.events.end());
    EXPECT_EQ(received_revisions(all), expected);
    EXPECT_EQ(fresh.events.size(), expected.size() - backlog_expected.size());
    EXPECT_EQ(replay.at("events").as_int64(), events_since(all, *time::parse_rfc3339(from)));
    auto stored = count_outbox(db_.url(), "pim");
    EXPECT_EQ(stored.rows, static_cast<std::int64_t>(expected.size()));
    EXPECT_EQ(stored.distinct_ids, stored.rows);
    {
        // The replay's first search asked from `from`.
        std::lock_guard lock(mutex);
        ASSERT_GT(searched.size(), searched_before);
        ASSERT_TRUE(searched[searched_before]);
        EXPECT_EQ(time::parse_rfc3339(*searched[searched_before]), time::parse_rfc3339(from));
    }
    sim.on_request(nullptr);
    auto violations = sim.violations();
    EXPECT_TRUE(violations.empty()) << violations.size() << ": " << first_or_none(violations);
}

}  // namespace
}  // namespace changefeed::test
