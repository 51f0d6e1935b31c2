#include "feed/feed_reader.hpp"

#include "core/log.hpp"
#include "db/pg_pool.hpp"

namespace changefeed::feed {

namespace asio = boost::asio;

namespace {

page_view owning_view(std::vector<std::string> events,
                      const std::vector<std::int64_t>& seqs,
                      std::int64_t next_since,
                      bool has_more) {
    page_view v;
    v.owned = std::move(events);
    v.events.reserve(v.owned.size());
    for (std::size_t i = 0; i < v.owned.size(); ++i) {
        v.events.push_back({seqs[i], &v.owned[i]});
    }
    v.next_since = next_since;
    v.has_more = has_more;
    return v;
}

}  // namespace

feed_reader::feed_reader(db::pg_pool& pool, feed_notifier& commits, reader_options opts)
    : pool_(pool), commits_(commits), opts_(opts),
      cache_(feed_cache::limits{opts.cache_bytes}), updates_(commits.executor()),
      wanted_(commits.executor()) {}

void feed_reader::touch() {
    last_used_ = std::chrono::steady_clock::now();
    if (resting_) {
        resting_ = false;
        wanted_.notify(0);
    }
}

bool feed_reader::idle() const {
    return waiting_ == 0 && std::chrono::steady_clock::now() - last_used_ >= opts_.idle_after;
}

void feed_reader::evict_aged() {
    if (opts_.retention.count() <= 0) {
        return;
    }
    // Rows leave the cache well before retention may delete them (clock skew, and rows whose
    // recorded_at is a little out of seq order, stay far inside the margin).
    auto margin = std::min<std::chrono::milliseconds>(opts_.retention / 2, std::chrono::hours(1));
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    cache_.evict_recorded_before((now - opts_.retention + margin).count());
}

void feed_reader::merge(db::tail_read read) {
    if (cache_.merge(std::move(read))) {
        updates_.notify(cache_.hi());
    }
}

feed_reader::answer_version feed_reader::current_answer_version() {
    touch();
    evict_aged();
    return {cache_.version(), commits_.head()};
}

std::optional<page_view> feed_reader::try_cache(const db::feed_query& q, std::size_t max_bytes) {
    touch();
    evict_aged();
    auto found = cache_.lookup(q.since, q.filter, q.limit, commits_.head(), max_bytes);
    if (!found) {
        return std::nullopt;
    }
    page_view v;
    v.events.reserve(found->rows.size());
    for (const auto* row : found->rows) {
        v.events.push_back({row->seq, &row->json});
    }
    v.next_since = found->rows.empty() ? q.since : found->rows.back()->seq;
    v.has_more = found->has_more;
    ++hits_;
    return v;
}

asio::awaitable<std::variant<page_view, db::since_expired>> feed_reader::read_db(db::feed_query q) {
    ++misses_;
    touch();
    bool unfiltered = q.filter.sources.empty() && q.filter.resources.empty() &&
                      q.filter.operations.empty();
    if (!unfiltered) {
        auto job = [q](pqxx::connection_base& c) { return db::read_feed(c, q); };
        auto result = co_await pool_.run(std::move(job));
        if (auto* expired = std::get_if<db::since_expired>(&result)) {
            co_return *expired;
        }
        auto& page = std::get<db::feed_page>(result);
        co_return owning_view(std::move(page.events), page.seqs, page.next_since, page.has_more);
    }
    // Unfiltered: one row more than asked tells whether there is more, and the read is a
    // complete range the cache can take.
    std::uint32_t fetch = q.limit + 1;
    auto since = q.since;
    auto job = [since, fetch](pqxx::connection_base& c) { return db::read_tail(c, since, fetch); };
    auto read = co_await pool_.run(std::move(job));
    if (read.after < read.floor) {
        db::since_expired expired{read.oldest_available};
        merge(std::move(read));
        co_return expired;
    }
    std::size_t n = std::min<std::size_t>(read.rows.size(), q.limit);
    std::vector<std::string> events;
    std::vector<std::int64_t> seqs;
    events.reserve(n);
    seqs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        events.push_back(read.rows[i].json);
        seqs.push_back(read.rows[i].seq);
    }
    auto next_since = n == 0 ? q.since : read.rows[n - 1].seq;
    bool has_more = read.rows.size() > q.limit;
    merge(std::move(read));
    co_return owning_view(std::move(events), seqs, next_since, has_more);
}

asio::awaitable<std::variant<page_view, db::since_expired>> feed_reader::read(db::feed_query q) {
    if (auto hit = try_cache(q)) {
        co_return std::move(*hit);
    }
    auto op = read_db(std::move(q));
    co_return co_await std::move(op);
}

asio::awaitable<void> feed_reader::wait_until(std::chrono::steady_clock::time_point deadline) {
    touch();
    ++waiting_;
    try {
        co_await updates_.wait_until(deadline);
    } catch (...) {
        --waiting_;
        touch();
        throw;
    }
    --waiting_;
    touch();
}

asio::awaitable<void> feed_reader::run() {
    while (!stopping_) {
        if (idle()) {
            // Nobody reads: forget the tail rather than follow it, and rest until a reader comes.
            cache_.clear();
            resting_ = true;
            while (resting_ && !stopping_) {
                co_await wanted_.wait_until(std::chrono::steady_clock::time_point::max());
            }
            continue;
        }
        auto generation = commits_.generation();
        bool failed = false;
        try {
            // Catch up page by page; each merge wakes the readers waiting at the head.
            for (;;) {
                auto after = cache_.has_range() ? cache_.hi() : std::int64_t{-1};
                auto batch = opts_.fill_batch;
                auto job = [after, batch](pqxx::connection_base& c) {
                    return db::read_tail(c, after, batch);
                };
                auto read = co_await pool_.run(std::move(job));
                bool full = read.full;
                merge(std::move(read));
                if (!full || stopping_) {
                    break;
                }
            }
        } catch (const std::exception& e) {
            log::warn("feed cache could not read the outbox tail; retrying", {{"error", e.what()}});
            failed = true;
        }
        if (stopping_) {
            break;
        }
        if (failed || commits_.generation() == generation) {
            auto delay = failed ? std::chrono::milliseconds(1000) : opts_.refresh;
            co_await commits_.wait_until(std::chrono::steady_clock::now() + delay);
        }
    }
}

void feed_reader::stop() {
    stopping_ = true;
    wanted_.notify(0);
    updates_.notify(cache_.hi());
    commits_.notify(commits_.head());
}

reader_stats feed_reader::stats() const {
    reader_stats s;
    s.hits = hits_;
    s.misses = misses_;
    s.cached_events = cache_.size();
    s.cached_bytes = cache_.bytes();
    s.lo = cache_.lo();
    s.hi = cache_.hi();
    return s;
}

}  // namespace changefeed::feed
