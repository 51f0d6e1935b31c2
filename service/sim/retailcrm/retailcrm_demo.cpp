#include "sim/retailcrm/retailcrm_demo.hpp"

#include "sim/retailcrm/retailcrm_simulator.hpp"

namespace changefeed::sim {

namespace {

// History ids are checkpointed (sinceId), and the demo database outlives a demo run: a new run
// must start above every id an earlier run served. 100 ids per second of wall time since 2025
// leaves room for the seeded history and the trickle between two runs started seconds apart.
std::int64_t growing_id_base() {
    constexpr std::int64_t k_epoch_2025 = 1735689600;
    auto seconds = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())
                       .time_since_epoch()
                       .count();
    return std::max<std::int64_t>(1, (seconds - k_epoch_2025) * 100);
}

}  // namespace

demo_source retailcrm_demo() {
    retailcrm_simulator::options opts;
    opts.first_history_id = growing_id_base();
    opts.first_entity_id = 1000;
    opts.unavailable_rate = 0.02;
    opts.seed = static_cast<std::uint64_t>(opts.first_history_id);
    auto sim = std::make_unique<retailcrm_simulator>(opts);
    auto start = time::now() - std::chrono::hours(1);
    for (const auto& resource : retailcrm_simulator::resources()) {
        sim->generate(resource, 40, start, std::chrono::seconds(80));
    }
    demo_source d;
    d.yaml = [](const std::string& base_url) {
        return "  - name: retailcrm\n"
               "    kind: retailcrm\n"
               "    base_url: \"" +
               base_url +
               "\"\n"
               "    api_key: \"sim-retailcrm-key\"\n"
               "    resources: [orders, customers, customers_corporate, orders_packs, tasks]\n"
               "    timezone: \"+03:00\"\n"
               "    poll_interval: 2s\n";
    };
    d.sim = std::move(sim);
    d.tick_every = std::chrono::seconds(3);
    return d;
}

}  // namespace changefeed::sim
