#include "feed/feed_cache.hpp"

#include <algorithm>

namespace changefeed::feed {

namespace {

bool accepts(const std::vector<std::string>& allowed, const std::string& value) {
    return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

}  // namespace

bool matches(const db::feed_filter& filter, const db::outbox_row& row) {
    return accepts(filter.sources, row.source) && accepts(filter.resources, row.resource) &&
           accepts(filter.operations, row.operation);
}

std::size_t feed_cache::cost(const db::outbox_row& row) {
    return sizeof(db::outbox_row) + row.json.capacity() + row.source.capacity() +
           row.resource.capacity() + row.operation.capacity();
}

void feed_cache::clear() {
    rows_.clear();
    has_range_ = false;
    lo_ = hi_ = 0;
    bytes_ = 0;
    ++version_;
}

bool feed_cache::merge(db::tail_read read) {
    floor_ = std::max(floor_, read.floor);
    const bool had_range = has_range_;
    const std::int64_t old_lo = lo_;
    const std::int64_t old_hi = hi_;
    const std::size_t old_size = rows_.size();
    if (!has_range_) {
        has_range_ = true;
        lo_ = read.after;
        hi_ = read.complete_to;
        for (auto& row : read.rows) {
            bytes_ += cost(row);
            rows_.push_back(std::move(row));
        }
    } else if (read.after <= hi_ && read.complete_to >= lo_) {
        // Above the range: append.
        if (read.complete_to > hi_) {
            for (auto& row : read.rows) {
                if (row.seq > hi_) {
                    bytes_ += cost(row);
                    rows_.push_back(std::move(row));
                }
            }
            hi_ = read.complete_to;
        }
        // Below the range: prepend, nearest rows first, as far as the size limit allows.
        if (read.after < lo_) {
            auto end = std::upper_bound(
                read.rows.begin(), read.rows.end(), lo_,
                [](std::int64_t seq, const db::outbox_row& row) { return seq < row.seq; });
            std::size_t budget = bytes_ < limits_.max_bytes ? limits_.max_bytes - bytes_ : 0;
            std::int64_t new_lo = read.after;
            for (auto it = end; it != read.rows.begin();) {
                --it;
                auto c = cost(*it);
                if (c > budget) {
                    new_lo = it->seq;
                    break;
                }
                budget -= c;
                bytes_ += c;
                rows_.push_front(std::move(*it));
            }
            lo_ = new_lo;
        }
    }
    apply_floor();
    evict_to_size();
    if (!had_range || lo_ != old_lo || hi_ != old_hi || rows_.size() != old_size) {
        ++version_;
    }
    return !had_range || hi_ > old_hi;
}

void feed_cache::apply_floor() {
    if (!has_range_ || floor_ <= lo_) {
        return;
    }
    // Every seq at or below the floor is final and deleted.
    while (!rows_.empty() && rows_.front().seq <= floor_) {
        bytes_ -= cost(rows_.front());
        rows_.pop_front();
    }
    lo_ = floor_;
    hi_ = std::max(hi_, lo_);
}

void feed_cache::evict_to_size() {
    while (bytes_ > limits_.max_bytes && !rows_.empty()) {
        lo_ = rows_.front().seq;
        bytes_ -= cost(rows_.front());
        rows_.pop_front();
    }
}

void feed_cache::evict_recorded_before(std::int64_t cutoff_ms) {
    while (!rows_.empty() && rows_.front().recorded_at_ms < cutoff_ms) {
        lo_ = rows_.front().seq;
        bytes_ -= cost(rows_.front());
        rows_.pop_front();
        ++version_;
    }
}

std::optional<feed_cache::page> feed_cache::lookup(std::int64_t since,
                                                   const db::feed_filter& filter,
                                                   std::uint32_t limit,
                                                   std::int64_t known_head,
                                                   std::size_t max_bytes) const {
    if (!has_range_ || since < lo_) {
        return std::nullopt;
    }
    page p;
    auto it = std::upper_bound(
        rows_.begin(), rows_.end(), since,
        [](std::int64_t seq, const db::outbox_row& row) { return seq < row.seq; });
    std::size_t collected = 0;
    for (; it != rows_.end(); ++it) {
        if (!matches(filter, *it)) {
            continue;
        }
        if (p.rows.size() >= limit || collected >= max_bytes) {
            p.has_more = true;
            return p;
        }
        p.rows.push_back(&*it);
        collected += it->json.size();
    }
    if (hi_ < known_head) {
        // Committed rows lie above the cache: only a full page is exact without them.
        if (p.rows.size() < limit) {
            return std::nullopt;
        }
        p.has_more = true;
    }
    return p;
}

}  // namespace changefeed::feed
