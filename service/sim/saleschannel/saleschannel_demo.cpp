#include "sim/saleschannel/saleschannel_demo.hpp"

#include "sim/saleschannel/saleschannel_simulator.hpp"

namespace changefeed::sim {

demo_source saleschannel_demo() {
    auto sim = std::make_unique<saleschannel_simulator>();
    auto start = time::now() - std::chrono::hours(1);
    sim->add_status_changes(120, start, std::chrono::seconds(20), 1, 1);
    sim->add_status_changes(250, start + std::chrono::minutes(41), std::chrono::milliseconds(0), 250, 2);
    sim->add_null_created(3, start + std::chrono::minutes(42), 3);
    sim->add_unknown(4, start + std::chrono::minutes(43), 4);
    sim->add_status_changes(40, start + std::chrono::minutes(44), std::chrono::seconds(15), 2, 5);
    demo_source d;
    d.yaml = [](const std::string& base_url) {
        return "  - name: payments\n"
               "    kind: saleschannel\n"
               "    base_url: \"" + base_url + "\"\n"
               "    api_key_id: \"sim-puro-key-id\"\n"
               "    api_key_secret: \"sim-puro-passphrase\"\n"
               "    poll_interval: 2s\n";
    };
    d.sim = std::move(sim);
    d.tick_every = std::chrono::seconds(2);
    return d;
}

}  // namespace changefeed::sim
