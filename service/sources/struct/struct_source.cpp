#include "sources/struct/struct_source.hpp"

#include "core/log.hpp"
#include "sources/common/checkpoint.hpp"
#include "sources/common/upstream.hpp"
#include "sources/common/url.hpp"
#include "sources/source_status.hpp"
#include "sources/struct/struct_mapping.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace changefeed::sources::struct_pim {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view k_search = "/v1/transactions/search";
constexpr std::string_view k_changed_entities = "/v1/transactions/batch/changedentities";
constexpr std::string_view k_changes = "/v1/transactions/changes/batch";

class struct_source final : public source {
public:
    explicit struct_source(source_context& ctx)
        : config_(ctx.config), http_(ctx.http), status_(ctx.status),
          page_size_(config_.option_int("page_size")),
          overlap_(std::chrono::duration_cast<std::chrono::microseconds>(
              config_.option_duration("overlap"))),
          uid_batch_(static_cast<std::size_t>(config_.option_int("changedentities_batch"))),
          key_batch_(static_cast<std::size_t>(config_.option_int("changes_batch"))),
          field_diffs_(config_.option_bool("field_diffs")), start_(start_from(config_)) {
        http_.set_describe([](const http::client_response& res) { return error_text(res.body); });
        status_.extra["uncommitted_skipped"] = 0;
        status_.extra["walk_restarts"] = 0;
    }

    void restore(const db::checkpoint_map& stored) override {
        state_ = read_checkpoint<struct_state>(stored);
    }

    json::value checkpoint() const override { return state_.to_json(); }

    asio::awaitable<poll_step> poll() override {
        poll_step step;
        struct_state state = state_;
        if (!state.walk) {
            state.walk = start_walk(state, overlap_, start_, time::now());
        }
        auto req = search_request(*state.walk);
        auto res = co_await http_.send(req);
        if (res.status != 200) {
            http_.fail(req, res);
        }
        auto parsed = parse_search(res.body);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            http_.invalid(req, *error);
        }
        const auto& page = std::get<search_page>(parsed);
        if (static_cast<std::int64_t>(page.transactions.size()) > page_size_ && !warned_page_size_) {
            log::warn("struct search pages are longer than page_size; set page_size to the "
                      "vendor's page length",
                      {{"source", config_.name},
                       {"page_size", page_size_},
                       {"served", page.transactions.size()}});
            warned_page_size_ = true;
        }
        auto outcome = apply_search_page(state, page, page_size_, overlap_);
        if (outcome.uncommitted > 0) {
            uncommitted_ += outcome.uncommitted;
            status_.extra["uncommitted_skipped"] = uncommitted_;
            log::warn("struct search listed transactions without CommitTimestamp; skipped",
                      {{"source", config_.name}, {"count", outcome.uncommitted}});
        }
        if (outcome.restarted) {
            ++walk_restarts_;
            status_.extra["walk_restarts"] = walk_restarts_;
            log::info("struct search results changed during a walk; reading it again from page 1",
                      {{"source", config_.name}, {"total_count", page.total_count}});
        }
        if (outcome.moved_past_cap) {
            log::warn("struct search results keep changing during a walk; going on without "
                      "reading it again (a commit that became visible late may be missed)",
                      {{"source", config_.name},
                       {"total_count", page.total_count},
                       {"restarts", k_walk_restart_cap}});
        }
        if (outcome.last && !outcome.next.watermark && start_) {
            // Nothing committed since start_from yet: keep that bound across restarts.
            outcome.next.watermark = *start_ + overlap_;
        }

        co_await emit(outcome.fresh, step);
        auto next = std::move(outcome.next);
        step.checkpoints.push_back({config_.name, "", next.to_json()});
        step.more = !outcome.last;
        step.committed = [this, next] { state_ = next; };
        co_return step;
    }

private:
    http::client_request request(std::string method, std::string_view path,
                                 const query_params& q = {}) const {
        http::client_request req;
        req.method = std::move(method);
        req.url = make_url(config_.base_url, path, q);
        req.headers.emplace_back("Authorization", config_.option_string("api_key"));
        req.headers.emplace_back("Accept", "application/json");
        return req;
    }

    http::client_request search_request(const walk_state& walk) const {
        query_params q;
        q.emplace_back(config_.option_string("param_page"), std::to_string(walk.page));
        if (walk.after) {
            q.emplace_back(config_.option_string("param_committed_after"),
                           time::format_rfc3339_us(*walk.after));
        }
        if (auto name = config_.option_string("param_committed_before"); !name.empty()) {
            q.emplace_back(name, time::format_rfc3339_us(walk.before));
        }
        return request("GET", k_search, q);
    }

    asio::awaitable<std::string> post(std::string_view path, std::string body) {
        auto req = request("POST", path);
        req.headers.emplace_back("Content-Type", "application/json");
        req.body = std::move(body);
        auto res = co_await http_.send(req);
        if (res.status != 200) {
            http_.fail(req, res);
        }
        co_return std::move(res.body);
    }

    // The changed entity revisions of `uids`, at most changedentities_batch uids per call.
    asio::awaitable<std::vector<changed_entity>> changed_entities(const std::vector<std::string>& uids) {
        std::vector<changed_entity> out;
        for (const auto& chunk : chunks(uids, uid_batch_)) {
            json::array body;
            for (const auto& uid : chunk) {
                body.push_back(json::value(uid));
            }
            auto answer = co_await post(k_changed_entities, json::serialize(body));
            auto parsed = parse_changed_entities(answer);
            if (auto* error = std::get_if<std::string>(&parsed)) {
                http_.invalid(request("POST", k_changed_entities), *error);
            }
            auto& entities = std::get<std::vector<changed_entity>>(parsed);
            std::move(entities.begin(), entities.end(), std::back_inserter(out));
        }
        co_return out;
    }

    // The changed data types per revision key, at most changes_batch keys per call.
    asio::awaitable<std::map<std::string, json::array>> data_types(
        const std::vector<const changed_entity*>& revisions) {
        std::map<std::string, json::array> out;
        for (const auto& chunk : chunks(revisions, key_batch_)) {
            json::array body;
            for (const auto* e : chunk) {
                body.push_back(json::object{{"EntityType", e->entity_type},
                                            {"EntityId", e->entity_id},
                                            {"RevisionNo", e->revision}});
                out[e->key()];
            }
            auto answer = co_await post(k_changes, json::serialize(body));
            auto parsed = parse_data_types(answer);
            if (auto* error = std::get_if<std::string>(&parsed)) {
                http_.invalid(request("POST", k_changes), *error);
            }
            for (const auto& change : std::get<std::vector<data_type_change>>(parsed)) {
                if (auto it = out.find(change.key); it != out.end()) {
                    it->second.push_back(json::value(change.data_type));
                }
            }
        }
        co_return out;
    }

    // The field revisions of one entity; nullopt when the vendor has none for it (404).
    asio::awaitable<std::optional<std::vector<field_revision>>> revision_data(const changed_entity& e) {
        auto path = "/v1/transactions/" + percent_encode(e.entity_type) + "/" +
                    percent_encode(e.entity_id) + "/revisiondata";
        auto req = request("GET", path);
        auto res = co_await http_.send(req);
        if (res.status == 404) {
            co_return std::nullopt;
        }
        if (res.status != 200) {
            http_.fail(req, res);
        }
        auto parsed = parse_revision_data(res.body);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            http_.invalid(req, *error);
        }
        co_return std::get<std::vector<field_revision>>(std::move(parsed));
    }

    asio::awaitable<void> emit(const std::vector<const transaction*>& fresh, poll_step& step) {
        if (fresh.empty()) {
            co_return;
        }
        std::vector<std::string> uids;
        std::map<std::string, const transaction*> by_uid;
        for (const auto* t : fresh) {
            uids.push_back(t->uid);
            by_uid[t->uid] = t;
        }
        auto entities = co_await changed_entities(uids);
        std::map<std::string, std::vector<const changed_entity*>> of_uid;
        for (const auto& e : entities) {
            if (by_uid.count(e.transaction_uid) == 0) {
                log::warn("struct answered a changed entity of a transaction not asked for",
                          {{"source", config_.name}, {"transaction", e.transaction_uid}});
                continue;
            }
            of_uid[e.transaction_uid].push_back(&e);
        }
        for (auto& [uid, list] : of_uid) {
            std::sort(list.begin(), list.end(), [](const changed_entity* a, const changed_entity* b) {
                return std::tie(a->entity_type, a->entity_id, a->revision) <
                       std::tie(b->entity_type, b->entity_id, b->revision);
            });
        }

        std::map<std::string, json::array> types;
        std::map<std::pair<std::string, std::string>, std::optional<std::vector<field_revision>>> diffs;
        if (field_diffs_) {
            std::vector<const changed_entity*> revisions;
            for (const auto* t : fresh) {
                for (const auto* e : of_uid[t->uid]) {
                    revisions.push_back(e);
                }
            }
            types = co_await data_types(revisions);
            for (const auto* e : revisions) {
                auto key = std::make_pair(e->entity_type, e->entity_id);
                if (operation_of(*by_uid[e->transaction_uid], *e) == "delete" || diffs.count(key) != 0) {
                    continue;
                }
                diffs[key] = co_await revision_data(*e);
            }
        }

        for (const auto* t : fresh) {
            for (const auto* e : of_uid[t->uid]) {
                std::optional<json::array> changes;
                std::optional<json::array> changed_types;
                if (field_diffs_) {
                    changed_types = types[e->key()];
                    auto it = diffs.find({e->entity_type, e->entity_id});
                    if (it != diffs.end() && it->second && operation_of(*t, *e) != "delete") {
                        changes = changes_of(*it->second, e->revision);
                    }
                }
                step.events.push_back(
                    make_event(config_.name, *t, *e, std::move(changes), std::move(changed_types)));
            }
        }
    }

    app::source_config config_;
    upstream& http_;
    source_status& status_;
    std::int64_t page_size_;
    std::chrono::microseconds overlap_;
    std::size_t uid_batch_;
    std::size_t key_batch_;
    bool field_diffs_;
    std::optional<time::time_point> start_;
    struct_state state_;
    bool warned_page_size_ = false;
    std::uint64_t uncommitted_ = 0;
    std::uint64_t walk_restarts_ = 0;
};

}  // namespace

std::unique_ptr<source> make_struct_source(source_context& ctx) {
    return std::make_unique<struct_source>(ctx);
}

}  // namespace changefeed::sources::struct_pim
