// Precoro's side of webhooks in the simulator: deliveries POSTed one after another to the
// receiver URL from a thread of their own (the simulated vendor is not the service), retried a
// few times on 5xx and network errors as a sender without a documented policy plausibly does.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace changefeed::sim {

class webhook_sender {
public:
    webhook_sender();
    ~webhook_sender();
    webhook_sender(const webhook_sender&) = delete;
    webhook_sender& operator=(const webhook_sender&) = delete;

    /// The receiver URL, with its ?token=; empty: deliveries are dropped.
    void set_target(std::string url);
    [[nodiscard]] bool has_target() const;
    /// Queues a JSON body for delivery.
    void send(std::string body);

    /// Waits until every delivery queued so far got its last answer; false on timeout.
    bool wait_idle(std::chrono::milliseconds timeout);

    struct result {
        std::string body;
        unsigned status = 0;  ///< last answer; 0 when the network failed every try
        int attempts = 0;
    };
    /// Every finished delivery, in order.
    [[nodiscard]] std::vector<result> results() const;

private:
    struct impl;
    /// The thread and the client: started with the first target (loading the system's trust
    /// store is too slow for simulators that never send).
    std::shared_ptr<impl> started() const;

    mutable std::mutex start_mutex_;
    std::shared_ptr<impl> impl_;
};

}  // namespace changefeed::sim
