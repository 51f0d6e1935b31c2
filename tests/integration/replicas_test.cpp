// Several replicas on one database (SPEC section 7): each source is polled by one replica at a
// time, another takes over when the holder dies, and the feed stays gap-free and exactly-once.
#include "db/migrations.hpp"
#include "sim/pennylane/pennylane_simulator.hpp"
#include "support/child_process.hpp"
#include "support/feed_reader.hpp"
#include "support/pg_fixture.hpp"
#include "support/sim_runner.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace changefeed::test {
namespace {

using namespace std::chrono_literals;
using sim::pennylane_simulator;

// The pid a User-Agent "changefeed/x (replica host/pid)" names.
int agent_pid(const std::string& agent) {
    auto slash = agent.rfind('/');
    auto close = agent.rfind(')');
    if (slash == std::string::npos || close == std::string::npos || close < slash) {
        return -1;
    }
    return std::stoi(agent.substr(slash + 1, close - slash - 1));
}

std::set<std::string> identities(const std::vector<boost::json::object>& events) {
    std::set<std::string> out;
    for (const auto& e : events) {
        out.insert(std::string(e.at("resource_id").as_string()) + "/" +
                   std::string(e.at("operation").as_string()) + "/" +
                   std::string(e.at("occurred_at").as_string()));
    }
    return out;
}

std::set<std::string> expected(const pennylane_simulator& sim) {
    std::set<std::string> out;
    for (const auto& c : sim.changelog("products")) {
        out.insert(std::to_string(c.id) + "/" + c.operation + "/" + time::format_rfc3339(c.processed_at));
    }
    return out;
}

TEST(replicas, one_replica_polls_a_source_and_another_takes_over_when_it_dies) {
    scratch_database db;
    db::apply_migrations(db.url());
    pennylane_simulator::options o;
    o.rate_limit = {1000, 5s};
    pennylane_simulator sim(o);
    sim.generate("products", 1500, time::now() - 1h, 500ms, 3, 21);
    sim_runner runner(sim);

    auto dir = std::filesystem::temp_directory_path() / ("cf-replicas-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto config = (dir / "config.yaml").string();
    {
        std::ofstream out(config);
        out << "listen: \"127.0.0.1:0\"\n"
            << "database_url: \"" << db.url() << "\"\n"
            << "sources:\n"
            << "  - name: pennylane\n"
            << "    kind: pennylane\n"
            << "    base_url: \"" << runner.base_url() << "\"\n"
            << "    token: \"sim-pennylane-token\"\n"
            << "    resources: [products]\n"
            << "    page_limit: 100\n"
            << "    poll_interval: 1s\n"
            << "    rate_limit: [{limit: 1000, window: 5s}]\n";
    }
    auto log_a = (dir / "a.log").string();
    auto log_b = (dir / "b.log").string();
    auto a = std::make_unique<child_process>(changefeed_binary(), std::vector<std::string>{"serve", "--config", config}, log_a);
    auto b = std::make_unique<child_process>(changefeed_binary(), std::vector<std::string>{"serve", "--config", config}, log_b);
    auto port_a = wait_for_listening_port(log_a, 30000);
    auto port_b = wait_for_listening_port(log_b, 30000);
    ASSERT_NE(port_a, 0);
    ASSERT_NE(port_b, 0);

    // Both serve the feed; one of them polls.
    auto first = read_feed_until(port_a, 1500, 60s);
    EXPECT_EQ(identities(first.events), expected(sim));
    EXPECT_TRUE(duplicate_event_ids(first.events).empty());
    EXPECT_EQ(read_feed_until(port_b, 1500, 30s).events.size(), 1500u);
    auto agents = sim.requests_by_agent();
    ASSERT_EQ(agents.size(), 1u) << "more than one replica polled the source";
    int holder = agent_pid(agents.begin()->first);
    ASSERT_TRUE(holder == a->pid() || holder == b->pid()) << agents.begin()->first;

    // The holder dies; the other takes the source over and polls what comes next.
    auto& dead = holder == a->pid() ? a : b;
    auto survivor_port = holder == a->pid() ? port_b : port_a;
    int survivor = holder == a->pid() ? b->pid() : a->pid();
    dead->signal(SIGKILL);
    EXPECT_EQ(dead->wait(10000), 128 + SIGKILL);
    sim.generate("products", 300, time::now(), 10ms, 1, 22);
    auto all = read_feed_until(survivor_port, 1800, 60s);
    EXPECT_EQ(identities(all.events), expected(sim));
    EXPECT_TRUE(duplicate_event_ids(all.events).empty());
    for (std::size_t i = 1; i < all.events.size(); ++i) {
        EXPECT_LT(all.events[i - 1].at("seq").as_int64(), all.events[i].at("seq").as_int64());
    }
    agents = sim.requests_by_agent();
    EXPECT_EQ(agents.size(), 2u);
    for (const auto& [agent, count] : agents) {
        int pid = agent_pid(agent);
        EXPECT_TRUE(pid == holder || pid == survivor) << agent;
    }
    EXPECT_TRUE(sim.violations().empty());
    a.reset();
    b.reset();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace changefeed::test
