// The serialized tail of the outbox in memory, so pages near the head are served without
// PostgreSQL. Pure data structure: fed with tail reads, asked for pages; no I/O, single-threaded.
#pragma once

#include "db/feed_repository.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace changefeed::feed {

/// Holds one contiguous, complete range of the outbox: every row that will ever be visible with a
/// seq in (lo, hi], less those retention deleted. It is fed only with `db::tail_read`s, whose rows
/// are committed and final up to their `complete_to` (the outbox writer commits in seq order), so
/// a page served from it neither skips an event nor shows one that is not committed. A read that
/// neither overlaps nor touches the range is ignored: the range never gets a hole.
class feed_cache {
public:
    struct limits {
        /// Rows are evicted from the old end beyond this many bytes (approximate, payload-dominated).
        std::size_t max_bytes = 16 * 1024 * 1024;
    };

    /// A page found in the cache. The pointers are valid until the cache is next modified.
    struct page {
        std::vector<const db::outbox_row*> rows;
        /// Another matching row may follow the last one returned.
        bool has_more = false;
    };

    feed_cache() : feed_cache(limits{}) {}
    explicit feed_cache(limits l) : limits_(l) {}

    [[nodiscard]] bool has_range() const { return has_range_; }
    [[nodiscard]] std::int64_t lo() const { return lo_; }
    [[nodiscard]] std::int64_t hi() const { return hi_; }
    [[nodiscard]] std::int64_t floor() const { return floor_; }
    [[nodiscard]] std::size_t size() const { return rows_.size(); }
    [[nodiscard]] std::size_t bytes() const { return bytes_; }
    /// Changes whenever the range or its rows change: equal versions give equal lookups.
    [[nodiscard]] std::uint64_t version() const { return version_; }

    /// Adds what `read` learned when it overlaps or touches the range (or there is no range yet),
    /// and applies its retention floor. Returns true when `hi` moved up.
    bool merge(db::tail_read read);

    /// Forgets the range and its rows (the retention floor stays); version() still moves on.
    void clear();

    /// Drops rows from the old end while the oldest was recorded before `cutoff_ms` (epoch ms),
    /// so the cache never holds a row retention may already have deleted.
    void evict_recorded_before(std::int64_t cutoff_ms);

    /// The page of up to `limit` rows after `since` that match `filter`, exactly as the database
    /// would answer it given that every seq up to `known_head` is committed; it stops early (with
    /// has_more) once `max_bytes` of JSON are collected (at least one row). nullopt when the
    /// cache cannot answer exactly: no range, `since` below `lo`, or a page that is not full and
    /// would need rows above `hi` (up to `known_head`).
    [[nodiscard]] std::optional<page> lookup(std::int64_t since,
                                             const db::feed_filter& filter,
                                             std::uint32_t limit,
                                             std::int64_t known_head,
                                             std::size_t max_bytes = SIZE_MAX) const;

private:
    static std::size_t cost(const db::outbox_row& row);
    void apply_floor();
    void evict_to_size();

    limits limits_;
    bool has_range_ = false;
    std::int64_t lo_ = 0;
    std::int64_t hi_ = 0;
    std::int64_t floor_ = 0;
    std::size_t bytes_ = 0;
    std::uint64_t version_ = 0;
    std::deque<db::outbox_row> rows_;
};

/// True when `row` passes `filter` (an empty list accepts everything).
bool matches(const db::feed_filter& filter, const db::outbox_row& row);

}  // namespace changefeed::feed
