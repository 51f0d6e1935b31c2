// The one way into the outbox. Producers hand over events plus checkpoint updates and await the
// commit of their request; the writer commits what is pending in one transaction (group commit),
// one database round trip each. Several such transactions insert at once on separate connections,
// yet each commits only after every transaction that reserved seqs before it has ended
// (migrations/0002), so commit order equals seq order across connections and processes and a
// `since` reader can never skip an event.
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
    /// the transaction after the events and checkpoints, once every earlier append has ended;
    /// throwing rolls back this request only. It must not write to `outbox`.
    std::function<void(pqxx::dbtransaction&)> extra;
};

struct append_result {
    std::size_t inserted = 0;
    std::size_t duplicates = 0;   ///< events whose event_id was already stored
    std::int64_t head_seq = 0;    ///< highest seq this commit wrote (0 when nothing new)
    std::vector<bool> stored;     ///< per event of the request, in order: stored, or a duplicate
};

struct outbox_writer_options {
    /// Events of one transaction at most (a larger single request still goes alone).
    std::size_t max_batch_events = 5000;
    /// Connections appending at once. More than one lets a batch insert while the previous
    /// one commits; commits stay in seq order.
    std::size_t lanes = 2;
    /// When pending requests are spread over several lanes: when the measured insert and commit
    /// times say it pays (insert-bound), always, or never (one batch in flight at a time).
    enum class spreading { measured, always, never };
    spreading spread = spreading::measured;
};

/// Running totals since the writer started (for metrics and benchmarks).
struct outbox_writer_stats {
    std::uint64_t commits = 0;
    std::uint64_t events = 0;         ///< events in committed batches, duplicates included
    std::uint64_t split_bursts = 0;   ///< bursts split across idle lanes to insert side by side
    double insert_seconds = 0;        ///< server time reserving seqs and inserting
    double call_seconds = 0;          ///< server time of the whole append call, turn wait included
    double round_trip_seconds = 0;    ///< from sending the batch to its commit's answer
};

class outbox_writer {
public:
    /// `ex` is the io_context executor the writer loop and its callers run on.
    outbox_writer(boost::asio::any_io_executor ex, std::string database_url,
                  std::size_t max_batch_events = 5000);
    outbox_writer(boost::asio::any_io_executor ex, std::string database_url,
                  outbox_writer_options options);
    ~outbox_writer();

    /// Queues `req` and returns once it is committed. Throws what the commit threw (database
    /// unavailable: a pqxx error); nothing of this request is stored then.
    boost::asio::awaitable<append_result> append(append_request req);

    /// The writer loop. Returns after stop() (or its cancellation) once everything queued has been
    /// written (or failed).
    boost::asio::awaitable<void> run();
    void stop();

    /// Called on the writer's executor after commits that stored events (in-process wake-up), with
    /// a head that never goes down.
    void on_commit(std::function<void(std::int64_t head_seq)> callback);

    /// Transactions committed so far. Call on the writer's executor, as stats().
    [[nodiscard]] std::uint64_t commits() const;
    [[nodiscard]] outbox_writer_stats stats() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace changefeed::db
