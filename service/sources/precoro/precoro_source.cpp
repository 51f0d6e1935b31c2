#include "sources/precoro/precoro_source.hpp"

#include "core/log.hpp"
#include "db/pg_pool.hpp"
#include "sources/common/checkpoint.hpp"
#include "sources/common/upstream.hpp"
#include "sources/common/url.hpp"
#include "sources/precoro/precoro_mapping.hpp"
#include "sources/precoro/precoro_store.hpp"
#include "sources/source_status.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace changefeed::sources::precoro {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// Queued entities fetched per step (each is one request; the step commits them together).
constexpr std::size_t k_fetches_per_step = 10;
/// A fetch the vendor refused waits this long, doubling per refusal, up to k_refused_max.
constexpr auto k_refused_base = std::chrono::seconds(60);
constexpr auto k_refused_max = std::chrono::hours(1);
/// How long what a step wrote is remembered while its commit may still be in flight (the poll
/// loop commits a step while the next one is fetched; a commit takes seconds at most).
constexpr auto k_inflight_memory = std::chrono::minutes(5);
/// The next look at the queue when some of it was only waiting for a commit to land.
constexpr auto k_settle_wait = std::chrono::milliseconds(100);

bool is_cancellation(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
        return se.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

std::chrono::seconds refused_delay(int attempts) {
    auto delay = k_refused_base;
    for (int i = 0; i < attempts && delay < k_refused_max; ++i) {
        delay *= 2;
    }
    return std::min<std::chrono::seconds>(delay, k_refused_max);
}

// The idn a stored entity carries (documents), as text.
std::optional<std::string> stored_idn(const known_entity* k) {
    if (k == nullptr || !k->data.is_object()) {
        return std::nullopt;
    }
    const auto* idn = k->data.get_object().if_contains("idn");
    if (idn == nullptr) {
        return std::nullopt;
    }
    if (idn->is_string()) {
        return std::string(idn->get_string());
    }
    if (idn->is_int64()) {
        return std::to_string(idn->get_int64());
    }
    return std::nullopt;
}

// What a step writes beside its events, in the same transaction.
struct step_writes {
    std::vector<queued_entity> done;
    struct later {
        queued_entity entity;
        std::chrono::seconds delay;
        std::string error;
    };
    std::vector<later> retry;
    struct entity_state {
        std::string resource;
        std::int64_t id;
        known_entity state;
    };
    std::vector<entity_state> entities;
};

using known_map = std::map<std::int64_t, known_entity>;

class precoro_source final : public source {
public:
    explicit precoro_source(source_context& ctx)
        : config_(ctx.config), http_(ctx.http), status_(ctx.status), pool_(ctx.pool),
          per_page_(config_.option_int("per_page")),
          page_size_param_(config_.option_string("page_size_param")),
          overlap_(std::chrono::duration_cast<std::chrono::microseconds>(
              config_.option_duration("overlap"))),
          reserve_percent_(config_.option_int("sweep_reserve")),
          queue_check_(config_.option_duration("queue_check")),
          diff_options_(std::get<core::diff_options>(
              core::parse_array_keys(config_.option_string_list("diff_array_keys")))) {
        for (const auto& w : config_.rate_limit) {
            longest_ = std::max(longest_, std::chrono::duration_cast<std::chrono::microseconds>(w.window));
        }
        http_.set_describe([](const http::client_response& res) { return error_text(res.body); });
        http_.set_retry_at([this](const http::client_response& res) -> std::optional<time::time_point> {
            if (res.status != 429) {
                return std::nullopt;
            }
            auto t = parse_throttle(res.body, time::now());
            if (!t || !t->retry_at) {
                return std::nullopt;
            }
            pause_to_save_ = {*t->retry_at, t->type.empty() ? std::string("429") : t->type};
            pause_reason_ = pause_to_save_->second;
            log::warn("precoro throttled the source",
                      {{"source", config_.name},
                       {"limiter", pause_reason_},
                       {"retry_at", time::format_rfc3339(*t->retry_at)}});
            return t->retry_at;
        });
        http_.on_admitted = [this](time::time_point at) {
            unsaved_.push_back(at);
            newest_known_ = std::max(newest_known_, at);
        };
        restore({});
    }

    void restore(const db::checkpoint_map& stored) override {
        auto start = start_from(config_);
        states_ = read_resource_checkpoints<sweep_state>(stored, config_.resources,
                                                         [&] { return initial_state(start); });
        sweep_soon_.clear();
        handled_.clear();  // the database is the truth again
        emitted_.clear();
        budget_loaded_ = false;  // another replica may have spent some meanwhile
        update_status();
    }

    json::value checkpoint() const override { return resource_checkpoints_json(states_); }

    asio::awaitable<poll_step> poll() override {
        poll_step step;
        std::exception_ptr failure;
        try {
            auto op = poll_into(step);
            co_await std::move(op);
        } catch (...) {
            failure = std::current_exception();
        }
        update_status();
        if (failure) {
            std::rethrow_exception(failure);
        }
        co_return step;
    }

private:
    sweep_state initial_state(std::optional<time::time_point> start) const {
        sweep_state s;
        s.watermark = start;
        s.start = start;
        return s;
    }

    bool configured(std::string_view resource) const {
        return std::find(config_.resources.begin(), config_.resources.end(), resource) !=
               config_.resources.end();
    }

    http::client_request get(const std::string& path, const query_params& q) const {
        http::client_request req;
        req.url = make_url(config_.base_url, path, q);
        req.headers.emplace_back("X-AUTH-TOKEN", config_.option_string("token"));
        req.headers.emplace_back("email", config_.option_string("email"));
        req.headers.emplace_back("Accept", "application/json");
        return req;
    }

    // Every request goes through here: once it is answered (or failed), its admission is
    // persisted, so a restart or another replica counts it against the budget.
    asio::awaitable<http::client_response> send(http::client_request req) {
        std::exception_ptr failure;
        http::client_response res;
        try {
            auto op = http_.send(std::move(req));
            res = co_await std::move(op);
        } catch (...) {
            failure = std::current_exception();
        }
        if (!failure || !is_cancellation(failure)) {
            co_await save_budget();
        }
        if (failure) {
            std::rethrow_exception(failure);
        }
        co_return res;
    }

    // Best effort: when the database is down the times stay queued for the next try.
    asio::awaitable<void> save_budget() {
        if (unsaved_.empty() && !pause_to_save_) {
            co_return;
        }
        auto times = unsaved_;
        auto pause = pause_to_save_;
        auto source = config_.name;
        auto prune_until = time::now() - longest_;
        auto job = [source, times, prune_until, pause](pqxx::connection_base& c) {
            sources::precoro::save_budget(c, source, times, prune_until, pause);
            return true;
        };
        bool saved = false;
        try {
            saved = co_await pool_.run(std::move(job));
        } catch (const std::exception& e) {
            log::warn("precoro request budget not saved yet", {{"source", config_.name}, {"error", e.what()}});
        }
        if (saved) {
            unsaved_.erase(unsaved_.begin(), unsaved_.begin() + static_cast<std::ptrdiff_t>(times.size()));
            if (pause_to_save_ == pause) {
                pause_to_save_.reset();
            }
        }
    }

    // Counts what this and other processes spent within the longest window (and a vendor pause).
    asio::awaitable<void> load_budget() {
        auto now = time::now();
        auto since = std::max(now - longest_, newest_known_);
        auto source = config_.name;
        auto job = [source, since, now](pqxx::connection_base& c) {
            return sources::precoro::load_budget(c, source, since, now);
        };
        auto record = co_await pool_.run(std::move(job));
        for (auto t : record.requests) {
            http_.limiter().record(t);
            newest_known_ = std::max(newest_known_, t);
        }
        if (record.paused_until) {
            http_.limiter().pause_until(*record.paused_until);
            pause_reason_ = record.pause_reason;
        }
        if (!record.requests.empty()) {
            log::info("precoro request budget restored",
                      {{"source", config_.name}, {"requests", record.requests.size()}});
        }
    }

    asio::awaitable<void> poll_into(poll_step& step) {
        if (!budget_loaded_) {
            auto op = load_budget();
            co_await std::move(op);
            budget_loaded_ = true;
        }
        // Webhook deliveries first: each is one fetch, and the sweeps only back them up.
        auto source = config_.name;
        auto read = [source](pqxx::connection_base& c) {
            return read_queue(c, source, 2 * k_fetches_per_step);
        };
        auto queue = co_await pool_.run(std::move(read));
        queue_depth_ = queue.depth;
        update_status();  // a fetch may now wait long for the budget
        auto now = time::now();
        if (auto paused = http_.limiter().paused_until(now)) {
            // The vendor said when: nothing can be fetched before.
            step.next_poll = std::min(queue_check_, std::chrono::ceil<std::chrono::milliseconds>(*paused - now));
            step.held_back = true;
            co_return;
        }
        // Rows the step before handled are still there while its commit is in flight.
        forget_settled(now);
        auto read_rows = queue.due.size();
        std::erase_if(queue.due, [this](const queued_entity& q) {
            return std::any_of(handled_.begin(), handled_.end(), [&q](const auto& h) {
                return h.first.type == q.type && h.first.id == q.id && h.first.version == q.version;
            });
        });
        bool settling = queue.due.size() < read_rows;
        if (queue.due.size() > k_fetches_per_step) {
            queue.due.resize(k_fetches_per_step);
        }
        if (!queue.due.empty()) {
            auto op = fetch_queued(std::move(queue.due), step);
            co_await std::move(op);
            step.more = true;
            co_return;
        }

        auto resource = due_sweep(now);
        if (resource && budget_low(now)) {
            // Keep what is left of the day for webhook fetches.
            sweeps_waiting_ = true;
            step.next_poll = queue_check_;
            step.held_back = true;
            co_return;
        }
        sweeps_waiting_ = false;
        if (resource) {
            auto op = sweep_page(*resource, step);
            co_await std::move(op);
            step.more = true;
            co_return;
        }
        step.next_poll = std::min(queue_check_, until_next_sweep(now));
        if (settling) {
            step.next_poll = std::min(*step.next_poll, k_settle_wait);  // look again once committed
        }
    }

    // Fetches queued entities; one the vendor refuses waits and the others go on. A failure
    // that stops the source (network, auth) ends the batch, keeping what was fetched before it.
    asio::awaitable<void> fetch_queued(std::vector<queued_entity> rows, poll_step& step) {
        std::map<std::string, known_map> known;
        std::map<std::string, std::vector<std::int64_t>> ids;
        for (const auto& q : rows) {
            ids[std::string(type_of(q.type)->resource)].push_back(q.id);
        }
        for (auto& [resource, list] : ids) {
            auto op = load_known(resource, list);
            known[resource] = co_await std::move(op);
        }

        auto writes = std::make_shared<step_writes>();
        std::size_t fetched = 0;
        for (const auto& q : rows) {
            const auto& type = *type_of(q.type);
            std::string resource(type.resource);
            if (!configured(resource)) {
                writes->done.push_back(q);  // configuration changed since it was queued
                continue;
            }
            auto& entities = known[resource];
            auto it = entities.find(q.id);
            const known_entity* previous = it == entities.end() ? nullptr : &it->second;
            auto idn = q.idn ? q.idn : stored_idn(previous);
            auto path = detail_path(type, q.id, idn);
            if (!path) {
                log::warn("precoro webhook names a document without an idn; the next sweep will read it",
                          {{"source", config_.name}, {"resource", resource}, {"id", q.id}});
                sweep_soon_.insert(resource);
                writes->done.push_back(q);
                continue;
            }

            if (fetched > 0 && !budget_left(time::now())) {
                break;  // commit what was fetched rather than hold it while the budget refills
            }
            auto req = get(*path, {});
            std::optional<http::client_response> res;
            std::string refused;
            std::exception_ptr failure;
            try {
                auto op = send(req);
                res = co_await std::move(op);
            } catch (const upstream_error& e) {
                if (e.kind() == upstream_failure::rejected || e.kind() == upstream_failure::invalid) {
                    refused = e.what();
                } else {
                    failure = std::current_exception();
                }
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                if (fetched > 0 && !is_cancellation(failure)) {
                    break;  // commit what was fetched; the next step meets the failure again
                }
                std::rethrow_exception(failure);
            }
            ++fetched;

            std::optional<entity_version> seen;
            if (refused.empty() && res->status == 200) {
                auto parsed = parse_entity(res->body);
                if (auto* why = std::get_if<std::string>(&parsed)) {
                    refused = refusal([&] { http_.invalid(req, *why); });
                } else if (std::get<entity_version>(parsed).id != q.id) {
                    refused = refusal([&] { http_.invalid(req, "the detail is of another entity"); });
                } else {
                    seen = std::get<entity_version>(std::move(parsed));
                }
            } else if (refused.empty() && res->status != 404) {
                refused = refusal([&] { http_.fail(req, *res); });
            }
            if (!refused.empty()) {
                auto delay = refused_delay(q.attempts);
                log::warn("precoro refused an entity fetch; it waits",
                          {{"source", config_.name}, {"error", refused},
                           {"retry_in_s", static_cast<std::int64_t>(delay.count())}});
                writes->retry.push_back({q, delay, refused});
                continue;
            }

            writes->done.push_back(q);
            if (!seen) {
                // 404: gone. A second 404 of a deleted entity is not a new event.
                if (previous != nullptr && previous->deleted) {
                    continue;
                }
                json::object upstream{{"status", 404}, {"path", *path}};
                boost::system::error_code ec;
                auto body = json::parse(res->body, ec);
                upstream["body"] = ec ? json::value(res->body.substr(0, 1000)) : body;
                step.events.push_back(make_delete_event(config_.name, resource, q.id, previous,
                                                        time::now(), std::move(upstream)));
                known_entity gone{previous != nullptr ? previous->version : std::string(), nullptr, true};
                writes->entities.push_back({resource, q.id, gone});
                entities[q.id] = std::move(gone);
                continue;
            }
            emit(resource, *seen, q.action, entities, *writes, step);
        }
        set_extra(step, writes);
        step.committed = [this, writes] { remember(*writes); };
    }

    // Reads the next page of `resource`'s sweep.
    asio::awaitable<void> sweep_page(const std::string& resource, poll_step& step) {
        auto state = states_[resource];
        if (!state.walk) {
            state.walk = start_walk(state, overlap_, time::now());
        }
        auto& walk = *state.walk;
        query_params q;
        if (walk.since) {
            q.emplace_back("modifiedSince", *walk.since);
        }
        q.emplace_back(page_size_param_, std::to_string(per_page_));
        q.emplace_back("page", std::to_string(walk.page));
        auto req = get("/" + resource, q);
        auto op = send(req);
        auto res = co_await std::move(op);
        if (res.status != 200) {
            http_.fail(req, res);
        }
        auto parsed = parse_list(res.body);
        if (auto* why = std::get_if<std::string>(&parsed)) {
            http_.invalid(req, *why);
        }
        auto& page = std::get<list_page>(parsed);

        // Versions a finished sweep already listed at the watermark, or older than start_from.
        auto already_covered = [&state](const entity_version& item) {
            return at_watermark(state, item) || before_start(state, item);
        };
        std::vector<std::int64_t> ids;
        for (const auto& item : page.items) {
            if (!already_covered(item)) {
                ids.push_back(item.id);
            }
        }
        auto load = load_known(resource, ids);
        auto entities = co_await std::move(load);
        auto writes = std::make_shared<step_writes>();
        for (const auto& item : page.items) {
            note_listed(walk, item);
            if (!already_covered(item)) {
                emit(resource, item, std::nullopt, entities, *writes, step);
            }
        }
        if (!page.has_next_page || page.items.empty()) {
            auto pages = walk.page;
            finish_walk(state);  // ends `walk`
            log::info("precoro sweep finished",
                      {{"source", config_.name}, {"resource", resource}, {"pages", pages}});
        } else {
            ++walk.page;
        }

        for (const auto& [name, s] : states_) {
            step.checkpoints.push_back({config_.name, name, name == resource ? state.to_json() : s.to_json()});
        }
        set_extra(step, writes);
        step.committed = [this, resource, state, writes] {
            states_[resource] = state;
            sweep_soon_.erase(resource);
            remember(*writes);
        };
    }

    // Emits `seen` unless that version (or a newer one) was emitted already.
    void emit(const std::string& resource, const entity_version& seen, std::optional<int> webhook_action,
              known_map& entities, step_writes& writes, poll_step& step) {
        auto it = entities.find(seen.id);
        const known_entity* previous = it == entities.end() ? nullptr : &it->second;
        if (already_known(previous, seen)) {
            return;
        }
        auto operation = operation_of(seen, webhook_action, previous);
        step.events.push_back(make_version_event(config_.name, resource, seen, operation, previous, diff_options_));
        known_entity now_known{version_text(seen.updated), json::value(seen.raw), false};
        writes.entities.push_back({resource, seen.id, now_known});
        entities[seen.id] = std::move(now_known);
    }

    void set_extra(poll_step& step, std::shared_ptr<step_writes> writes) const {
        auto source = config_.name;
        step.extra = [source, writes](pqxx::dbtransaction& tx) {
            for (const auto& e : writes->entities) {
                store_entity(tx, source, e.resource, e.id, e.state);
            }
            // The queue's rows in (type, id) order, the order in which a batch of webhook
            // deliveries locks them: any other order can deadlock with it.
            std::vector<std::tuple<int, std::int64_t, std::size_t>> order;  // index >= done: retry
            for (std::size_t i = 0; i < writes->done.size(); ++i) {
                order.emplace_back(writes->done[i].type, writes->done[i].id, i);
            }
            for (std::size_t i = 0; i < writes->retry.size(); ++i) {
                const auto& q = writes->retry[i].entity;
                order.emplace_back(q.type, q.id, writes->done.size() + i);
            }
            std::sort(order.begin(), order.end());
            for (const auto& [type, id, index] : order) {
                if (index < writes->done.size()) {
                    queue_done(tx, source, writes->done[index]);
                } else {
                    const auto& r = writes->retry[index - writes->done.size()];
                    queue_later(tx, source, r.entity, r.delay, r.error);
                }
            }
        };
    }

    // What was emitted of `ids`: the database, overlaid with what steps still committing wrote.
    asio::awaitable<known_map> load_known(std::string resource, std::vector<std::int64_t> ids) {
        if (ids.empty()) {
            co_return known_map{};
        }
        auto source = config_.name;
        auto job = [source, resource, ids](pqxx::connection_base& c) {
            return load_entities(c, source, resource, ids);
        };
        auto known = co_await pool_.run(std::move(job));
        for (auto id : ids) {
            auto it = emitted_.find({resource, id});
            if (it != emitted_.end()) {
                known[id] = it->second.first;
            }
        }
        co_return known;
    }

    // A step was adopted: until its commit has surely settled, its queue rows are skipped and
    // its entity states stand in for the database's.
    void remember(const step_writes& writes) {
        auto now = time::now();
        for (const auto& q : writes.done) {
            handled_.emplace_back(q, now);
        }
        for (const auto& r : writes.retry) {
            handled_.emplace_back(r.entity, now);
        }
        for (const auto& e : writes.entities) {
            emitted_[{e.resource, e.id}] = {e.state, now};
        }
    }

    void forget_settled(time::time_point now) {
        std::erase_if(handled_, [now](const auto& h) { return h.second < now - k_inflight_memory; });
        std::erase_if(emitted_, [now](const auto& e) { return e.second.second < now - k_inflight_memory; });
    }

    // The message of the upstream_error `f` throws.
    template <class F>
    static std::string refusal(F f) {
        try {
            f();
        } catch (const upstream_error& e) {
            return e.what();
        }
        return "refused";
    }

    std::optional<std::string> due_sweep(time::time_point now) const {
        for (const auto& r : config_.resources) {
            if (states_.at(r).walk) {
                return r;
            }
        }
        for (const auto& r : config_.resources) {
            const auto& s = states_.at(r);
            if (sweep_soon_.count(r) != 0 || !s.last_sweep_at ||
                *s.last_sweep_at + std::chrono::duration_cast<std::chrono::microseconds>(config_.poll_interval) <= now) {
                return r;
            }
        }
        return std::nullopt;
    }

    std::chrono::milliseconds until_next_sweep(time::time_point now) const {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(config_.poll_interval);
        for (const auto& [r, s] : states_) {
            if (s.last_sweep_at) {
                auto due = *s.last_sweep_at + std::chrono::duration_cast<std::chrono::microseconds>(config_.poll_interval);
                wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(due - now));
            }
        }
        return std::max(wait, std::chrono::milliseconds(1));
    }

    // True when the limiter would admit a request now.
    bool budget_left(time::time_point now) const {
        if (http_.limiter().paused_until(now)) {
            return false;
        }
        for (const auto& w : http_.limiter().state(now)) {
            if (w.window.limit > 0 && w.remaining == 0) {
                return false;
            }
        }
        return true;
    }

    // True while the longest window (the day) has less than `sweep_reserve` percent left.
    bool budget_low(time::time_point now) const {
        if (reserve_percent_ <= 0) {
            return false;
        }
        std::optional<rate_limiter::window_state> longest;
        for (const auto& w : http_.limiter().state(now)) {
            if (!longest || w.window.window > longest->window.window) {
                longest = w;
            }
        }
        return longest && longest->window.limit > 0 &&
               static_cast<std::int64_t>(longest->remaining) * 100 <
                   reserve_percent_ * static_cast<std::int64_t>(longest->window.limit);
    }

    void update_status() {
        auto now = time::now();
        status_.extra["queue_depth"] = queue_depth_;
        status_.extra["sweeps_waiting_for_budget"] = sweeps_waiting_;
        if (auto paused = http_.limiter().paused_until(now)) {
            status_.extra["paused_until"] = time::format_rfc3339(*paused);
            status_.extra["paused_by"] = pause_reason_;
        } else {
            status_.extra["paused_until"] = nullptr;
            status_.extra["paused_by"] = nullptr;
        }
    }

    app::source_config config_;
    upstream& http_;
    source_status& status_;
    db::pg_pool& pool_;
    std::int64_t per_page_;
    std::string page_size_param_;
    std::chrono::microseconds overlap_;
    std::int64_t reserve_percent_;
    std::chrono::milliseconds queue_check_;
    core::diff_options diff_options_;  ///< from the configuration, checked when it loaded
    std::chrono::microseconds longest_{0};
    std::map<std::string, sweep_state> states_;
    std::set<std::string> sweep_soon_;  ///< resources a webhook could not be fetched for
    /// Queue rows handled and entity states written by recent steps, with when (see remember()).
    std::vector<std::pair<queued_entity, time::time_point>> handled_;
    std::map<std::pair<std::string, std::int64_t>, std::pair<known_entity, time::time_point>> emitted_;
    std::int64_t queue_depth_ = 0;
    bool sweeps_waiting_ = false;
    bool budget_loaded_ = false;
    std::vector<time::time_point> unsaved_;  ///< admitted requests not yet in precoro_requests
    time::time_point newest_known_{};        ///< newest admission this process counted
    std::optional<std::pair<time::time_point, std::string>> pause_to_save_;
    std::string pause_reason_;
};

}  // namespace

std::unique_ptr<source> make_precoro_source(source_context& ctx) {
    return std::make_unique<precoro_source>(ctx);
}

}  // namespace changefeed::sources::precoro
