#include "sim/saleschannel/saleschannel_simulator.hpp"

#include "sources/common/upstream.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace changefeed::sim {

namespace json = boost::json;

namespace {

constexpr std::string_view k_path = "/saleschannel-services/v1/events";

std::string nest_error(unsigned status, const json::value& message, std::string_view error) {
    json::object o{{"statusCode", status}, {"message", message}};
    if (!error.empty()) {
        o["error"] = error;
    }
    return json::serialize(o);
}

http::response bad_request(std::string message) {
    return json_reply(400, nest_error(400, json::array{json::value(message)}, "Bad Request"));
}

std::string base36(std::uint64_t v, std::size_t width) {
    static constexpr char k_digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string out;
    do {
        out.push_back(k_digits[v % 36]);
        v /= 36;
    } while (v > 0);
    while (out.size() < width) {
        out.push_back('0');
    }
    std::reverse(out.begin(), out.end());
    return out.substr(out.size() - width);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

bool is_field(std::string_view f) {
    return f == "id" || f == "eventType" || f == "createdAt" || f == "eventAt";
}

bool is_operator(std::string_view op) {
    return op == "eq" || op == "gt" || op == "gte" || op == "lt" || op == "lte";
}

// "$filter[createdAt][gte]" -> {"createdAt", "gte"}; "$orderBy[createdAt]" -> {"createdAt"}.
std::optional<std::vector<std::string>> bracket_parts(std::string_view key, std::string_view name) {
    if (key.substr(0, name.size()) != name) {
        return std::nullopt;
    }
    std::vector<std::string> parts;
    auto rest = key.substr(name.size());
    while (!rest.empty()) {
        if (rest.front() != '[') {
            return std::nullopt;
        }
        auto close = rest.find(']');
        if (close == std::string_view::npos || close == 1) {
            return std::nullopt;
        }
        parts.emplace_back(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
    }
    return parts;
}

const char* pick(std::mt19937_64& rng, std::initializer_list<const char*> options) {
    std::uniform_int_distribution<std::size_t> d(0, options.size() - 1);
    return *(options.begin() + d(rng));
}

json::value time_or_null(const std::optional<time::time_point>& t) {
    return t ? json::value(time::format_rfc3339(*t)) : json::value(nullptr);
}

}  // namespace

struct saleschannel_simulator::query {
    struct condition {
        std::string field;
        std::string op;
        std::string text;
        std::optional<time::time_point> time;
    };
    std::int64_t limit = 0;
    std::vector<std::pair<std::string, bool>> order;  ///< field, ascending
    std::vector<condition> filters;
};

saleschannel_simulator::saleschannel_simulator(options opts)
    : opts_(std::move(opts)),
      id_base_ms_(static_cast<std::uint64_t>(
          std::chrono::floor<std::chrono::milliseconds>(time::now()).time_since_epoch().count())) {}

void saleschannel_simulator::install(http::router& routes) {
    routes.add("GET", std::string(k_path),
               [this](const http::request& req) -> boost::asio::awaitable<http::response> {
                   co_return list_events(req);
               });
}

std::optional<http::response> saleschannel_simulator::admit(const http::request& req) {
    auto now = time::now();
    auto window = std::chrono::duration_cast<std::chrono::microseconds>(opts_.rate_limit.window);
    std::erase_if(recent_, [&](time::time_point t) { return t <= now - window; });
    if (retry_not_before_ && now < *retry_not_before_) {
        violation("request " + req.target + " sent before the Retry-After of an earlier 429");
    }
    auto limit = opts_.rate_limit.limit;
    if (recent_.size() >= limit) {
        count_throttled();
        auto frees_at = recent_[recent_.size() - limit] + window;
        auto seconds = std::max<std::int64_t>(
            1, std::chrono::ceil<std::chrono::seconds>(frees_at - now).count());
        retry_not_before_ = now + std::chrono::seconds(seconds);
        auto res = json_reply(429, nest_error(429, "ThrottlerException: Too Many Requests", ""));
        res.headers.emplace_back("Retry-After", std::to_string(seconds));
        return res;
    }
    recent_.push_back(now);

    auto auth = req.header("authorization");
    bool basic = auth && *auth == sources::basic_auth(opts_.key_id, opts_.key_secret);
    bool bearer = auth && *auth == "Bearer " + opts_.bearer;
    if (!basic && !bearer) {
        return json_reply(401, nest_error(401, "Unauthorized", ""));
    }
    return std::nullopt;
}

std::optional<http::response> saleschannel_simulator::parse_query(const http::request& req,
                                                                  query& q) {
    auto mark = req.target.find('?');
    if (mark != std::string::npos &&
        req.target.find_first_of("$[]", mark) != std::string::npos) {
        violation("query not percent-encoded ($, [ and ] must travel as %24, %5B, %5D): " +
                  req.target);
    }
    q.limit = opts_.default_limit;
    bool brackets = false;
    bool json_form = false;
    bool ordered = false;
    for (const auto& [key, value] : req.query) {
        if (key == "$limit") {
            auto n = parse_int(value);
            if (!n || *n < 1 || *n > opts_.max_limit) {
                violation("$limit out of 1.." + std::to_string(opts_.max_limit) + ": " + value);
                return bad_request("$limit must be an integer between 1 and " +
                                   std::to_string(opts_.max_limit));
            }
            q.limit = *n;
        } else if (key == "$orderBy" || key == "$filter") {
            json_form = true;
            boost::system::error_code ec;
            auto v = json::parse(value, ec);
            if (ec || !v.is_object()) {
                violation(key + " is not a JSON object: " + value);
                return bad_request(key + " must be an object");
            }
            for (const auto& [field, spec] : v.get_object()) {
                if (!is_field(field)) {
                    violation(key + " names an unknown field " + std::string(field));
                    return bad_request("unknown field " + std::string(field));
                }
                if (key == "$orderBy") {
                    if (spec != "asc" && spec != "desc") {
                        violation("$orderBy direction is neither asc nor desc");
                        return bad_request("$orderBy." + std::string(field) + " must be asc or desc");
                    }
                    q.order.emplace_back(std::string(field), spec == "asc");
                    ordered = true;
                    continue;
                }
                if (!spec.is_object()) {
                    violation("$filter." + std::string(field) + " is not an object of operators");
                    return bad_request("$filter." + std::string(field) + " must be an object");
                }
                for (const auto& [op, operand] : spec.get_object()) {
                    if (!is_operator(op) || !operand.is_string()) {
                        violation("$filter." + std::string(field) + " has a bad operator");
                        return bad_request("unsupported filter operator " + std::string(op));
                    }
                    q.filters.push_back({std::string(field), std::string(op),
                                         std::string(operand.get_string()), std::nullopt});
                }
            }
        } else if (auto order = bracket_parts(key, "$orderBy"); order && order->size() == 1) {
            brackets = true;
            if (!is_field((*order)[0]) || (value != "asc" && value != "desc")) {
                violation("bad " + key + "=" + value);
                return bad_request(key + " must name a field and asc or desc");
            }
            q.order.emplace_back((*order)[0], value == "asc");
            ordered = true;
        } else if (auto filter = bracket_parts(key, "$filter"); filter && filter->size() == 2) {
            brackets = true;
            if (!is_field((*filter)[0]) || !is_operator((*filter)[1])) {
                violation("bad filter " + key);
                return bad_request("unsupported filter " + key);
            }
            q.filters.push_back({(*filter)[0], (*filter)[1], value, std::nullopt});
        } else {
            violation("unknown query parameter " + key);
            return bad_request("property " + key + " should not exist");
        }
    }
    if (brackets && json_form) {
        violation("bracket and JSON query encodings mixed in one request");
        return bad_request("mixed query encodings");
    }
    if ((brackets && opts_.encoding == accepted_encoding::json) ||
        (json_form && opts_.encoding == accepted_encoding::brackets)) {
        violation(std::string("query encoded as ") + (brackets ? "brackets" : "JSON") +
                  ", which this tenant does not accept");
        return bad_request("$orderBy and $filter must be objects");
    }
    if (!ordered || q.order.front().first != "createdAt") {
        violation("events requested without $orderBy[createdAt]: the order is unspecified");
    }
    for (auto& c : q.filters) {
        if (c.field == "createdAt" || c.field == "eventAt") {
            c.time = time::parse_rfc3339(c.text);
            if (!c.time) {
                violation("filter value is not an ISO 8601 date-time: " + c.text);
                return bad_request(c.field + " must be a valid ISO 8601 date string");
            }
        }
    }
    return std::nullopt;
}

http::response saleschannel_simulator::list_events(const http::request& req) {
    count_request(req);
    std::lock_guard lock(mutex_);
    if (auto refused = admit(req)) {
        return *refused;
    }
    query q;
    if (auto bad = parse_query(req, q)) {
        return *bad;
    }
    largest_limit_ = std::max(largest_limit_, q.limit);
    if (std::any_of(q.order.begin(), q.order.end(), [](const auto& o) { return o.first == "id"; })) {
        ++id_ordered_;
    }

    // SQL semantics: a comparison with a null createdAt is never true; ascending order puts
    // nulls first (this simulator's assumption: the backend's null ordering is not documented).
    auto matches = [&q](const event& e) {
        for (const auto& c : q.filters) {
            int cmp = 0;
            if (c.time) {
                const auto& t = c.field == "createdAt" ? e.created_at : e.event_at;
                if (!t) {
                    return false;
                }
                cmp = *t < *c.time ? -1 : (*t > *c.time ? 1 : 0);
            } else {
                const auto& s = c.field == "id" ? e.id : e.event_type;
                cmp = s.compare(c.text) < 0 ? -1 : (s.compare(c.text) > 0 ? 1 : 0);
            }
            bool ok = (c.op == "eq" && cmp == 0) || (c.op == "gt" && cmp > 0) ||
                      (c.op == "gte" && cmp >= 0) || (c.op == "lt" && cmp < 0) ||
                      (c.op == "lte" && cmp <= 0);
            if (!ok) {
                return false;
            }
        }
        return true;
    };
    std::vector<const event*> rows;
    for (const auto& e : log_) {
        if (matches(e)) {
            rows.push_back(&e);
        }
    }
    // Rows the sort keys leave tied come in an order that changes from request to request.
    auto salt = ++served_ * 0x9e3779b97f4a7c15ull;
    auto shuffle_key = [salt](const event* e) { return std::hash<std::string>()(e->id) ^ salt; };
    auto compare = [&q, &shuffle_key](const event* a, const event* b) {
        for (const auto& [field, ascending] : q.order) {
            int cmp = 0;
            if (field == "createdAt" || field == "eventAt") {
                const auto& ta = field == "createdAt" ? a->created_at : a->event_at;
                const auto& tb = field == "createdAt" ? b->created_at : b->event_at;
                if (ta != tb) {
                    cmp = !ta ? -1 : (!tb ? 1 : (*ta < *tb ? -1 : 1));
                }
            } else {
                const auto& sa = field == "id" ? a->id : a->event_type;
                const auto& sb = field == "id" ? b->id : b->event_type;
                cmp = sa < sb ? -1 : (sb < sa ? 1 : 0);
            }
            if (cmp != 0) {
                return ascending ? cmp < 0 : cmp > 0;
            }
        }
        return shuffle_key(a) < shuffle_key(b);
    };
    std::sort(rows.begin(), rows.end(), compare);
    json::array body;
    for (std::size_t i = 0; i < rows.size() && static_cast<std::int64_t>(i) < q.limit; ++i) {
        const auto& e = *rows[i];
        body.push_back(json::object{{"id", e.id},
                                    {"eventType", e.event_type},
                                    {"createdAt", time_or_null(e.created_at)},
                                    {"eventAt", time_or_null(e.event_at)},
                                    {"details", e.details}});
    }
    return json_reply(200, json::serialize(body));
}

std::string saleschannel_simulator::next_id(std::mt19937_64& rng) {
    // cuid-like and growing across runs: time base, counter, random tail.
    std::uniform_int_distribution<std::uint64_t> tail(0, 36ull * 36 * 36 * 36 * 36 * 36 * 36 * 36 - 1);
    return "c" + base36(id_base_ms_, 8) + base36(counter_++, 4) + "sim" + base36(tail(rng), 8);
}

void saleschannel_simulator::append(event e) { log_.push_back(std::move(e)); }

void saleschannel_simulator::add_status_changes(std::size_t count, time::time_point first,
                                                std::chrono::milliseconds spacing,
                                                std::size_t tie_run, std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    auto& open = open_transactions_;
    auto at = std::chrono::floor<std::chrono::milliseconds>(first);
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0 && (tie_run <= 1 || i % tie_run == 0)) {
            at += spacing;
        }
        std::uniform_int_distribution<int> dice(0, 99);
        if (open.size() < 4 || dice(rng) < 30) {
            open.emplace_back("cltx" + base36(id_base_ms_, 8) + base36(counter_++, 5), "STARTED");
        }
        std::uniform_int_distribution<std::size_t> which(0, open.size() - 1);
        auto index = which(rng);
        auto& [transaction, status] = open[index];
        std::string next = status == "STARTED" ? "PENDING"
                                               : pick(rng, {"SUCCESS", "SUCCESS", "FAILED", "REJECTED"});
        json::object details{{"transactionId", transaction}, {"status", next}};
        if (dice(rng) >= 20) {
            details["previousStatus"] = status;
        }
        std::uniform_int_distribution<int> lag(0, 3000);
        event e{next_id(rng), "TRANSACTION_STATUS_CHANGE", at,
                at - std::chrono::milliseconds(lag(rng)), std::move(details)};
        append(std::move(e));
        if (next == "PENDING") {
            status = next;
        } else {
            open.erase(open.begin() + static_cast<std::ptrdiff_t>(index));
        }
    }
}

void saleschannel_simulator::add_null_created(std::size_t count, time::time_point event_at,
                                              std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < count; ++i) {
        std::optional<time::time_point> effective;
        if (i % 3 != 2) {
            effective = std::chrono::floor<std::chrono::milliseconds>(event_at);
        }
        json::object details{{"transactionId", "cltx" + base36(id_base_ms_, 8) + base36(counter_++, 5)},
                             {"status", "SUCCESS"},
                             {"previousStatus", "PENDING"}};
        append(event{next_id(rng), "TRANSACTION_STATUS_CHANGE", std::nullopt, effective,
                     std::move(details)});
    }
}

void saleschannel_simulator::add_unknown(std::size_t count, time::time_point at,
                                         std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    auto t = std::chrono::floor<std::chrono::milliseconds>(at);
    for (std::size_t i = 0; i < count; ++i) {
        event e{next_id(rng), "", t, std::nullopt, nullptr};
        switch (i % 4) {
        case 0:
            e.event_type = "CREDIT_RETIREMENT_CHANGE";
            e.details = json::object{{"retirementId", "clret" + base36(counter_++, 6)},
                                     {"quantity", 12.5}};
            break;
        case 1:
            e.event_type = "TRANSACTION_STATUS_CHANGE";  // another details shape
            e.details = json::object{{"transaction", json::object{{"id", "cltx-nested"}}},
                                     {"state", "SUCCESS"}};
            break;
        case 2:
            e.event_type = "TRANSACTION_STATUS_CHANGE";  // details that are not an object
            e.details = json::array{"SUCCESS"};
            break;
        default:
            e.event_type = "SALES_CHANNEL_UPDATED";
            e.details = json::object{};
            e.event_at = t;
            break;
        }
        append(std::move(e));
        t += std::chrono::milliseconds(1);
    }
}

void saleschannel_simulator::tick(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> dice(0, 99);
    auto roll = dice(rng);
    auto now = time::now();
    if (roll < 5) {
        add_null_created(1, now, rng());
    } else if (roll < 10) {
        add_unknown(1, now, rng());
    } else if (roll < 20) {
        add_status_changes(6, now, std::chrono::milliseconds(0), 6, rng());  // a batch at one instant
    } else {
        std::uniform_int_distribution<std::size_t> how_many(1, 3);
        add_status_changes(how_many(rng), now, std::chrono::milliseconds(7), 1, rng());
    }
}

std::vector<saleschannel_simulator::event> saleschannel_simulator::events() const {
    std::lock_guard lock(mutex_);
    return log_;
}

std::int64_t saleschannel_simulator::largest_limit() const {
    std::lock_guard lock(mutex_);
    return largest_limit_;
}

std::uint64_t saleschannel_simulator::id_ordered_requests() const {
    std::lock_guard lock(mutex_);
    return id_ordered_;
}

void saleschannel_simulator::set_rate_limit(sources::rate_window limit) {
    std::lock_guard lock(mutex_);
    opts_.rate_limit = limit;
}

}  // namespace changefeed::sim
