// A vendor simulator served on 127.0.0.1 from its own thread, for tests.
#pragma once

#include "sim/common/simulator.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace changefeed::test {

class sim_runner {
public:
    /// Starts serving `sim` (which must outlive the runner); `tick_every` > 0 also runs its trickle;
    /// `faults` serves the faults injected into `sim` (sim_host's relay).
    explicit sim_runner(sim::simulator& sim, std::chrono::milliseconds tick_every = {},
                        bool faults = false);
    ~sim_runner();
    sim_runner(const sim_runner&) = delete;
    sim_runner& operator=(const sim_runner&) = delete;

    [[nodiscard]] std::string base_url() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::test
