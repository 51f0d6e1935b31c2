#include "sources/poller.hpp"

#include "core/log.hpp"
#include "db/checkpoint_repository.hpp"
#include "db/outbox_writer.hpp"
#include "db/pg_pool.hpp"
#include "db/resync_repository.hpp"
#include "db/source_lease.hpp"
#include "sources/common/upstream.hpp"
#include "sources/registry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>
#include <random>
#include <unistd.h>

namespace changefeed::sources {

namespace asio = boost::asio;

namespace {

// "changefeed/<version> (replica <host>/<pid>)": vendors' logs (and the multi-replica tests)
// can tell which replica sent a request.
std::string replica_user_agent() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        std::snprintf(host, sizeof host, "unknown");
    }
    return std::string("changefeed/" CHANGEFEED_VERSION " (replica ") + host + "/" +
           std::to_string(::getpid()) + ")";
}

upstream_settings make_upstream_settings(const app::source_config& config) {
    upstream_settings s;
    s.client.user_agent = replica_user_agent();
    s.source = config.name;
    s.rate_limit = config.rate_limit;
    s.client.timeout = config.timeout;
    if (const auto* kind = find_kind(config.kind)) {
        for (const auto& knob : kind->knobs) {
            if (knob.type == knob_type::secret) {
                auto value = config.option_string(knob.name);
                if (!value.empty()) {
                    s.secrets.push_back(value);
                }
            }
        }
    }
    return s;
}

bool is_cancellation(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
        return se.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

}  // namespace

struct poller::impl : std::enable_shared_from_this<poller::impl> {
    impl(asio::any_io_executor ex, app::source_config cfg, db::pg_pool& p, db::outbox_writer& w,
         db::source_lease* l, poller_timing t)
        : executor(ex), config(std::move(cfg)), pool(p), writer(w), lease(l), timing(t),
          http(ex, make_upstream_settings(config)), sleeper(ex), rng(std::random_device{}()) {
        status.name = config.name;
        status.kind = config.kind;
        status.state = config.enabled ? source_state::idle : source_state::disabled;
    }

    asio::any_io_executor executor;
    app::source_config config;
    db::pg_pool& pool;
    db::outbox_writer& writer;
    db::source_lease* lease;
    poller_timing timing;
    upstream http;
    source_factory make;
    std::unique_ptr<source> adapter;
    /// A resync this replica is replaying (POST /sources/{name}/resync).
    bool resyncing = false;
    /// Look for a requested resync before the next step (set after every sleep).
    bool look_for_resync = true;
    source_status status;
    asio::steady_timer sleeper;
    asio::cancellation_signal cancel;
    std::mt19937_64 rng;
    bool stopping = false;
    bool woken = false;
    std::vector<std::function<void(const std::vector<stored_tally>&)>> stored_callbacks;

    // Sleeps `d` unless woken or stopped; throws operation_aborted when cancelled.
    asio::awaitable<void> sleep(std::chrono::milliseconds d) {
        status.next_poll_at = time::now() + std::chrono::duration_cast<std::chrono::microseconds>(d);
        if (!woken) {
            sleeper.expires_after(d);
            (void)co_await sleeper.async_wait(asio::as_tuple(asio::use_awaitable));
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) {
                throw boost::system::system_error(asio::error::operation_aborted);
            }
        }
        woken = false;
        look_for_resync = true;
        status.next_poll_at.reset();
    }

    // An adapter for the resync: the configuration's start_from replaced by the resync's `from`
    // (none: everything the vendor retains), so the source replays as on a first start.
    void make_adapter(std::optional<std::string> start_from) {
        auto resync_config = config;
        resync_config.start_from = std::move(start_from);
        source_context ctx{resync_config, executor, http, status, pool, true};
        adapter = make(ctx);
    }

    // Loads the checkpoints into the adapter, beginning or resuming a resync asked for. A
    // resync that is begun starts from no checkpoints (deleted with the claim); one that another
    // holder began resumes from what it committed.
    asio::awaitable<void> restore() {
        auto name = config.name;
        auto read = [name](pqxx::connection_base& c) { return db::read_resync(c, name); };
        auto resync = co_await pool.run(std::move(read));
        if (resync && resync->state == "running") {
            if (!resync->claimed) {
                auto claim = [name](pqxx::connection_base& c) { return db::claim_resync(c, name); };
                (void)co_await pool.run(std::move(claim));
                log::info("resync begins", {{"source", name}, {"from", resync->from.value_or("")}});
            }
            make_adapter(resync->from);
            resyncing = true;
        } else {
            resyncing = false;
        }
        auto job = [name](pqxx::connection_base& c) { return db::load_checkpoints(c, name); };
        auto stored = co_await pool.run(std::move(job));
        adapter->restore(stored);
        status.checkpoint = adapter->checkpoint();
    }

    // True when a resync was asked for since this replica last looked (the caller restores).
    asio::awaitable<bool> resync_requested() {
        look_for_resync = false;
        auto name = config.name;
        auto read = [name](pqxx::connection_base& c) { return db::read_resync(c, name); };
        auto resync = co_await pool.run(std::move(read));
        co_return resync && resync->state == "running" && !resync->claimed;
    }

    // A resync's step records its progress in the transaction of its events; the last step
    // (nothing more upstream and nothing held back: the replay reached the present) ends it. A
    // held-back step read nothing: it is no page of the replay.
    void track_resync(poll_step& s) {
        if (s.held_back) {
            return;
        }
        auto previous = std::move(s.extra);
        auto name = config.name;
        auto events = static_cast<std::int64_t>(s.events.size());
        bool done = !s.more;
        std::optional<time::time_point> oldest;
        std::optional<time::time_point> newest;
        for (const auto& e : s.events) {
            if (auto at = time::parse_rfc3339(e.occurred_at)) {
                oldest = oldest ? std::min(*oldest, *at) : *at;
                newest = newest ? std::max(*newest, *at) : *at;
            }
        }
        auto text = [](const std::optional<time::time_point>& t) {
            return t ? std::optional<std::string>(time::format_rfc3339_us(*t)) : std::nullopt;
        };
        s.extra = [previous = std::move(previous), name, events, done, oldest = text(oldest),
                   newest = text(newest)](pqxx::dbtransaction& tx) {
            if (previous) {
                previous(tx);
            }
            db::record_resync_progress(tx, name, 1, events, done, oldest, newest);
        };
        if (done) {
            auto adopt = std::move(s.committed);
            s.committed = [this, adopt = std::move(adopt)] {
                if (adopt) {
                    adopt();
                }
                resyncing = false;
                log::info("resync done", {{"source", config.name}});
            };
        }
    }

    // A commit handed to the writer while the next page is fetched.
    struct inflight {
        explicit inflight(asio::any_io_executor ex) : done_signal(ex, asio::steady_timer::time_point::max()) {}
        bool done = false;
        std::exception_ptr failure;
        asio::steady_timer done_signal;
    };
    std::shared_ptr<inflight> pending;
    /// How many times a retry's problem was shown in last_error: a commit clears last_error only
    /// when none was shown since its step was handed over (the next step may be retrying already).
    std::uint64_t retries_shown = 0;

    // Commits `s` (events, checkpoints, extra) and records the outcome in the status.
    // `retries_shown_before`: retries_shown when the step was handed over.
    asio::awaitable<void> commit(poll_step s, bool adopted, std::uint64_t retries_shown_before) {
        // What the commit will be reported as (the request gives the events away): the tally
        // entry of each event, counted once the commit says which were stored.
        std::vector<stored_tally> tally;
        std::vector<std::size_t> entry_of_event;
        entry_of_event.reserve(s.events.size());
        std::optional<time::time_point> newest;
        for (const auto& e : s.events) {
            auto it = std::find_if(tally.begin(), tally.end(), [&e](const stored_tally& t) {
                return t.resource == e.resource && t.operation == e.operation;
            });
            if (it == tally.end()) {
                tally.push_back({e.resource, e.operation, 0});
                it = tally.end() - 1;
            }
            entry_of_event.push_back(static_cast<std::size_t>(it - tally.begin()));
            if (auto at = time::parse_rfc3339(e.occurred_at); at && (!newest || *at > *newest)) {
                newest = at;
            }
        }
        db::append_request req;
        req.events = std::move(s.events);
        req.checkpoints = std::move(s.checkpoints);
        req.extra = std::move(s.extra);
        auto append = writer.append(std::move(req));
        auto result = co_await std::move(append);
        if (s.committed && !adopted) {
            s.committed();
        }
        status.events_total += result.inserted;
        status.last_success_at = time::now();
        if (retries_shown == retries_shown_before) {
            status.last_error.clear();
        }
        if (newest && (!status.newest_occurred_at || *newest > *status.newest_occurred_at)) {
            status.newest_occurred_at = newest;
        }
        // Duplicates (overlapping polls) are not new events: only stored ones are counted.
        for (std::size_t i = 0; i < entry_of_event.size() && i < result.stored.size(); ++i) {
            if (result.stored[i]) {
                ++tally[entry_of_event[i]].events;
            }
        }
        std::erase_if(tally, [](const stored_tally& t) { return t.events == 0; });
        if (!tally.empty()) {
            for (const auto& callback : stored_callbacks) {
                callback(tally);
            }
        }
    }

    // Waits for the commit in flight, if any; rethrows its failure.
    asio::awaitable<void> settle() {
        if (!pending) {
            co_return;
        }
        auto p = std::move(pending);
        pending.reset();
        while (!p->done) {
            (void)co_await p->done_signal.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!p->done && (co_await asio::this_coro::cancellation_state).cancelled() !=
                                asio::cancellation_type::none) {
                throw boost::system::system_error(asio::error::operation_aborted);
            }
        }
        if (p->failure) {
            std::rethrow_exception(p->failure);
        }
    }

    // One pass: poll a step and commit it. A step that says more is waiting is adopted at once
    // and committed while the next one is fetched; that next step is only handed to the writer
    // after this commit succeeded (so a failed commit never leaves a gap), and a failure makes
    // the source reload its checkpoints from the database. Returns the wait before the next
    // pass (0: at once).
    asio::awaitable<std::optional<std::chrono::milliseconds>> step() {
        status.state = source_state::polling;
        status.last_poll_at = time::now();
        auto polled = adapter->poll();
        poll_step s = co_await std::move(polled);
        co_await settle();
        if (resyncing) {
            track_resync(s);
        }
        bool more = s.more;
        auto next_poll = s.next_poll;
        if (more && s.committed) {
            s.committed();
            auto p = std::make_shared<inflight>(executor);
            pending = p;
            auto self = shared_from_this();
            auto work = [self, p, s = std::move(s),
                         shown = retries_shown]() mutable -> asio::awaitable<void> {
                try {
                    co_await self->commit(std::move(s), true, shown);
                } catch (...) {
                    p->failure = std::current_exception();
                }
                p->done = true;
                p->done_signal.cancel();
            };
            asio::co_spawn(executor, std::move(work), asio::detached);
        } else {
            co_await commit(std::move(s), false, retries_shown);
        }
        status.checkpoint = adapter->checkpoint();
        co_return more ? std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(0))
                       : next_poll;
    }

    // A resync cannot go on while the vendor refuses the credentials: it is recorded as failed
    // (the source resumes from what the resync committed once the credentials work again).
    asio::awaitable<void> end_resync_failed(std::string why) {
        if (!resyncing) {
            co_return;
        }
        resyncing = false;
        auto name = config.name;
        auto job = [name, why](pqxx::connection_base& c) {
            db::fail_resync(c, name, why);
            return true;
        };
        try {
            co_await pool.run(std::move(job));
        } catch (const std::exception& e) {
            log::warn("could not record a failed resync", {{"source", name}, {"error", e.what()}});
        }
    }

    asio::awaitable<void> loop() {
        status.requests_total = 0;
        http.on_wait = [this](std::optional<time::time_point> until, const std::string& reason) {
            if (until) {
                status.next_poll_at = until;
                if (reason != k_waiting_for_budget) {
                    // A request being retried: shown while it is, not only once retries run out.
                    status.state = source_state::backing_off;
                    status.last_error = reason;
                    ++retries_shown;
                }
            } else {
                status.next_poll_at.reset();
                status.state = source_state::polling;
            }
        };
        bool restored = false;
        unsigned failures = 0;
        status.holder = lease == nullptr;
        while (!stopping) {
            // Only the replica holding the source polls it.
            if (lease != nullptr) {
                auto held = co_await lease->hold(config.name);
                if (held != db::source_lease::state::held) {
                    status.holder = false;
                    restored = false;  // whoever held it moved the checkpoint on
                    if (held == db::source_lease::state::unreachable) {
                        // Back within seconds of the database, not a poll interval later.
                        status.state = source_state::backing_off;
                        status.last_error = "the database is unreachable";
                        co_await sleep(std::min(timing.database_retry, config.poll_interval));
                    } else {
                        status.state = source_state::idle;
                        co_await sleep(config.poll_interval);
                    }
                    continue;
                }
                status.holder = true;
            }

            std::exception_ptr failure;
            std::optional<std::chrono::milliseconds> next;
            try {
                if (restored && look_for_resync && co_await resync_requested()) {
                    restored = false;
                }
                if (!restored) {
                    co_await settle();
                }
                if (!restored) {
                    co_await restore();
                    restored = true;
                }
                next = co_await step();
            } catch (...) {
                failure = std::current_exception();
            }
            status.requests_total = http.requests();
            if (failure && (stopping || is_cancellation(failure))) {
                break;
            }
            if (failure) {
                // The memory may be ahead of what was committed: start again from the database
                // (once a commit still in flight has settled).
                restored = false;
            }
            if (!failure) {
                failures = 0;
                if (next && next->count() == 0) {
                    // More pages: go on, but let the rest of the io_context run first.
                    co_await asio::post(executor, asio::use_awaitable);
                    continue;
                }
                status.state = source_state::idle;
                co_await sleep(next.value_or(config.poll_interval));
                continue;
            }

            // A failed step committed nothing: record why and back off.
            std::chrono::milliseconds wait{0};
            bool refused = false;
            try {
                std::rethrow_exception(failure);
            } catch (const upstream_error& e) {
                status.last_error = e.what();
                if (e.kind() == upstream_failure::auth) {
                    status.state = source_state::failing;
                    wait = std::max(timing.auth_retry, config.poll_interval);
                    refused = true;
                } else {
                    status.state = source_state::backing_off;
                    wait = full_jitter(timing.failure_backoff, failures, rng);
                }
            } catch (const std::exception& e) {
                status.last_error = http.scrub(e.what());
                status.state = source_state::backing_off;
                // The database rather than the vendor: retry at a short interval, so the source
                // is back within seconds of the database.
                wait = full_jitter(db::is_unavailable(e) ? timing.database_backoff
                                                         : timing.failure_backoff,
                                   failures, rng);
            }
            if (refused) {
                co_await end_resync_failed(status.last_error);
            }
            ++failures;
            if (failures >= 5 && status.state == source_state::backing_off) {
                status.state = source_state::failing;
            }
            log::warn("source step failed",
                      {{"source", config.name},
                       {"error", status.last_error},
                       {"retry_in_ms", static_cast<std::int64_t>(wait.count())}});
            co_await sleep(std::max(wait, std::chrono::milliseconds(50)));
        }
        if (lease != nullptr && status.holder) {
            co_await lease->release(config.name);
        }
        status.state = source_state::idle;
        status.next_poll_at.reset();
    }
};

poller::poller(asio::any_io_executor ex, app::source_config config, const source_factory& make,
               db::pg_pool& pool, db::outbox_writer& writer, db::source_lease* lease,
               poller_timing timing)
    : impl_(std::make_shared<impl>(ex, std::move(config), pool, writer, lease, timing)) {
    impl_->make = make;
    source_context ctx{impl_->config, ex, impl_->http, impl_->status, pool};
    impl_->adapter = make(ctx);
    impl_->status.checkpoint = nullptr;
}

poller::~poller() = default;

asio::awaitable<void> poller::run() {
    auto self = impl_;
    if (!self->config.enabled) {
        co_return;
    }
    auto ex = co_await asio::this_coro::executor;
    auto body = [self]() -> asio::awaitable<void> {
        try {
            co_await self->loop();
        } catch (const std::exception& e) {
            if (!self->stopping) {
                log::error("poller ended", {{"source", self->config.name}, {"error", e.what()}});
            }
        }
    };
    auto token = asio::bind_cancellation_slot(self->cancel.slot(), asio::use_awaitable);
    co_await asio::co_spawn(ex, body(), token);
}

void poller::stop() {
    impl_->stopping = true;
    impl_->cancel.emit(asio::cancellation_type::terminal);
    impl_->sleeper.cancel();
}

void poller::wake() {
    impl_->woken = true;
    impl_->look_for_resync = true;
    impl_->sleeper.cancel();
}

const source_status& poller::status() const { return impl_->status; }

boost::json::object poller::status_json(time::time_point now) const {
    return to_json(impl_->status, &impl_->http.limiter(), now);
}

upstream& poller::http() { return impl_->http; }

const app::source_config& poller::config() const { return impl_->config; }

void poller::on_stored(std::function<void(const std::vector<stored_tally>&)> callback) {
    impl_->stored_callbacks.push_back(std::move(callback));
}

}  // namespace changefeed::sources
