#include "sim/precoro/precoro_simulator.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <set>

namespace changefeed::sim {

namespace json = boost::json;

namespace {

struct resource_info {
    std::string_view name;
    std::optional<int> webhook_type;  ///< nullopt: no webhooks for it
    bool document = false;            ///< addressed by idn in detail routes
};

const std::vector<resource_info>& infos() {
    static const std::vector<resource_info> k{
        {"warehouserequests", 0, true}, {"purchaserequisitions", 1, true},
        {"purchaseorders", 2, true},    {"invoices", 3, true},
        {"rfps", 4, true},              {"receipts", 5, true},
        {"expenses", 6, true},          {"suppliers", 7, false},
        {"stocktransfers", 8, true},    {"budgets", 9, false},
        {"documentcustomfields", 10, false}, {"itemcustomfields", 11, false},
        {"items", std::nullopt, false},
    };
    return k;
}

const resource_info& info(std::string_view resource) {
    for (const auto& i : infos()) {
        if (i.name == resource) {
            return i;
        }
    }
    throw std::out_of_range("precoro simulator has no resource " + std::string(resource));
}

std::string message_body(std::string_view message) {
    return json::serialize(json::object{{"message", message}});
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

// How Precoro writes dates: "2026-05-01T10:00:00+00:00".
std::string vendor_date(time::time_point t) {
    return time::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t)).substr(0, 19) + "+00:00";
}

// modifiedSince must be exactly "YYYY-MM-DDTHH:MM:SS".
std::optional<time::time_point> parse_modified_since(std::string_view text) {
    if (text.size() != 19 || text[10] != 'T') {
        return std::nullopt;
    }
    return time::parse_rfc3339(text, true);
}

std::int64_t epoch_seconds(time::time_point t) {
    return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

const std::set<std::string, std::less<>>& documented_list_params() {
    static const std::set<std::string, std::less<>> k{
        "modifiedSince", "per_page", "page", "status[]", "supplier[]", "enable",
        "approvalLeftDate", "approvalDate[left_date]", "approvalDate[right_date]", "logicType[]"};
    return k;
}

const char* pick(std::mt19937_64& rng, std::initializer_list<const char*> options) {
    std::uniform_int_distribution<std::size_t> d(0, options.size() - 1);
    return *(options.begin() + d(rng));
}

}  // namespace

const std::vector<std::string>& precoro_simulator::resources() {
    static const std::vector<std::string> k = [] {
        std::vector<std::string> out;
        for (const auto& i : infos()) {
            out.emplace_back(i.name);
        }
        return out;
    }();
    return k;
}

precoro_simulator::precoro_simulator(options opts) : opts_(std::move(opts)) {
    // Ids and document numbers keep growing across runs (the demo keeps its database).
    auto base = epoch_seconds(time::now()) - 1'700'000'000;
    next_id_ = base * 100;
    for (const auto& r : resources()) {
        stores_[r].next_idn = base + 1;
    }
    counts_.resize(opts_.windows.size());
}

void precoro_simulator::install(http::router& routes) {
    for (const auto& r : resources()) {
        routes.add("GET", "/" + r, [this, r](const http::request& req) -> boost::asio::awaitable<http::response> {
            co_return list(req, r);
        });
        routes.add("GET", "/" + r + "/{key}",
                   [this, r](const http::request& req) -> boost::asio::awaitable<http::response> {
                       co_return detail(req, r);
                   });
    }
}

std::optional<http::response> precoro_simulator::admit(const http::request& req) {
    auto token = req.header("x-auth-token");
    auto email = req.header("email");
    if (!token || *token != opts_.token || !email || *email != opts_.email) {
        return json_reply(401, message_body("Invalid X-AUTH-TOKEN or email"));
    }
    auto now = time::now();
    if (retry_not_before_ && now < *retry_not_before_) {
        violation("request " + req.target + " sent before the RateLimit-Retry-After of an earlier 429");
    }
    auto secs = epoch_seconds(now);
    for (std::size_t i = 0; i < opts_.windows.size(); ++i) {
        auto len = std::max<std::int64_t>(1, opts_.windows[i].length.count());
        auto start = secs / len * len;
        if (counts_[i].start != start) {
            counts_[i] = {start, 0};
        }
    }
    for (std::size_t i = 0; i < opts_.windows.size(); ++i) {
        const auto& w = opts_.windows[i];
        if (counts_[i].used < w.limit) {
            continue;
        }
        count_throttled();
        auto len = std::max<std::int64_t>(1, w.length.count());
        auto reopens = time::time_point(std::chrono::seconds(counts_[i].start + len));
        retry_not_before_ = retry_not_before_ ? std::max(*retry_not_before_, reopens) : reopens;
        auto when = time::format_rfc3339(reopens).substr(0, 19);
        when[10] = ' ';
        json::object body{{"RateLimit-Type", w.type}, {"RateLimit-Retry-After", when + " UTC"}};
        return json_reply(429, json::serialize(body));
    }
    for (auto& c : counts_) {
        ++c.used;
    }
    return std::nullopt;
}

http::response precoro_simulator::list(const http::request& req, const std::string& resource) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["list"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    for (const auto& [key, value] : req.query) {
        if (documented_list_params().count(key) == 0) {
            violation("undocumented list parameter " + key);
        }
    }
    std::int64_t per_page = 10;
    if (auto text = req.query_param("per_page")) {
        auto n = parse_int(*text);
        if (!n || (*n != 10 && *n != 20 && *n != 50 && *n != 100 && *n != 200)) {
            violation("per_page not one of 10, 20, 50, 100, 200: " + std::string(*text));
            return json_reply(400, message_body("per_page must be one of 10, 20, 50, 100, 200"));
        }
        per_page = *n;
    }
    std::int64_t page = 1;
    if (auto text = req.query_param("page")) {
        auto n = parse_int(*text);
        if (!n || *n < 1) {
            violation("page is not a positive integer: " + std::string(*text));
            return json_reply(400, message_body("page must be a positive integer"));
        }
        page = *n;
    }
    std::optional<time::time_point> since;
    if (auto text = req.query_param("modifiedSince")) {
        since = parse_modified_since(*text);
        if (!since) {
            violation("modifiedSince is not YYYY-MM-DDTHH:MM:SS: " + std::string(*text));
            return json_reply(400, message_body("modifiedSince must be formatted YYYY-MM-DDTHH:MM:SS"));
        }
    }
    std::vector<const entity*> matching;
    for (const auto& [id, e] : stores_[resource].entities) {
        if (!e.deleted && (!since || e.updated >= *since)) {
            matching.push_back(&e);
        }
    }
    auto total = static_cast<std::int64_t>(matching.size());
    auto total_pages = (total + per_page - 1) / per_page;
    json::array data;
    for (auto i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i) {
        data.push_back(matching[static_cast<std::size_t>(i)]->body);
    }
    json::object pagination;
    if (opts_.legacy_pagination) {
        pagination = {{"total", total}, {"count", data.size()}, {"per_page", per_page},
                      {"current_page", page}, {"total_pages", total_pages}};
    } else {
        pagination = {{"per_page", per_page}, {"has_next_page", page < total_pages}};
    }
    json::object body{{"data", std::move(data)},
                      {"meta", json::object{{"pagination", std::move(pagination)}}}};
    return json_reply(200, json::serialize(body));
}

http::response precoro_simulator::detail(const http::request& req, const std::string& resource) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["detail"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    const auto& key = req.path_params.at("key");
    const auto& entities = stores_[resource].entities;
    const entity* found = nullptr;
    if (info(resource).document) {
        for (const auto& [id, e] : entities) {
            if (!e.deleted && e.body.at("idn").as_string() == key) {
                found = &e;
                break;
            }
        }
        auto as_id = parse_int(key);
        if (found == nullptr && as_id && entities.count(*as_id) != 0) {
            violation(resource + " addressed by id " + key + "; documents are read by idn");
        }
    } else if (auto id = parse_int(key)) {
        auto it = entities.find(*id);
        if (it != entities.end() && !it->second.deleted) {
            found = &it->second;
        }
    }
    if (found == nullptr) {
        return json_reply(404, message_body("Entity not found"));
    }
    return json_reply(200, json::serialize(found->body));
}

json::object precoro_simulator::make_body(const std::string& resource, std::int64_t id,
                                          std::int64_t idn, time::time_point at,
                                          std::mt19937_64& rng) const {
    json::object b{{"id", id}};
    if (info(resource).document) {
        b["idn"] = std::to_string(idn);
        b["status"] = 0;
        b["sum"] = static_cast<double>(std::uniform_int_distribution<int>(100, 900000)(rng)) / 100.0;
        b["currency"] = std::string(pick(rng, {"EUR", "USD", "UAH"}));
        b["supplier"] = json::object{{"id", 500 + id % 13}};
        b["comment"] = "";
        // Document lines, as Precoro lists them in a document's detail.
        b["items"] = json::array{json::object{{"id", 1}, {"qty", 1}}, json::object{{"id", 2}, {"qty", 1}}};
    } else {
        b["name"] = std::string(pick(rng, {"Acme", "Globex", "Initech", "Umbrella", "Hooli"})) + " " +
                    std::to_string(id);
        b["enable"] = true;
        if (resource == "suppliers") {
            b["email"] = "orders" + std::to_string(id) + "@example.com";
        }
    }
    b["externalId"] = nullptr;
    b["createDate"] = vendor_date(at);
    b["updateDate"] = vendor_date(at);
    return b;
}

time::time_point precoro_simulator::next_version(const entity* previous) const {
    auto t = time::time_point(std::chrono::floor<std::chrono::seconds>(time::now()));
    if (previous != nullptr && t < previous->updated + std::chrono::seconds(1)) {
        t = previous->updated + std::chrono::seconds(1);  // one version per second at most
    }
    return t;
}

void precoro_simulator::announce(const std::string& resource, const entity& e, int action, notify how) {
    const auto& i = info(resource);
    if (how == notify::none || !i.webhook_type) {
        return;
    }
    json::object body{{"id", e.body.at("id")}, {"type", *i.webhook_type}, {"action", action}};
    if (i.document) {
        if (auto idn = parse_int(e.body.at("idn").as_string())) {
            body["idn"] = *idn;
        }
    }
    auto text = json::serialize(body);
    sender_.send(text);
    if (how == notify::twice) {
        sender_.send(text);
    }
}

std::int64_t precoro_simulator::create(const std::string& resource, notify how) {
    std::lock_guard lock(mutex_);
    auto& s = stores_.at(resource);
    auto id = next_id_++;
    entity e;
    e.updated = next_version(nullptr);
    e.body = make_body(resource, id, s.next_idn++, e.updated, rng_);
    versions_.push_back({resource, id, std::string(e.body.at("updateDate").as_string())});
    auto& stored = s.entities[id] = std::move(e);
    announce(resource, stored, 0, how);
    return id;
}

void precoro_simulator::update(const std::string& resource, std::int64_t id, notify how) {
    std::lock_guard lock(mutex_);
    auto& e = stores_.at(resource).entities.at(id);
    e.updated = next_version(&e);
    auto& b = e.body;
    if (b.contains("status")) {
        b["status"] = (b.at("status").as_int64() + 1) % 5;
        b["comment"] = std::string(pick(rng_, {"approved", "sent to supplier", "partially received",
                                               "waiting for budget", "closed"}));
        if (auto* items = b.if_contains("items"); items != nullptr && items->is_array() &&
                                                    !items->as_array().empty()) {
            // The last line's quantity grows and the line moves first (lines are not ordered).
            auto& lines = items->as_array();
            json::value line = lines.back();
            line.as_object()["qty"] = line.at("qty").as_int64() + 1;
            lines.pop_back();
            lines.insert(lines.begin(), std::move(line));
        }
    } else {
        b["name"] = std::string(pick(rng_, {"Acme", "Globex", "Initech", "Umbrella", "Hooli"})) + " " +
                    std::to_string(id) + " v" + std::to_string(versions_.size());
    }
    b["updateDate"] = vendor_date(e.updated);
    versions_.push_back({resource, id, std::string(b.at("updateDate").as_string())});
    announce(resource, e, 1, how);
}

void precoro_simulator::remove(const std::string& resource, std::int64_t id, notify how) {
    std::lock_guard lock(mutex_);
    auto& e = stores_.at(resource).entities.at(id);
    e.deleted = true;
    announce(resource, e, 1, how);
}

void precoro_simulator::renotify(const std::string& resource, std::int64_t id, int action) {
    std::lock_guard lock(mutex_);
    announce(resource, stores_.at(resource).entities.at(id), action, notify::once);
}

void precoro_simulator::tick(std::mt19937_64& rng) {
    if (opts_.tick_resources.empty()) {
        return;
    }
    std::uniform_int_distribution<std::size_t> which(0, opts_.tick_resources.size() - 1);
    const auto resource = opts_.tick_resources[which(rng)];
    std::uniform_int_distribution<int> dice(0, 99);
    auto how = [&] {
        int roll = dice(rng);
        return roll < 80 ? notify::once : roll < 90 ? notify::twice : notify::none;
    }();
    std::vector<std::int64_t> live;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, e] : stores_.at(resource).entities) {
            if (!e.deleted) {
                live.push_back(id);
            }
        }
    }
    int roll = dice(rng);
    if (live.size() < 5 || roll < 35) {
        create(resource, how);
        return;
    }
    std::uniform_int_distribution<std::size_t> pick_one(0, live.size() - 1);
    auto id = live[pick_one(rng)];
    if (roll < 38) {
        remove(resource, id, notify::once);
    } else {
        update(resource, id, how);
    }
}

void precoro_simulator::set_webhook_target(std::string url) { sender_.set_target(std::move(url)); }

std::vector<precoro_simulator::version> precoro_simulator::versions() const {
    std::lock_guard lock(mutex_);
    return versions_;
}

std::map<std::int64_t, json::object> precoro_simulator::entities(const std::string& resource) const {
    std::lock_guard lock(mutex_);
    std::map<std::int64_t, json::object> out;
    for (const auto& [id, e] : stores_.at(resource).entities) {
        if (!e.deleted) {
            out[id] = e.body;
        }
    }
    return out;
}

bool precoro_simulator::wait_webhooks(std::chrono::milliseconds timeout) {
    return sender_.wait_idle(timeout);
}

std::vector<webhook_sender::result> precoro_simulator::webhook_results() const {
    return sender_.results();
}

std::uint64_t precoro_simulator::requests_of(const std::string& kind) const {
    std::lock_guard lock(mutex_);
    auto it = requests_by_kind_.find(kind);
    return it == requests_by_kind_.end() ? 0 : it->second;
}

void precoro_simulator::set_windows(std::vector<window> windows) {
    std::lock_guard lock(mutex_);
    opts_.windows = std::move(windows);
    counts_.assign(opts_.windows.size(), {});
}

}  // namespace changefeed::sim
