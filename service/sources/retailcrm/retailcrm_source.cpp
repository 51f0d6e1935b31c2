#include "sources/retailcrm/retailcrm_source.hpp"

#include "core/log.hpp"
#include "sources/common/checkpoint.hpp"
#include "sources/common/upstream.hpp"
#include "sources/common/url.hpp"
#include "sources/retailcrm/retailcrm_mapping.hpp"
#include "sources/source_status.hpp"

#include <map>

namespace changefeed::sources::retailcrm {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view k_api = "/api/v5";

class retailcrm_source final : public source {
  public:
    explicit retailcrm_source(source_context& ctx)
        : config_(ctx.config), http_(ctx.http), status_(ctx.status),
          page_limit_(config_.option_int("page_limit")),
          skip_own_(config_.option_bool("skip_own_changes")), resync_(ctx.resync),
          api_(config_.base_url + std::string(k_api)) {
        auto zone = account_zone::load(config_.option_string("timezone"));
        if (auto* z = std::get_if<account_zone>(&zone)) {
            zone_ = std::move(*z);
        } else {
            zone_error_ = "timezone: " + std::get<std::string>(zone);
        }
        http_.set_describe(
            [](const http::client_response& res) { return error_text(res.status, res.body); });
        // retailCRM throttles with 503 as well as 429 (its Go SDK backs off on both); neither
        // carries Retry-After, so the upstream's exponential backoff decides.
        http_.set_retryable([](unsigned status) { return status == 429 || status >= 500; });
        for (const auto& r : config_.resources) {
            states_[r];
        }
        update_status();
    }

    void restore(const db::checkpoint_map& stored) override {
        states_ = read_resource_checkpoints<resource_state>(stored, config_.resources);
        current_ = 0;
        assume_budget_spent();
        update_status();
    }

    json::value checkpoint() const override { return resource_checkpoints_json(states_); }

    asio::awaitable<poll_step> poll() override {
        poll_step step;
        if (!zone_) {
            throw std::runtime_error(zone_error_);
        }
        if (config_.resources.empty()) {
            co_return step;
        }
        const std::string resource = config_.resources[current_];
        resource_state state = states_[resource];

        query_params q;
        if (state.since_id) {
            q.emplace_back("filter[sinceId]", std::to_string(*state.since_id));
        } else {
            if (!state.start_date) {
                // Pinned in the checkpoint, so that `start_from: now` means the first poll.
                state.start_date = bootstrap_start_date();
            }
            if (state.start_date) {
                q.emplace_back("filter[startDate]", *state.start_date);
            }
        }
        q.emplace_back("limit", std::to_string(page_limit_));
        auto req = get(std::string(history_path(resource)), q);
        auto res = co_await http_.send(req);
        if (res.status != 200) {
            http_.fail(req, res);
        }
        auto parsed = parse_history(resource, res.body);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            http_.invalid(req, *error);
        }
        const auto& page = std::get<history_page>(parsed);
        auto outcome = apply_page(state, page, page_limit_, skip_own_);
        for (const auto* record : outcome.fresh) {
            step.events.push_back(make_event(config_.name, resource, *record, *zone_));
        }
        state = std::move(outcome.next);

        step.checkpoints.push_back({config_.name, resource, state.to_json()});
        std::size_t next_index =
            outcome.more ? current_ : (current_ + 1) % config_.resources.size();
        step.more = outcome.more || next_index != 0;
        auto skipped = outcome.skipped_own;
        step.committed = [this, resource, state, next_index, skipped] {
            states_[resource] = state;
            current_ = next_index;
            skipped_own_ += skipped;
            update_status();
        };
        co_return step;
    }

  private:
    // restore() follows a start, a takeover from another replica or a failed step; whoever
    // polled before may have spent the key's per-second budget (10 requests/s, which the vendor
    // counts per key, not per process) just now, and the runtime keeps no record of it. Count
    // every short window as full, so the first second after a restore sends nothing.
    void assume_budget_spent() {
        std::uint32_t spent = 0;
        for (const auto& w : http_.limiter().windows()) {
            if (w.window <= std::chrono::seconds(1)) {
                spent = std::max(spent, w.limit);
            }
        }
        auto now = time::now();
        for (std::uint32_t i = 0; i < spent; ++i) {
            http_.limiter().record(now);
        }
    }

    http::client_request get(const std::string& path, const query_params& q) const {
        http::client_request req;
        req.url = make_url(api_, path, q);
        req.headers.emplace_back("X-API-KEY", config_.option_string("api_key"));
        req.headers.emplace_back("Accept", "application/json");
        return req;
    }

    // filter[startDate] of a first run: the `start_date` knob as written, else `start_from` in
    // account time, else none (the whole history). A resync's `from` (in start_from) wins.
    std::optional<std::string> bootstrap_start_date() const {
        auto knob = config_.option_string("start_date");
        if (!knob.empty() && !resync_) {
            return knob;
        }
        auto from = start_from(config_);
        if (!from) {
            return std::nullopt;
        }
        auto at = std::chrono::floor<std::chrono::seconds>(*from);
        return format_local(zone_->to_local(at));
    }

    void update_status() {
        status_.extra["timezone"] = zone_ ? zone_->name() : config_.option_string("timezone");
        status_.extra["own_changes_skipped"] = skipped_own_;
    }

    app::source_config config_;
    upstream& http_;
    source_status& status_;
    std::int64_t page_limit_;
    bool skip_own_;
    bool resync_;  ///< built for a resync: its `from` wins over the start_date knob
    std::string api_;
    std::optional<account_zone> zone_;
    std::string zone_error_;
    std::map<std::string, resource_state> states_;
    std::size_t current_ = 0;
    std::uint64_t skipped_own_ = 0;
};

}  // namespace

std::unique_ptr<source> make_retailcrm_source(source_context& ctx) {
    return std::make_unique<retailcrm_source>(ctx);
}

}  // namespace changefeed::sources::retailcrm
