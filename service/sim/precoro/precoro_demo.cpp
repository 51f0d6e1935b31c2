#include "sim/precoro/precoro_demo.hpp"

#include "sim/precoro/precoro_simulator.hpp"

namespace changefeed::sim {

namespace {

constexpr std::string_view k_webhook_secret = "sim-precoro-webhook-secret";

}  // namespace

demo_source precoro_demo() {
    auto sim = std::make_unique<precoro_simulator>();
    // History from before the service starts: only a sweep finds it (no webhook was sent).
    for (const auto* resource : {"suppliers", "purchaseorders", "invoices"}) {
        for (int i = 0; i < 8; ++i) {
            sim->create(resource, precoro_simulator::notify::none);
        }
    }
    auto* raw = sim.get();
    demo_source d;
    d.yaml = [](const std::string& base_url) {
        return "  - name: precoro\n"
               "    kind: precoro\n"
               "    base_url: \"" + base_url + "\"\n"
               "    token: \"sim-precoro-token\"\n"
               "    email: \"demo@example.com\"\n"
               "    webhook_secret: \"" + std::string(k_webhook_secret) + "\"\n"
               "    resources: [suppliers, purchaseorders, invoices]\n"
               "    poll_interval: 60s\n";
    };
    d.service_url = [raw](const std::string& service_url) {
        raw->set_webhook_target(service_url + "/webhooks/precoro?token=" + std::string(k_webhook_secret));
    };
    d.sim = std::move(sim);
    // About one change every 8 s: webhook fetches plus the sweeps stay well inside the vendor's
    // 1500 requests an hour.
    d.tick_every = std::chrono::seconds(8);
    return d;
}

}  // namespace changefeed::sim
