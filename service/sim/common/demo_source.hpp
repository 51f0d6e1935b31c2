// How a vendor takes part in `changefeed demo`: a simulator seeded with some history, and the
// YAML of a source that polls it.
#pragma once

#include "sim/common/simulator.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace changefeed::sim {

struct demo_source {
    std::unique_ptr<simulator> sim;
    /// The source's entry in the `sources:` list (starting "  - name: ..."), given the
    /// simulator's base URL.
    std::function<std::string(const std::string& base_url)> yaml;
    /// How often the simulator produces new changes.
    std::chrono::milliseconds tick_every{std::chrono::seconds(2)};
    /// Told the service's base URL ("http://127.0.0.1:8080"), for a simulator that calls the
    /// service (Precoro's webhooks); may be empty.
    std::function<void(const std::string& service_url)> service_url;
};

}  // namespace changefeed::sim
