// Pennylane catch-up: the service (in-process) polls a simulator holding N changes with
// hydration on, until every change is in the outbox. Prints events/s and upstream requests per
// 1000 changes. The simulator's rate limit is lifted so the figure is changefeed's own speed; at
// the vendor's 25 requests per 5 s the catch-up is bounded by the vendor (see README).
#include "app/config.hpp"
#include "app/service.hpp"
#include "db/migrations.hpp"
#include "sim/common/sim_host.hpp"
#include "sim/pennylane/pennylane_simulator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace asio = boost::asio;
using namespace changefeed;

int main(int argc, char** argv) {
    if (argc < 2) {
        fmt::print(stderr, "usage: pennylane_catchup DATABASE_URL [changes=100000]\n");
        return 2;
    }
    std::string url = argv[1];
    std::size_t changes = argc > 2 ? static_cast<std::size_t>(std::atoll(argv[2])) : 100000;
    db::apply_migrations(url);

    sim::pennylane_simulator::options o;
    o.rate_limit = {1000000, std::chrono::seconds(1)};
    sim::pennylane_simulator pennylane(o);
    pennylane.generate("customer_invoices", changes, time::now() - std::chrono::hours(6),
                       std::chrono::milliseconds(150), 3, 42);
    asio::io_context sim_ioc;
    sim::sim_host host(sim_ioc.get_executor(), pennylane);
    asio::co_spawn(sim_ioc, host.run(), asio::detached);
    std::thread sim_thread([&] { sim_ioc.run(); });

    std::string yaml = "listen: \"127.0.0.1:0\"\n"
                       "database_url: \"" + url + "\"\n"
                       "log_level: warn\n"
                       "feed: {tokens: [], retention: 0}\n"
                       "sources:\n"
                       "  - name: pennylane\n"
                       "    kind: pennylane\n"
                       "    base_url: \"" + host.base_url() + "\"\n"
                       "    token: \"sim-pennylane-token\"\n"
                       "    hydrate: true\n"
                       "    resources: [customer_invoices]\n"
                       "    poll_interval: 60s\n"
                       "    rate_limit: []\n";
    auto loaded = app::load_config_text(yaml, "bench.yaml");
    if (auto* err = std::get_if<app::config_error>(&loaded)) {
        fmt::print(stderr, "{}\n", err->message);
        return 1;
    }
    asio::io_context ioc{1};
    app::service svc(ioc, std::get<app::app_config>(std::move(loaded)));
    svc.start();
    auto started = std::chrono::steady_clock::now();
    asio::co_spawn(ioc, svc.run(), asio::detached);
    std::thread service_thread([&] { ioc.run(); });

    pqxx::connection conn(url);
    std::size_t stored = 0;
    auto deadline = started + std::chrono::minutes(10);
    // max(seq) reads one index entry, while a count(*) every 20 ms scans the growing outbox
    // with the CPU the catch-up needs; seqs may have gaps, so the count comes once the head
    // has gone far enough.
    while (stored < changes && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        pqxx::nontransaction tx(conn);
        auto head = tx.exec1("SELECT coalesce(max(seq), 0) FROM outbox")[0].as<std::size_t>();
        if (head >= changes) {
            stored = tx.exec1("SELECT count(*) FROM outbox")[0].as<std::size_t>();
        }
    }
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto requests = pennylane.requests_of("changelog") + pennylane.requests_of("list");

    asio::post(ioc, [&] { svc.stop(); });
    service_thread.join();
    asio::post(sim_ioc, [&] { host.stop(); });
    sim_thread.join();

    fmt::print("changes {}\n", changes);
    fmt::print("stored {}\n", stored);
    fmt::print("seconds {:.2f}\n", seconds);
    fmt::print("events_per_second {:.0f}\n", static_cast<double>(stored) / seconds);
    fmt::print("requests {}\n", requests);
    fmt::print("requests_per_1000 {:.2f}\n", 1000.0 * static_cast<double>(requests) / static_cast<double>(changes));
    fmt::print("violations {}\n", pennylane.violations().size());
    return stored == changes ? 0 : 1;
}
