// Reads pages of the feed: from the in-memory tail cache when it can answer exactly, else from
// PostgreSQL; and the filler that keeps the cache up with every commit this replica hears of.
#pragma once

#include "db/feed_repository.hpp"
#include "feed/feed_cache.hpp"
#include "feed/feed_notifier.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace changefeed::db {
class pg_pool;
}

namespace changefeed::feed {

/// A page ready to serialize. `events` point into `owned` or into the cache: use them before the
/// next suspension point (co_await).
struct page_view {
    struct event {
        std::int64_t seq = 0;
        const std::string* json = nullptr;  ///< serialized, seq first
    };
    std::vector<event> events;  ///< in seq order
    std::vector<std::string> owned;
    std::int64_t next_since = 0;
    bool has_more = false;
};

struct reader_options {
    /// Memory for the cached tail of the outbox (approximate).
    std::size_t cache_bytes = 16 * 1024 * 1024;
    /// feed.retention (0: keep everything): cached rows are dropped well before retention may
    /// delete them, so the cache never answers a `since` that should be a 410.
    std::chrono::milliseconds retention{0};
    /// The tail is re-read this often even when no notification arrives (a lost NOTIFY).
    std::chrono::milliseconds refresh{5000};
    /// Rows per read of the filler.
    std::uint32_t fill_batch = 1000;
    /// With no reader for this long, the filler stops following the head and the cache empties
    /// (a catch-up nobody reads costs no reads); the next reader starts it again at the head.
    std::chrono::milliseconds idle_after{30000};
};

struct reader_stats {
    std::uint64_t hits = 0;    ///< pages answered from the cache
    std::uint64_t misses = 0;  ///< pages read from PostgreSQL
    std::size_t cached_events = 0;
    std::size_t cached_bytes = 0;
    std::int64_t lo = 0;
    std::int64_t hi = 0;
};

/// All members run on the io_context thread of `commits`.
class feed_reader {
public:
    /// `commits` is woken by this replica's commits and other replicas' NOTIFYs; its head is the
    /// highest seq known to be committed.
    feed_reader(db::pg_pool& pool, feed_notifier& commits, reader_options opts);

    /// The page after `q.since` when the cache can answer it exactly, else nullopt. A page stops
    /// early (with has_more) once `max_bytes` of events are collected. Never suspends.
    std::optional<page_view> try_cache(const db::feed_query& q, std::size_t max_bytes = SIZE_MAX);

    /// What try_cache answers depends only on this: equal values, equal answers to equal
    /// queries (the cache and the known head are unchanged).
    struct answer_version {
        std::uint64_t cache = 0;
        std::int64_t known_head = 0;
        bool operator==(const answer_version&) const = default;
    };
    answer_version current_answer_version();

    /// The page after `q.since` from PostgreSQL; an unfiltered read also feeds the cache.
    /// Throws on database errors.
    boost::asio::awaitable<std::variant<page_view, db::since_expired>> read_db(db::feed_query q);

    /// try_cache, else read_db.
    boost::asio::awaitable<std::variant<page_view, db::since_expired>> read(db::feed_query q);

    /// Changes whenever the cache learned newer rows (or on stop()): compare it across a read,
    /// then wait_until() to be woken.
    [[nodiscard]] std::uint64_t generation() const { return updates_.generation(); }
    /// Returns when generation() changes after this call began, or at `deadline`.
    boost::asio::awaitable<void> wait_until(std::chrono::steady_clock::time_point deadline);

    /// The filler: reads the tail after every notification of `commits` (and every `refresh`)
    /// into the cache. Returns after stop(); logs and retries database errors.
    boost::asio::awaitable<void> run();
    /// Ends run() and wakes every waiter; readers then answer what they have.
    void stop();
    [[nodiscard]] bool stopping() const { return stopping_; }

    [[nodiscard]] reader_stats stats() const;

private:
    void evict_aged();
    void merge(db::tail_read read);
    /// A reader is here: keeps the filler following the head (wakes it when it rests).
    void touch();
    [[nodiscard]] bool idle() const;

    db::pg_pool& pool_;
    feed_notifier& commits_;
    reader_options opts_;
    feed_cache cache_;
    feed_notifier updates_;
    feed_notifier wanted_;  ///< notified when a reader arrives while the filler rests
    std::chrono::steady_clock::time_point last_used_{};
    std::size_t waiting_ = 0;  ///< readers inside wait_until()
    bool resting_ = false;
    bool stopping_ = false;
    std::uint64_t hits_ = 0;
    std::uint64_t misses_ = 0;
};

}  // namespace changefeed::feed
