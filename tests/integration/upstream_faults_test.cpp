// Every source against its simulator's fault relay: while the upstream answers 502s, cut bodies,
// malformed JSON, a proxy's HTML page, a huge body, a trickled body or nothing at all, the
// source shows the fault in last_error and stores nothing wrong; once the fault stops it goes
// on by itself, and every upstream change arrives exactly once.
#include "core/change_event.hpp"
#include "db/migrations.hpp"
#include "sim/pennylane/pennylane_simulator.hpp"
#include "sim/precoro/precoro_simulator.hpp"
#include "sim/retailcrm/retailcrm_simulator.hpp"
#include "sim/saleschannel/saleschannel_simulator.hpp"
#include "sim/struct/struct_simulator.hpp"
#include "sources/precoro/precoro_mapping.hpp"
#include "support/feed_reader.hpp"
#include "support/pg_fixture.hpp"
#include "support/service_fixture.hpp"
#include "support/sim_runner.hpp"
#include "support/source_status.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>

namespace changefeed::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using sim::fault;

// What last_error says while each fault lasts.
struct fault_case {
    fault kind;
    std::string shown;
};

const std::vector<fault_case>& fault_cases() {
    static const std::vector<fault_case> cases{
        {fault::server_error, "502"},
        {fault::cut_length, "cut short"},
        {fault::cut_chunked, "cut short"},
        {fault::malformed_json, "body is not JSON"},
        {fault::wrong_content_type, "with Content-Type \"text/html; charset=utf-8\""},
        {fault::huge_body, "exceeds the size limit"},
        {fault::slow_body, "timed out reading the response"},
        {fault::no_answer, "timed out awaiting the response"},
    };
    return cases;
}

// One source, its simulator, how to give it more upstream changes and how to tell them apart.
struct vendor {
    vendor(std::string n, sim::simulator& s) : name(std::move(n)), sim(&s) {}

    std::string name;
    sim::simulator* sim;
    std::function<void(int round)> add;  ///< round 0: the backlog
    std::function<std::multiset<std::string>()> expected;
    std::function<std::string(const json::object& event)> key;
    std::function<std::string(const std::string& base_url)> yaml;
    std::unique_ptr<sim_runner> runner;
};

std::string common_yaml(const std::string& name, const std::string& kind, const std::string& base_url) {
    // A small timeout, so that the trickled body and the silent upstream cost little.
    return "  - name: " + name + "\n    kind: " + kind + "\n    base_url: \"" + base_url +
           "\"\n    timeout: 300ms\n";
}

std::multiset<std::string> received(const vendor& v, const std::vector<json::object>& events) {
    std::multiset<std::string> out;
    for (const auto& e : events) {
        if (!e.contains("snapshot")) {
            out.insert(v.key(e));
        }
    }
    return out;
}

// The source's last_error once `accept` takes it, or the last one seen when 20 s passed.
std::string await_last_error(unsigned short port, const std::string& name,
                             const std::function<bool(const std::string&)>& accept) {
    auto status = await_source(
        port, name, [&](const json::object& s) { return accept(last_error_of(s)); }, 20s);
    return last_error_of(status);
}

std::string first_or_none(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

class upstream_faults_test : public ::testing::Test {
protected:
    void SetUp() override { db::apply_migrations(db_.url()); }
    scratch_database db_;
};

TEST_F(upstream_faults_test, every_source_rides_out_every_fault_and_loses_and_duplicates_nothing) {
    auto start = time::now() - 1h;
    // Each round's changes come after the ones before (the vendors' logs only grow).
    auto at = [&start](int round) { return start + std::chrono::minutes(5 * round); };

    sim::pennylane_simulator::options po;
    po.rate_limit = {100000, 5s};
    sim::pennylane_simulator pennylane(po);
    vendor pl("pennylane", pennylane);
    pl.add = [&](int round) {
        // Later rounds are processed just now: Pennylane's changelog grows at the present, and
        // the watermark of a finished walk is the time of its last request.
        if (round == 0) {
            pennylane.generate("suppliers", 120, at(0), 1s, 1, 100);
        } else {
            pennylane.generate("suppliers", 15, time::now() - 1s, 10ms, 1,
                               100 + static_cast<std::uint64_t>(round));
        }
    };
    pl.expected = [&] {
        std::multiset<std::string> out;
        for (const auto& c : pennylane.changelog("suppliers")) {
            out.insert(std::to_string(c.id) + "|" + c.operation + "|" + time::format_rfc3339(c.processed_at));
        }
        return out;
    };
    pl.key = [](const json::object& e) {
        return std::string(e.at("resource_id").as_string()) + "|" + std::string(e.at("operation").as_string()) +
               "|" + std::string(e.at("occurred_at").as_string());
    };
    pl.yaml = [](const std::string& base) {
        return common_yaml("pennylane", "pennylane", base) +
               "    token: \"sim-pennylane-token\"\n    resources: [suppliers]\n    page_limit: 20\n"
               "    poll_interval: 200ms\n    rate_limit: [{limit: 100000, window: 5s}]\n";
    };

    sim::saleschannel_simulator::options so;
    so.rate_limit = {100000, 1s};
    sim::saleschannel_simulator saleschannel(so);
    vendor sc("payments", saleschannel);
    sc.add = [&](int round) {
        saleschannel.add_status_changes(round == 0 ? 120 : 15, at(round), 1s, 1,
                                        200 + static_cast<std::uint64_t>(round));
    };
    sc.expected = [&] {
        std::multiset<std::string> out;
        for (const auto& e : saleschannel.events()) {
            out.insert(e.id);
        }
        return out;
    };
    sc.key = [](const json::object& e) { return std::string(e.at("upstream").at("id").as_string()); };
    sc.yaml = [](const std::string& base) {
        return common_yaml("payments", "saleschannel", base) +
               "    api_key_id: \"sim-puro-key-id\"\n    api_key_secret: \"sim-puro-passphrase\"\n"
               "    page_limit: 20\n    poll_interval: 200ms\n"
               "    rate_limit: [{limit: 100000, window: 1s}]\n";
    };

    sim::retailcrm_simulator::options ro;
    ro.rate_limit = 100000;
    sim::retailcrm_simulator retailcrm(ro);
    vendor rc("crm", retailcrm);
    rc.add = [&](int round) {
        retailcrm.generate("orders", round == 0 ? 120 : 15, at(round), 1s,
                           sim::retailcrm_simulator::maker::user);
    };
    rc.expected = [&] {
        std::multiset<std::string> out;
        for (const auto& r : retailcrm.history("orders")) {
            out.insert(std::to_string(r.at("id").as_int64()));
        }
        return out;
    };
    rc.key = [](const json::object& e) { return std::to_string(e.at("upstream").at("id").as_int64()); };
    rc.yaml = [](const std::string& base) {
        return common_yaml("crm", "retailcrm", base) +
               "    api_key: \"sim-retailcrm-key\"\n    resources: [orders]\n    page_limit: 20\n"
               "    poll_interval: 200ms\n    rate_limit: [{limit: 100000, window: 1s}]\n";
    };

    sim::struct_simulator::options to;
    to.page_size = 20;
    sim::struct_simulator pim(to);
    vendor st("pim", pim);
    st.add = [&](int round) {
        // Committed just now (a round takes seconds, so each round's come after the last).
        pim.commit_transactions(round == 0 ? 60 : 6, time::now() - (round == 0 ? 30s : 2s),
                                round == 0 ? 100ms : 10ms, 400 + static_cast<std::uint64_t>(round));
    };
    st.expected = [&] {
        std::multiset<std::string> out;
        for (const auto& r : pim.revisions()) {
            out.insert(r.transaction_uid + "|" + r.entity_type + "|" + r.entity_id + "|" +
                       std::to_string(r.revision_no));
        }
        return out;
    };
    st.key = [](const json::object& e) {
        const auto& c = e.at("upstream").at("ChangedEntity");
        return std::string(c.at("TransactionUid").as_string()) + "|" +
               std::string(c.at("EntityType").as_string()) + "|" +
               std::string(c.at("EntityId").as_string()) + "|" + std::to_string(c.at("RevisionNo").as_int64());
    };
    st.yaml = [](const std::string& base) {
        return common_yaml("pim", "struct", base) +
               "    api_key: \"sim-struct-api-key\"\n    page_size: 20\n    poll_interval: 200ms\n"
               "    rate_limit: [{limit: 100000, window: 1s}]\n";
    };

    sim::precoro_simulator::options pco;
    pco.tick_resources.clear();
    pco.windows = {{"Minute limiter", 100000, 60s}, {"Daily limiter", 1000000, 24h}};
    sim::precoro_simulator precoro(pco);
    vendor pc("precoro", precoro);
    pc.add = [&](int round) {
        for (int i = 0; i < (round == 0 ? 40 : 5); ++i) {
            precoro.create("suppliers", sim::precoro_simulator::notify::none);
        }
    };
    pc.expected = [&] {
        std::multiset<std::string> out;
        for (const auto& v : precoro.versions()) {
            auto t = time::parse_rfc3339(v.update_date, true);
            EXPECT_TRUE(t) << v.update_date;
            out.insert(core::make_event_id(
                {"precoro", v.resource, std::to_string(v.id), sources::precoro::version_text(*t)}));
        }
        return out;
    };
    pc.key = [](const json::object& e) { return std::string(e.at("event_id").as_string()); };
    pc.yaml = [](const std::string& base) {
        return common_yaml("precoro", "precoro", base) +
               "    token: \"sim-precoro-token\"\n    email: \"demo@example.com\"\n"
               "    webhook_secret: \"test-webhook-secret-6f1d2c9a41\"\n    resources: [suppliers]\n"
               "    per_page: 10\n    queue_check: 200ms\n    poll_interval: 500ms\n"
               "    rate_limit: [{limit: 100000, window: 60s}, {limit: 1000000, window: 24h}]\n";
    };

    std::vector<vendor*> vendors{&pl, &sc, &rc, &st, &pc};
    std::string yaml;
    for (auto* v : vendors) {
        v->add(0);
        v->runner = std::make_unique<sim_runner>(*v->sim, std::chrono::milliseconds{}, true);
        yaml += v->yaml(v->runner->base_url());
    }
    running_service svc(config_with_sources(db_.url(), yaml));
    auto port = svc.port();

    // Every upstream change so far arrived, each once.
    auto all_arrived = [&](vendor& v, const std::string& when) {
        auto expected = v.expected();
        auto feed = read_feed_until(port, expected.size(), 30s, "", 0, "&source=" + v.name);
        EXPECT_EQ(received(v, feed.events), expected) << v.name << " " << when;
        EXPECT_TRUE(duplicate_event_ids(feed.events).empty()) << v.name << " " << when;
    };
    // The backlog is under way before the first fault.
    for (auto* v : vendors) {
        read_feed_until(port, 1, 30s, "", 0, "&source=" + v->name);
    }

    int round = 0;
    for (const auto& fc : fault_cases()) {
        auto name = std::string(sim::fault_name(fc.kind));
        for (auto* v : vendors) {
            v->sim->inject(fc.kind);
        }
        // The fault shows while it lasts. Every failed step makes the source reload its
        // checkpoints from the database, so the exactly-once check after the fault also shows
        // that no checkpoint was stored ahead of its events.
        for (auto* v : vendors) {
            auto shown = await_last_error(port, v->name, [&](const std::string& e) {
                return e.find(fc.shown) != std::string::npos;
            });
            EXPECT_NE(shown.find(fc.shown), std::string::npos)
                << v->name << " during " << name << ": last_error \"" << shown << "\"";
            EXPECT_EQ(shown.find("sim-"), std::string::npos) << v->name << ": a credential in " << shown;
            EXPECT_GT(v->sim->faults_served(fc.kind), 0u) << v->name << " " << name;
        }
        ++round;
        for (auto* v : vendors) {
            v->sim->clear_faults();
            v->add(round);
        }
        for (auto* v : vendors) {
            all_arrived(*v, "after " + name);
        }
    }

    // Recovered: the next successful step clears the error. (With the 300 ms timeout a step may
    // still time out now and then on a busy machine; the one after it succeeds.)
    for (auto* v : vendors) {
        auto shown = await_last_error(port, v->name, [](const std::string& e) { return e.empty(); });
        EXPECT_EQ(shown, "") << v->name;
        auto violations = v->sim->violations();
        EXPECT_TRUE(violations.empty()) << v->name << ": " << violations.size() << ": "
                                        << first_or_none(violations);
    }
}

// A fraction of the requests fails (seeded, so the same requests fail on every run): the
// sources go on between the faults and nothing is lost or duplicated.
TEST_F(upstream_faults_test, a_fraction_of_cut_bodies_loses_and_duplicates_nothing) {
    sim::saleschannel_simulator::options so;
    so.rate_limit = {100000, 1s};
    sim::saleschannel_simulator saleschannel(so);
    saleschannel.add_status_changes(300, time::now() - 1h, 1s, 1, 7);
    saleschannel.inject_fraction(fault::cut_chunked, 0.3, 42);
    sim_runner runner(saleschannel, {}, true);
    std::multiset<std::string> expected;
    for (const auto& e : saleschannel.events()) {
        expected.insert(e.id);
    }

    running_service svc(config_with_sources(
        db_.url(), common_yaml("payments", "saleschannel", runner.base_url()) +
                       "    api_key_id: \"sim-puro-key-id\"\n    api_key_secret: \"sim-puro-passphrase\"\n"
                       "    page_limit: 20\n    poll_interval: 200ms\n"
                       "    rate_limit: [{limit: 100000, window: 1s}]\n"));
    auto feed = read_feed_until(svc.port(), expected.size(), 60s);
    std::multiset<std::string> got;
    for (const auto& e : feed.events) {
        got.insert(std::string(e.at("upstream").at("id").as_string()));
    }
    EXPECT_EQ(got, expected);
    EXPECT_TRUE(duplicate_event_ids(feed.events).empty());
    EXPECT_GT(saleschannel.faults_served(fault::cut_chunked), 0u);
    EXPECT_TRUE(saleschannel.violations().empty()) << first_or_none(saleschannel.violations());
}

}  // namespace
}  // namespace changefeed::test
