// The generic poll loop: one per enabled source. It holds the source's lease (one replica polls a
// source), restores the stored checkpoints, then repeatedly polls a step, commits its events and
// checkpoints through the outbox writer and awaits that commit; it goes on at once while the
// vendor has more, else sleeps poll_interval. Failures are caught per step: throttling and
// outages back off with jitter, rejected credentials mark the source `failing` and retry slowly.
#pragma once

#include "app/config.hpp"
#include "sources/common/backoff.hpp"
#include "sources/source.hpp"
#include "sources/source_status.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace changefeed::db {
class pg_pool;
class outbox_writer;
class source_lease;
}  // namespace changefeed::db

namespace changefeed::sources {

class upstream;

struct poller_timing {
    /// Backoff between failed steps (throttled, unavailable, invalid answers).
    backoff_policy failure_backoff{std::chrono::seconds(1), std::chrono::minutes(5)};
    /// Wait after the vendor refused our credentials (at least poll_interval).
    std::chrono::milliseconds auth_retry = std::chrono::minutes(5);
};

class poller {
public:
    /// `lease` may be null (a single replica: always the holder).
    poller(boost::asio::any_io_executor ex, app::source_config config, const source_factory& make,
           db::pg_pool& pool, db::outbox_writer& writer, db::source_lease* lease,
           poller_timing timing = {});
    ~poller();
    poller(const poller&) = delete;
    poller& operator=(const poller&) = delete;

    /// Runs until stop(); never throws (each step's failure is recorded in the status).
    boost::asio::awaitable<void> run();
    /// Cancels what the loop is doing (an upstream request, a sleep) and ends run().
    void stop();
    /// Ends the current sleep: poll now (e.g. a webhook queued work).
    void wake();

    [[nodiscard]] const source_status& status() const;
    [[nodiscard]] boost::json::object status_json(time::time_point now) const;
    [[nodiscard]] upstream& http();
    [[nodiscard]] const app::source_config& config() const;

    /// What a commit stored, by resource and operation (for metrics).
    struct stored_tally {
        std::string resource;
        std::string operation;
        std::uint64_t events = 0;
    };
    /// Adds a callback called after each commit that stored events (metrics, activity).
    void on_stored(std::function<void(const std::vector<stored_tally>&)> callback);

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace changefeed::sources
