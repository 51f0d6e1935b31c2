// The feed's tail cache: merging reads, eviction, exact pages, and a randomized model check of
// "never skip, never show an uncommitted row" with reads merged late and out of order.
#include "feed/feed_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace changefeed::feed {
namespace {

db::outbox_row make_row(std::int64_t seq, std::string source = "a", std::string op = "update") {
    db::outbox_row r;
    r.seq = seq;
    r.recorded_at_ms = 1000 + seq;
    r.source = std::move(source);
    r.resource = "customers";
    r.operation = std::move(op);
    r.json = "{\"seq\":" + std::to_string(seq) + "}";
    return r;
}

db::tail_read make_read(std::int64_t after, std::int64_t complete_to, std::vector<std::int64_t> seqs,
                        std::int64_t floor = 0) {
    db::tail_read r;
    r.after = after;
    r.complete_to = complete_to;
    r.floor = floor;
    for (auto s : seqs) {
        r.rows.push_back(make_row(s));
    }
    return r;
}

std::vector<std::int64_t> seqs_of(const feed_cache::page& p) {
    std::vector<std::int64_t> out;
    for (const auto* r : p.rows) {
        out.push_back(r->seq);
    }
    return out;
}

using seqs = std::vector<std::int64_t>;

TEST(feed_cache, answers_nothing_without_a_range) {
    feed_cache c;
    EXPECT_FALSE(c.lookup(0, {}, 10, 0).has_value());
    EXPECT_FALSE(c.has_range());
}

TEST(feed_cache, starts_at_the_head_and_appends_what_follows) {
    feed_cache c;
    EXPECT_TRUE(c.merge(make_read(10, 10, {})));
    auto empty = c.lookup(10, {}, 5, 10);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->rows.empty());
    EXPECT_FALSE(empty->has_more);
    // Something above the range is committed: not exact any more.
    EXPECT_FALSE(c.lookup(10, {}, 5, 12).has_value());
    EXPECT_TRUE(c.merge(make_read(10, 14, {11, 13, 14})));
    auto page = c.lookup(10, {}, 5, 14);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{11, 13, 14}));
    EXPECT_FALSE(page->has_more);
    EXPECT_FALSE(c.lookup(9, {}, 5, 14).has_value()) << "below lo";
}

TEST(feed_cache, a_full_page_is_exact_even_when_the_cache_is_behind) {
    feed_cache c;
    c.merge(make_read(0, 5, {1, 2, 3, 4, 5}));
    auto page = c.lookup(1, {}, 2, 50);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{2, 3}));
    EXPECT_TRUE(page->has_more);
    page = c.lookup(3, {}, 2, 50);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{4, 5}));
    EXPECT_TRUE(page->has_more) << "rows above hi may follow";
    page = c.lookup(3, {}, 2, 5);
    ASSERT_TRUE(page);
    EXPECT_FALSE(page->has_more);
    EXPECT_FALSE(c.lookup(4, {}, 2, 50).has_value()) << "half a page, more committed above";
}

TEST(feed_cache, filters_and_byte_budget) {
    feed_cache c;
    db::tail_read r = make_read(0, 6, {});
    r.rows.push_back(make_row(1, "a"));
    r.rows.push_back(make_row(2, "b", "delete"));
    r.rows.push_back(make_row(3, "a", "delete"));
    r.rows.push_back(make_row(5, "b"));
    r.rows.push_back(make_row(6, "a"));
    c.merge(std::move(r));
    db::feed_filter only_b;
    only_b.sources = {"b"};
    auto page = c.lookup(0, only_b, 10, 6);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{2, 5}));
    db::feed_filter deletes_of_a;
    deletes_of_a.sources = {"a", "c"};
    deletes_of_a.operations = {"delete"};
    page = c.lookup(0, deletes_of_a, 1, 6);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{3}));
    EXPECT_FALSE(page->has_more) << "no other matching row";
    // One byte of budget: one row per page, has_more while another matches.
    page = c.lookup(0, {}, 10, 6, 1);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{1}));
    EXPECT_TRUE(page->has_more);
    page = c.lookup(5, {}, 10, 6, 1);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{6}));
    EXPECT_FALSE(page->has_more);
}

TEST(feed_cache, prepends_a_read_that_reaches_its_range) {
    feed_cache c;
    c.merge(make_read(10, 12, {11, 12}));
    EXPECT_FALSE(c.merge(make_read(4, 10, {5, 9, 10})));  // hi did not move
    EXPECT_EQ(c.lo(), 4);
    auto page = c.lookup(4, {}, 10, 12);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{5, 9, 10, 11, 12}));
    // Overlapping on both sides.
    EXPECT_TRUE(c.merge(make_read(1, 14, {2, 5, 9, 10, 11, 12, 14})));
    EXPECT_EQ(c.lo(), 1);
    EXPECT_EQ(c.hi(), 14);
    EXPECT_EQ(c.size(), 7u);
}

TEST(feed_cache, ignores_reads_that_would_leave_a_hole) {
    feed_cache c;
    c.merge(make_read(10, 12, {11, 12}));
    EXPECT_FALSE(c.merge(make_read(13, 20, {15, 20})));
    EXPECT_FALSE(c.merge(make_read(1, 9, {2, 9})));
    EXPECT_EQ(c.lo(), 10);
    EXPECT_EQ(c.hi(), 12);
    EXPECT_EQ(c.size(), 2u);
}

TEST(feed_cache, the_retention_floor_drops_rows_and_raises_lo) {
    feed_cache c;
    c.merge(make_read(0, 6, {1, 2, 3, 4, 5, 6}));
    c.merge(make_read(6, 6, {}, 3));
    EXPECT_EQ(c.lo(), 3);
    EXPECT_FALSE(c.lookup(2, {}, 10, 6).has_value()) << "a since below the floor is the database's 410";
    auto page = c.lookup(3, {}, 10, 6);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{4, 5, 6}));
    // A late read from before the deletion does not bring deleted rows back.
    c.merge(make_read(0, 6, {1, 2, 3, 4, 5, 6}, 0));
    EXPECT_EQ(c.lo(), 3);
    EXPECT_EQ(c.size(), 3u);
    // Everything deleted: the range moves up to the floor.
    c.merge(make_read(6, 9, {}, 9));
    EXPECT_EQ(c.lo(), 9);
    EXPECT_EQ(c.hi(), 9);
    EXPECT_EQ(c.size(), 0u);
}

TEST(feed_cache, evicts_the_oldest_rows_beyond_its_size) {
    auto one = make_row(1);
    std::size_t per_row = sizeof(db::outbox_row) + one.json.capacity() + one.source.capacity() +
                          one.resource.capacity() + one.operation.capacity();
    feed_cache c(feed_cache::limits{per_row * 3});
    c.merge(make_read(0, 5, {1, 2, 3, 4, 5}));
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.lo(), 2);
    EXPECT_FALSE(c.lookup(1, {}, 10, 5).has_value());
    auto page = c.lookup(2, {}, 10, 5);
    ASSERT_TRUE(page);
    EXPECT_EQ(seqs_of(*page), (seqs{3, 4, 5}));
    // A prepend takes only what fits (nothing here), keeping the range contiguous.
    c.merge(make_read(0, 2, {1, 2}));
    EXPECT_EQ(c.lo(), 2);
    EXPECT_LE(c.bytes(), per_row * 3);
}

TEST(feed_cache, evicts_rows_recorded_before_a_cutoff) {
    feed_cache c;
    c.merge(make_read(0, 4, {1, 2, 3, 4}));  // recorded_at_ms = 1000 + seq
    c.evict_recorded_before(1003);
    EXPECT_EQ(c.lo(), 2);
    EXPECT_EQ(c.size(), 2u);
    EXPECT_FALSE(c.lookup(1, {}, 10, 4).has_value());
}

// A model of the outbox: commits in seq order (with holes from rolled-back or duplicate
// inserts), retention raising a floor, and snapshot reads merged later, in any order.
class outbox_model {
public:
    explicit outbox_model(std::mt19937& rng) : rng_(rng) {}

    void commit(int rows) {
        for (int i = 0; i < rows; ++i) {
            next_seq_ += pick(0, 2);  // burned seqs
            static const char* sources[] = {"a", "b", "c"};
            static const char* ops[] = {"insert", "update", "delete"};
            rows_.push_back(make_row(next_seq_++, sources[pick(0, 2)], ops[pick(0, 2)]));
        }
    }

    void expire() {
        if (rows_.empty()) {
            return;
        }
        floor_ = std::max(floor_, rows_[pick(0, static_cast<int>(rows_.size()) - 1)].seq);
    }

    [[nodiscard]] std::int64_t head() const { return rows_.empty() ? floor_ : rows_.back().seq; }
    [[nodiscard]] std::int64_t floor() const { return floor_; }

    // What db::read_tail answers in a snapshot taken now.
    db::tail_read read_tail(std::int64_t after, std::uint32_t limit) const {
        db::tail_read out;
        out.floor = floor_;
        if (after < 0) {
            out.after = out.complete_to = std::max(head(), floor_);
            return out;
        }
        out.after = after;
        if (after < floor_) {
            out.complete_to = floor_;
            return out;
        }
        for (const auto& r : rows_) {
            if (r.seq > after && out.rows.size() < limit) {
                out.rows.push_back(r);
            }
        }
        out.full = out.rows.size() >= limit;
        std::int64_t last = out.rows.empty() ? after : out.rows.back().seq;
        out.complete_to = out.full ? last : std::max(last, floor_);
        return out;
    }

    // Committed, not deleted, matching rows in (from, to].
    std::vector<std::int64_t> live(std::int64_t from, std::int64_t to,
                                   const db::feed_filter& f) const {
        std::vector<std::int64_t> out;
        for (const auto& r : rows_) {
            if (r.seq > from && r.seq <= to && r.seq > floor_ && matches(f, r)) {
                out.push_back(r.seq);
            }
        }
        return out;
    }

    [[nodiscard]] bool committed(std::int64_t seq) const {
        return std::any_of(rows_.begin(), rows_.end(), [seq](const auto& r) { return r.seq == seq; });
    }

    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

private:
    std::mt19937& rng_;
    std::vector<db::outbox_row> rows_;
    std::int64_t next_seq_ = 1;
    std::int64_t floor_ = 0;
};

db::feed_filter random_filter(outbox_model& m) {
    db::feed_filter f;
    switch (m.pick(0, 3)) {
    case 0:
        f.sources = {"b"};
        break;
    case 1:
        f.operations = {"delete", "insert"};
        break;
    default:
        break;
    }
    return f;
}

TEST(feed_cache, model_check_never_skips_nor_shows_uncommitted_rows) {
    for (unsigned seed = 1; seed <= 40; ++seed) {
        std::mt19937 rng(seed);
        outbox_model m(rng);
        std::size_t budget = m.pick(0, 1) == 0 ? 16 * 1024 * 1024 : 1200;
        feed_cache c(feed_cache::limits{budget});
        std::vector<db::tail_read> pending;
        std::int64_t known_head = 0;  // what notifications told this replica so far
        int answered = 0;
        for (int step = 0; step < 600; ++step) {
            switch (m.pick(0, 9)) {
            case 0:
            case 1:
                m.commit(m.pick(0, 4));
                break;
            case 2:
                if (m.pick(0, 5) == 0) {
                    m.expire();
                }
                break;
            case 3:
                known_head = std::max<std::int64_t>(known_head, m.pick(0, 1) ? m.head() : known_head);
                break;
            case 4: {  // the filler's read, or a reader's miss from anywhere
                std::int64_t after = c.has_range() && m.pick(0, 1) ? c.hi() : m.pick(-1, static_cast<int>(m.head()) + 2);
                pending.push_back(m.read_tail(after, static_cast<std::uint32_t>(m.pick(1, 8))));
                break;
            }
            case 5:
            case 6:
                if (!pending.empty()) {
                    auto i = static_cast<std::size_t>(m.pick(0, static_cast<int>(pending.size()) - 1));
                    c.merge(std::move(pending[i]));
                    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
                    // Invariant: the cache holds exactly the live rows of (lo, hi], less those at
                    // or below a floor it has not learned of yet.
                    auto expect = m.live(c.lo(), c.hi(), {});
                    auto got = c.lookup(c.lo(), {}, 100000, 0);
                    ASSERT_TRUE(got);
                    auto have = seqs_of(*got);
                    have.erase(std::remove_if(have.begin(), have.end(),
                                              [&](std::int64_t s) { return s <= m.floor(); }),
                               have.end());
                    ASSERT_EQ(have, expect) << "seed " << seed << " step " << step;
                }
                break;
            default: {
                auto f = random_filter(m);
                // Half the readers are near the cached range, as readers at the head are.
                std::int64_t since = c.has_range() && m.pick(0, 1)
                                         ? m.pick(static_cast<int>(c.lo()), static_cast<int>(c.hi()) + 1)
                                         : m.pick(0, static_cast<int>(m.head()) + 2);
                auto limit = static_cast<std::uint32_t>(m.pick(1, 6));
                std::size_t max_bytes = m.pick(0, 3) == 0 ? 1 : SIZE_MAX;
                auto page = c.lookup(since, f, limit, known_head, max_bytes);
                if (!page) {
                    break;
                }
                ++answered;
                auto got = seqs_of(*page);
                ASSERT_LE(got.size(), limit);
                for (auto s : got) {
                    ASSERT_TRUE(m.committed(s)) << "served a row that is not committed";
                }
                std::int64_t next = got.empty() ? since : got.back();
                // Nothing skipped between since and next_since (rows retention deleted aside).
                auto live_got = got;
                live_got.erase(std::remove_if(live_got.begin(), live_got.end(),
                                              [&](std::int64_t s) { return s <= m.floor(); }),
                               live_got.end());
                ASSERT_EQ(live_got, m.live(since, next, f)) << "seed " << seed << " step " << step;
                if (!page->has_more) {
                    ASSERT_TRUE(m.live(next, known_head, f).empty())
                        << "has_more=false with known rows after next_since; seed " << seed;
                }
                break;
            }
            }
        }
        EXPECT_GT(answered, 10) << "seed " << seed << ": the cache hardly ever answered";
    }
}

}  // namespace
}  // namespace changefeed::feed
