#include "sim/pennylane/pennylane_demo.hpp"

#include "sim/pennylane/pennylane_simulator.hpp"

namespace changefeed::sim {

demo_source pennylane_demo() {
    auto sim = std::make_unique<pennylane_simulator>();
    auto start = time::now() - std::chrono::hours(1);
    std::uint64_t seed = 1;
    for (const auto& resource : pennylane_simulator::resources()) {
        sim->generate(resource, 60, start, std::chrono::seconds(45), 3, seed++);
    }
    demo_source d;
    d.yaml = [](const std::string& base_url) {
        return "  - name: pennylane\n"
               "    kind: pennylane\n"
               "    base_url: \"" + base_url + "\"\n"
               "    token: \"sim-pennylane-token\"\n"
               "    hydrate: true\n"
               "    poll_interval: 2s\n";
    };
    d.sim = std::move(sim);
    d.tick_every = std::chrono::seconds(3);
    return d;
}

}  // namespace changefeed::sim
