#include "sources/saleschannel/saleschannel_source.hpp"

#include "core/log.hpp"
#include "sources/common/checkpoint.hpp"
#include "sources/common/upstream.hpp"
#include "sources/common/url.hpp"
#include "sources/saleschannel/saleschannel_mapping.hpp"
#include "sources/source_status.hpp"

namespace changefeed::sources::saleschannel {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view k_events_path = "/saleschannel-services/v1/events";

class saleschannel_source final : public source {
public:
    explicit saleschannel_source(source_context& ctx)
        : config_(ctx.config), http_(ctx.http), status_(ctx.status),
          encoding_(config_.option_string("query_encoding") == "json" ? query_encoding::json
                                                                      : query_encoding::brackets),
          page_limit_(config_.option_int("page_limit")),
          max_page_limit_(std::max(page_limit_, config_.option_int("max_page_limit"))),
          sweep_every_(config_.option_duration("null_sweep_interval")), start_(start_from(config_)) {
        http_.set_describe([](const http::client_response& res) { return error_text(res.body); });
        auto token = config_.option_string("token");
        authorization_ = token.empty() ? basic_auth(config_.option_string("api_key_id"),
                                                    config_.option_string("api_key_secret"))
                                       : "Bearer " + token;
        update_status();
    }

    void restore(const db::checkpoint_map& stored) override {
        state_ = read_checkpoint<log_state>(stored);
        next_sweep_.reset();  // sweep once after every (re)start
        update_status();
    }

    json::value checkpoint() const override { return state_.to_json(); }

    asio::awaitable<poll_step> poll() override {
        poll_step step;
        auto now = time::now();
        log_state next;
        bool swept = false;
        if (sweep_every_.count() > 0 && (!next_sweep_ || *next_sweep_ <= now)) {
            next = co_await sweep(step, now);
            swept = true;
            step.more = true;  // the keyset goes on right after
        } else if (state_.walk) {
            next = co_await walk(step, now);
        } else {
            next = co_await keyset(step, now);
        }
        step.checkpoints.push_back({config_.name, "", next.to_json()});
        step.committed = [this, next, swept, now] {
            state_ = next;
            if (swept) {
                next_sweep_ = now + std::chrono::duration_cast<std::chrono::microseconds>(sweep_every_);
            }
            update_status();
        };
        co_return step;
    }

private:
    http::client_request request(const events_query& q) const {
        http::client_request req;
        req.url = make_url(config_.base_url, k_events_path, encode(q, encoding_));
        req.headers.emplace_back("Authorization", authorization_);
        req.headers.emplace_back("Accept", "application/json");
        return req;
    }

    // Sends `q`; nullopt when the vendor refused a `$limit` above page_limit (400).
    asio::awaitable<std::optional<std::vector<log_row>>> fetch(const events_query& q) {
        auto req = request(q);
        auto res = co_await http_.send(req);
        if (res.status == 400 && q.limit > page_limit_) {
            log::warn("sales-channel refused a larger $limit",
                      {{"source", config_.name},
                       {"limit", q.limit},
                       {"detail", http_.scrub(error_text(res.body))}});
            co_return std::nullopt;
        }
        if (res.status != 200) {
            http_.fail(req, res);
        }
        auto parsed = parse_events(res.body);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            http_.invalid(req, *error);
        }
        co_return std::get<std::vector<log_row>>(std::move(parsed));
    }

    void emit(poll_step& step, const std::vector<const log_row*>& rows, time::time_point now) {
        for (const auto* row : rows) {
            if (!row->created_at) {
                log::warn("sales-channel event without createdAt",
                          {{"source", config_.name}, {"event_id", row->id}});
            }
            step.events.push_back(make_event(config_.name, *row, now));
        }
    }

    // The keyset page after the checkpoint. A full page all at the checkpoint's createdAt is
    // read again with twice the `$limit` (up to max_page_limit); when even that is full, or the
    // vendor refuses the larger `$limit`, the rows at that createdAt are walked in id order.
    asio::awaitable<log_state> keyset(poll_step& step, time::time_point now) {
        auto limit = page_limit_;
        for (;;) {
            auto q = next_query(state_, limit, start_);
            auto rows = co_await fetch(q);
            if (!rows) {
                if (!state_.created_at) {
                    http_.invalid(request(q), "a larger $limit was refused before any createdAt");
                }
                log_state next = state_;
                next.walk = std::string();
                step.more = true;
                co_return next;
            }
            auto outcome = apply_page(state_, *rows, limit);
            if (outcome.stuck && limit < max_page_limit_) {
                limit = std::min(limit * 2, max_page_limit_);
                continue;
            }
            if (outcome.stuck) {
                if (!state_.created_at) {
                    http_.invalid(request(q), "a full page of events without createdAt");
                }
                log::info("more sales-channel events share one createdAt than a page holds; "
                          "walking them in id order",
                          {{"source", config_.name},
                           {"created_at", time::format_rfc3339_us(*state_.created_at)},
                           {"limit", limit}});
                outcome.next.walk = std::string();
            }
            if (!outcome.next.created_at && start_) {
                outcome.next.created_at = start_;  // keep start_from across restarts
            }
            emit(step, outcome.fresh, now);
            step.more = outcome.full;
            co_return outcome.next;
        }
    }

    asio::awaitable<log_state> walk(poll_step& step, time::time_point now) {
        auto q = next_query(state_, page_limit_, std::nullopt);
        auto rows = co_await fetch(q);
        auto outcome = apply_walk_page(state_, *rows, page_limit_);
        if (outcome.stuck) {
            http_.invalid(request(q), "the walk in id order did not move past " + *state_.walk);
        }
        emit(step, outcome.fresh, now);
        step.more = true;
        co_return outcome.next;
    }

    // Rows whose createdAt is null match no createdAt filter: an unfiltered page (where a
    // backend that sorts nulls first lists them) is read now and then for them.
    asio::awaitable<log_state> sweep(poll_step& step, time::time_point now) {
        auto limit = page_limit_;
        for (;;) {
            events_query q;
            q.limit = limit;
            auto rows = co_await fetch(q);
            if (!rows) {
                co_return state_;
            }
            auto outcome = apply_sweep_page(state_, *rows, limit);
            if (outcome.stuck && limit < max_page_limit_) {
                limit = std::min(limit * 2, max_page_limit_);
                continue;
            }
            if (outcome.stuck) {
                log::warn("more sales-channel events without createdAt than max_page_limit; only "
                          "the first page of them is seen",
                          {{"source", config_.name}, {"limit", limit}});
            }
            emit(step, outcome.fresh, now);
            co_return outcome.next;
        }
    }

    void update_status() {
        status_.extra["null_created_at"] = state_.null_total;
        if (state_.walk && state_.created_at) {
            status_.extra["tie_walk"] =
                json::object{{"created_at", time::format_rfc3339_us(*state_.created_at)},
                             {"after_id", *state_.walk}};
        } else {
            status_.extra.erase("tie_walk");
        }
    }

    app::source_config config_;
    upstream& http_;
    source_status& status_;
    query_encoding encoding_;
    std::int64_t page_limit_;
    std::int64_t max_page_limit_;
    std::chrono::milliseconds sweep_every_;
    std::optional<time::time_point> start_;
    std::string authorization_;
    log_state state_;
    std::optional<time::time_point> next_sweep_;
};

}  // namespace

std::unique_ptr<source> make_saleschannel_source(source_context& ctx) {
    return std::make_unique<saleschannel_source>(ctx);
}

}  // namespace changefeed::sources::saleschannel
