#include "sim/retailcrm/retailcrm_simulator.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace changefeed::sim {

namespace json = boost::json;
using sources::retailcrm::account_zone;

namespace {

constexpr std::string_view k_prefix = "/api/v5";
/// The vendor's documented limit (UPSTREAMS 3.5), whatever the account is set to answer 429 at.
constexpr std::size_t k_documented_per_second = 10;
/// Requests of one key closer together than this, beyond the documented limit, break it even
/// allowing for the delay between a client's clock and ours.
constexpr auto k_violation_span = std::chrono::milliseconds(900);

constexpr std::string_view k_throttled_page =
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily "
    "Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n";
constexpr std::string_view k_no_account_page =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Account not "
    "found</title></head>\n<body><h1>This account does not exist</h1></body></html>\n";

enum class value_kind { string, number, boolean, date, datetime, directory };

struct field_spec {
    std::string_view name;
    value_kind kind;
    std::vector<std::string_view> choices;  // strings and directory codes
};

const std::vector<field_spec>& fields_of(const std::string& resource) {
    static const std::map<std::string, std::vector<field_spec>> k{
        {"orders",
         {{"status",
           value_kind::directory,
           {"new", "assembling", "delivering", "complete", "cancel-other"}},
          {"statusComment",
           value_kind::string,
           {"Items arrival is expected tomorrow", "Call before delivery", "Paid by card"}},
          {"discount", value_kind::number, {}},
          {"expired", value_kind::boolean, {}},
          {"call", value_kind::boolean, {}},
          {"deliveryDate", value_kind::datetime, {}},
          {"orderMethod", value_kind::directory, {"phone", "shopping-cart", "landing-page"}}}},
        {"customers",
         {{"firstName", value_kind::string, {"Anna", "Ivan", "Olga", "Pierre", "Maria"}},
          {"email",
           value_kind::string,
           {"anna@example.com", "ivan@example.org", "shop@example.net"}},
          {"vip", value_kind::boolean, {}},
          {"personalDiscount", value_kind::number, {}},
          {"birthday", value_kind::date, {}}}},
        {"customers_corporate",
         {{"nickName", value_kind::string, {"Acme LLC", "Globex", "Initech", "Umbrella Trading"}},
          {"vip", value_kind::boolean, {}},
          {"discountCardNumber", value_kind::string, {"DC-1001", "DC-2002", "DC-3003"}},
          {"personalDiscount", value_kind::number, {}}}},
        {"orders_packs",
         {{"quantity", value_kind::number, {}},
          {"store", value_kind::directory, {"main", "south", "north"}},
          {"shipmentDate", value_kind::date, {}},
          {"invoiceNumber", value_kind::string, {"INV-1", "INV-2", "INV-3"}}}},
        {"tasks",
         {{"text",
           value_kind::string,
           {"Call the customer", "Check the payment", "Send the invoice"}},
          {"commentary", value_kind::string, {"urgent", "after lunch", "see order notes"}},
          {"complete", value_kind::boolean, {}},
          {"datetime", value_kind::datetime, {}}}},
    };
    return k.at(resource);
}

// The vendor's paths and entity keys, written out again rather than taken from the source's
// mapping, so that a mistake on either side shows up in the tests.
std::string_view entity_of(const std::string& resource) {
    if (resource == "orders") {
        return "order";
    }
    if (resource == "orders_packs") {
        return "pack";
    }
    if (resource == "tasks") {
        return "task";
    }
    return "customer";
}

std::string_view path_of(const std::string& resource) {
    if (resource == "orders") {
        return "/orders/history";
    }
    if (resource == "customers") {
        return "/customers/history";
    }
    if (resource == "customers_corporate") {
        return "/customers-corporate/history";
    }
    if (resource == "orders_packs") {
        return "/orders/packs/history";
    }
    return "/tasks/history";
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

std::string error_body(std::string_view message) {
    return json::serialize(json::object{{"success", false}, {"errorMsg", message}});
}

template <class T> const T& pick(std::mt19937_64& rng, const std::vector<T>& options) {
    std::uniform_int_distribution<std::size_t> d(0, options.size() - 1);
    return options[d(rng)];
}

account_zone zone_or_throw(const std::string& name) {
    auto loaded = account_zone::load(name);
    if (auto* error = std::get_if<std::string>(&loaded)) {
        throw std::invalid_argument("retailcrm simulator: " + *error);
    }
    return std::get<account_zone>(std::move(loaded));
}

// A new value for a field, as stored in the entity (directories by their code).
json::value new_value(const field_spec& f, const json::value* current, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> n(0, 999);
    switch (f.kind) {
    case value_kind::string:
    case value_kind::directory: {
        for (int tries = 0; tries < 5; ++tries) {
            auto v = pick(rng, f.choices);
            if (current == nullptr || !current->is_string() || current->get_string() != v) {
                return json::value(json::string_view(v.data(), v.size()));
            }
        }
        auto v = f.choices.front();
        return json::value(json::string_view(v.data(), v.size()));
    }
    case value_kind::number: {
        int x = n(rng);
        if (x % 2 == 0) {
            return x / 2;
        }
        return x / 2 + 0.5;  // the vendor writes fractional amounts as JSON numbers
    }
    case value_kind::boolean:
        return current != nullptr && current->is_bool() ? !current->get_bool() : (n(rng) % 2 == 0);
    case value_kind::date:
    case value_kind::datetime: {
        int month = 1 + n(rng) % 12;
        int day = 1 + n(rng) % 28;
        auto date = fmt::format("2026-{:02}-{:02}", month, day);
        if (f.kind == value_kind::datetime) {
            int hour = 8 + n(rng) % 10;
            int minute = (n(rng) % 4) * 15;
            date += fmt::format(" {:02}:{:02}:00", hour, minute);
        }
        return json::value(json::string(date));
    }
    }
    return nullptr;
}

// The history form of a stored value: directories as {"code": ...}.
json::value history_value(const field_spec& f, const json::value& stored) {
    if (f.kind == value_kind::directory && stored.is_string()) {
        return json::object{{"code", stored}};
    }
    return stored;
}

}  // namespace

const std::vector<std::string>& retailcrm_simulator::resources() {
    static const std::vector<std::string> k{"orders", "customers", "customers_corporate",
                                            "orders_packs", "tasks"};
    return k;
}

retailcrm_simulator::retailcrm_simulator(options opts)
    : opts_(std::move(opts)), zone_(zone_or_throw(opts_.timezone)), rng_(opts_.seed) {
    for (const auto& r : resources()) {
        auto& s = stores_[r];
        s.next_history_id = opts_.first_history_id;
        s.next_entity_id = opts_.first_entity_id;
    }
}

void retailcrm_simulator::install(http::router& routes) {
    for (const auto& r : resources()) {
        routes.add("GET", std::string(k_prefix) + std::string(path_of(r)),
                   [this, r](const http::request& req) -> boost::asio::awaitable<http::response> {
                       co_return history_page(req, r);
                   });
    }
}

std::optional<http::response> retailcrm_simulator::admit(const http::request& req,
                                                         std::string& key) {
    if (!account_exists_) {
        http::response res;
        res.status = 404;
        res.content_type = "text/html; charset=utf-8";
        res.body = std::string(k_no_account_page);
        return res;
    }
    if (auto header = req.header("x-api-key")) {
        key = std::string(*header);
    } else if (auto param = req.query_param("apiKey")) {
        key = std::string(*param);
    }
    if (key.empty()) {
        return json_reply(400, error_body("\"apiKey\" is missing."));
    }
    bool known = key == opts_.api_key || std::find(opts_.other_keys.begin(), opts_.other_keys.end(),
                                                   key) != opts_.other_keys.end();
    if (!known) {
        return json_reply(403, error_body("Wrong \"apiKey\" value."));
    }

    // Every request counts against the documented limit; only admitted ones against the
    // account's budget (a refused request costs nothing, as with nginx's limit_req).
    auto now = std::chrono::steady_clock::now();
    auto prune = [&](std::deque<std::chrono::steady_clock::time_point>& times) {
        while (!times.empty() && times.front() <= now - std::chrono::seconds(1)) {
            times.pop_front();
        }
    };
    auto& arrived = arrivals_[key];
    prune(arrived);
    arrived.push_back(now);
    auto close = std::count_if(arrived.begin(), arrived.end(),
                               [&](auto t) { return t > now - k_violation_span; });
    if (static_cast<std::size_t>(close) > k_documented_per_second) {
        violation(fmt::format("{} requests of one key within {} ms (the limit is {} per second)",
                              close, k_violation_span.count(), k_documented_per_second));
    }
    auto& admitted = admitted_[key];
    prune(admitted);
    if (admitted.size() >= opts_.rate_limit) {
        count_throttled();
        return json_reply(429, error_body("Rate limit exceeded"));
    }
    admitted.push_back(now);

    std::optional<unsigned> failure;
    if (!scripted_.empty()) {
        failure = scripted_.front();
        scripted_.pop_front();
    } else if (opts_.unavailable_rate > 0 &&
               std::uniform_real_distribution<double>(0, 1)(rng_) < opts_.unavailable_rate) {
        failure = 503;
    }
    if (failure == 429u) {
        count_throttled();
        return json_reply(429, error_body("Rate limit exceeded"));
    }
    if (failure) {
        ++unavailable_;
        http::response res;
        res.status = *failure;
        res.content_type = "text/html";
        res.body = std::string(k_throttled_page);
        return res;
    }
    return std::nullopt;
}

http::response retailcrm_simulator::validation_error(const std::string& field,
                                                     const std::string& message) {
    json::object body{{"success", false},
                      {"errorMsg", "Validation error"},
                      {"errors", json::object{{field, message}}}};
    return json_reply(400, json::serialize(body));
}

json::object retailcrm_simulator::serve(const stored_record& r,
                                        const std::string& resource,
                                        const std::string& key) const {
    json::object body = r.body;
    // Pack history carries no apiKey (the SDK's OrderProductPackHistory has none).
    if (!r.made_by.empty() && resource != "orders_packs") {
        body["apiKey"] = json::object{{"current", r.made_by == key}};
    }
    return body;
}

http::response retailcrm_simulator::history_page(const http::request& req,
                                                 const std::string& resource) {
    count_request(req);
    std::lock_guard lock(mutex_);
    request_seen seen;
    seen.resource = resource;
    std::string key;
    auto record_seen = [&](unsigned status) {
        seen.key = key;
        seen.status = status;
        seen_.push_back(seen);
    };
    if (auto refused = admit(req, key)) {
        record_seen(refused->status);
        return *refused;
    }

    std::int64_t limit = 20;
    std::optional<std::string> end_date;
    for (const auto& [name, value] : req.query) {
        if (name == "apiKey") {
            continue;
        }
        if (name == "limit") {
            auto n = parse_int(value);
            if (!n || (*n != 20 && *n != 50 && *n != 100 && *n != 250)) {
                violation("history limit not one of 20, 50, 100, 250: " + value);
                record_seen(400);
                return validation_error("limit", "The value you selected is not a valid choice.");
            }
            limit = *n;
        } else if (name == "page") {
            auto n = parse_int(value);
            if (!n || *n < 1) {
                violation("page is not a positive integer: " + value);
                record_seen(400);
                return validation_error("page", "This value should be greater than 0.");
            }
            seen.page = *n;
        } else if (name == "filter[sinceId]") {
            auto n = parse_int(value);
            if (!n || *n < 0) {
                violation("filter[sinceId] is not a non-negative integer: " + value);
                record_seen(400);
                return validation_error("sinceId", "This value is not valid.");
            }
            seen.since_id = *n;
        } else if (name == "filter[startDate]" || name == "filter[endDate]") {
            if (!sources::retailcrm::parse_local(value)) {
                violation(name + " is not \"Y-m-d H:i:s\": " + value);
                record_seen(400);
                return validation_error(name == "filter[startDate]" ? "startDate" : "endDate",
                                        "This value is not a valid datetime.");
            }
            (name == "filter[startDate]" ? seen.start_date : end_date) = value;
        } else {
            violation("unexpected history parameter " + name);
            record_seen(400);
            return validation_error(name, "This field was not expected.");
        }
    }
    seen.limit = limit;
    if (seen.since_id && seen.start_date) {
        violation("filter[startDate] and filter[sinceId] sent together (startDate is for bootstrap "
                  "only)");
    }
    if (seen.page && *seen.page > 1) {
        // The vendor answers it, but pages shift under concurrent changes: sinceId is the way.
        violation("history paged with page=" + std::to_string(*seen.page) +
                  " instead of filter[sinceId]");
    }

    const auto& log = stores_.at(resource).log;
    std::vector<const stored_record*> matching;
    for (const auto& r : log) {
        auto id = r.body.at("id").as_int64();
        const auto& created = r.body.at("createdAt").as_string();
        // Equal-width "Y-m-d H:i:s" strings compare as the times they name.
        if ((seen.since_id && id <= *seen.since_id) ||
            (seen.start_date && std::string_view(created) < *seen.start_date) ||
            (end_date && std::string_view(created) > *end_date)) {
            continue;
        }
        matching.push_back(&r);
    }
    auto page = seen.page.value_or(1);
    auto total = static_cast<std::int64_t>(matching.size());
    json::array history;
    for (auto i = (page - 1) * limit; i < total && i < page * limit; ++i) {
        history.push_back(serve(*matching[static_cast<std::size_t>(i)], resource, key));
    }
    json::object body{
        {"success", true},
        {"generatedAt",
         sources::retailcrm::format_local(zone_.to_local(
             std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())))},
        {"history", std::move(history)},
        {"pagination", json::object{{"limit", limit},
                                    {"totalCount", total},
                                    {"currentPage", page},
                                    {"totalPageCount", (total + limit - 1) / limit}}}};
    record_seen(200);
    return json_reply(200, json::serialize(body));
}

void retailcrm_simulator::append(store& s, stored_record r, time::time_point at) {
    auto local = zone_.to_local(std::chrono::floor<std::chrono::seconds>(at));
    json::object body{{"id", s.next_history_id++},
                      {"createdAt", sources::retailcrm::format_local(local)}};
    for (auto& [k, v] : r.body) {
        body[k] = std::move(v);
    }
    r.body = std::move(body);
    s.log.push_back(std::move(r));
}

std::string
retailcrm_simulator::pick_maker(maker by, std::mt19937_64& rng, json::object& record) const {
    std::uniform_int_distribution<int> dice(0, 99);
    int roll = by == maker::own_key ? 50 : by == maker::user ? 0 : dice(rng);
    if (roll < 45) {
        record["source"] = "user";
        record["user"] = json::object{{"id", 1 + dice(rng) % 9}};
        return {};
    }
    record["source"] = "api";
    if (roll < 75) {
        return opts_.api_key;
    }
    if (roll < 88 && !opts_.other_keys.empty()) {
        return opts_.other_keys.front();
    }
    record["source"] = "code";  // a trigger: neither a user nor a key
    return {};
}

void retailcrm_simulator::add_creation(
    store& s, const std::string& resource, time::time_point at, maker by, std::mt19937_64& rng) {
    auto id = s.next_entity_id++;
    json::object entity{{"id", id}};
    const auto& fields = fields_of(resource);
    for (const auto& f : fields) {
        entity[f.name] = new_value(f, nullptr, rng);
    }
    auto created_at = sources::retailcrm::format_local(
        zone_.to_local(std::chrono::floor<std::chrono::seconds>(at)));
    if (resource == "orders") {
        entity["number"] = std::to_string(id) + "A";
        entity["externalId"] = "ext-" + std::to_string(id);
        entity["site"] = "sim-shop";
        entity["status"] = "new";
        entity["createdAt"] = created_at;
        entity["customer"] = json::object{{"id", 100 + id % 37}};
    } else if (resource == "customers" || resource == "customers_corporate") {
        entity["externalId"] = "ext-" + std::to_string(id);
        entity["site"] = "sim-shop";
        entity["createdAt"] = created_at;
    } else if (resource == "orders_packs") {
        entity["item"] =
            json::object{{"id", 5000 + id}, {"order", json::object{{"id", 100 + id % 53}}}};
    } else {
        entity["performer"] = json::object{{"id", 1 + id % 9}};
    }
    s.entities[id] = entity;

    stored_record r;
    r.body["created"] = true;
    std::uniform_int_distribution<int> dice(0, 1);
    if (dice(rng) == 0) {
        // A creation record may name a field (with no old value).
        const auto& f = fields.front();
        r.body["field"] = f.name;
        r.body["newValue"] = history_value(f, entity.at(f.name));
    }
    r.made_by = pick_maker(by, rng, r.body);
    r.body[entity_of(resource)] = std::move(entity);
    append(s, std::move(r), at);
}

std::size_t retailcrm_simulator::add_edit(
    store& s, const std::string& resource, time::time_point at, maker by, std::mt19937_64& rng) {
    std::uniform_int_distribution<std::size_t> which(0, s.entities.size() - 1);
    auto it = std::next(s.entities.begin(), static_cast<std::ptrdiff_t>(which(rng)));
    auto& entity = it->second;
    const auto& fields = fields_of(resource);
    std::uniform_int_distribution<int> dice(0, 99);

    if (resource == "orders" && dice(rng) < 10) {
        // An item's status: a directory value that may carry `cancel`.
        stored_record r;
        r.body["field"] = "status";
        r.body["oldValue"] = json::object{{"code", "new"}};
        r.body["newValue"] = json::object{{"code", "out-of-stock"}, {"cancel", true}};
        r.body["item"] =
            json::object{{"id", 7000 + it->first}, {"offer", json::object{{"id", 42}}}};
        r.made_by = pick_maker(by, rng, r.body);
        r.body["order"] = entity;
        append(s, std::move(r), at);
        return 1;
    }

    // One edit of several fields: one record per field, all at one createdAt.
    std::size_t count = 1 + static_cast<std::size_t>(dice(rng) % 3);
    std::vector<std::size_t> order(fields.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::shuffle(order.begin(), order.end(), rng);
    count = std::min(count, order.size());
    json::object maker_fields;
    auto made_by = pick_maker(by, rng, maker_fields);
    for (std::size_t i = 0; i < count; ++i) {
        const auto& f = fields[order[i]];
        stored_record r;
        r.body["field"] = f.name;
        const auto* current = entity.if_contains(f.name);
        if (current != nullptr && !current->is_null()) {
            r.body["oldValue"] = history_value(f, *current);
        }
        if (f.kind == value_kind::string && current != nullptr && dice(rng) < 20) {
            entity.erase(f.name);  // removed: the record has no newValue
        } else {
            auto next = new_value(f, current, rng);
            r.body["newValue"] = history_value(f, next);
            entity[f.name] = std::move(next);
        }
        for (const auto& [k, v] : maker_fields) {
            r.body[k] = v;
        }
        r.made_by = made_by;
        r.body[entity_of(resource)] = entity;
        append(s, std::move(r), at);
    }
    return count;
}

void retailcrm_simulator::add_removal(
    store& s, const std::string& resource, time::time_point at, maker by, std::mt19937_64& rng) {
    std::uniform_int_distribution<std::size_t> which(0, s.entities.size() - 1);
    auto it = std::next(s.entities.begin(), static_cast<std::ptrdiff_t>(which(rng)));
    stored_record r;
    r.body["deleted"] = true;
    bool can_merge = (resource == "orders" || resource == "customers") && s.entities.size() >= 2;
    std::uniform_int_distribution<int> dice(0, 99);
    if (can_merge && dice(rng) < 50) {
        // Merged into another entity: the absorbed one is deleted, combinedTo names the survivor.
        auto target = std::next(it) != s.entities.end() ? std::next(it) : s.entities.begin();
        r.body["combinedTo"] = json::object{{"id", target->first},
                                            {"externalId", "ext-" + std::to_string(target->first)},
                                            {"site", "sim-shop"}};
    }
    r.made_by = pick_maker(by, rng, r.body);
    r.body[entity_of(resource)] = it->second;
    s.entities.erase(it);
    append(s, std::move(r), at);
}

void retailcrm_simulator::generate(const std::string& resource,
                                   std::size_t count,
                                   time::time_point first,
                                   std::chrono::seconds spacing,
                                   maker by) {
    std::lock_guard lock(mutex_);
    auto& s = stores_.at(resource);
    std::uniform_int_distribution<int> dice(0, 99);
    auto at = first;
    std::size_t made = 0;
    while (made < count) {
        int roll = dice(rng_);
        if (s.entities.size() < 3 || roll < 30) {
            add_creation(s, resource, at, by, rng_);
            ++made;
        } else if (roll < 85) {
            made += add_edit(s, resource, at, by, rng_);
        } else {
            add_removal(s, resource, at, by, rng_);
            ++made;
        }
        at += spacing;
    }
}

void retailcrm_simulator::tick(std::mt19937_64& rng) {
    std::uniform_int_distribution<std::size_t> which(0, resources().size() - 1);
    std::uniform_int_distribution<std::size_t> how_many(1, 4);
    generate(resources()[which(rng)], how_many(rng), time::now(), std::chrono::seconds(0));
}

std::vector<json::object> retailcrm_simulator::history(const std::string& resource) const {
    std::lock_guard lock(mutex_);
    std::vector<json::object> out;
    for (const auto& r : stores_.at(resource).log) {
        out.push_back(serve(r, resource, opts_.api_key));
    }
    return out;
}

std::vector<retailcrm_simulator::request_seen> retailcrm_simulator::requests_seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
}

std::uint64_t retailcrm_simulator::unavailable() const {
    std::lock_guard lock(mutex_);
    return unavailable_;
}

void retailcrm_simulator::fail_next(unsigned status, std::size_t count) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < count; ++i) {
        scripted_.push_back(status);
    }
}

void retailcrm_simulator::set_unavailable_rate(double rate) {
    std::lock_guard lock(mutex_);
    opts_.unavailable_rate = rate;
}

void retailcrm_simulator::set_rate_limit(std::uint32_t per_second) {
    std::lock_guard lock(mutex_);
    opts_.rate_limit = per_second;
}

void retailcrm_simulator::set_account_exists(bool exists) {
    std::lock_guard lock(mutex_);
    account_exists_ = exists;
}

}  // namespace changefeed::sim
