#include "sources/pennylane/pennylane_source.hpp"

#include "core/json_diff.hpp"
#include "core/log.hpp"
#include "db/pg_pool.hpp"
#include "db/resource_state_repository.hpp"
#include "sources/common/checkpoint.hpp"
#include "sources/common/upstream.hpp"
#include "sources/common/url.hpp"
#include "sources/pennylane/pennylane_mapping.hpp"
#include "sources/source_status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <set>

namespace changefeed::sources::pennylane {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view k_api = "/api/external/v2";
/// How close to the end of retention a watermark may get before the changelog is abandoned for
/// a resync (the next request must still be answerable).
constexpr auto k_retention_margin = std::chrono::hours(1);
/// Empty pages that still say has_more, in a row, before the walk is considered finished.
constexpr int k_max_empty_pages = 3;
/// Pages followed for one hydration chunk (it should fit in one).
constexpr int k_max_hydration_pages = 10;

class pennylane_source final : public source {
public:
    explicit pennylane_source(source_context& ctx)
        : config_(ctx.config), http_(ctx.http), status_(ctx.status), pool_(ctx.pool),
          hydrate_(config_.option_bool("hydrate")),
          chunk_(static_cast<std::size_t>(config_.option_int("hydrate_chunk"))),
          hydrate_concurrency_(static_cast<std::size_t>(config_.option_int("hydrate_concurrency"))),
          page_limit_(config_.option_int("page_limit")),
          overlap_(std::chrono::duration_cast<std::chrono::microseconds>(
              config_.option_duration("overlap"))),
          retention_(std::chrono::duration_cast<std::chrono::microseconds>(
              config_.option_duration("retention"))),
          api_(config_.base_url + std::string(k_api)),
          diff_options_(std::get<core::diff_options>(
              core::parse_array_keys(config_.option_string_list("diff_array_keys")))) {
        http_.set_describe([](const http::client_response& res) { return error_text(res.body); });
        for (const auto& r : config_.resources) {
            states_[r];
        }
    }

    void restore(const db::checkpoint_map& stored) override {
        states_ = read_resource_checkpoints<resource_state>(stored, config_.resources);
        current_ = 0;
        step_states_.clear();
        previous_step_states_.clear();
        update_status();
    }

    json::value checkpoint() const override { return resource_checkpoints_json(states_); }

    asio::awaitable<poll_step> poll() override {
        poll_step step;
        if (config_.resources.empty()) {
            co_return step;
        }
        previous_step_states_ = std::move(step_states_);
        step_states_.clear();
        const std::string resource = config_.resources[current_];
        resource_state state = states_[resource];
        bool resource_more = false;

        auto now = time::now();
        // A resource that cannot be listed reads its changelog as far as the vendor keeps it
        // (the vendor's 422 says when it no longer reaches the watermark).
        if (!state.resync && state.watermark && has_list_endpoint(resource) &&
            *state.watermark < changelog_horizon(now)) {
            log::warn("pennylane watermark is past the changelog retention; resyncing through the list "
                      "endpoint",
                      {{"source", config_.name}, {"resource", resource},
                       {"watermark", time::format_rfc3339(*state.watermark)}});
            state.resync = resync_progress{now, std::nullopt, 0, 0};
            state.cursor.reset();
        }
        if (!state.resync && !state.watermark && !state.floor && !state.cursor &&
            starts_beyond_retention(now)) {
            // The changelog no longer reaches start_from (a first start, or a resync asked for):
            // current state is listed instead, then the changelog follows.
            log::info("pennylane start_from is beyond the changelog retention; listing current state",
                      {{"source", config_.name}, {"resource", resource}});
            state.resync = resync_progress{now, std::nullopt, 0, 0};
        }
        if (state.resync) {
            co_await read_listing(resource, state, step, resource_more);
        } else {
            co_await read_changelog(resource, state, step, resource_more);
        }

        step.checkpoints.push_back({config_.name, resource, state.to_json()});
        std::size_t next_index = resource_more ? current_ : (current_ + 1) % config_.resources.size();
        step.more = resource_more || next_index != 0;
        step.committed = [this, resource, state, next_index] {
            states_[resource] = state;
            current_ = next_index;
            update_status();
        };
        co_return step;
    }

private:
    http::client_request get(const std::string& path, const query_params& q) const {
        http::client_request req;
        req.url = make_url(api_, path, q);
        req.headers.emplace_back("Authorization", "Bearer " + config_.option_string("token"));
        req.headers.emplace_back("Accept", "application/json");
        return req;
    }

    // The oldest time the changelog is still trusted to serve: the retention, less the margin.
    time::time_point changelog_horizon(time::time_point now) const {
        return now - retention_ + k_retention_margin;
    }

    bool starts_beyond_retention(time::time_point now) const {
        auto from = start_from(config_, now);
        return from && *from <= changelog_horizon(now);
    }

    std::optional<time::time_point> start_date(const resource_state& state,
                                               time::time_point now) const {
        if (state.floor) {
            return state.floor;
        }
        if (state.watermark) {
            return *state.watermark - overlap_;
        }
        if (auto from = start_from(config_, now); from && *from > changelog_horizon(now)) {
            return from;
        }
        return std::nullopt;  // everything the vendor still retains
    }

    query_params changelog_query(const resource_state& state, time::time_point now) const {
        query_params q;
        if (auto from = start_date(state, now)) {
            q.emplace_back("start_date", time::format_rfc3339_us(*from));
        }
        q.emplace_back("limit", std::to_string(page_limit_));
        return q;
    }

    asio::awaitable<void> read_changelog(const std::string& resource, resource_state& state,
                                         poll_step& step, bool& more) {
        auto path = "/changelogs/" + resource;
        auto sent_cursor = state.cursor;
        auto request_time = time::now();
        auto req = sent_cursor ? get(path, {{"cursor", *sent_cursor},
                                            {"limit", std::to_string(page_limit_)}})
                               : get(path, changelog_query(state, request_time));
        auto res = co_await http_.send(req);
        if (sent_cursor && (res.status == 400 || res.status == 422)) {
            // The cursor outlived the vendor's request session: restart from the watermark.
            log::info("pennylane refused a stored cursor; restarting from the watermark",
                      {{"source", config_.name}, {"resource", resource}});
            state.cursor.reset();
            sent_cursor.reset();
            request_time = time::now();
            req = get(path, changelog_query(state, request_time));
            res = co_await http_.send(req);
        }
        if (!sent_cursor && res.status == 422) {
            log::warn("pennylane changelog no longer reaches the watermark; resyncing",
                      {{"source", config_.name}, {"resource", resource},
                       {"detail", http_.scrub(error_text(res.body))}});
            state.resync = resync_progress{time::now(), std::nullopt, 0, 0};
            more = true;
            co_return;
        }
        if (res.status != 200) {
            http_.fail(req, res);
        }
        auto parsed = parse_changelog(res.body);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            http_.invalid(req, *error);
        }
        auto& page = std::get<changelog_page>(parsed);

        // Guards against a walk that never ends (seen in the wild): empty pages that claim
        // more, a cursor that points at itself, has_more without a cursor.
        if (page.has_more && page.items.empty()) {
            if (++empty_pages_ >= k_max_empty_pages) {
                log::warn("pennylane kept answering empty pages with has_more; ending the walk",
                          {{"source", config_.name}, {"resource", resource}});
                page.has_more = false;
            }
        } else {
            empty_pages_ = 0;
        }
        if (page.has_more && (!page.next_cursor || page.next_cursor == sent_cursor)) {
            log::warn("pennylane answered has_more without a new cursor; ending the walk",
                      {{"source", config_.name}, {"resource", resource}});
            page.has_more = false;
        }
        if (!page.has_more) {
            empty_pages_ = 0;
        }

        auto outcome = apply_page(state, page, overlap_,
                                  page.has_more ? std::nullopt : std::optional(request_time));
        bool hydrating = hydrate_ && has_list_endpoint(resource);
        std::map<std::int64_t, json::value> records;
        std::map<std::string, json::value> known;
        if (hydrating) {
            std::vector<std::int64_t> ids;
            std::set<std::int64_t> unique;
            std::vector<std::string> keys;
            for (const auto* item : outcome.fresh) {
                if (item->key.operation != "delete" && unique.insert(item->key.id).second) {
                    ids.push_back(item->key.id);
                }
                keys.push_back(std::to_string(item->key.id));
            }
            using namespace asio::experimental::awaitable_operators;
            auto fetched = hydrate(resource, ids, records);
            auto stored = stored_states(resource, keys);
            known = co_await (std::move(fetched) && std::move(stored));
        }
        std::vector<std::pair<std::string, json::value>> to_store;
        for (const auto* item : outcome.fresh) {
            std::optional<json::value> data;
            if (hydrating) {
                auto it = records.find(item->key.id);
                data = item->key.operation == "delete" || it == records.end() ? json::value(nullptr)
                                                                              : it->second;
            }
            auto event = make_event(config_.name, resource, *item, data);
            if (data) {
                event.changes = changes_then_remember(resource, std::to_string(item->key.id), *data,
                                                      known, to_store);
            }
            step.events.push_back(std::move(event));
        }
        store_states(step, resource, std::move(to_store));
        state = std::move(outcome.next);
        more = page.has_more;
    }

    // The last state stored for each of `keys` (resource ids): this step's and the previous
    // step's first (the previous one may still be committing), then the database's.
    asio::awaitable<std::map<std::string, json::value>> stored_states(const std::string& resource,
                                                                       const std::vector<std::string>& keys) {
        std::map<std::string, json::value> out;
        std::vector<std::string> unknown;
        for (const auto& key : keys) {
            auto qualified = resource + "/" + key;
            const json::value* seen = nullptr;
            if (auto it = step_states_.find(qualified); it != step_states_.end()) {
                seen = &it->second;
            } else if (auto prev = previous_step_states_.find(qualified);
                       prev != previous_step_states_.end()) {
                seen = &prev->second;
            }
            if (seen == nullptr) {
                unknown.push_back(key);
            } else if (!seen->is_null()) {
                out[key] = *seen;
            }
        }
        if (!unknown.empty()) {
            auto job = [source = config_.name, resource, unknown](pqxx::connection_base& c) {
                return db::load_resource_states(c, source, resource, unknown);
            };
            auto loaded = co_await pool_.run(std::move(job));
            out.merge(loaded);
        }
        co_return out;
    }

    // The changes of `data` against the state stored for resource `key` (none at its first sight
    // or for a deletion), after which `data` is remembered as its state (remember_state).
    std::optional<json::value> changes_then_remember(
        const std::string& resource, const std::string& key, const json::value& data,
        std::map<std::string, json::value>& known,
        std::vector<std::pair<std::string, json::value>>& to_store) {
        std::optional<json::value> changes;
        if (auto before = known.find(key); before != known.end() && !data.is_null()) {
            changes = json::value(core::json_diff(before->second, data, diff_options_));
        }
        remember_state(resource, key, data, known, to_store);
        return changes;
    }

    // Records `data` (null: deleted) as the state of resource `key`, for later events of this
    // step (`known`), the next step, and the database (`to_store`, written with the events).
    void remember_state(const std::string& resource, const std::string& key, const json::value& data,
                        std::map<std::string, json::value>& known,
                        std::vector<std::pair<std::string, json::value>>& to_store) {
        if (data.is_null()) {
            known.erase(key);
        } else {
            known[key] = data;
        }
        step_states_[resource + "/" + key] = data;
        to_store.emplace_back(key, data);
    }

    void store_states(poll_step& step, const std::string& resource,
                      std::vector<std::pair<std::string, json::value>> to_store) {
        if (to_store.empty()) {
            return;
        }
        auto previous = std::move(step.extra);
        step.extra = [previous = std::move(previous), source = config_.name, resource,
                      states = std::move(to_store)](pqxx::dbtransaction& tx) {
            if (previous) {
                previous(tx);
            }
            db::store_resource_states(tx, source, resource, states);
        };
    }

    // Fetches the current state of `ids` into `records`: chunks of `chunk_` ids, up to
    // `hydrate_concurrency_` requests at a time. The first failure cancels the others.
    asio::awaitable<void> hydrate(const std::string& resource, const std::vector<std::int64_t>& ids,
                                  std::map<std::int64_t, json::value>& records) {
        std::vector<std::vector<std::int64_t>> chunks;
        for (std::size_t begin = 0; begin < ids.size(); begin += chunk_) {
            auto end = std::min(ids.size(), begin + chunk_);
            chunks.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                                ids.begin() + static_cast<std::ptrdiff_t>(end));
        }
        auto ex = co_await asio::this_coro::executor;
        std::size_t next = 0;
        using worker_op = decltype(asio::co_spawn(ex, std::declval<asio::awaitable<void>>(),
                                                  asio::deferred));
        std::vector<worker_op> workers;
        for (std::size_t i = 0; i < std::min(hydrate_concurrency_, chunks.size()); ++i) {
            auto work = hydrate_chunks(resource, chunks, next, records);
            workers.push_back(asio::co_spawn(ex, std::move(work), asio::deferred));
        }
        if (workers.empty()) {
            co_return;
        }
        auto group = asio::experimental::make_parallel_group(std::move(workers));
        auto all = group.async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
        auto outcome = co_await std::move(all);
        for (auto index : std::get<0>(outcome)) {
            if (auto& failure = std::get<1>(outcome)[index]) {
                std::rethrow_exception(failure);
            }
        }
    }

    // One hydration worker: takes the next chunk until none is left.
    asio::awaitable<void> hydrate_chunks(const std::string& resource,
                                         const std::vector<std::vector<std::int64_t>>& chunks,
                                         std::size_t& next,
                                         std::map<std::int64_t, json::value>& records) {
        while (next < chunks.size()) {
            const auto& chunk = chunks[next++];
            std::optional<std::string> cursor;
            for (int page_no = 0; page_no < k_max_hydration_pages; ++page_no) {
                query_params q;
                if (cursor) {
                    q = {{"cursor", *cursor}, {"limit", std::to_string(chunk_)}};
                } else {
                    q = {{"filter", id_in_filter(chunk)}, {"limit", std::to_string(chunk_)}};
                }
                auto req = get("/" + resource, q);
                auto res = co_await http_.send(req);
                if (res.status != 200) {
                    http_.fail(req, res);
                }
                auto parsed = parse_list(res.body);
                if (auto* error = std::get_if<std::string>(&parsed)) {
                    http_.invalid(req, *error);
                }
                auto& page = std::get<list_page>(parsed);
                for (auto& record : page.items) {
                    auto id = record.at("id").as_int64();
                    records[id] = std::move(record);
                }
                if (!page.has_more || !page.next_cursor) {
                    break;
                }
                cursor = page.next_cursor;
            }
        }
    }

    asio::awaitable<void> read_listing(const std::string& resource, resource_state& state,
                                      poll_step& step, bool& more) {
        auto& progress = *state.resync;
        if (!has_list_endpoint(resource)) {
            log::error("pennylane changelog beyond retention and no list endpoint to resync from; "
                       "changes older than the retention were missed",
                       {{"source", config_.name}, {"resource", resource}});
            // The changelog from the oldest it still offers; the floor also keeps the next poll
            // from trying to list again.
            state = resource_state{};
            state.floor = changelog_horizon(time::now());
            more = true;
            co_return;
        }
        query_params q{{"limit", "100"}, {"sort", "id"}};
        if (progress.cursor) {
            q.emplace_back("cursor", *progress.cursor);
        }
        auto req = get("/" + resource, q);
        auto res = co_await http_.send(req);
        if (progress.cursor && (res.status == 400 || res.status == 422)) {
            // The listing's cursor expired: list again from the start (identities dedupe).
            progress.cursor.reset();
            more = true;
            co_return;
        }
        if (res.status != 200) {
            http_.fail(req, res);
        }
        auto parsed = parse_list(res.body);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            http_.invalid(req, *error);
        }
        auto& page = std::get<list_page>(parsed);
        auto listed_at = time::now();
        // States (what `changes` is computed against) are read and kept only with hydrate, as
        // for changelog events.
        std::vector<std::string> keys;  // parse_list checked that every record has an integer id
        std::map<std::string, json::value> known;
        std::vector<std::pair<std::string, json::value>> to_store;
        if (hydrate_) {
            for (const auto& record : page.items) {
                keys.push_back(std::to_string(record.at("id").as_int64()));
            }
            known = co_await stored_states(resource, keys);
        }
        for (std::size_t i = 0; i < page.items.size(); ++i) {
            auto event = make_snapshot_event(config_.name, resource, page.items[i], listed_at);
            if (hydrate_) {
                event.changes = changes_then_remember(resource, keys[i], json::value(page.items[i]),
                                                      known, to_store);
            }
            step.events.push_back(std::move(event));
        }
        store_states(step, resource, std::move(to_store));
        progress.pages += 1;
        progress.events += page.items.size();
        more = true;
        if (page.has_more && page.next_cursor && page.next_cursor != progress.cursor) {
            progress.cursor = page.next_cursor;
            co_return;
        }
        // Listed everything: the changelog resumes from when the listing began.
        log::info("pennylane resync finished",
                  {{"source", config_.name}, {"resource", resource},
                   {"pages", progress.pages}, {"events", progress.events}});
        last_resync_ = json::object{{"state", "done"},
                                    {"resource", resource},
                                    {"started_at", time::format_rfc3339(progress.started_at)},
                                    {"finished_at", time::format_rfc3339(listed_at)},
                                    {"pages", progress.pages},
                                    {"events", progress.events}};
        auto started = progress.started_at;
        state = resource_state{};
        state.watermark = started;
        state.floor = started - overlap_;
    }

    void update_status() {
        auto now = time::now();
        json::array at_risk;
        std::optional<json::object> running;
        for (const auto& [resource, state] : states_) {
            if (state.watermark && *state.watermark < now - retention_ + std::chrono::days(7)) {
                at_risk.push_back(json::value(resource));
            }
            if (state.resync && !running) {
                running = json::object{{"state", "running"},
                                       {"resource", resource},
                                       {"started_at", time::format_rfc3339(state.resync->started_at)},
                                       {"finished_at", nullptr},
                                       {"pages", state.resync->pages},
                                       {"events", state.resync->events}};
            }
        }
        status_.extra["retention_at_risk"] = std::move(at_risk);
        if (running) {
            status_.extra["resync"] = std::move(*running);
        } else if (last_resync_) {
            status_.extra["resync"] = *last_resync_;
        }
    }

    app::source_config config_;
    upstream& http_;
    source_status& status_;
    db::pg_pool& pool_;
    /// States handed to the writer by this step and the previous one ("resource/id" -> state,
    /// null when deleted): the previous step may still be committing while this one is polled.
    std::map<std::string, json::value> step_states_;
    std::map<std::string, json::value> previous_step_states_;
    bool hydrate_;
    std::size_t chunk_;
    std::size_t hydrate_concurrency_;
    std::int64_t page_limit_;
    std::chrono::microseconds overlap_;
    std::chrono::microseconds retention_;
    std::string api_;
    std::map<std::string, resource_state> states_;
    std::size_t current_ = 0;
    int empty_pages_ = 0;
    std::optional<json::object> last_resync_;
    core::diff_options diff_options_;  ///< after api_: initialised from the checked configuration
};

}  // namespace

std::unique_ptr<source> make_pennylane_source(source_context& ctx) {
    return std::make_unique<pennylane_source>(ctx);
}

}  // namespace changefeed::sources::pennylane
