// Serves one simulator on 127.0.0.1 (port 0: a free one) and runs its trickle of changes; with
// faults on, in front of it a relay that serves the simulator's injected faults as raw bytes.
#pragma once

#include "sim/common/simulator.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace changefeed::sim {

class sim_host {
public:
    /// Binds at once (throws std::runtime_error when it cannot). With `faults`, requests pass
    /// through a relay that serves simulator::take_fault()'s faults (listen must then be a
    /// numeric "address:port").
    sim_host(boost::asio::any_io_executor ex, simulator& sim, std::string listen = "127.0.0.1:0",
             bool faults = false);
    ~sim_host();

    /// "http://127.0.0.1:<port>"
    [[nodiscard]] std::string base_url() const;
    [[nodiscard]] unsigned short port() const;

    /// Serves until stop(); with `tick_every` > 0 calls simulator::tick that often.
    boost::asio::awaitable<void> run(std::chrono::milliseconds tick_every = {});
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::sim
