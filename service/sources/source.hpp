// What every vendor adapter provides to the generic poll loop, and what it gets from it.
#pragma once

#include "app/config.hpp"
#include "core/change_event.hpp"
#include "db/checkpoint_repository.hpp"
#include "db/outbox_writer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace changefeed::db {
class pg_pool;
}

namespace changefeed::sources {

class upstream;
struct source_status;

/// What one poll step produced. The poll loop commits events, checkpoints and `extra` in one
/// outbox transaction, then calls `committed` so the source adopts its new state; when the
/// commit fails nothing is adopted and the same step is polled again later.
struct poll_step {
    std::vector<core::change_event> events;
    std::vector<db::checkpoint_update> checkpoints;
    std::function<void(pqxx::dbtransaction&)> extra;
    std::function<void()> committed;
    /// More is waiting upstream: poll again at once.
    bool more = false;
    /// Nothing could be read although more may be waiting upstream (the vendor paused the
    /// source, or the rate budget is kept for other work): not caught up, so a resync goes on.
    bool held_back = false;
    /// Sleep this long (instead of poll_interval) before the next step.
    std::optional<std::chrono::milliseconds> next_poll;
};

/// A vendor adapter. Runs on the io_context thread; one step at a time.
class source {
public:
    virtual ~source() = default;

    /// Adopts the stored checkpoints (scope -> checkpoint). Called before the first poll and
    /// whenever this replica (re)gains the source. Throws std::runtime_error for a checkpoint it
    /// cannot read (the source then shows `failing`).
    virtual void restore(const db::checkpoint_map& stored) = 0;

    /// Fetches the next batch. Throws upstream_error (or any exception) when the vendor cannot
    /// be read; nothing is committed then.
    virtual boost::asio::awaitable<poll_step> poll() = 0;

    /// The current checkpoint for GET /sources (an object per scope where there are several).
    [[nodiscard]] virtual boost::json::value checkpoint() const = 0;
};

/// Everything a source gets from the runtime. The references outlive the source.
struct source_context {
    app::source_config config;
    boost::asio::any_io_executor executor;
    upstream& http;
    source_status& status;
    db::pg_pool& pool;
    /// Built for a resync: config.start_from is the resync's `from` and wins over a vendor's own
    /// first-run knobs (retailCRM's start_date).
    bool resync = false;
};

using source_factory = std::function<std::unique_ptr<source>(source_context& ctx)>;

/// What a source's webhook handler gets from the runtime. The references outlive the handler.
struct webhook_context {
    app::source_config config;
    db::pg_pool& pool;
    db::outbox_writer& writer;
    /// Wakes this replica's poller of the source, so that it drains what a delivery queued at
    /// once (other replicas' pollers find it on their next look at the queue).
    std::function<void()> wake;
};

}  // namespace changefeed::sources
