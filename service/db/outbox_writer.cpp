// The outbox writer: a queue of append requests on the io_context, group-committed by up to
// `lanes` connections at once, one round trip per batch through changefeed_outbox_append().
#include "db/outbox_writer.hpp"

#include "core/log.hpp"
#include "core/time.hpp"
#include "db/pg_pool.hpp"
#include "db/sql.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string_view>
#include <unordered_set>

namespace changefeed::db {

namespace asio = boost::asio;

namespace {

constexpr std::string_view k_append_statement = "changefeed_outbox_append";

struct slot {
    explicit slot(asio::any_io_executor ex) : done_signal(ex, asio::steady_timer::time_point::max()) {}
    append_request request;
    append_result result;
    std::exception_ptr failure;
    bool done = false;
    asio::steady_timer done_signal;
};

using slot_ptr = std::shared_ptr<slot>;

// What one attempt at committing a batch gave: the result of each request, or the failure.
struct batch_outcome {
    std::exception_ptr failure;
    std::vector<append_result> results;
    std::int64_t head = 0;
    std::size_t events = 0;
    bool one_round_trip = false;
    double insert_us = 0;      // the server's time reserving and inserting
    double call_us = 0;        // the server's time in the append call
    double round_trip_us = 0;
    double commit_us = 0;      // the rest of the round trip after the call: commit, wire
};

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            constexpr std::string_view hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 0xf];
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_member(std::string& out, std::string_view key, std::string_view text) {
    out += '"';
    out += key;
    out += "\":";
    append_json_string(out, text);
    out += ',';
}

void append_member(std::string& out, std::string_view key, const boost::json::value& v) {
    out += '"';
    out += key;
    out += "\":";
    out += boost::json::serialize(v);
    out += ',';
}

// The stored payload, written straight to text: the members of core::to_payload() (the
// integration tests compare the two), without building a JSON object per event.
void append_payload(std::string& out, const core::change_event& e, std::string_view recorded_at) {
    out += '{';
    append_member(out, "event_id", e.event_id);
    append_member(out, "source", e.source);
    append_member(out, "source_kind", e.source_kind);
    append_member(out, "resource", e.resource);
    append_member(out, "resource_id", e.resource_id);
    append_member(out, "operation", e.operation);
    append_member(out, "occurred_at", e.occurred_at);
    append_member(out, "recorded_at", recorded_at);
    if (e.changes) {
        append_member(out, "changes", *e.changes);
    }
    if (e.actor) {
        append_member(out, "actor", *e.actor);
    }
    if (e.data) {
        append_member(out, "data", *e.data);
    }
    if (e.snapshot) {
        out += "\"snapshot\":true,";
    }
    out += "\"upstream\":";
    out += boost::json::serialize(e.upstream);
    out += '}';
}

// The JSON array of the stored payloads of every event in `batch`, in order.
std::string payload_array(const std::vector<slot_ptr>& batch, std::string_view recorded_at) {
    std::string out = "[";
    for (const auto& s : batch) {
        for (const auto& e : s->request.events) {
            if (out.size() > 1) {
                out += ',';
            }
            append_payload(out, e, recorded_at);
        }
    }
    out += ']';
    return out;
}

// The JSON array of checkpoint updates: one per (source, scope), the last request's winning.
std::string checkpoint_array(const std::vector<slot_ptr>& batch) {
    std::map<std::pair<std::string_view, std::string_view>, const checkpoint_update*> latest;
    std::vector<const checkpoint_update*> ordered;
    for (const auto& s : batch) {
        for (const auto& c : s->request.checkpoints) {
            auto [it, fresh] = latest.try_emplace({c.source, c.scope}, &c);
            if (fresh) {
                ordered.push_back(&c);
            } else {
                *std::find(ordered.begin(), ordered.end(), it->second) = &c;
                it->second = &c;
            }
        }
    }
    boost::json::array out;
    for (const auto* c : ordered) {
        out.push_back(boost::json::object{
            {"source", c->source}, {"scope", c->scope}, {"checkpoint", c->checkpoint}});
    }
    return boost::json::serialize(out);
}

// "{5,6,9}" -> 5 6 9.
std::vector<std::int64_t> parse_seq_array(std::string_view text) {
    std::vector<std::int64_t> seqs;
    std::int64_t value = 0;
    bool in_number = false;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
            in_number = true;
        } else if (in_number) {
            seqs.push_back(value);
            value = 0;
            in_number = false;
        }
    }
    return seqs;
}

// Commits `batch` in one transaction: one round trip unless a request has `extra` writes.
// Runs on a database thread; throws what the database threw.
batch_outcome commit_batch(pqxx::connection_base& conn, const std::vector<slot_ptr>& batch) {
    std::string recorded_at = time::format_rfc3339(time::now());
    std::string events = payload_array(batch, recorded_at);
    std::string checkpoints = checkpoint_array(batch);
    bool has_extra = std::any_of(batch.begin(), batch.end(),
                                 [](const slot_ptr& s) { return bool(s->request.extra); });
    conn.prepare(std::string(k_append_statement), std::string(sql::k_append));

    batch_outcome outcome;
    auto started = std::chrono::steady_clock::now();
    pqxx::result rows;
    if (has_extra) {
        pqxx::work tx(conn);
        rows = tx.exec_prepared(std::string(k_append_statement), events, recorded_at, checkpoints);
        for (const auto& s : batch) {
            if (s->request.extra) {
                s->request.extra(tx);
            }
        }
        tx.commit();
    } else {
        // A single statement outside a transaction block commits as it returns.
        pqxx::nontransaction tx(conn);
        rows = tx.exec_prepared(std::string(k_append_statement), events, recorded_at, checkpoints);
        outcome.one_round_trip = true;
    }
    auto round_trip_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count();
    const auto& row = rows.at(0);
    outcome.insert_us = row[2].as<double>();
    outcome.call_us = row[3].as<double>();
    outcome.round_trip_us = round_trip_us;
    outcome.commit_us = std::max(0.0, round_trip_us - outcome.call_us);

    std::vector<std::int64_t> stored;
    if (!row[1].is_null()) {
        stored = parse_seq_array(row[1].c_str());
    }
    std::int64_t first = stored.empty() ? 0 : row[0].as<std::int64_t>();
    outcome.head = stored.empty() ? 0 : stored.back();
    auto next = stored.begin();
    std::int64_t ordinal = 0;
    outcome.results.reserve(batch.size());
    for (const auto& s : batch) {
        append_result r;
        r.stored.reserve(s->request.events.size());
        for (std::size_t i = 0; i < s->request.events.size(); ++i, ++ordinal) {
            bool fresh = next != stored.end() && *next == first + ordinal;
            r.stored.push_back(fresh);
            if (fresh) {
                ++r.inserted;
                ++next;
            } else {
                ++r.duplicates;
            }
        }
        r.head_seq = outcome.head;
        outcome.results.push_back(std::move(r));
    }
    outcome.events = static_cast<std::size_t>(ordinal);
    return outcome;
}

// commit_batch, and on failure makes sure the connection keeps no session lock.
batch_outcome attempt_batch(pqxx::connection_base& conn, const std::vector<slot_ptr>& batch) {
    batch_outcome outcome;
    try {
        outcome = commit_batch(conn, batch);
    } catch (...) {
        outcome.failure = std::current_exception();
    }
    if (outcome.failure && conn.is_open()) {
        try {
            pqxx::nontransaction tx(conn);
            tx.exec(std::string(sql::k_release_session_locks));
        } catch (const std::exception&) {
            // The connection is going away; its locks go with it.
        }
    }
    return outcome;
}

// True when `failure` says nothing about the requests themselves (the database is unreachable,
// shutting down or out of resources): retrying each request alone would only fail each again. A
// statement timeout is not among them: one request's slow `extra` may have caused it.
bool batch_wide(const std::exception_ptr& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const pqxx::broken_connection&) {
        return true;
    } catch (const pqxx::sql_error& e) {
        std::string_view state = e.sqlstate();
        return state.substr(0, 2) == "08" || state.substr(0, 2) == "53" ||
               state.substr(0, 3) == "57P";
    } catch (...) {
        return false;
    }
}

// Smoothed timings that decide whether a burst is split across idle lanes.
struct timing {
    double insert_us_per_event = 0;
    double commit_us = 0;

    void add(const batch_outcome& o) {
        if (!o.one_round_trip || o.events == 0) {
            return;
        }
        constexpr double weight = 0.2;
        double per_event = o.insert_us / static_cast<double>(o.events);
        insert_us_per_event = insert_us_per_event == 0
                                  ? per_event
                                  : insert_us_per_event + weight * (per_event - insert_us_per_event);
        commit_us = commit_us == 0 ? o.commit_us : commit_us + weight * (o.commit_us - commit_us);
    }

    // Two half batches inserting side by side beat one whole batch when inserting the whole
    // would take longer than the commit the halves cannot share.
    [[nodiscard]] bool worth_splitting(std::size_t events) const {
        return insert_us_per_event > 0 && commit_us > 0 && events >= 2 &&
               insert_us_per_event * static_cast<double>(events) > commit_us;
    }
};

}  // namespace

struct outbox_writer::impl {
    impl(asio::any_io_executor ex, std::string url, outbox_writer_options opts)
        : executor(ex), pool(std::move(url), std::max<std::size_t>(1, opts.lanes)),
          wake(ex, asio::steady_timer::time_point::max()), options(opts),
          lane_busy(pool.lanes(), false) {}

    asio::any_io_executor executor;
    pg_pool pool;
    asio::steady_timer wake;
    outbox_writer_options options;
    std::deque<slot_ptr> queue;
    std::vector<bool> lane_busy;
    std::size_t in_flight = 0;
    std::size_t in_flight_events = 0;
    // Event ids and checkpoint keys of batches in flight: a request that shares one waits, so two
    // lanes never race on the same row (a deadlock until PostgreSQL breaks it) and checkpoint
    // updates keep their order. The views point into requests that stay alive while in flight.
    std::unordered_multiset<std::string_view> claimed_ids;
    std::multiset<std::pair<std::string_view, std::string_view>> claimed_checkpoints;
    timing timings;
    bool stopping = false;
    outbox_writer_stats totals;
    std::int64_t head_reported = 0;
    std::function<void(std::int64_t)> commit_callback;

    [[nodiscard]] bool conflicts(const append_request& r) const {
        if (!claimed_ids.empty()) {
            for (const auto& e : r.events) {
                if (claimed_ids.count(e.event_id) != 0) {
                    return true;
                }
            }
        }
        if (!claimed_checkpoints.empty()) {
            for (const auto& c : r.checkpoints) {
                if (claimed_checkpoints.count({c.source, c.scope}) != 0) {
                    return true;
                }
            }
        }
        return false;
    }

    void claim(const append_request& r) {
        for (const auto& e : r.events) {
            claimed_ids.insert(e.event_id);
        }
        for (const auto& c : r.checkpoints) {
            claimed_checkpoints.insert({c.source, c.scope});
        }
    }

    void unclaim(const append_request& r) {
        for (const auto& e : r.events) {
            claimed_ids.erase(claimed_ids.find(e.event_id));
        }
        for (const auto& c : r.checkpoints) {
            claimed_checkpoints.erase(claimed_checkpoints.find({c.source, c.scope}));
        }
    }

    // Takes queued requests in order, skipping those that conflict with a batch in flight, up to
    // `max_events` (a larger request still goes, alone).
    std::vector<slot_ptr> take_batch(std::size_t max_events) {
        std::vector<slot_ptr> batch;
        std::size_t events = 0;
        for (auto it = queue.begin(); it != queue.end();) {
            const auto& req = (*it)->request;
            if (!batch.empty() && events + req.events.size() > max_events) {
                break;
            }
            if (conflicts(req)) {
                ++it;
                continue;
            }
            events += req.events.size();
            batch.push_back(std::move(*it));
            it = queue.erase(it);
        }
        // Claimed only now: requests of one batch may share keys with each other.
        for (const auto& s : batch) {
            claim(s->request);
        }
        return batch;
    }

    void dispatch(const std::shared_ptr<impl>& self) {
        std::vector<std::size_t> idle;
        for (std::size_t i = 0; i < lane_busy.size(); ++i) {
            if (!lane_busy[i]) {
                idle.push_back(i);
            }
        }
        if (idle.empty() || queue.empty()) {
            return;
        }
        std::size_t queued_events = 0;
        for (const auto& s : queue) {
            queued_events += s->request.events.size();
        }
        // Side by side, batches insert in parallel but cannot share a commit: run two only while
        // inserting everything pending (here and in flight) would outlast a commit.
        std::size_t per_batch = options.max_batch_events;
        if (idle.size() > 1 || in_flight > 0) {
            using spreading = outbox_writer_options::spreading;
            bool spread = options.spread == spreading::always ||
                          (options.spread == spreading::measured &&
                           timings.worth_splitting(queued_events + in_flight_events));
            if (spread) {
                std::size_t lanes = lane_busy.size();
                per_batch = std::min(per_batch,
                                     (queued_events + in_flight_events + lanes - 1) / lanes);
                if (in_flight == 0) {
                    ++totals.split_bursts;
                }
            } else if (in_flight > 0) {
                return;  // join the next batch with what the one in flight hands back
            } else {
                idle.resize(1);
            }
        }
        for (std::size_t lane : idle) {
            auto batch = take_batch(std::max<std::size_t>(1, per_batch));
            if (batch.empty()) {
                break;
            }
            lane_busy[lane] = true;
            ++in_flight;
            for (const auto& s : batch) {
                in_flight_events += s->request.events.size();
            }
            auto task = write(self, lane, std::move(batch));
            asio::co_spawn(executor, std::move(task), [](std::exception_ptr e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        log::error("outbox batch task failed", {{"error", ex.what()}});
                    }
                }
            });
        }
    }

    asio::awaitable<batch_outcome> attempt(std::size_t lane, std::vector<slot_ptr> batch) {
        auto job = [batch = std::move(batch)](pqxx::connection_base& conn) {
            return attempt_batch(conn, batch);
        };
        batch_outcome outcome;
        try {
            outcome = co_await pool.run_on(lane, std::move(job));
        } catch (...) {
            outcome.failure = std::current_exception();
        }
        co_return outcome;
    }

    void finish(const std::vector<slot_ptr>& batch, const batch_outcome& outcome) {
        if (!outcome.failure) {
            ++totals.commits;
            totals.events += outcome.events;
            totals.insert_seconds += outcome.insert_us / 1e6;
            totals.call_seconds += outcome.call_us / 1e6;
            totals.round_trip_seconds += outcome.round_trip_us / 1e6;
            timings.add(outcome);
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            auto& s = *batch[i];
            s.failure = outcome.failure;
            if (!outcome.failure) {
                s.result = outcome.results.at(i);
            }
            s.done = true;
            s.done_signal.cancel();
        }
        if (!outcome.failure && outcome.head > head_reported) {
            head_reported = outcome.head;
            if (commit_callback) {
                commit_callback(outcome.head);
            }
        }
    }

    // The self pointer keeps the writer's state alive while the batch is in flight.
    static asio::awaitable<void> write(std::shared_ptr<impl> self, std::size_t lane,
                                       std::vector<slot_ptr> batch) {
        auto outcome = co_await self->attempt(lane, batch);
        if (outcome.failure && batch.size() > 1 && !batch_wide(outcome.failure)) {
            // One request's bad write must not fail its neighbours: retry each alone.
            for (auto& s : batch) {
                std::vector<slot_ptr> single{s};
                auto alone = co_await self->attempt(lane, single);
                self->finish(single, alone);
            }
        } else {
            self->finish(batch, outcome);
        }
        for (const auto& s : batch) {
            self->unclaim(s->request);
            self->in_flight_events -= s->request.events.size();
        }
        self->lane_busy[lane] = false;
        --self->in_flight;
        self->wake.cancel();
    }
};

outbox_writer::outbox_writer(asio::any_io_executor ex, std::string database_url,
                             std::size_t max_batch_events)
    : outbox_writer(ex, std::move(database_url),
                    outbox_writer_options{.max_batch_events = max_batch_events}) {}

outbox_writer::outbox_writer(asio::any_io_executor ex, std::string database_url,
                             outbox_writer_options options)
    : impl_(std::make_shared<impl>(ex, std::move(database_url), options)) {}

outbox_writer::~outbox_writer() = default;

asio::awaitable<append_result> outbox_writer::append(append_request req) {
    auto s = std::make_shared<slot>(impl_->executor);
    s->request = std::move(req);
    impl_->queue.push_back(s);
    impl_->wake.cancel();
    while (!s->done) {
        auto [ec] = co_await s->done_signal.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec && ec != asio::error::operation_aborted) {
            throw boost::system::system_error(ec);
        }
        // A cancelled caller (shutdown) stops waiting; its request still gets written.
        if (!s->done && (co_await asio::this_coro::cancellation_state).cancelled() !=
                            asio::cancellation_type::none) {
            throw boost::system::system_error(asio::error::operation_aborted);
        }
    }
    if (s->failure) {
        std::rethrow_exception(s->failure);
    }
    co_return s->result;
}

asio::awaitable<void> outbox_writer::run() {
    auto self = impl_;
    for (;;) {
        self->dispatch(self);
        if (self->stopping && self->queue.empty() && self->in_flight == 0) {
            break;
        }
        self->wake.expires_at(asio::steady_timer::time_point::max());
        auto [ec] = co_await self->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec;
        if ((co_await asio::this_coro::cancellation_state).cancelled() !=
            asio::cancellation_type::none) {
            // Cancelled: finish what is queued and in flight, then return.
            self->stopping = true;
            co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
        }
    }
    self->pool.stop();
}

void outbox_writer::stop() {
    impl_->stopping = true;
    impl_->wake.cancel();
}

void outbox_writer::on_commit(std::function<void(std::int64_t)> callback) {
    impl_->commit_callback = std::move(callback);
}

std::uint64_t outbox_writer::commits() const { return impl_->totals.commits; }

outbox_writer_stats outbox_writer::stats() const { return impl_->totals; }

}  // namespace changefeed::db
