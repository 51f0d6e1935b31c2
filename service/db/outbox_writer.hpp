// The one way into the outbox. Producers hand over events plus checkpoint updates and await the
// commit of their request; the writer commits everything pending in one transaction (group commit).
// Inside that transaction it holds an advisory lock while assigning `seq`, so commit order equals
// seq order across connections and processes and a `since` reader can never skip an event.
#pragma once

#include "core/change_event.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pqxx {
class dbtransaction;
}

namespace changefeed::db {

struct checkpoint_update {
    std::string source;
    std::string scope;  ///< "" for the whole source, else e.g. the resource
    boost::json::value checkpoint;
};

struct append_request {
    std::vector<core::change_event> events;
    std::vector<checkpoint_update> checkpoints;
    /// More writes that must commit with these events (work-queue rows, snapshots). Runs inside
    /// the transaction after the events; throwing rolls back this request only.
    std::function<void(pqxx::dbtransaction&)> extra;
};

struct append_result {
    std::size_t inserted = 0;
    std::size_t duplicates = 0;   ///< events whose event_id was already stored
    std::int64_t head_seq = 0;    ///< highest seq this commit wrote (0 when nothing new)
};

class outbox_writer {
public:
    /// `ex` is the io_context executor the writer loop and its callers run on.
    outbox_writer(boost::asio::any_io_executor ex, std::string database_url,
                  std::size_t max_batch_events = 5000);
    ~outbox_writer();

    /// Queues `req` and returns once it is committed. Throws what the commit threw (database
    /// unavailable: a pqxx error); nothing of this request is stored then.
    boost::asio::awaitable<append_result> append(append_request req);

    /// The writer loop. Returns after stop() once everything queued has been written (or failed).
    boost::asio::awaitable<void> run();
    void stop();

    /// Called on the writer's executor after every commit that stored events (in-process wake-up).
    void on_commit(std::function<void(std::int64_t head_seq)> callback);

    [[nodiscard]] std::uint64_t commits() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace changefeed::db
