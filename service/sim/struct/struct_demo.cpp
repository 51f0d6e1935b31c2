#include "sim/struct/struct_demo.hpp"

#include "sim/struct/struct_simulator.hpp"

namespace changefeed::sim {

demo_source struct_demo() {
    auto sim = std::make_unique<struct_simulator>();
    auto now = time::now();
    sim->commit_transactions(80, now - std::chrono::hours(1), std::chrono::seconds(40), 1);
    // Started before all of them; the trickle commits it a little later.
    sim->begin_transaction(now - std::chrono::minutes(90), 2);
    demo_source d;
    d.yaml = [](const std::string& base_url) {
        return "  - name: struct\n"
               "    kind: struct\n"
               "    base_url: \"" + base_url + "\"\n"
               "    api_key: \"sim-struct-api-key\"\n"
               "    field_diffs: true\n"
               "    poll_interval: 2s\n";
    };
    d.sim = std::move(sim);
    d.tick_every = std::chrono::seconds(3);
    return d;
}

}  // namespace changefeed::sim
